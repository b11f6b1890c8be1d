"""Wire types: JSON shapes (docs/plugins.md#shapes), base64, legacy integer arrays, chunks."""

from __future__ import annotations

import msgspec
import pytest

from hangar.plugins import protocol as p
from hangar.proto.jsonrpc import INVALID_PARAMS, RpcError, decode_message, encode_request


def roundtrip(value: object, typ: type) -> object:
    return p.from_wire(msgspec.json.decode(msgspec.json.encode(value)), typ)


def test_wire_buffer_is_sparse_coord_cell_pairs() -> None:
    buf = p.WireBuffer(4, 2)
    buf.put(1, 1, p.Cell("x", fg=p.Color(1, 2, 3), modifier=p.BOLD | p.ITALIC))
    assert msgspec.json.decode(msgspec.json.encode(buf)) == {
        "width": 4,
        "height": 2,
        "cells": [
            [
                {"x": 1, "y": 1},
                {"symbol": "x", "fg": {"r": 1, "g": 2, "b": 3}, "bg": None, "modifier": 5},
            ]
        ],
    }
    assert roundtrip(buf, p.WireBuffer) == buf


def test_out_of_bounds_cells_are_clipped() -> None:
    buf = p.WireBuffer(2, 1, cells=[(p.Coord(5, 0), p.Cell("a")), (p.Coord(1, 0), p.Cell("b"))])
    assert buf.clipped().cells == [(p.Coord(1, 0), p.Cell("b"))]
    buf.put(9, 9, p.Cell("z"))  # put clips too
    assert len(buf.cells) == 2
    assert buf.lines() == [" b"]


@pytest.mark.parametrize(
    ("name", "wire"),
    [
        ("q", {"type": "char", "ch": "q"}),
        ("esc", {"type": "esc"}),
        ("back_tab", {"type": "back_tab"}),
        ("page_down", {"type": "page_down"}),
        ("f5", {"type": "f", "n": 5}),
    ],
)
def test_key_codes_are_tagged_on_type(name: str, wire: dict[str, object]) -> None:
    event = p.key(name, p.CTRL)
    assert msgspec.json.decode(msgspec.json.encode(event)) == {
        "code": wire,
        "mods": 2,
        "kind": "press",
    }
    assert roundtrip(event, p.KeyEvent) == event


def test_key_event_defaults_and_helpers() -> None:
    event = p.from_wire({"code": {"type": "char", "ch": "w"}}, p.KeyEvent)
    assert (event.mods, event.kind, event.char, event.name) == (0, "press", "w", "char")
    assert p.key("esc").char is None
    with pytest.raises(ValueError, match="unknown key"):
        p.key("hyper")


def test_bad_key_type_is_invalid_params() -> None:
    with pytest.raises(RpcError) as err:
        p.from_wire({"code": {"type": "warp"}}, p.KeyEvent)
    assert err.value.code == INVALID_PARAMS


def test_bytes_travel_as_base64() -> None:
    out = p.CliOutput(stdout=b"hello\n", stderr=b"", exit_code=0)
    assert msgspec.json.decode(msgspec.json.encode(out)) == {
        "stdout": "aGVsbG8K",
        "stderr": "",
        "exit_code": 0,
    }
    assert roundtrip(out, p.CliOutput) == out


def test_legacy_integer_arrays_are_accepted() -> None:
    assert p.from_wire({"stdout": [104, 105], "exit_code": 1}, p.CliOutput) == p.CliOutput(
        stdout=b"hi", exit_code=1
    )
    nested = {
        "topic": "t",
        "payload": [],
        "chunk": {
            "version": 1,
            "published_ns": 2,
            "partial": True,
            "chunk_index": 0,
            "is_final": False,
            "data": [1, 2, 255],
        },
    }
    event = p.from_wire(nested, p.HandleEventParams)
    assert event.payload == b""
    assert event.chunk is not None and event.chunk.data == b"\x01\x02\xff"
    assert nested["payload"] == []  # the caller's value is untouched
    assert p.from_wire([0, 1], bytes) == b"\x00\x01"


@pytest.mark.parametrize("bad", [[256], [-1], ["a"], [True], [1.5]])
def test_legacy_array_must_hold_bytes(bad: list[object]) -> None:
    with pytest.raises(RpcError, match="not a byte array") as err:
        p.from_wire({"bytes": bad}, p.ReadFileResult)
    assert err.value.code == INVALID_PARAMS


def test_invalid_base64_is_invalid_params() -> None:
    with pytest.raises(RpcError) as err:
        p.from_wire({"stdout": "!!not base64!!"}, p.CliOutput)
    assert err.value.code == INVALID_PARAMS


def test_structs_ride_in_jsonrpc_envelopes() -> None:
    body = encode_request(7, p.RENDER, p.RenderParams(p.Viewport(80, 24), generation=3))
    msg = decode_message(body)
    params = p.from_wire(msg.params, p.RenderParams)  # type: ignore[union-attr]
    assert params == p.RenderParams(p.Viewport(80, 24), 3)
    assert p.from_wire({"viewport": {"width": 1, "height": 1}}, p.RenderParams).generation == 0


def test_snapshot_get_result_always_carries_version() -> None:
    assert msgspec.json.decode(msgspec.json.encode(p.SnapshotGetResult(version=0))) == {
        "version": 0
    }
    assert p.to_wire(p.SnapshotGetResult(version=2, payload=b"x")) == {
        "version": 2,
        "payload": "eA==",
    }


def test_capability_denied_message() -> None:
    err = p.capability_denied("network")
    assert (err.code, err.message) == (-32001, "capability denied: network")


# -- chunks ---------------------------------------------------------------------------------


def test_chunk_payload_splits_at_chunk_size() -> None:
    payload = bytes(range(256)) * (p.CHUNK_SIZE // 256 * 2 + 10)
    chunks = p.chunk_payload(payload, version=4, published_ns=9)
    assert [c.chunk_index for c in chunks] == [0, 1, 2]
    assert [c.is_final for c in chunks] == [False, False, True]
    assert all(c.partial and c.version == 4 and c.published_ns == 9 for c in chunks)
    assert b"".join(c.data for c in chunks) == payload
    single = p.chunk_payload(b"small", 1, 1)
    assert len(single) == 1 and single[0].is_final and not single[0].partial


def test_reassembler_joins_in_order() -> None:
    r = p.Reassembler()
    chunks = p.chunk_payload(b"x" * (p.CHUNK_SIZE + 5), 1, 0)
    assert r.feed("t", chunks[0]) is None
    assert r.feed("t", chunks[1]) == b"x" * (p.CHUNK_SIZE + 5)
    assert r.pending() == []


def _chunk(index: int, final: bool, version: int = 1, data: bytes = b"ab") -> p.Chunk:
    return p.Chunk(version, 0, True, index, final, data)


def test_reassembler_drops_follow_ons_without_chunk_zero() -> None:
    r = p.Reassembler()
    assert r.feed("t", _chunk(1, False)) is None
    assert r.feed("t", _chunk(2, True)) is None
    assert r.dropped == 2
    # a fresh chunk 0 starts over and completes
    assert r.feed("t", _chunk(0, False)) is None
    assert r.feed("t", _chunk(1, True)) == b"abab"


def test_reassembler_drops_gaps_and_version_changes() -> None:
    r = p.Reassembler()
    r.feed("t", _chunk(0, False))
    assert r.feed("t", _chunk(2, True)) is None  # chunk 1 missing
    r.feed("t", _chunk(0, False, version=1))
    assert r.feed("t", _chunk(1, True, version=2)) is None
    assert r.dropped == 2
    assert r.pending() == []


def test_reassembler_bounds_memory() -> None:
    r = p.Reassembler(max_bytes=3)
    r.feed("t", _chunk(0, False))
    assert r.feed("t", _chunk(1, True)) is None
    assert r.dropped == 1 and r.pending() == []


def test_reassembler_keys_are_independent() -> None:
    r = p.Reassembler()
    r.feed("a", _chunk(0, False, data=b"A"))
    r.feed("b", _chunk(0, False, data=b"B"))
    assert r.feed("a", _chunk(1, True, data=b"a")) == b"Aa"
    assert r.feed("b", _chunk(1, True, data=b"b")) == b"Bb"


@pytest.mark.parametrize(
    ("value", "typ"),
    [
        ({"r": 256, "g": 0, "b": 0}, p.Color),
        ({"r": 0, "g": -1, "b": 0}, p.Color),
        ({"symbol": "x", "modifier": 65536}, p.Cell),
        ({"symbol": "x", "modifier": -1}, p.Cell),
        ({"width": 65536, "height": 1}, p.Viewport),
        ({"width": 1, "height": -1}, p.Viewport),
        ({"code": {"type": "enter"}, "mods": 16}, p.KeyEvent),
        ({"code": {"type": "enter"}, "mods": -1}, p.KeyEvent),
    ],
)
def test_wire_integers_are_range_checked(value: dict[str, object], typ: type) -> None:
    with pytest.raises(RpcError) as err:
        p.from_wire(value, typ)
    assert err.value.code == p.INVALID_PARAMS


def test_wire_integers_at_their_bounds_pass() -> None:
    assert p.from_wire({"r": 255, "g": 0, "b": 255}, p.Color) == p.Color(255, 0, 255)
    assert p.from_wire({"symbol": "x", "modifier": 511}, p.Cell).modifier == 511
    assert p.from_wire({"width": 65535, "height": 0}, p.Viewport) == p.Viewport(65535, 0)
    assert p.from_wire({"code": {"type": "enter"}, "mods": 15}, p.KeyEvent).mods == 15


def test_reassembler_holds_byte_budgets_per_owner_and_in_all() -> None:
    r = p.Reassembler(max_total=6, max_per_owner=4)
    r.feed("a1", _chunk(0, False), owner="a")
    r.feed("a2", _chunk(0, False), owner="a")
    assert r.feed("a3", _chunk(0, False), owner="a") is None  # a would hold 6 > 4
    assert r.feed("a1", _chunk(1, False), owner="a") is None  # growing past it drops a1
    assert r.dropped == 2 and r.pending() == ["a2"] and r.owned("a") == 2
    r.feed("b1", _chunk(0, False), owner="b")
    r.feed("c1", _chunk(0, False), owner="c")  # 6 in all
    assert r.feed("d1", _chunk(0, False), owner="d") is None and r.dropped == 3
    r.forget("a2")
    assert r.total == 4 and r.owned("a") == 0
    assert r.feed("b1", _chunk(1, True), owner="b") == b"abab"
    assert r.total == 2 and r.pending() == ["c1"]
