"""JSON-RPC 2.0 envelopes and error codes, encoded with ``msgspec.json``.

Encoding takes plain Python values or msgspec structs as ``params``/``result``. Decoding returns
``Request``, ``Notification`` or ``Response``; their ``params``/``result`` are plain Python
values (dict, list, str, int, float, bool, None), to be turned into typed structs by the caller
with ``msgspec.convert(value, type=...)``. Batches are not supported.
"""

from __future__ import annotations

from typing import Any, Final

import msgspec

__all__ = [
    "ACTION_TIMEOUT",
    "BUSY",
    "CAPABILITY_DENIED",
    "CONFLICT",
    "FORBIDDEN",
    "INTERNAL_ERROR",
    "INVALID_PARAMS",
    "INVALID_REQUEST",
    "MANIFEST_VALIDATION",
    "METHOD_NOT_FOUND",
    "NOT_FOUND",
    "NOT_IMPLEMENTED",
    "PARSE_ERROR",
    "SECRET_ACCESS_DENIED",
    "SECRET_BACKEND_LOCKED",
    "SECRET_NOT_FOUND",
    "UNAUTHORIZED",
    "ErrorObject",
    "Message",
    "Notification",
    "Request",
    "RequestId",
    "Response",
    "RpcError",
    "decode_message",
    "encode_error",
    "encode_notification",
    "encode_request",
    "encode_result",
]

# Standard JSON-RPC 2.0 codes.
PARSE_ERROR: Final = -32700
INVALID_REQUEST: Final = -32600
METHOD_NOT_FOUND: Final = -32601
INVALID_PARAMS: Final = -32602  # also: illegal task-FSM edges (docs/lifecycle.md#transitions)
INTERNAL_ERROR: Final = -32603

# Daemon socket (docs/wire-protocol.md#errors) and plugin (docs/plugins.md#errors) codes.
UNAUTHORIZED: Final = -32000
CAPABILITY_DENIED: Final = -32001
ACTION_TIMEOUT: Final = -32002
MANIFEST_VALIDATION: Final = -32003
SECRET_NOT_FOUND: Final = -32004
NOT_IMPLEMENTED: Final = -32005
SECRET_BACKEND_LOCKED: Final = -32006
SECRET_ACCESS_DENIED: Final = -32007
#: the host has as many of this plugin's calls in flight as it serves at once: retry later
BUSY: Final = -32008

# Hangar's own, clear of the plugin range above.
NOT_FOUND: Final = -32010
CONFLICT: Final = -32011
#: the connection's token lacks the scope the method needs (docs/wire-protocol.md#scopes)
FORBIDDEN: Final = -32012

RequestId = int | str
"""Request ids are integers or strings; ``null`` only appears in error responses."""

_JSONRPC: Final = "2.0"


class RpcError(Exception):
    """A JSON-RPC error: raise it in a handler, or receive it from a peer.

    ``data`` is omitted from the wire when it is ``None``.
    """

    def __init__(
        self, code: int, message: str, data: Any = None, *, request_id: RequestId | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data
        #: the id of the request the error answers, when it could be read from the message
        self.request_id = request_id

    def __repr__(self) -> str:
        extra = "" if self.data is None else f", data={self.data!r}"
        return f"{type(self).__name__}({self.code}, {self.message!r}{extra})"

    def __str__(self) -> str:
        return f"{self.message} (code {self.code})"

    def to_object(self) -> ErrorObject:
        return ErrorObject(code=self.code, message=self.message, data=self.data)


class ErrorObject(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """The ``error`` member of an error response."""

    code: int
    message: str
    data: Any = None

    def to_exception(self) -> RpcError:
        return RpcError(self.code, self.message, self.data)


class Request(msgspec.Struct, frozen=True, kw_only=True):
    """A call that expects a response with the same ``id``."""

    id: RequestId
    method: str
    params: Any = None
    jsonrpc: str = _JSONRPC


class Notification(msgspec.Struct, frozen=True, kw_only=True):
    """A one-way message: no ``id``, no response."""

    method: str
    params: Any = None
    jsonrpc: str = _JSONRPC


class Response(msgspec.Struct, frozen=True, kw_only=True):
    """The answer to a request: exactly one of ``result`` or ``error`` was on the wire.

    ``error is None`` means success (``result`` may itself be ``None``). ``id`` is ``None``
    only for an error about a message whose id could not be read.
    """

    id: RequestId | None
    result: Any = None
    error: ErrorObject | None = None
    jsonrpc: str = _JSONRPC

    @property
    def is_error(self) -> bool:
        return self.error is not None


Message = Request | Notification | Response


# ---------------------------------------------------------------------------------------------
# encoding

_encoder = msgspec.json.Encoder()


def encode_request(id: RequestId, method: str, params: Any = None) -> bytes:
    """Encode a request; ``params`` is left out when ``None``."""
    if params is None:
        return _encoder.encode({"jsonrpc": _JSONRPC, "id": id, "method": method})
    return _encoder.encode({"jsonrpc": _JSONRPC, "id": id, "method": method, "params": params})


def encode_notification(method: str, params: Any = None) -> bytes:
    """Encode a notification; ``params`` is left out when ``None``."""
    if params is None:
        return _encoder.encode({"jsonrpc": _JSONRPC, "method": method})
    return _encoder.encode({"jsonrpc": _JSONRPC, "method": method, "params": params})


def encode_result(id: RequestId, result: Any) -> bytes:
    """Encode a success response (``result`` ``None`` is sent as ``null``)."""
    return _encoder.encode({"jsonrpc": _JSONRPC, "id": id, "result": result})


def encode_error(id: RequestId | None, code: int, message: str, data: Any = None) -> bytes:
    """Encode an error response; ``data`` is left out when ``None``."""
    error: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        error["data"] = data
    return _encoder.encode({"jsonrpc": _JSONRPC, "id": id, "error": error})


# ---------------------------------------------------------------------------------------------
# decoding


class _Error(msgspec.Struct):
    code: int
    message: str
    data: Any = None


class _Envelope(msgspec.Struct):
    """Every member any message may have; ``decode_message`` decides which kind it is."""

    jsonrpc: str | msgspec.UnsetType = msgspec.UNSET
    id: int | str | msgspec.UnsetType | None = msgspec.UNSET
    method: str | msgspec.UnsetType = msgspec.UNSET
    params: dict[str, Any] | list[Any] | msgspec.UnsetType | None = msgspec.UNSET
    result: Any | msgspec.UnsetType = msgspec.UNSET
    error: _Error | msgspec.UnsetType = msgspec.UNSET


_decoder = msgspec.json.Decoder(_Envelope)
_any_decoder = msgspec.json.Decoder()


def decode_message(body: bytes) -> Message:
    """Decode one frame body.

    Raises ``RpcError(PARSE_ERROR)`` when the body is not JSON (or not UTF-8), and
    ``RpcError(INVALID_REQUEST)`` when it is JSON but not a valid JSON-RPC 2.0 message.
    """
    try:
        env = _decoder.decode(body)
    except msgspec.ValidationError as exc:
        raise _invalid(body, exc) from None
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        raise RpcError(PARSE_ERROR, f"parse error: {exc}") from None
    except RecursionError:
        raise RpcError(PARSE_ERROR, "parse error: JSON nested too deeply") from None

    if env.jsonrpc != _JSONRPC:
        if env.jsonrpc is msgspec.UNSET:
            raise RpcError(INVALID_REQUEST, 'invalid request: missing "jsonrpc": "2.0"')
        raise RpcError(INVALID_REQUEST, f'invalid request: unsupported jsonrpc "{env.jsonrpc}"')

    params = None if env.params is msgspec.UNSET else env.params
    if env.method is not msgspec.UNSET:
        if env.result is not msgspec.UNSET or env.error is not msgspec.UNSET:
            raise RpcError(INVALID_REQUEST, "invalid request: a request cannot carry result/error")
        if env.id is msgspec.UNSET:
            return Notification(method=env.method, params=params)
        if env.id is None:
            raise RpcError(INVALID_REQUEST, "invalid request: id must be an integer or a string")
        return Request(id=env.id, method=env.method, params=params)

    if env.id is msgspec.UNSET:
        raise RpcError(INVALID_REQUEST, "invalid request: missing method")
    if env.params is not msgspec.UNSET:
        raise RpcError(INVALID_REQUEST, "invalid response: unexpected params")
    if env.error is not msgspec.UNSET:
        if env.result is not msgspec.UNSET:
            raise RpcError(INVALID_REQUEST, "invalid response: both result and error")
        err = env.error
        return Response(
            id=env.id, error=ErrorObject(code=err.code, message=err.message, data=err.data)
        )
    if env.result is msgspec.UNSET:
        raise RpcError(INVALID_REQUEST, "invalid response: missing result or error")
    if env.id is None:
        raise RpcError(INVALID_REQUEST, "invalid response: a result needs a non-null id")
    return Response(id=env.id, result=env.result)


def _invalid(body: bytes, exc: msgspec.ValidationError) -> RpcError:
    """A typed decode failed: tell malformed JSON, a batch and a bad envelope apart."""
    try:
        value = _any_decoder.decode(body)
    except (msgspec.DecodeError, UnicodeDecodeError) as parse_exc:
        return RpcError(PARSE_ERROR, f"parse error: {parse_exc}")
    except RecursionError:
        return RpcError(PARSE_ERROR, "parse error: JSON nested too deeply")
    if isinstance(value, list):
        return RpcError(INVALID_REQUEST, "invalid request: batches are not supported")
    found = value.get("id") if isinstance(value, dict) else None
    # answer under the caller's id when it is a usable one, so it can match the error
    request_id = found if isinstance(found, int | str) and not isinstance(found, bool) else None
    return RpcError(INVALID_REQUEST, f"invalid request: {exc}", request_id=request_id)
