"""Content-Length framing for the daemon socket and plugin stdio (docs/wire-protocol.md#framing).

A frame is ``Content-Length: N\\r\\n\\r\\n`` followed by exactly N bytes (N counts bytes, not
characters) holding one UTF-8 JSON message. The header block, terminator included, is at most
``MAX_HEADER_BYTES``; the body at most ``MAX_BODY_BYTES``. Header lines end in CRLF (a bare LF is
an error); exactly one ``Content-Length`` is required (name matched case-insensitively), and any
other ``Name: value`` line is tolerated and ignored. End of stream is clean only before a
frame's first byte.

Three ways to read, one set of rules:

- ``FrameDecoder``: incremental, push bytes in, get complete bodies out (for ``recv`` loops and
  sockets with timeouts).
- ``read_frame`` / ``write_frame``: ``asyncio`` streams.
- ``read_frame_sync`` / ``write_frame_sync``: blocking binary file objects (``sock.makefile("rb")``,
  ``sys.stdin.buffer``, a pipe).

Any ``FrameError`` leaves the stream out of sync: close it.

This module does not import ``asyncio`` at import time, so the blocking path stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import asyncio

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_HEADER_BYTES",
    "BodyTooLarge",
    "FrameDecoder",
    "FrameError",
    "HeaderTooLarge",
    "MalformedHeader",
    "SyncReader",
    "SyncWriter",
    "UnexpectedEof",
    "encode_frame",
    "parse_header_block",
    "read_frame",
    "read_frame_sync",
    "write_frame",
    "write_frame_sync",
]

MAX_HEADER_BYTES = 8 * 1024
"""Largest header block accepted, counting the final blank line (``\\r\\n\\r\\n``)."""

MAX_BODY_BYTES = 16 * 1024 * 1024
"""Largest body accepted or sent, in bytes."""

_CRLF = b"\r\n"
_TERMINATOR = b"\r\n\r\n"
_CONTENT_LENGTH = b"content-length"
_MAX_LENGTH_DIGITS = len(str(MAX_BODY_BYTES))


class FrameError(Exception):
    """The byte stream does not follow the framing rules; the stream must be closed."""


class HeaderTooLarge(FrameError):
    """The header block exceeds ``MAX_HEADER_BYTES``."""


class BodyTooLarge(FrameError):
    """The declared (or given) body exceeds ``MAX_BODY_BYTES``."""


class MalformedHeader(FrameError):
    """Bad header syntax: missing, duplicate or non-numeric Content-Length, bare LF, ..."""


class UnexpectedEof(FrameError):
    """The stream ended inside a frame."""


def encode_frame(body: bytes) -> bytes:
    """Frame one message body."""
    size = len(body)
    if size > MAX_BODY_BYTES:
        raise BodyTooLarge(f"body of {size} bytes exceeds the {MAX_BODY_BYTES}-byte limit")
    return b"Content-Length: %d\r\n\r\n" % size + body


def parse_header_block(block: bytes) -> int:
    """Return the body length declared by a header block.

    ``block`` is the header lines without the final blank line, i.e. everything before the
    first ``\\r\\n\\r\\n``. Raises ``MalformedHeader`` or ``BodyTooLarge``.
    """
    if not block:
        raise MalformedHeader("missing Content-Length header")
    length: int | None = None
    for line in block.split(_CRLF):
        if b"\r" in line or b"\n" in line:
            raise MalformedHeader("header lines must end with CRLF")
        name, colon, value = line.partition(b":")
        name = name.strip(b" \t")
        if not colon or not name:
            raise MalformedHeader(f"bad header line {_show(line)}")
        if name.lower() != _CONTENT_LENGTH:
            continue  # only Content-Length is recognised; other headers are ignored
        if length is not None:
            raise MalformedHeader("duplicate Content-Length header")
        length = _parse_length(value.strip(b" \t"))
    if length is None:
        raise MalformedHeader("missing Content-Length header")
    return length


def _parse_length(value: bytes) -> int:
    if not value or not value.isdigit():  # bytes.isdigit is ASCII-only: no sign, no space
        raise MalformedHeader(f"Content-Length is not a non-negative integer: {_show(value)}")
    digits = value.lstrip(b"0") or b"0"
    if len(digits) > _MAX_LENGTH_DIGITS:
        raise BodyTooLarge(f"declared body of {len(digits)} digits exceeds {MAX_BODY_BYTES} bytes")
    length = int(digits)
    if length > MAX_BODY_BYTES:
        raise BodyTooLarge(f"declared body of {length} bytes exceeds {MAX_BODY_BYTES} bytes")
    return length


def _show(raw: bytes) -> str:
    text = repr(raw[:60])
    return text + ("..." if len(raw) > 60 else "")


class FrameDecoder:
    """Incremental decoder: ``feed`` bytes as they arrive, get back the complete bodies.

    Oversize frames are refused as soon as the header declares them, without buffering the
    body. After a ``FrameError`` the decoder stays failed and every later ``feed`` re-raises.
    """

    __slots__ = ("_buf", "_error", "_need", "_scan")

    def __init__(self) -> None:
        self._buf = bytearray()
        self._need: int | None = None  # body length once the header is parsed
        self._scan = 0  # header bytes already checked for line endings
        self._error: FrameError | None = None

    @property
    def at_boundary(self) -> bool:
        """True when no partial frame is buffered (so end of stream here is clean)."""
        return self._need is None and not self._buf

    @property
    def buffered(self) -> int:
        """Bytes held for the frame in progress."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[bytes]:
        """Add ``data`` and return every body it completes, in order."""
        if self._error is not None:
            raise self._error
        buf = self._buf
        buf += data
        bodies: list[bytes] = []
        start = 0  # consumed bytes are dropped once, at the end, to stay linear
        try:
            while True:
                need = self._need
                if need is None:
                    start = self._parse_header(start)
                    need = self._need
                    if need is None:
                        break
                if len(buf) - start < need:
                    break
                with memoryview(buf) as view, view[start : start + need] as body:
                    bodies.append(body.tobytes())  # one copy, even for a 16 MiB body
                start += need
                self._need = None
        except FrameError as exc:
            self._error = exc
            raise
        finally:
            if start:
                del buf[:start]
                self._scan = max(0, self._scan - start)
        return bodies

    def eof(self) -> None:
        """Declare end of stream: raises ``UnexpectedEof`` unless at a frame boundary."""
        if self._error is not None:
            raise self._error
        if not self.at_boundary:
            where = "body" if self._need is not None else "header"
            self._error = UnexpectedEof(f"end of stream inside a frame {where}")
            raise self._error

    def _parse_header(self, start: int) -> int:
        """Parse a header block at ``start``; return the offset just past it.

        Sets ``_need`` when the block is complete; otherwise returns ``start`` unchanged.
        """
        buf = self._buf
        pos = buf.find(b"\n", max(start, self._scan))
        while pos != -1:
            if pos == start or buf[pos - 1] != 0x0D:
                raise MalformedHeader("header lines must end with CRLF, not a bare LF")
            end = pos + 1
            if end - start >= 4 and buf[end - 4 : end] == _TERMINATOR:
                if end - start > MAX_HEADER_BYTES:
                    raise HeaderTooLarge(f"header block exceeds {MAX_HEADER_BYTES} bytes")
                self._need = parse_header_block(bytes(buf[start : end - 4]))
                self._scan = 0
                return end
            pos = buf.find(b"\n", end)
        if len(buf) - start >= MAX_HEADER_BYTES:
            raise HeaderTooLarge(f"header block exceeds {MAX_HEADER_BYTES} bytes")
        # A trailing CR may be the first half of a CRLF: rescan it next time.
        self._scan = max(start, len(buf) - 1)
        return start


# ---------------------------------------------------------------------------------------------
# asyncio streams


async def read_frame(reader: asyncio.StreamReader) -> bytes | None:
    """Read one frame body; ``None`` on a clean end of stream (before a frame's first byte).

    Give the ``StreamReader`` a ``limit`` of at least ``MAX_HEADER_BYTES`` (the default 64 KiB
    is fine): a header line without a newline is refused once it passes that limit.
    """
    import asyncio

    lines: list[bytes] = []
    total = 0
    while True:
        try:
            line = await reader.readuntil(b"\n")
        except asyncio.IncompleteReadError as exc:
            if not exc.partial and total == 0:
                return None
            raise UnexpectedEof("end of stream inside a frame header") from None
        except asyncio.LimitOverrunError:
            raise HeaderTooLarge(f"header block exceeds {MAX_HEADER_BYTES} bytes") from None
        total += len(line)
        if total > MAX_HEADER_BYTES:
            raise HeaderTooLarge(f"header block exceeds {MAX_HEADER_BYTES} bytes")
        if line == _CRLF:
            break
        lines.append(_strip_crlf(line))
    size = parse_header_block(_CRLF.join(lines))
    try:
        return await reader.readexactly(size)
    except asyncio.IncompleteReadError as exc:
        got = len(exc.partial)
        raise UnexpectedEof(f"end of stream after {got} of {size} body bytes") from None


async def write_frame(writer: asyncio.StreamWriter, body: bytes) -> None:
    """Write one frame and wait for the transport to drain.

    The header and body are queued without yielding to the event loop, so frames written by
    concurrent tasks never interleave.
    """
    size = len(body)
    if size > MAX_BODY_BYTES:
        raise BodyTooLarge(f"body of {size} bytes exceeds the {MAX_BODY_BYTES}-byte limit")
    writer.write(b"Content-Length: %d\r\n\r\n" % size)
    writer.write(body)
    await writer.drain()


# ---------------------------------------------------------------------------------------------
# blocking file objects


class SyncReader(Protocol):
    """A blocking binary reader: ``sock.makefile("rb")``, ``sys.stdin.buffer``, ``io.BytesIO``."""

    def readline(self, size: int = -1, /) -> bytes: ...

    def read(self, size: int = -1, /) -> bytes: ...


class SyncWriter(Protocol):
    """A blocking binary writer: ``sock.makefile("wb")``, ``sys.stdout.buffer``, a pipe."""

    def write(self, data: bytes, /) -> int | None: ...

    def flush(self) -> None: ...


def read_frame_sync(stream: SyncReader) -> bytes | None:
    """Read one frame body from a blocking binary stream; ``None`` on a clean end of stream.

    Do not use it on a socket file with a timeout: a timeout mid-frame loses buffered bytes.
    Feed a ``FrameDecoder`` from ``recv`` instead.
    """
    lines: list[bytes] = []
    total = 0
    while True:
        line = stream.readline(MAX_HEADER_BYTES - total + 1)
        if not line.endswith(b"\n"):
            if len(line) > MAX_HEADER_BYTES - total:
                raise HeaderTooLarge(f"header block exceeds {MAX_HEADER_BYTES} bytes")
            if not line and total == 0:
                return None
            raise UnexpectedEof("end of stream inside a frame header")
        total += len(line)
        if total > MAX_HEADER_BYTES:
            raise HeaderTooLarge(f"header block exceeds {MAX_HEADER_BYTES} bytes")
        if line == _CRLF:
            break
        lines.append(_strip_crlf(line))
    size = parse_header_block(_CRLF.join(lines))
    chunks: list[bytes] = []
    got = 0
    while got < size:
        chunk = stream.read(size - got)
        if not chunk:
            raise UnexpectedEof(f"end of stream after {got} of {size} body bytes")
        chunks.append(chunk)
        got += len(chunk)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def write_frame_sync(stream: SyncWriter, body: bytes) -> None:
    """Write one frame to a blocking binary stream and flush it."""
    stream.write(encode_frame(body))
    stream.flush()


def _strip_crlf(line: bytes) -> bytes:
    if len(line) < 2 or line[-2] != 0x0D:
        raise MalformedHeader("header lines must end with CRLF, not a bare LF")
    return line[:-2]
