"""The plugin wire contract, ABI 2 (docs/plugins.md#methods): method names, message shapes, codes.

Every message is a JSON-RPC 2.0 envelope (``hangar.proto.jsonrpc``) inside a Content-Length
frame (``hangar.proto.framing``). The types here are the ``params``/``result`` payloads.
``bytes`` fields travel as base64 strings; ``from_wire`` also accepts the legacy integer-array
form. Encode with ``to_wire`` (or hand a struct straight to ``encode_request`` and friends).
"""

from __future__ import annotations

import builtins
import copy
import re
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal, TypeVar, Union

import msgspec
from msgspec.structs import force_setattr

from hangar.plugins.abi import ABI_VERSION
from hangar.proto.jsonrpc import (
    ACTION_TIMEOUT,
    BUSY,
    CAPABILITY_DENIED,
    INTERNAL_ERROR,
    INVALID_PARAMS,
    INVALID_REQUEST,
    MANIFEST_VALIDATION,
    METHOD_NOT_FOUND,
    NOT_IMPLEMENTED,
    PARSE_ERROR,
    SECRET_ACCESS_DENIED,
    SECRET_BACKEND_LOCKED,
    SECRET_NOT_FOUND,
    RpcError,
)

__all__ = [
    "ABI_VERSION",
    "ACTION_TIMEOUT",
    "BUSY",
    "CAPABILITY_DENIED",
    "CHUNK_SIZE",
    "INTERNAL_ERROR",
    "INVALID_PARAMS",
    "INVALID_REQUEST",
    "MANIFEST_VALIDATION",
    "METHOD_NOT_FOUND",
    "NOT_IMPLEMENTED",
    "PARSE_ERROR",
    "SECRET_ACCESS_DENIED",
    "SECRET_BACKEND_LOCKED",
    "SECRET_NOT_FOUND",
    "ActionInvokeParams",
    "ActionInvokeResult",
    "Cell",
    "Chunk",
    "CliDispatchParams",
    "CliOutput",
    "Color",
    "Coord",
    "DirEntry",
    "FsPathParams",
    "FsWriteParams",
    "HandleEventParams",
    "HandleKeyParams",
    "InitParams",
    "InitResult",
    "KeyCode",
    "KeyEvent",
    "LogParams",
    "ManagedExit",
    "NetworkFetchParams",
    "NetworkFetchResult",
    "ReadDirResult",
    "ReadFileResult",
    "Reassembler",
    "RenderParams",
    "RenderResult",
    "RpcError",
    "SecretGetParams",
    "SecretGetResult",
    "SnapshotGetParams",
    "SnapshotGetResult",
    "SnapshotPublishParams",
    "SocketEvent",
    "SpawnManagedParams",
    "SpawnManagedResult",
    "TopicParams",
    "UnixSocketCloseParams",
    "UnixSocketDialParams",
    "UnixSocketDialResult",
    "UnixSocketSendParams",
    "Viewport",
    "WireBuffer",
    "WireError",
    "as_bytes",
    "capability_denied",
    "chunk_payload",
    "decode_event",
    "decode_wire",
    "encode_event",
    "from_wire",
    "key",
    "to_wire",
]


# Payloads above this many bytes travel as ``Chunk``s of at most this size. Base64
# makes a 2 MiB chunk about 2.7 MiB on the wire, well inside the 16 MiB frame limit.
CHUNK_SIZE: Final = 2 * 1024 * 1024

# ---------------------------------------------------------------------------------------------
# method names

# host → plugin
INIT: Final = "plugin/init"
RENDER: Final = "plugin/render"
HANDLE_KEY: Final = "plugin/handle_key"  # notification
HANDLE_EVENT: Final = "plugin/handle_event"  # notification
CLI_DISPATCH: Final = "plugin/cli_dispatch"
SHUTDOWN: Final = "plugin/shutdown"

# plugin → host
SNAPSHOT_PUBLISH: Final = "host/snapshot/publish"  # notification
SNAPSHOT_SUBSCRIBE: Final = "host/snapshot/subscribe"
SNAPSHOT_GET: Final = "host/snapshot/get"
ACTION_INVOKE: Final = "host/action/invoke"
LOG: Final = "host/log"  # notification
FS_READ_FILE: Final = "host/fs/read_file"
FS_READ_DIR: Final = "host/fs/read_dir"
FS_WRITE_FILE: Final = "host/fs/write_file"  # Hangar's addition: writes under the data dir
NETWORK_FETCH: Final = "host/network/fetch"
EVENT_STREAM_SUBSCRIBE: Final = "host/event_stream_subscribe"
EVENT_STREAM_CANCEL: Final = "host/event_stream_cancel"  # notification
SPAWN_MANAGED_SUBPROCESS: Final = "host/spawn_managed_subprocess"
UNIX_SOCKET_DIAL: Final = "host/unix_socket_dial"
UNIX_SOCKET_SEND: Final = "host/unix_socket_send"  # notification
UNIX_SOCKET_CLOSE: Final = "host/unix_socket_close"  # notification
SECRET_STORE_GET: Final = "host/secret_store_get"
WORKSPACE_SET_ACTIVE: Final = "host/workspace_set_active"
WORKSPACE_SET_DEFAULT: Final = "host/workspace_set_default"

LOG_LEVELS: Final = ("trace", "debug", "info", "warn", "error")
LogLevel = Literal["trace", "debug", "info", "warn", "error"]


def capability_denied(cap: str, data: Any = None) -> RpcError:
    """The -32001 error every ungranted call gets (docs/plugins.md#capability-gate)."""
    return RpcError(CAPABILITY_DENIED, f"capability denied: {cap}", data)


# ---------------------------------------------------------------------------------------------
# rendering


# Range checks on decode (``from_wire``): what the Rust side holds in u8/u16 must fit them.
U8 = Annotated[int, msgspec.Meta(ge=0, le=0xFF)]
U16 = Annotated[int, msgspec.Meta(ge=0, le=0xFFFF)]
KeyMods = Annotated[int, msgspec.Meta(ge=0, le=0xF)]
"""SHIFT | CTRL | ALT | SUPER: no other bit means anything."""


class Color(msgspec.Struct, frozen=True):
    r: U8
    g: U8
    b: U8


class Coord(msgspec.Struct, frozen=True):
    x: int
    y: int


class Cell(msgspec.Struct, frozen=True):
    """One terminal cell. ``fg``/``bg`` ``None`` mean the terminal default.

    ``modifier`` holds ratatui bits: BOLD 1, DIM 2, ITALIC 4, UNDERLINED 8, SLOW_BLINK 16,
    RAPID_BLINK 32, REVERSED 64, HIDDEN 128, CROSSED_OUT 256.
    """

    symbol: str
    fg: Color | None = None
    bg: Color | None = None
    modifier: U16 = 0  # ratatui's Modifier is a u16; only the 9 bits above mean anything


BOLD: Final = 1
DIM: Final = 2
ITALIC: Final = 4
UNDERLINED: Final = 8
SLOW_BLINK: Final = 16
RAPID_BLINK: Final = 32
REVERSED: Final = 64
HIDDEN: Final = 128
CROSSED_OUT: Final = 256


class Viewport(msgspec.Struct, frozen=True):
    width: U16
    height: U16


class WireBuffer(msgspec.Struct):
    """A sparse grid: only painted cells, as ``[Coord, Cell]`` pairs."""

    width: int
    height: int
    cells: list[tuple[Coord, Cell]] = msgspec.field(default_factory=list)

    @classmethod
    def empty(cls, viewport: Viewport) -> WireBuffer:
        return cls(width=viewport.width, height=viewport.height)

    def put(self, x: int, y: int, cell: Cell) -> None:
        """Paint one cell; out-of-bounds cells are dropped, as the host would clip them."""
        if 0 <= x < self.width and 0 <= y < self.height:
            self.cells.append((Coord(x, y), cell))

    def text(self, x: int, y: int, text: str, **style: Any) -> None:
        """Paint ``text`` one character per cell from ``(x, y)`` (no wide-character handling)."""
        for i, ch in enumerate(text):
            self.put(x + i, y, Cell(ch, **style))

    def clipped(self) -> WireBuffer:
        """A copy without the cells outside ``width`` by ``height``."""
        keep = [
            (c, cell) for c, cell in self.cells if 0 <= c.x < self.width and 0 <= c.y < self.height
        ]
        return WireBuffer(width=self.width, height=self.height, cells=keep)

    def lines(self) -> list[str]:
        """The painted text row by row (unpainted cells are spaces): handy in tests."""
        rows = [[" "] * self.width for _ in range(self.height)]
        for c, cell in self.cells:
            if 0 <= c.x < self.width and 0 <= c.y < self.height:
                rows[c.y][c.x] = cell.symbol
        return ["".join(row) for row in rows]


class RenderParams(msgspec.Struct, frozen=True):
    viewport: Viewport
    generation: int = 0


class RenderResult(msgspec.Struct):
    buffer: WireBuffer


# ---------------------------------------------------------------------------------------------
# keys: ``code`` is tagged on "type" (snake_case)


class _Code(msgspec.Struct, frozen=True, tag_field="type"):
    pass


class Char(_Code, frozen=True, tag="char"):
    ch: str


class Enter(_Code, frozen=True, tag="enter"):
    pass


class Tab(_Code, frozen=True, tag="tab"):
    pass


class BackTab(_Code, frozen=True, tag="back_tab"):
    pass


class Esc(_Code, frozen=True, tag="esc"):
    pass


class Backspace(_Code, frozen=True, tag="backspace"):
    pass


class Delete(_Code, frozen=True, tag="delete"):
    pass


class Up(_Code, frozen=True, tag="up"):
    pass


class Down(_Code, frozen=True, tag="down"):
    pass


class Left(_Code, frozen=True, tag="left"):
    pass


class Right(_Code, frozen=True, tag="right"):
    pass


class Home(_Code, frozen=True, tag="home"):
    pass


class End(_Code, frozen=True, tag="end"):
    pass


class PageUp(_Code, frozen=True, tag="page_up"):
    pass


class PageDown(_Code, frozen=True, tag="page_down"):
    pass


class F(_Code, frozen=True, tag="f"):
    n: int


KeyCode = Union[  # noqa: UP007 (msgspec needs a real Union object at runtime)
    Char, Enter, Tab, BackTab, Esc, Backspace, Delete, Up, Down, Left, Right, Home, End,
    PageUp, PageDown, F,
]  # fmt: skip

SHIFT: Final = 1
CTRL: Final = 2
ALT: Final = 4
SUPER: Final = 8

_NAMED: dict[str, KeyCode] = {
    "enter": Enter(),
    "tab": Tab(),
    "back_tab": BackTab(),
    "esc": Esc(),
    "backspace": Backspace(),
    "delete": Delete(),
    "up": Up(),
    "down": Down(),
    "left": Left(),
    "right": Right(),
    "home": Home(),
    "end": End(),
    "page_up": PageUp(),
    "page_down": PageDown(),
}


class KeyEvent(msgspec.Struct, frozen=True):
    code: KeyCode
    mods: KeyMods = 0
    kind: Literal["press", "repeat", "release"] = "press"

    @property
    def char(self) -> str | None:
        """The character typed, or ``None`` for a named key."""
        return self.code.ch if isinstance(self.code, Char) else None

    @property
    def name(self) -> str:
        """``"char"``, ``"esc"``, ``"f"`` …: the wire tag of ``code``."""
        return str(type(self.code).__struct_config__.tag)


def key(
    code: str, mods: int = 0, kind: Literal["press", "repeat", "release"] = "press"
) -> KeyEvent:
    """Build a KeyEvent: ``key("q")``, ``key("esc")``, ``key("f5")``, ``key("c", CTRL)``."""
    if len(code) == 1:
        return KeyEvent(Char(code), mods, kind)
    if code in _NAMED:
        return KeyEvent(_NAMED[code], mods, kind)
    if code[0] == "f" and code[1:].isdigit():
        return KeyEvent(F(int(code[1:])), mods, kind)
    raise ValueError(f"unknown key {code!r}")


class HandleKeyParams(msgspec.Struct, frozen=True):
    screen_id: str
    key: KeyEvent
    generation: int = 0


# ---------------------------------------------------------------------------------------------
# lifecycle and CLI


class InitParams(msgspec.Struct, frozen=True):
    manifest_path: str
    granted_capabilities: list[str]
    abi_version: int = ABI_VERSION


class InitResult(msgspec.Struct, frozen=True):
    name: str
    version: str


class CliDispatchParams(msgspec.Struct, frozen=True):
    namespace: str
    argv: list[str]


class CliOutput(msgspec.Struct, frozen=True):
    """What ``ainb <namespace> …`` prints and exits with; the SDK default is exit 2.

    ``stdout`` and ``stderr`` are bytes on the wire; text given here is encoded as UTF-8
    (``CliOutput(stdout="done\\n")``), and any other type is a ``TypeError`` naming the field.
    """

    stdout: bytes = b""
    stderr: bytes = b""
    exit_code: int = 0

    if TYPE_CHECKING:  # what a plugin may pass; the fields themselves always hold bytes

        def __init__(
            self, stdout: bytes | str = b"", stderr: bytes | str = b"", exit_code: int = 0
        ) -> None: ...

    def __post_init__(self) -> None:
        # a str left here would go out as a JSON string the host reads as base64: garbage
        # bytes, or "Invalid base64 encoded string"
        if type(self.stdout) is not bytes:
            force_setattr(self, "stdout", as_bytes(self.stdout, "CliOutput.stdout"))
        if type(self.stderr) is not bytes:
            force_setattr(self, "stderr", as_bytes(self.stderr, "CliOutput.stderr"))


# ---------------------------------------------------------------------------------------------
# event bus


class Chunk(msgspec.Struct, frozen=True):
    """One slice of a payload above ``CHUNK_SIZE`` (docs/plugins.md#transport).

    ``partial`` is true on every slice of a split payload; ``is_final`` marks the last one.
    A receiver drops slices that arrive without the chunk 0 of their ``version``.
    """

    version: int
    published_ns: int
    partial: bool
    chunk_index: int
    is_final: bool
    data: bytes


def chunk_payload(payload: bytes, version: int, published_ns: int) -> list[Chunk]:
    """Split ``payload`` into ``CHUNK_SIZE`` slices (at least one)."""
    n = max(1, -(-len(payload) // CHUNK_SIZE))
    return [
        Chunk(
            version=version,
            published_ns=published_ns,
            partial=n > 1,
            chunk_index=i,
            is_final=i == n - 1,
            data=payload[i * CHUNK_SIZE : (i + 1) * CHUNK_SIZE],
        )
        for i in range(n)
    ]


class Reassembler:
    """Joins chunked payloads, one in flight per key (a topic, or plugin and topic).

    A chunk 0 starts over; a slice out of order, of another version, or without its chunk 0
    is dropped (and so is the partial payload it broke). ``max_bytes`` bounds the memory one
    key can hold (a payload growing past it is dropped), ``max_keys`` how many payloads
    can be half received at once. Bytes are budgeted too, since 64 keys of ``max_bytes``
    each is far too much: ``max_total`` over every key, ``max_per_owner`` over the keys of
    one owner (``feed``'s ``owner``, e.g. the publishing plugin). A slice that would break
    a budget drops its partial payload.
    """

    def __init__(
        self,
        max_bytes: int = 256 * 1024 * 1024,
        max_keys: int = 64,
        *,
        max_total: int = 256 * 1024 * 1024,
        max_per_owner: int = 64 * 1024 * 1024,
    ) -> None:
        self.max_bytes = max_bytes
        self.max_keys = max_keys
        self.max_total = max_total
        self.max_per_owner = max_per_owner
        self.dropped = 0
        self.total = 0
        """Bytes held in partial payloads."""
        # key -> (version, parts, size, owner)
        self._parts: dict[Any, tuple[int, list[builtins.bytes], int, Any]] = {}
        self._owned: dict[Any, int] = {}

    def feed(self, key: Any, chunk: Chunk, owner: Any = None) -> builtins.bytes | None:
        """Add one slice; return the whole payload when ``chunk`` completes it.

        ``owner`` (default: ``key``) is whose byte budget the partial payload counts on."""
        owner = key if owner is None else owner
        if chunk.chunk_index == 0:
            self._release(key)
            if chunk.is_final:
                return chunk.data
            if len(chunk.data) <= self.max_bytes and self._fits(owner, len(chunk.data)):
                if len(self._parts) >= self.max_keys:  # too many half-sent: drop the oldest
                    self._release(next(iter(self._parts)))
                    self.dropped += 1
                self._hold(key, chunk.version, [chunk.data], len(chunk.data), owner)
                return None
            self.dropped += 1
            return None
        held = self._parts.get(key)
        if held is None or held[0] != chunk.version or len(held[1]) != chunk.chunk_index:
            self._release(key)
            self.dropped += 1
            return None
        version, parts, size, owner = held
        if size + len(chunk.data) > self.max_bytes or not self._fits(owner, len(chunk.data)):
            self._release(key)
            self.dropped += 1
            return None
        self._release(key)
        parts.append(chunk.data)
        if not chunk.is_final:
            self._hold(key, version, parts, size + len(chunk.data), owner)
            return None
        return b"".join(parts)

    def forget(self, key: Any) -> None:
        self._release(key)

    def pending(self) -> list[Any]:
        """Keys with a payload half received."""
        return list(self._parts)

    def owned(self, owner: Any) -> int:
        """Bytes ``owner``'s partial payloads hold."""
        return self._owned.get(owner, 0)

    def _fits(self, owner: Any, more: int) -> bool:
        return (
            self.total + more <= self.max_total
            and self._owned.get(owner, 0) + more <= self.max_per_owner
        )

    def _hold(
        self, key: Any, version: int, parts: list[builtins.bytes], size: int, owner: Any
    ) -> None:
        self._parts[key] = (version, parts, size, owner)
        self.total += size
        self._owned[owner] = self._owned.get(owner, 0) + size

    def _release(self, key: Any) -> None:
        held = self._parts.pop(key, None)
        if held is None:
            return
        size, owner = held[2], held[3]
        self.total -= size
        left = self._owned.get(owner, 0) - size
        if left > 0:
            self._owned[owner] = left
        else:
            self._owned.pop(owner, None)


class SnapshotPublishParams(msgspec.Struct, frozen=True, omit_defaults=True):
    """``payload`` whole, or (above ``CHUNK_SIZE``) one ``chunk`` per notification."""

    topic: str
    payload: bytes = b""
    chunk: Chunk | None = None


class TopicParams(msgspec.Struct, frozen=True):
    """``host/snapshot/subscribe`` params."""

    topic: str


class SnapshotGetParams(msgspec.Struct, frozen=True, omit_defaults=True):
    """Ask for a topic's latest payload; ``chunk_index`` > 0 fetches the rest of a big one."""

    topic: str
    version: int | None = None
    chunk_index: int = 0


class SnapshotGetResult(msgspec.Struct, frozen=True, omit_defaults=True):
    """``payload`` absent: no snapshot yet (``version`` 0). ``chunk`` set: a big payload."""

    version: int
    payload: bytes | None = None
    chunk: Chunk | None = None


class HandleEventParams(msgspec.Struct, frozen=True, omit_defaults=True):
    topic: str
    payload: bytes = b""
    chunk: Chunk | None = None


class ActionInvokeParams(msgspec.Struct, frozen=True):
    action: str
    payload: bytes = b""
    timeout_ms: int = 0  # 0 = no timeout


class ActionInvokeResult(msgspec.Struct, frozen=True):
    payload: bytes = b""


class LogParams(msgspec.Struct, frozen=True, omit_defaults=True):
    level: LogLevel
    message: str
    fields: dict[str, Any] | None = None


# ---------------------------------------------------------------------------------------------
# gated host calls


class FsPathParams(msgspec.Struct, frozen=True):
    path: str


class DirEntry(msgspec.Struct, frozen=True):
    name: str
    is_dir: bool
    size: int


class ReadDirResult(msgspec.Struct, frozen=True):
    entries: list[DirEntry]


class ReadFileResult(msgspec.Struct, frozen=True):
    bytes: builtins.bytes  # a field named like the type: spell the type out


class FsWriteParams(msgspec.Struct, frozen=True):
    path: str
    bytes: builtins.bytes  # a field named like the type: spell the type out


class NetworkFetchParams(msgspec.Struct, frozen=True):
    url: str
    method: str = "GET"
    body: bytes | None = None
    headers: list[tuple[str, str]] = msgspec.field(default_factory=list)
    timeout_ms: int = 10_000


class NetworkFetchResult(msgspec.Struct, frozen=True):
    status: int
    headers: list[tuple[str, str]]
    body: bytes


class SpawnManagedParams(msgspec.Struct, frozen=True):
    """``argv`` is exec'd directly (never a shell); ``env`` is added to the host's."""

    argv: list[str]
    cwd: str | None = None
    env: dict[str, str] | None = None


class SpawnManagedResult(msgspec.Struct, frozen=True):
    handle: str


class ManagedExit(msgspec.Struct, frozen=True):
    """The payload (``encode_event``) on ``managed:<handle>:exit``. Each event on
    ``managed:<handle>:stdout`` carries one raw stdout line (newline stripped) instead.
    ``exit_code`` < 0 is the signal that ended it; ``dropped_*``: output over the budget."""

    exit_code: int | None
    dropped_lines: int = 0
    dropped_bytes: int = 0


class UnixSocketDialParams(msgspec.Struct, frozen=True):
    path: str


class UnixSocketDialResult(msgspec.Struct, frozen=True):
    stream_id: str


class UnixSocketSendParams(msgspec.Struct, frozen=True):
    stream_id: str
    data: bytes


class UnixSocketCloseParams(msgspec.Struct, frozen=True):
    stream_id: str


class SocketEvent(msgspec.Struct, frozen=True, omit_defaults=True):
    """The payload (``encode_event``) on ``socket:<stream_id>``. After ``eof`` the stream
    can still be written; after ``error`` it is closed."""

    kind: Literal["data", "eof", "error"]
    data: bytes | None = None
    message: str | None = None


class SecretGetParams(msgspec.Struct, frozen=True):
    scope: str
    key: str


class SecretGetResult(msgspec.Struct, frozen=True):
    value: str


# ---------------------------------------------------------------------------------------------
# conversion

T = TypeVar("T")

_LEGACY_BYTES = re.compile(r"^Expected `bytes`, got `array`(?: - at `\$(.*)`)?$")
_PATH_PART = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]")


def as_bytes(value: object, what: str) -> builtins.bytes:
    """``value`` for a ``bytes`` field: bytes as they are, other bytes-like objects copied,
    ``str`` encoded as UTF-8 (``surrogateescape``, so text decoded that way gets its bytes
    back). Anything else raises ``TypeError`` naming ``what`` (e.g. ``"CliOutput.stdout"``).
    """
    if isinstance(value, builtins.bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8", "surrogateescape")
    if isinstance(value, bytearray | memoryview):
        return builtins.bytes(value)
    raise TypeError(f"{what} must be bytes or str, got {type(value).__name__}")


def to_wire(value: Any) -> Any:
    """A struct (or any value) as JSON-ready builtins: bytes become base64 strings."""
    return msgspec.to_builtins(value)


def encode_event(value: msgspec.Struct) -> bytes:
    """A host-made event payload (``SocketEvent``, ``ManagedExit``): JSON, bytes in base64."""
    return msgspec.json.encode(value)


def decode_event(payload: bytes, type: type[T]) -> T:
    try:
        return from_wire(msgspec.json.decode(payload), type)
    except msgspec.DecodeError as exc:
        raise RpcError(INVALID_PARAMS, f"invalid event payload: {exc}") from None


class WireError(ValueError):
    """A value that does not decode as its type. ``from_wire`` reports it as the caller's
    invalid params; decoding an *answer* (``decode_wire``) leaves the blame to the caller."""


def from_wire(value: Any, type: type[T]) -> T:
    """Decoded JSON ``params`` → ``type``; raises ``RpcError(INVALID_PARAMS)``.

    ``bytes`` fields take base64 strings, and legacy integer arrays (``[104, 105]``).
    """
    try:
        return decode_wire(value, type)
    except WireError as exc:
        raise RpcError(INVALID_PARAMS, f"invalid params: {exc}") from None


def decode_wire(value: Any, type: type[T]) -> T:
    """Decoded JSON → ``type``, as ``from_wire``, but raises ``WireError``: for a *result*,
    where a failure is the answering side's fault, not invalid params of the caller."""
    fixed = False
    for _ in range(256):  # one pass per legacy array found; bounded so junk cannot spin
        try:
            return msgspec.convert(value, type)
        except msgspec.ValidationError as exc:
            match = _LEGACY_BYTES.match(str(exc))
            if match is None:
                raise WireError(str(exc)) from None
            if not fixed:  # never mutate the caller's value
                value, fixed = copy.deepcopy(value), True
            value = _replace_int_array(value, match.group(1) or "", exc)
    raise WireError("too many legacy byte arrays")


def _replace_int_array(root: Any, path: str, exc: Exception) -> Any:
    """Swap the integer array at ``path`` (a msgspec error path) for bytes; return the root."""
    keys: list[str | int] = [
        name if name else int(index) for name, index in _PATH_PART.findall(path)
    ]
    parent = None
    items = root
    for k in keys:
        parent, items = items, items[k]
    if not all(isinstance(i, int) and not isinstance(i, bool) and 0 <= i <= 255 for i in items):
        raise WireError(f"{exc} (not a byte array)")
    if parent is None:
        return bytes(items)
    parent[keys[-1]] = bytes(items)
    return root
