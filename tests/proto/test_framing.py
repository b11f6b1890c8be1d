"""Content-Length framing: the same rules through the incremental decoder, asyncio and files."""

from __future__ import annotations

import asyncio
import io
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hangar.proto.framing import (
    MAX_BODY_BYTES,
    MAX_HEADER_BYTES,
    BodyTooLarge,
    FrameDecoder,
    FrameError,
    HeaderTooLarge,
    MalformedHeader,
    UnexpectedEof,
    encode_frame,
    parse_header_block,
    read_frame,
    read_frame_sync,
    write_frame,
    write_frame_sync,
)

READERS = ["decoder", "async", "sync"]


def read_all(kind: str, data: bytes) -> list[bytes]:
    """Every body in ``data`` (then end of stream), read the ``kind`` way."""
    if kind == "decoder":
        decoder = FrameDecoder()
        bodies = decoder.feed(data)
        decoder.eof()
        return bodies
    if kind == "sync":
        stream = io.BytesIO(data)
        bodies = []
        while (body := read_frame_sync(stream)) is not None:
            bodies.append(body)
        return bodies

    async def go() -> list[bytes]:
        reader = asyncio.StreamReader(limit=64 * 1024)
        reader.feed_data(data)
        reader.feed_eof()
        bodies = []
        while (body := await read_frame(reader)) is not None:
            bodies.append(body)
        return bodies

    return asyncio.run(go())


def read_first_no_eof(kind: str, data: bytes) -> bytes | None:
    """Read one frame from ``data`` with the stream left open (more may come)."""
    if kind == "decoder":
        bodies = FrameDecoder().feed(data)
        return bodies[0] if bodies else None
    if kind == "sync":
        return read_frame_sync(io.BytesIO(data))  # BytesIO cannot stay open; EOF follows

    async def go() -> bytes | None:
        reader = asyncio.StreamReader(limit=64 * 1024)
        reader.feed_data(data)
        return await asyncio.wait_for(read_frame(reader), 5)

    return asyncio.run(go())


MULTIBYTE = json.dumps({"text": "héllo wörld ✓ 🚀 日本語"}, ensure_ascii=False).encode()


def test_encode_counts_bytes_not_characters() -> None:
    frame = encode_frame(MULTIBYTE)
    assert len(MULTIBYTE) > len(MULTIBYTE.decode())
    assert frame == b"Content-Length: %d\r\n\r\n" % len(MULTIBYTE) + MULTIBYTE


@pytest.mark.parametrize("kind", READERS)
def test_round_trip_multibyte(kind: str) -> None:
    assert read_all(kind, encode_frame(MULTIBYTE)) == [MULTIBYTE]


@pytest.mark.parametrize("kind", READERS)
def test_two_frames_in_one_chunk(kind: str) -> None:
    data = encode_frame(b'{"a":1}') + encode_frame(MULTIBYTE)
    assert read_all(kind, data) == [b'{"a":1}', MULTIBYTE]


@pytest.mark.parametrize("kind", READERS)
def test_empty_stream_is_clean_eof(kind: str) -> None:
    assert read_all(kind, b"") == []


@pytest.mark.parametrize("kind", READERS)
def test_zero_length_body(kind: str) -> None:
    assert read_all(kind, b"Content-Length: 0\r\n\r\n") == [b""]


@pytest.mark.parametrize("kind", READERS)
def test_other_headers_are_ignored_and_name_is_case_insensitive(kind: str) -> None:
    data = (
        b"Content-Type: application/vscode-jsonrpc; charset=utf-8\r\n"
        b"content-length:   7 \r\n"
        b"X-Anything: yes\r\n\r\n"
        b'{"a":1}'
    )
    assert read_all(kind, data) == [b'{"a":1}']


@pytest.mark.parametrize("kind", READERS)
def test_leading_zeros_are_a_number(kind: str) -> None:
    assert read_all(kind, b"Content-Length: 0002\r\n\r\n{}") == [b"{}"]


@given(
    bodies=st.lists(st.binary(max_size=300), max_size=6),
    cuts=st.lists(st.integers(min_value=0, max_value=5000), max_size=20),
)
@settings(max_examples=300, deadline=None)
def test_decoder_split_at_any_boundary(bodies: list[bytes], cuts: list[int]) -> None:
    stream = b"".join(encode_frame(b) for b in bodies)
    points = sorted({c % (len(stream) + 1) for c in cuts})
    decoder = FrameDecoder()
    got: list[bytes] = []
    start = 0
    for point in [*points, len(stream)]:
        got += decoder.feed(stream[start:point])
        start = point
    assert got == bodies
    assert decoder.at_boundary
    decoder.eof()


@given(
    bodies=st.lists(st.text(max_size=50).map(str.encode), min_size=1, max_size=4),
    chunk=st.integers(min_value=1, max_value=64),
)
@settings(max_examples=100, deadline=None)
def test_async_reader_with_trickled_chunks(bodies: list[bytes], chunk: int) -> None:
    stream = b"".join(encode_frame(b) for b in bodies)

    async def go() -> list[bytes]:
        reader = asyncio.StreamReader()

        async def trickle() -> None:
            for i in range(0, len(stream), chunk):
                reader.feed_data(stream[i : i + chunk])
                await asyncio.sleep(0)
            reader.feed_eof()

        feeder = asyncio.create_task(trickle())
        got = []
        while (body := await read_frame(reader)) is not None:
            got.append(body)
        await feeder
        return got

    assert asyncio.run(go()) == bodies


def test_at_boundary_tracks_partial_frames() -> None:
    decoder = FrameDecoder()
    assert decoder.at_boundary
    assert decoder.feed(b"Content-Len") == []
    assert not decoder.at_boundary
    assert decoder.feed(b"gth: 2\r\n\r\n{") == []
    assert not decoder.at_boundary
    assert decoder.feed(b"}") == [b"{}"]
    assert decoder.at_boundary


# -- limits -------------------------------------------------------------------------------------


def header_of_size(total: int) -> bytes:
    """A valid header block exactly ``total`` bytes long (padded by a filler header)."""
    base = b"Content-Length: 2\r\nX-Fill: \r\n\r\n"
    return b"Content-Length: 2\r\nX-Fill: " + b"x" * (total - len(base)) + b"\r\n\r\n"


@pytest.mark.parametrize("kind", READERS)
def test_header_block_at_the_limit_is_accepted(kind: str) -> None:
    header = header_of_size(MAX_HEADER_BYTES)
    assert len(header) == MAX_HEADER_BYTES
    assert read_all(kind, header + b"{}") == [b"{}"]


@pytest.mark.parametrize("kind", READERS)
def test_header_block_over_the_limit(kind: str) -> None:
    with pytest.raises(HeaderTooLarge):
        read_all(kind, header_of_size(MAX_HEADER_BYTES + 1) + b"{}")


@pytest.mark.parametrize("kind", READERS)
def test_header_made_of_many_lines_over_the_limit(kind: str) -> None:
    lines = b"".join(b"X-N%d: %s\r\n" % (i, b"y" * 90) for i in range(100))
    with pytest.raises(HeaderTooLarge):
        read_all(kind, b"Content-Length: 2\r\n" + lines + b"\r\n{}")


def test_decoder_rejects_an_endless_header_without_waiting_for_more() -> None:
    decoder = FrameDecoder()
    decoder.feed(b"X" * (MAX_HEADER_BYTES - 1))
    with pytest.raises(HeaderTooLarge):
        decoder.feed(b"X")


def test_async_reader_rejects_a_header_line_longer_than_its_limit() -> None:
    async def go() -> None:
        reader = asyncio.StreamReader(limit=MAX_HEADER_BYTES)
        reader.feed_data(b"X" * (MAX_HEADER_BYTES * 3))  # no newline, stream still open
        await asyncio.wait_for(read_frame(reader), 5)

    with pytest.raises(HeaderTooLarge):
        asyncio.run(go())


@pytest.mark.parametrize("kind", READERS)
def test_oversize_body_refused_from_the_header_alone(kind: str) -> None:
    header = b"Content-Length: %d\r\n\r\n" % (MAX_BODY_BYTES + 1)
    with pytest.raises(BodyTooLarge):
        read_first_no_eof(kind, header)  # no body bytes sent, stream still open


@pytest.mark.parametrize("kind", READERS)
def test_absurdly_long_length_is_body_too_large(kind: str) -> None:
    with pytest.raises(BodyTooLarge):
        read_first_no_eof(kind, b"Content-Length: " + b"9" * 5000 + b"\r\n\r\n")


def test_body_at_the_limit_round_trips() -> None:
    body = b"x" * MAX_BODY_BYTES
    frame = encode_frame(body)
    decoder = FrameDecoder()
    got: list[bytes] = []
    for i in range(0, len(frame), 1 << 20):
        got += decoder.feed(frame[i : i + (1 << 20)])
    assert got == [body]


def test_encode_refuses_oversize_body() -> None:
    with pytest.raises(BodyTooLarge):
        encode_frame(b"x" * (MAX_BODY_BYTES + 1))


def test_write_frame_sync_refuses_oversize_body() -> None:
    out = io.BytesIO()
    with pytest.raises(BodyTooLarge):
        write_frame_sync(out, b"x" * (MAX_BODY_BYTES + 1))
    assert out.getvalue() == b""


# -- malformed headers --------------------------------------------------------------------------

MALFORMED = {
    "missing": b"Content-Type: text/plain\r\n\r\n{}",
    "empty block": b"\r\n\r\n{}",
    "duplicate": b"Content-Length: 2\r\nContent-Length: 2\r\n\r\n{}",
    "non-numeric": b"Content-Length: two\r\n\r\n{}",
    "negative": b"Content-Length: -2\r\n\r\n{}",
    "plus sign": b"Content-Length: +2\r\n\r\n{}",
    "empty value": b"Content-Length: \r\n\r\n{}",
    "float": b"Content-Length: 2.0\r\n\r\n{}",
    "unicode digits": "Content-Length: \uff12\r\n\r\n{}".encode(),  # fullwidth 2
    "no colon": b"Content-Length 2\r\n\r\n{}",
    "empty name": b": 2\r\nContent-Length: 2\r\n\r\n{}",
    "bare CR inside": b"Content-Length: 2\rX\r\n\r\n{}",
}


@pytest.mark.parametrize("kind", READERS)
@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_header(kind: str, case: str) -> None:
    with pytest.raises(MalformedHeader):
        read_all(kind, MALFORMED[case])


@pytest.mark.parametrize("kind", READERS)
def test_lf_only_header_is_rejected_at_once(kind: str) -> None:
    with pytest.raises(MalformedHeader):
        read_first_no_eof(kind, b"Content-Length: 2\n\n{}")


@pytest.mark.parametrize("kind", READERS)
def test_mixed_line_endings_are_rejected(kind: str) -> None:
    with pytest.raises(MalformedHeader):
        read_all(kind, b"Content-Length: 2\r\nX-A: 1\n\r\n{}")


def test_parse_header_block_directly() -> None:
    assert parse_header_block(b"Content-Length: 12") == 12
    with pytest.raises(MalformedHeader):
        parse_header_block(b"")


# -- end of stream ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", READERS)
@pytest.mark.parametrize(
    "data",
    [b"C", b"Content-Length: 5", b"Content-Length: 5\r\n", b"Content-Length: 5\r\n\r"],
    ids=["one byte", "no CRLF", "no blank line", "half blank line"],
)
def test_eof_mid_header(kind: str, data: bytes) -> None:
    with pytest.raises(UnexpectedEof):
        read_all(kind, data)


@pytest.mark.parametrize("kind", READERS)
@pytest.mark.parametrize("body", [b"", b"{}", b'{"a":'])
def test_eof_mid_body(kind: str, body: bytes) -> None:
    with pytest.raises(UnexpectedEof):
        read_all(kind, b"Content-Length: 6\r\n\r\n" + body)


@pytest.mark.parametrize("kind", READERS)
def test_eof_after_a_complete_frame_is_clean(kind: str) -> None:
    assert read_all(kind, encode_frame(b"{}")) == [b"{}"]


def test_decoder_stays_failed_after_an_error() -> None:
    decoder = FrameDecoder()
    with pytest.raises(MalformedHeader):
        decoder.feed(b"Content-Length: x\r\n\r\n")
    with pytest.raises(FrameError):
        decoder.feed(encode_frame(b"{}"))
    with pytest.raises(FrameError):
        decoder.eof()


def test_error_hierarchy() -> None:
    for cls in (HeaderTooLarge, BodyTooLarge, MalformedHeader, UnexpectedEof):
        assert issubclass(cls, FrameError)


# -- writers ------------------------------------------------------------------------------------


def test_write_frame_sync_then_read_back() -> None:
    out = io.BytesIO()
    write_frame_sync(out, MULTIBYTE)
    write_frame_sync(out, b"{}")
    out.seek(0)
    assert read_frame_sync(out) == MULTIBYTE
    assert read_frame_sync(out) == b"{}"
    assert read_frame_sync(out) is None


async def test_write_frame_over_a_real_socket_pair() -> None:
    import socket

    left, right = socket.socketpair()
    try:
        # keep both writers referenced: a collected StreamWriter closes its transport
        reader, left_writer = await asyncio.open_unix_connection(sock=left)
        right_reader, writer = await asyncio.open_unix_connection(sock=right)
        await asyncio.gather(*(write_frame(writer, b'{"n":%d}' % i) for i in range(50)))
        await write_frame(writer, MULTIBYTE)
        got = [await read_frame(reader) for _ in range(51)]
        assert got[:50] == [b'{"n":%d}' % i for i in range(50)]
        assert got[50] == MULTIBYTE
        writer.close()
        assert await read_frame(reader) is None
        left_writer.close()
        assert right_reader is not None
    finally:
        left.close()
        right.close()


async def test_write_frame_refuses_oversize_body() -> None:
    class NoWriter:
        def write(self, data: bytes) -> None:
            raise AssertionError("nothing may be written")

    with pytest.raises(BodyTooLarge):
        await write_frame(NoWriter(), b"x" * (MAX_BODY_BYTES + 1))  # type: ignore[arg-type]
