"""JSON-RPC 2.0 envelopes: what we send, what we accept, and how refusals are coded."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hangar.proto import jsonrpc
from hangar.proto.jsonrpc import (
    ErrorObject,
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


def test_error_codes() -> None:
    assert (jsonrpc.PARSE_ERROR, jsonrpc.INVALID_REQUEST) == (-32700, -32600)
    assert (jsonrpc.METHOD_NOT_FOUND, jsonrpc.INVALID_PARAMS) == (-32601, -32602)
    assert jsonrpc.INTERNAL_ERROR == -32603
    assert jsonrpc.UNAUTHORIZED == -32000
    assert list(range(-32001, -32008, -1)) == [
        jsonrpc.CAPABILITY_DENIED,
        jsonrpc.ACTION_TIMEOUT,
        jsonrpc.MANIFEST_VALIDATION,
        jsonrpc.SECRET_NOT_FOUND,
        jsonrpc.NOT_IMPLEMENTED,
        jsonrpc.SECRET_BACKEND_LOCKED,
        jsonrpc.SECRET_ACCESS_DENIED,
    ]
    assert (jsonrpc.NOT_FOUND, jsonrpc.CONFLICT) == (-32010, -32011)
    codes = [v for k, v in vars(jsonrpc).items() if k.isupper() and isinstance(v, int)]
    assert len(codes) == len(set(codes)), "error codes must be distinct"


# -- encoding -----------------------------------------------------------------------------------


def test_encode_request() -> None:
    assert json.loads(encode_request(7, "hangar/issues_list", {"workspace_id": "default"})) == {
        "jsonrpc": "2.0",
        "id": 7,
        "method": "hangar/issues_list",
        "params": {"workspace_id": "default"},
    }


def test_encode_request_without_params_omits_them() -> None:
    assert json.loads(encode_request("a", "ping")) == {
        "jsonrpc": "2.0",
        "id": "a",
        "method": "ping",
    }


def test_encode_notification() -> None:
    assert json.loads(encode_notification("hangar/event", {"event": "x"})) == {
        "jsonrpc": "2.0",
        "method": "hangar/event",
        "params": {"event": "x"},
    }
    assert json.loads(encode_notification("host/ping")) == {"jsonrpc": "2.0", "method": "host/ping"}


def test_encode_result_keeps_null_result() -> None:
    assert json.loads(encode_result(1, None)) == {"jsonrpc": "2.0", "id": 1, "result": None}


def test_encode_error_omits_empty_data() -> None:
    assert json.loads(encode_error(3, -32601, "method not found: x")) == {
        "jsonrpc": "2.0",
        "id": 3,
        "error": {"code": -32601, "message": "method not found: x"},
    }
    assert json.loads(encode_error(None, -32700, "bad", {"at": 4})) == {
        "jsonrpc": "2.0",
        "id": None,
        "error": {"code": -32700, "message": "bad", "data": {"at": 4}},
    }


def test_encode_accepts_msgspec_structs_and_non_ascii() -> None:
    class Row(msgspec.Struct):
        id: str
        title: str

    body = encode_result(1, {"issues": [Row(id="01J", title="héllo ✓")]})
    assert json.loads(body)["result"] == {"issues": [{"id": "01J", "title": "héllo ✓"}]}


# -- decoding: the good -------------------------------------------------------------------------


def test_decode_request() -> None:
    msg = decode_message(encode_request(1, "echo", {"a": [1, 2.5, "x", None, True]}))
    assert msg == Request(id=1, method="echo", params={"a": [1, 2.5, "x", None, True]})


def test_decode_request_with_string_id_and_array_params() -> None:
    msg = decode_message(b'{"jsonrpc":"2.0","id":"r-1","method":"m","params":[1,2]}')
    assert isinstance(msg, Request)
    assert (msg.id, msg.params) == ("r-1", [1, 2])


def test_decode_notification() -> None:
    msg = decode_message(encode_notification("hangar/event", {"event": "task_started"}))
    assert msg == Notification(method="hangar/event", params={"event": "task_started"})


def test_decode_without_params() -> None:
    assert decode_message(b'{"jsonrpc":"2.0","method":"m"}') == Notification(method="m")
    assert decode_message(b'{"jsonrpc":"2.0","id":2,"method":"m","params":null}') == Request(
        id=2, method="m"
    )


def test_decode_success_response() -> None:
    msg = decode_message(encode_result(4, {"ok": True}))
    assert msg == Response(id=4, result={"ok": True})
    assert isinstance(msg, Response)
    assert not msg.is_error


def test_decode_null_result_is_success() -> None:
    msg = decode_message(encode_result(4, None))
    assert isinstance(msg, Response)
    assert msg.error is None
    assert msg.result is None


def test_decode_error_response() -> None:
    msg = decode_message(encode_error(5, -32602, "invalid params", {"field": "to_status"}))
    assert isinstance(msg, Response)
    assert msg.is_error
    assert msg.error == ErrorObject(
        code=-32602, message="invalid params", data={"field": "to_status"}
    )
    exc = msg.error.to_exception()
    assert (exc.code, exc.message, exc.data) == (-32602, "invalid params", {"field": "to_status"})


def test_decode_error_response_with_null_id() -> None:
    msg = decode_message(encode_error(None, -32700, "parse error"))
    assert isinstance(msg, Response)
    assert msg.id is None


def test_unknown_members_are_ignored() -> None:
    msg = decode_message(b'{"jsonrpc":"2.0","id":1,"method":"m","extra":{"x":1}}')
    assert msg == Request(id=1, method="m")


def test_params_convert_to_typed_structs() -> None:
    class Params(msgspec.Struct):
        workspace_id: str
        limit: int = 10

    msg = decode_message(encode_request(1, "m", {"workspace_id": "default"}))
    assert isinstance(msg, Request)
    assert msgspec.convert(msg.params, Params) == Params(workspace_id="default")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(
    id=st.integers(-(2**63), 2**63 - 1) | st.text(),
    method=st.text(min_size=1),
    params=st.dictionaries(st.text(), json_values, max_size=5),
)
def test_request_round_trip(id: int | str, method: str, params: dict[str, Any]) -> None:
    assert decode_message(encode_request(id, method, params)) == Request(
        id=id, method=method, params=params
    )


@given(result=json_values)
def test_result_round_trip(result: Any) -> None:
    assert decode_message(encode_result(1, result)) == Response(id=1, result=result)


# -- decoding: the bad --------------------------------------------------------------------------

PARSE_ERRORS = {
    "empty": b"",
    "truncated": b'{"jsonrpc":"2.0","id":1,',
    "not json": b"hello",
    "trailing garbage": b'{"jsonrpc":"2.0","method":"m"} x',
    "bad utf-8 string": b'{"jsonrpc":"2.0","id":1,"method":"\xff"}',
    "bad utf-8 start": b"\xff\xfe{}",
    "truncated batch": b"[1, 2",
}


@pytest.mark.parametrize("case", sorted(PARSE_ERRORS))
def test_parse_error(case: str) -> None:
    with pytest.raises(RpcError) as info:
        decode_message(PARSE_ERRORS[case])
    assert info.value.code == jsonrpc.PARSE_ERROR


INVALID = {
    "batch": b'[{"jsonrpc":"2.0","id":1,"method":"m"}]',
    "empty batch": b"[]",
    "scalar": b"42",
    "string": b'"hello"',
    "null": b"null",
    "missing jsonrpc": b'{"id":1,"method":"m"}',
    "jsonrpc 1.0": b'{"jsonrpc":"1.0","id":1,"method":"m"}',
    "jsonrpc number": b'{"jsonrpc":2.0,"id":1,"method":"m"}',
    "no method no result": b'{"jsonrpc":"2.0","id":1}',
    "empty object": b"{}",
    "method not string": b'{"jsonrpc":"2.0","id":1,"method":5}',
    "id float": b'{"jsonrpc":"2.0","id":1.5,"method":"m"}',
    "id bool": b'{"jsonrpc":"2.0","id":true,"method":"m"}',
    "id object": b'{"jsonrpc":"2.0","id":{},"method":"m"}',
    "request with null id": b'{"jsonrpc":"2.0","id":null,"method":"m"}',
    "params string": b'{"jsonrpc":"2.0","id":1,"method":"m","params":"x"}',
    "params number": b'{"jsonrpc":"2.0","method":"m","params":3}',
    "request with result": b'{"jsonrpc":"2.0","id":1,"method":"m","result":1}',
    "result and error": b'{"jsonrpc":"2.0","id":1,"result":1,"error":{"code":1,"message":"x"}}',
    "result with null id": b'{"jsonrpc":"2.0","id":null,"result":1}',
    "response without id": b'{"jsonrpc":"2.0","result":1}',
    "response with params": b'{"jsonrpc":"2.0","id":1,"result":1,"params":{}}',
    "error without code": b'{"jsonrpc":"2.0","id":1,"error":{"message":"x"}}',
    "error code string": b'{"jsonrpc":"2.0","id":1,"error":{"code":"x","message":"x"}}',
    "error not object": b'{"jsonrpc":"2.0","id":1,"error":"boom"}',
}


@pytest.mark.parametrize("case", sorted(INVALID))
def test_invalid_request(case: str) -> None:
    with pytest.raises(RpcError) as info:
        decode_message(INVALID[case])
    assert info.value.code == jsonrpc.INVALID_REQUEST, info.value.message


def test_batches_say_so() -> None:
    with pytest.raises(RpcError, match="batches are not supported"):
        decode_message(INVALID["batch"])


# -- RpcError -----------------------------------------------------------------------------------


def test_rpc_error_fields_and_text() -> None:
    err = RpcError(jsonrpc.CAPABILITY_DENIED, "capability denied: network")
    assert (err.code, err.message, err.data) == (-32001, "capability denied: network", None)
    assert str(err) == "capability denied: network (code -32001)"
    assert repr(err) == "RpcError(-32001, 'capability denied: network')"
    assert "data=" in repr(RpcError(1, "m", {"k": 1}))


def test_rpc_error_to_wire_and_back() -> None:
    err = RpcError(jsonrpc.NOT_FOUND, "no such issue", {"issue_id": "01J"})
    obj = err.to_object()
    body = encode_error(9, obj.code, obj.message, obj.data)
    msg = decode_message(body)
    assert isinstance(msg, Response)
    assert msg.error == obj


def test_error_object_encodes_without_empty_data() -> None:
    assert msgspec.json.encode(ErrorObject(code=1, message="m")) == b'{"code":1,"message":"m"}'
