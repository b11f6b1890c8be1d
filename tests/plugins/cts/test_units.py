"""The suite's pure parts, without processes: frame checks, probes, call selection."""

from __future__ import annotations

import json
from typing import Any

import pytest

from hangar.plugins import protocol as p
from hangar.plugins.cts.axes_calls import ungranted_call
from hangar.plugins.cts.axes_render import _first_difference
from hangar.plugins.cts.frames import buffer_problems
from hangar.plugins.cts.probe import CANARY_STDOUT, ProbePlugin, decode_reply
from hangar.plugins.manifest import parse_manifest
from hangar.plugins.sdk import PluginRpcError

VP = p.Viewport(4, 2)


def buf(*cells: tuple[int, int, p.Cell], width: int = 4, height: int = 2) -> p.WireBuffer:
    return p.WireBuffer(width, height, [(p.Coord(x, y), c) for x, y, c in cells])


def test_an_intact_dense_or_sparse_frame_has_no_problems() -> None:
    dense = buf(*((x, y, p.Cell("a")) for y in range(2) for x in range(4)))
    assert buffer_problems(dense, VP) == []
    assert buffer_problems(buf(), VP) == []


@pytest.mark.parametrize(
    ("frame", "problem"),
    [
        (buf(width=5), "declared 5x2"),
        (buf((4, 0, p.Cell("a"))), "outside the viewport"),
        (buf((1, 1, p.Cell("a")), (1, 1, p.Cell("b"))), "painted twice"),
        (buf((0, 0, p.Cell(""))), "not one grapheme"),
        (buf((0, 0, p.Cell("\x1b"))), "control character"),
        (buf((0, 0, p.Cell("a", fg=p.Color(300, 0, 0)))), "not an RGB colour"),
        (buf((0, 0, p.Cell("a", modifier=1024))), "bits outside"),
    ],
)
def test_a_damaged_frame_says_what_is_wrong(frame: p.WireBuffer, problem: str) -> None:
    assert problem in "; ".join(buffer_problems(frame, VP))


def test_first_difference_points_at_the_value() -> None:
    # two parses give two nan objects (the same object would compare equal inside a dict)
    where = _first_difference({"a": {"b": float("nan")}}, {"a": {"b": float("nan")}})
    assert where.startswith("a.b (nan != nan)")
    assert _first_difference({"x": [1, 2]}, {"x": [1, 3]}) == "x[1] (2 != 3)"


def manifest(caps: str) -> Any:
    return parse_manifest(f'[plugin]\nname="m"\nversion="0.1.0"\nabi_version=2\n{caps}')


def test_an_ungranted_call_always_exists() -> None:
    assert ungranted_call(manifest(""))[2] == "network"
    assert ungranted_call(manifest("[capabilities]\nnetwork=true"))[2] == "event_bus"
    method, params, cap = ungranted_call(
        manifest('[capabilities]\nnetwork=true\nevent_bus=true\n"secrets:read"=["k"]')
    )
    assert (method, cap) == (p.SECRET_STORE_GET, "secrets:read")
    assert params.key != "k"


class FakeHost:
    def __init__(self) -> None:
        self.logged: list[str] = []

    def call(self, method: str, params: Any = None, timeout: float | None = None) -> Any:
        if method == "host/denied":
            raise PluginRpcError(p.CAPABILITY_DENIED, "capability denied: network")
        return {"method": method, "params": params}

    def log(self, level: str, message: str, **fields: Any) -> None:
        self.logged.append(level)


def probe_plugin() -> tuple[ProbePlugin, FakeHost]:
    plugin, host = ProbePlugin(), FakeHost()
    plugin.host = host  # type: ignore[assignment]
    return plugin, host


def test_probes_reply_with_one_json_line() -> None:
    plugin, host = probe_plugin()
    assert plugin.cli_dispatch("cts", ["echo", "test"]).stdout == CANARY_STDOUT
    ok = plugin.cli_dispatch("cts", ["call", "host/x", '{"a": 1}'])
    assert decode_reply(ok.stdout) == {"result": {"method": "host/x", "params": {"a": 1}}}
    denied = plugin.cli_dispatch("cts", ["call", "host/denied"])
    assert decode_reply(denied.stdout)["error"]["code"] == p.CAPABILITY_DENIED
    plugin.cli_dispatch("cts", ["log", "hi"])
    assert host.logged == list(p.LOG_LEVELS)
    plugin.handle_event("t", b"\x00\x01")
    events = decode_reply(plugin.cli_dispatch("cts", ["events"]).stdout)["result"]
    assert events == [{"topic": "t", "payload": "AAE="}]


@pytest.mark.parametrize(
    "argv", [[], ["nope"], ["get"], ["call", "m", "{not json"], ["invoke", "a", "soon"]]
)
def test_bad_probe_usage_exits_2_on_stderr(argv: list[str]) -> None:
    plugin, _ = probe_plugin()
    out = plugin.cli_dispatch("cts", argv)
    assert (out.exit_code, out.stdout) == (2, b"")
    assert out.stderr.startswith(b"cts: ")


def test_other_namespaces_fall_through_to_the_plugin() -> None:
    plugin, _ = probe_plugin()
    assert plugin.cli_dispatch("usage", []).exit_code == 2
    assert json.loads(json.dumps(plugin.cts_events)) == []
