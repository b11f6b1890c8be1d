"""The plugin side of the conformance probes: the ``cts`` CLI namespace.

A plugin that lists ``cts`` in ``[provides].cli_namespaces`` opts in to end-to-end probing:
the suite asks it, through ``plugin/cli_dispatch``, to make the host calls the axes need,
and checks both what the plugin reports and what the host answered. Subclass
``ProbePlugin`` instead of ``Plugin`` to get every probe (call ``super()`` from your own
``cli_dispatch`` and ``handle_event``).

Probes (``ainb cts <argv…>``); each prints one JSON line, ``{"result": …}`` or
``{"error": {"code": …, "message": …}}``, and exits 0 once it ran (2 on bad usage).
Bytes travel as base64.

=============================  ============================================  ======
argv                           what the plugin does                          axis
=============================  ============================================  ======
``echo test``                  prints ``hello\\n`` (plain text, not JSON)     14
``call METHOD [PARAMS_JSON]``  that host call, as is                         4
``read PATH``                  ``host/fs/read_file``                         10
``publish TOPIC B64``          ``host/snapshot/publish``                     6
``get TOPIC``                  ``host/snapshot/get``                         6
``invoke ACTION TIMEOUT_MS``   ``host/action/invoke`` with that timeout      8
``log MESSAGE``                ``host/log`` once at every level              9
``events``                     the ``handle_event`` deliveries seen so far   7
=============================  ============================================  ======

This module is imported by plugin processes: it must stay free of asyncio and the runtime.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any, Final

from hangar.plugins import protocol as p
from hangar.plugins.sdk import CliOutput, Plugin
from hangar.proto.jsonrpc import RpcError

__all__ = ["CANARY_STDOUT", "NAMESPACE", "ProbePlugin", "decode_reply", "encode_reply"]

NAMESPACE: Final = "cts"
#: ``cts echo test`` must print exactly this (the contract's canonical canary).
CANARY_STDOUT: Final = b"hello\n"
_MAX_EVENTS: Final = 64
_USAGE: Final = 2


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def encode_reply(result: Any = None, error: RpcError | None = None) -> CliOutput:
    """A probe's answer: one JSON line on stdout, exit 0."""
    if error is not None:
        body: dict[str, Any] = {"error": {"code": error.code, "message": error.message}}
    else:
        body = {"result": result}
    return CliOutput(stdout=(json.dumps(body, sort_keys=True) + "\n").encode())


def decode_reply(stdout: bytes) -> dict[str, Any]:
    """The suite's side of ``encode_reply``; ``ValueError`` when it is not one."""
    body = json.loads(stdout.decode("utf-8"))
    if not isinstance(body, dict) or not ("result" in body or "error" in body):
        raise ValueError(f"not a probe reply: {stdout[:200]!r}")
    return body


class ProbePlugin(Plugin):
    """A ``Plugin`` that answers the ``cts`` probes. Override a ``probe_*`` to change one."""

    @property
    def cts_events(self) -> list[tuple[str, bytes]]:
        """(topic, payload) of the latest deliveries, oldest first."""
        events: list[tuple[str, bytes]] | None = self.__dict__.get("_cts_events")
        if events is None:
            events = self.__dict__["_cts_events"] = []
        return events

    def handle_event(self, topic: str, payload: bytes) -> None:
        events = self.cts_events
        events.append((topic, payload))
        del events[:-_MAX_EVENTS]

    def cli_dispatch(self, namespace: str, argv: list[str]) -> CliOutput:
        if namespace != NAMESPACE:
            return super().cli_dispatch(namespace, argv)
        if argv == ["echo", "test"]:
            return self.probe_echo()
        probe = self._probes().get(argv[0] if argv else "")
        if probe is None:
            return _usage(f"unknown probe {' '.join(argv)!r}")
        handler, arity = probe
        args = argv[1:]
        if len(args) not in arity:
            return _usage(f"{argv[0]}: wrong number of arguments")
        try:
            return encode_reply(handler(*args))
        except RpcError as exc:
            return encode_reply(error=exc)
        except ValueError as exc:  # bad JSON, base64 or number in argv
            return _usage(f"{argv[0]}: {exc}")

    def _probes(self) -> dict[str, tuple[Callable[..., Any], tuple[int, ...]]]:
        """Probe name → (handler, the argument counts it takes)."""
        return {
            "call": (self.probe_call, (1, 2)),
            "read": (self.probe_read, (1,)),
            "publish": (self.probe_publish, (2,)),
            "get": (self.probe_get, (1,)),
            "invoke": (self.probe_invoke, (2,)),
            "log": (self.probe_log, (1,)),
            "events": (self.probe_events, (0,)),
        }

    # -- the probes ---------------------------------------------------------------------------

    def probe_echo(self) -> CliOutput:
        return CliOutput(stdout=CANARY_STDOUT)

    def probe_call(self, method: str, params_json: str = "null") -> Any:
        return self.host.call(method, json.loads(params_json))

    def probe_read(self, path: str) -> Any:
        return {"bytes": b64(self.host.read_file(path))}

    def probe_publish(self, topic: str, payload_b64: str) -> Any:
        self.host.publish(topic, base64.b64decode(payload_b64))
        return {}

    def probe_get(self, topic: str) -> Any:
        payload = self.host.get(topic)
        return {"payload": None if payload is None else b64(payload)}

    def probe_invoke(self, action: str, timeout_ms: str) -> Any:
        ms = int(timeout_ms)
        return {"payload": b64(self.host.invoke(action, b"", ms))}

    def probe_log(self, message: str) -> Any:
        for level in p.LOG_LEVELS:
            self.host.log(level, message)
        return {"levels": list(p.LOG_LEVELS)}

    def probe_events(self) -> Any:
        return [{"topic": t, "payload": b64(data)} for t, data in self.cts_events]


def _usage(message: str) -> CliOutput:
    return CliOutput(stderr=f"cts: {message}\n".encode(), exit_code=_USAGE)
