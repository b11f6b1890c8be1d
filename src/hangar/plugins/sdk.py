"""The plugin side: subclass ``Plugin``, end the file with ``run(MyPlugin())``.

The run loop is synchronous. stdin is read with ``select`` so ``on_tick`` can fire between
messages; a reverse call (``self.host.get(...)`` …) writes its request and reads frames until
its answer arrives, keeping every other message for after. stdout carries frames only: the
real stdout is moved to a private descriptor and file descriptor 1 (``print``, child
processes) goes to stderr, which the host logs. Likewise stdin: frames are read from a
private descriptor and file descriptor 0 is ``/dev/null``.

Calls into the host (``self.host``) are refused until ``plugin/init`` is answered, so
``on_init`` must not make them: declare ``[subscribes].snapshots`` in the manifest instead.

Example::

    from hangar.plugins.sdk import Plugin, paint, run

    class Hello(Plugin):
        name = "hello"
        version = "0.1.0"

        def render(self, viewport, generation):
            return paint("[bold]hello[/]", viewport.width, viewport.height)

    if __name__ == "__main__":
        run(Hello())
"""

from __future__ import annotations

import io
import os
import select
import sys
import time
import traceback
from collections import deque
from typing import IO, Any, NoReturn, TypeVar

from hangar.plugins import protocol as p
from hangar.plugins.protocol import (
    CliOutput,
    DirEntry,
    KeyEvent,
    NetworkFetchResult,
    Viewport,
    WireBuffer,
)
from hangar.proto.framing import MAX_BODY_BYTES, FrameDecoder, FrameError, write_frame_sync
from hangar.proto.jsonrpc import (
    INTERNAL_ERROR,
    INVALID_PARAMS,
    METHOD_NOT_FOUND,
    Message,
    Notification,
    Request,
    Response,
    RpcError,
    decode_message,
    encode_error,
    encode_notification,
    encode_request,
    encode_result,
)

# the wire types a plugin needs are re-exported, so one import line does
__all__ = [
    "CliOutput",
    "DirEntry",
    "Host",
    "KeyEvent",
    "Plugin",
    "PluginRpcError",
    "Viewport",
    "WireBuffer",
    "paint",
    "run",
]

T = TypeVar("T")

#: How long a reverse call waits for the host before giving up (the host answers every call;
#: this only guards against a wedged host).
DEFAULT_CALL_TIMEOUT = 60.0


class PluginRpcError(RpcError):
    """An error answer from the host (``code``, ``message``, ``data``).

    Raise it in a handler to answer the host's request with that code.
    """


class _Eof(Exception):
    """The host closed our stdin."""


class _Channel:
    """Frames in (a raw fd, via ``select``) and out (a binary file), plus a deferred inbox."""

    def __init__(self, rfd: int, out: IO[bytes]) -> None:
        self._rfd = rfd
        self._out = out
        self._decoder = FrameDecoder()
        self._bodies: deque[bytes] = deque()
        self.inbox: deque[Message] = deque()  # messages that arrived during a reverse call

    def send(self, body: bytes) -> None:
        write_frame_sync(self._out, body)

    def recv(self, timeout: float | None) -> Message | None:
        """The next message off the wire, ``None`` after ``timeout`` seconds without one."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            while not self._bodies:
                wait = None if deadline is None else max(0.0, deadline - time.monotonic())
                ready, _, _ = select.select([self._rfd], [], [], wait)
                if not ready:
                    return None
                data = os.read(self._rfd, 1 << 16)
                if not data:
                    self._decoder.eof()  # raises on a torn frame
                    raise _Eof
                self._bodies.extend(self._decoder.feed(data))
            try:
                return decode_message(self._bodies.popleft())
            except RpcError as exc:  # a garbled message: say so, keep serving
                self.send(encode_error(None, exc.code, exc.message))

    def next(self, timeout: float | None) -> Message | None:
        """Deferred messages first, then the wire."""
        if self.inbox:
            return self.inbox.popleft()
        return self.recv(timeout)


class Host:
    """Synchronous reverse calls into the host; available as ``self.host`` in handlers."""

    def __init__(self, channel: _Channel) -> None:
        self._channel = channel
        self._next_id = 0
        self._versions: dict[str, int] = {}

    def call(self, method: str, params: Any = None, timeout: float | None = None) -> Any:
        """Call any ``host/*`` method; raises ``PluginRpcError`` on an error answer."""
        self._next_id += 1
        rid = f"p{self._next_id}"
        self._channel.send(encode_request(rid, method, params))
        wait = DEFAULT_CALL_TIMEOUT if timeout is None else timeout
        deadline = time.monotonic() + wait
        while True:
            msg = self._channel.recv(max(0.0, deadline - time.monotonic()))
            if msg is None:
                raise PluginRpcError(INTERNAL_ERROR, f"host did not answer {method} in {wait:g}s")
            if isinstance(msg, Response) and msg.id == rid:
                if msg.error is not None:
                    raise PluginRpcError(msg.error.code, msg.error.message, msg.error.data)
                return msg.result
            self._channel.inbox.append(msg)

    def notify(self, method: str, params: Any = None) -> None:
        self._channel.send(encode_notification(method, params))

    # -- event bus ------------------------------------------------------------------------

    def publish(self, topic: str, payload: bytes | str) -> None:
        """Replace the topic's snapshot (text goes as UTF-8); above 2 MiB it goes as chunks."""
        payload = p.as_bytes(payload, "Host.publish: payload")
        if len(payload) <= p.CHUNK_SIZE:
            self.notify(p.SNAPSHOT_PUBLISH, p.SnapshotPublishParams(topic, payload))
            return
        version = self._versions[topic] = self._versions.get(topic, 0) + 1
        for chunk in p.chunk_payload(payload, version, time.time_ns()):
            self.notify(p.SNAPSHOT_PUBLISH, p.SnapshotPublishParams(topic, chunk=chunk))

    def get(self, topic: str) -> bytes | None:
        """The topic's latest payload (reassembled), or ``None`` when nobody published yet.

        The host may start the topic's provider and wait a few seconds for its first publish.
        """
        for _ in range(3):  # a newer publish mid-fetch restarts the fetch
            first = p.from_wire(
                self.call(p.SNAPSHOT_GET, p.SnapshotGetParams(topic)), p.SnapshotGetResult
            )
            if first.chunk is None:
                return first.payload
            parts, chunk = [first.chunk.data], first.chunk
            try:
                while not chunk.is_final:
                    params = p.SnapshotGetParams(topic, first.version, chunk.chunk_index + 1)
                    res = p.from_wire(self.call(p.SNAPSHOT_GET, params), p.SnapshotGetResult)
                    if res.chunk is None or res.chunk.chunk_index != chunk.chunk_index + 1:
                        break
                    chunk = res.chunk
                    parts.append(chunk.data)
            except PluginRpcError as exc:
                if exc.code != INVALID_PARAMS:
                    raise
                continue
            if chunk.is_final:
                return b"".join(parts)
        raise PluginRpcError(INTERNAL_ERROR, f"snapshot {topic!r} kept changing while fetched")

    def subscribe(self, topic: str) -> None:
        """Receive ``handle_event`` for every later publish on ``topic``."""
        self.call(p.SNAPSHOT_SUBSCRIBE, p.TopicParams(topic))

    # -- host services --------------------------------------------------------------------

    def log(self, level: p.LogLevel, message: str, **fields: Any) -> None:
        """A line in the host's plugin log (dropped below the host's level)."""
        self.notify(p.LOG, p.LogParams(level, message, fields or None))

    def invoke(self, action: str, payload: bytes | str = b"", timeout_ms: int = 0) -> bytes:
        """Run a host-side action; -32002 when it outlives ``timeout_ms`` (0 = no limit)."""
        payload = p.as_bytes(payload, "Host.invoke: payload")
        # the host enforces timeout_ms; our own wait only guards against a wedged host
        wait = timeout_ms / 1000 + 10.0 if timeout_ms > 0 else 24 * 3600.0
        params = p.ActionInvokeParams(action, payload, timeout_ms)
        result = self.call(p.ACTION_INVOKE, params, timeout=wait)
        return p.from_wire(result, p.ActionInvokeResult).payload

    def read_file(self, path: str | os.PathLike[str]) -> bytes:
        result = self.call(p.FS_READ_FILE, p.FsPathParams(os.fspath(path)))
        return p.from_wire(result, p.ReadFileResult).bytes

    def read_dir(self, path: str | os.PathLike[str]) -> list[DirEntry]:
        result = self.call(p.FS_READ_DIR, p.FsPathParams(os.fspath(path)))
        return p.from_wire(result, p.ReadDirResult).entries

    def write_file(self, path: str | os.PathLike[str], data: bytes | str) -> None:
        """Write under the plugin's data dir (needs ``write_plugin_data``); text as UTF-8."""
        data = p.as_bytes(data, "Host.write_file: data")
        self.call(p.FS_WRITE_FILE, p.FsWriteParams(os.fspath(path), data))

    def fetch(
        self,
        url: str,
        method: str = "GET",
        body: bytes | str | None = None,
        headers: list[tuple[str, str]] | None = None,
    ) -> NetworkFetchResult:
        """An HTTP request through the host (needs ``network``); a text ``body`` as UTF-8."""
        if body is not None:
            if not isinstance(body, bytes | bytearray | memoryview | str):
                kind = type(body).__name__
                raise TypeError(f"Host.fetch: body must be bytes, str or None, got {kind}")
            body = p.as_bytes(body, "Host.fetch: body")
        params = p.NetworkFetchParams(url, method, body, headers or [])
        return p.from_wire(self.call(p.NETWORK_FETCH, params), NetworkFetchResult)


class Plugin:
    """Override what you need; every handler has a harmless default."""

    name: str = ""
    version: str = "0.0.0"
    tick_interval: float | None = None
    """When set, ``on_tick`` runs about every ``tick_interval`` seconds once initialised."""

    host: Host
    granted: list[str]
    """The capabilities the manifest granted, from ``plugin/init``."""

    def on_init(self, granted: list[str]) -> None:
        """Called once, before any other handler. Host calls are refused until it returns
        (the host answers -32001 "not initialised"); do them in later handlers."""

    def render(self, viewport: Viewport, generation: int) -> WireBuffer:
        return WireBuffer.empty(viewport)

    def handle_key(self, screen_id: str, key: KeyEvent) -> None:
        """A key pressed on one of this plugin's screens."""

    def handle_event(self, topic: str, payload: bytes) -> None:
        """A publish on a subscribed topic (a chunked payload arrives whole)."""

    def cli_dispatch(self, namespace: str, argv: list[str]) -> CliOutput:
        message = f"{self.name or 'plugin'}: no command line for {namespace!r}\n"
        return CliOutput(stderr=message.encode(), exit_code=2)

    def on_tick(self) -> None:
        """Runs about every ``tick_interval`` seconds."""

    def on_shutdown(self) -> None:
        """The host asked us to stop (or closed stdin); the process exits afterwards."""


class _Loop:
    def __init__(self, plugin: Plugin, channel: _Channel) -> None:
        self.plugin = plugin
        self.channel = channel
        self.initialised = False
        self.stopping = False
        self.events = p.Reassembler()

    def serve(self) -> int:
        interval = self.plugin.tick_interval
        next_tick = time.monotonic() + interval if interval else None
        while not self.stopping:
            timeout = None
            if next_tick is not None and self.initialised:
                timeout = max(0.0, next_tick - time.monotonic())
            try:
                msg = self.channel.next(timeout)
            except _Eof:
                self._guard(self.plugin.on_shutdown)
                return 0
            except FrameError as exc:
                print(f"plugin: bad frame from the host: {exc}", file=sys.stderr)
                return 1
            if msg is not None:
                self.dispatch(msg)
            if next_tick is not None and interval and time.monotonic() >= next_tick:
                if self.initialised and not self.stopping:
                    self._guard(self.plugin.on_tick)
                next_tick = time.monotonic() + interval
        return 0

    def dispatch(self, msg: Message) -> None:
        if isinstance(msg, Request):
            try:
                result = self.answer(msg.method, msg.params)
            except RpcError as exc:
                self.channel.send(encode_error(msg.id, exc.code, exc.message, exc.data))
            except Exception as exc:
                traceback.print_exc()
                message = f"{msg.method} failed: {type(exc).__name__}: {exc}"
                self.channel.send(encode_error(msg.id, INTERNAL_ERROR, message))
            else:
                body = encode_result(msg.id, result)
                if len(body) > MAX_BODY_BYTES:  # unframeable: answer, rather than die on it
                    limit = f"{len(body)} bytes encoded, the frame limit is {MAX_BODY_BYTES}"
                    body = encode_error(msg.id, INTERNAL_ERROR, f"result too large ({limit})")
                self.channel.send(body)
        elif isinstance(msg, Notification):
            self._guard(lambda: self.notified(msg.method, msg.params))
        # a Response here answers nothing we are waiting for: ignore it

    def answer(self, method: str, params: Any) -> Any:
        plugin = self.plugin
        if method == p.INIT:
            init = p.from_wire(params, p.InitParams)
            plugin.granted = list(init.granted_capabilities)
            plugin.on_init(plugin.granted)
            self.initialised = True
            return p.InitResult(plugin.name, plugin.version)
        if method == p.RENDER:
            render = p.from_wire(params, p.RenderParams)
            return p.RenderResult(plugin.render(render.viewport, render.generation))
        if method == p.CLI_DISPATCH:
            cli = p.from_wire(params, p.CliDispatchParams)
            return plugin.cli_dispatch(cli.namespace, list(cli.argv))
        if method == p.SHUTDOWN:
            self.stopping = True
            plugin.on_shutdown()
            return {}
        raise RpcError(METHOD_NOT_FOUND, f"method not found: {method}")

    def notified(self, method: str, params: Any) -> None:
        if method == p.HANDLE_KEY:
            k = p.from_wire(params, p.HandleKeyParams)
            self.plugin.handle_key(k.screen_id, k.key)
        elif method == p.HANDLE_EVENT:
            event = p.from_wire(params, p.HandleEventParams)
            payload = event.payload
            if event.chunk is not None:
                whole = self.events.feed(event.topic, event.chunk)
                if whole is None:
                    return
                payload = whole
            self.plugin.handle_event(event.topic, payload)
        # unknown notifications are ignored, as JSON-RPC asks

    @staticmethod
    def _guard(fn: Any) -> None:
        try:
            fn()
        except Exception:
            traceback.print_exc()


def _claim_stdout() -> IO[bytes]:
    """Keep the real stdout for frames; point fd 1 and ``sys.stdout`` at stderr."""
    sys.stdout.flush()
    wire = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return wire


def _claim_stdin() -> int:
    """Keep the real stdin (the host's frames) on a private descriptor; fd 0 → /dev/null.

    A child process (or a stray ``input()``) reading fd 0 would otherwise steal frames."""
    wire = os.dup(0)  # non-inheritable (PEP 446): children never see it
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    return wire


def run(plugin: Plugin) -> NoReturn:
    """Serve the host over stdio until shutdown or end of input, then exit."""
    out = _claim_stdout()
    channel = _Channel(_claim_stdin(), out)
    plugin.host = Host(channel)
    plugin.granted = []
    try:
        code = _Loop(plugin, channel).serve()
    except BrokenPipeError:  # the host is gone
        code = 0
    sys.stderr.flush()
    sys.exit(code)


# ---------------------------------------------------------------------------------------------
# Rich → WireBuffer

_MODIFIER_BITS = (
    ("bold", p.BOLD),
    ("dim", p.DIM),
    ("italic", p.ITALIC),
    ("underline", p.UNDERLINED),
    ("blink", p.SLOW_BLINK),
    ("blink2", p.RAPID_BLINK),
    ("reverse", p.REVERSED),
    ("conceal", p.HIDDEN),
    ("strike", p.CROSSED_OUT),
)


def paint(renderable: Any, width: int, height: int) -> WireBuffer:
    """Render a Rich renderable (or markup string) into a sparse ``WireBuffer``.

    Only painted cells are sent: a blank cell with no background or modifier is left out.
    A wide character fills its first cell; the cell it covers is left unpainted.
    """
    from rich.cells import cell_len
    from rich.console import Console

    buffer = WireBuffer(width=width, height=height)
    if width <= 0 or height <= 0:
        return buffer
    console = Console(
        width=width,
        height=height,
        color_system="truecolor",
        force_terminal=True,
        legacy_windows=False,
        file=io.StringIO(),  # paint never prints; render_lines writes nothing here
        theme=None,
    )
    options = console.options.update(width=width, height=height)
    lines = console.render_lines(renderable, options, pad=False)
    for y, line in enumerate(lines[:height]):
        x = 0
        for segment in line:
            if segment.control or x >= width:
                continue
            fg, bg, modifier = _style(segment.style)
            plain = fg is None and bg is None and modifier == 0
            for ch in segment.text:
                w = cell_len(ch)
                if w == 0:
                    continue
                if x + w > width:
                    break
                if not (plain and ch == " "):
                    buffer.cells.append((p.Coord(x, y), p.Cell(ch, fg, bg, modifier)))
                x += w
    return buffer


_style_cache: dict[Any, tuple[p.Color | None, p.Color | None, int]] = {}


def _style(style: Any) -> tuple[p.Color | None, p.Color | None, int]:
    if style is None:
        return None, None, 0
    hit = _style_cache.get(style)
    if hit is not None:
        return hit
    modifier = 0
    for attr, bit in _MODIFIER_BITS:
        if getattr(style, attr):
            modifier |= bit
    result = (_color(style.color), _color(style.bgcolor), modifier)
    if len(_style_cache) < 4096:
        _style_cache[style] = result
    return result


def _color(color: Any) -> p.Color | None:
    if color is None or color.is_default:
        return None
    t = color.get_truecolor()
    return p.Color(t.red, t.green, t.blue)
