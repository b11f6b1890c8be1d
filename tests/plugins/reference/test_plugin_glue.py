"""The plugin classes in-process, with a fake ``self.host``: rescans and fallbacks."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from hangar.plugins.reference.usage_data import TOPIC, UsageData, encode_usage_data
from hangar.plugins.sdk import PluginRpcError

from .conftest import CLAUDE_APP
from .stdio_host import PLUGINS


def load(plugin_id: str) -> ModuleType:
    path = PLUGINS / plugin_id / plugin_id
    loader = importlib.machinery.SourceFileLoader(
        f"plugin_{plugin_id.replace('-', '_')}", str(path)
    )
    spec = importlib.util.spec_from_loader(loader.name, loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


class FakeHost:
    def __init__(self, snapshot: bytes | None = None, fail: bool = False) -> None:
        self.published: list[tuple[str, bytes]] = []
        self.logs: list[tuple[str, str]] = []
        self.snapshot = snapshot
        self.fail = fail
        self.gets = 0

    def publish(self, topic: str, payload: bytes) -> None:
        self.published.append((topic, payload))

    def log(self, level: str, message: str, **fields: Any) -> None:
        self.logs.append((level, message))

    def get(self, topic: str) -> bytes | None:
        self.gets += 1
        if self.fail:
            raise PluginRpcError(-32603, "provider session-reader is quarantined")
        return self.snapshot


def test_session_reader_republishes_only_when_usage_changed(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(home))
    plugin = load("session-reader").SessionReader()
    plugin.host = host = FakeHost()
    plugin.on_init(["event_bus"])
    assert len(host.published) == 1
    assert json.loads(host.published[0][1])["complete"] is True  # a small home: done in init
    plugin.on_tick()
    assert len(host.published) == 1
    plugin.next_pass = 0.0  # the 30 s until the next pass are up
    plugin.on_tick()
    assert len(host.published) == 1  # nothing new on disk: nothing sent
    record = {
        "type": "assistant",
        "timestamp": "2025-05-29T12:00:00Z",
        "cwd": "/home/dev/src/app",
        "requestId": "req_new",
        "message": {"id": "msg_new", "model": "gpt-5", "usage": {"input_tokens": 5}},
    }
    with (home / CLAUDE_APP).open("a") as f:
        f.write(json.dumps(record) + "\n")
    plugin.on_tick()
    assert len(host.published) == 1  # not yet: the next pass is 30 s away
    plugin.next_pass = 0.0
    plugin.on_tick()
    assert len(host.published) == 2
    rows = json.loads(host.published[-1][1])["rows"]
    new = [r for r in rows if (r["source"], r["model"]) == ("claude", "gpt-5")]
    assert [(r["input_tokens"], r["requests"]) for r in new] == [(5, 1)]
    # a line that changes nothing the snapshot shows (a user turn) sends nothing
    with (home / CLAUDE_APP).open("a") as f:
        f.write(json.dumps({"type": "user", "message": {"content": "thanks"}}) + "\n")
    plugin.next_pass = 0.0
    plugin.on_tick()
    assert len(host.published) == 2


def test_burndown_keeps_the_last_snapshot_when_the_host_cannot_answer(
    fixture_data: UsageData,
) -> None:
    module = load("burndown")
    plugin = module.Burndown()
    plugin.host = FakeHost(fail=True)
    out = plugin.cli_dispatch("usage", [])
    assert out.exit_code == 1
    assert b"could not get usage from session-reader" in out.stderr
    plugin.handle_event(TOPIC, encode_usage_data(fixture_data))
    out = plugin.cli_dispatch("usage", ["--json"])
    assert out.exit_code == 0
    assert json.loads(out.stdout)["total"]["total_tokens"] == 29957


def test_burndown_ignores_an_unreadable_event_and_fetches_once_for_the_screen(
    fixture_data: UsageData,
) -> None:
    from hangar.plugins.protocol import Viewport

    plugin = load("burndown").Burndown()
    plugin.host = host = FakeHost(snapshot=encode_usage_data(fixture_data))
    plugin.handle_event(TOPIC, b'{"version": 99}')
    assert plugin.data is None
    assert host.logs == [("warn", "ignored an unreadable usage snapshot")]
    plugin.render(Viewport(40, 10), 0)
    plugin.render(Viewport(40, 10), 1)
    assert host.gets == 1  # later frames use the cached snapshot and handle_event
    assert plugin.data == fixture_data
    out = plugin.cli_dispatch("usage", ["--help"])
    assert out.exit_code == 0 and host.gets == 1  # help needs no data


def test_session_reader_saves_its_scan_state_and_the_next_process_starts_from_it(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from .test_usage_scan import count_lines_fed

    data_dir = tmp_path / "data"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("AINB_PLUGIN_DATA_DIR", str(data_dir))
    module = load("session-reader")
    first = module.SessionReader()
    first.host = FakeHost()
    first.on_init(["event_bus"])
    state = data_dir / module.STATE_FILE
    assert state.is_file()  # saved when the pass completed
    fed = count_lines_fed(monkeypatch)
    second = module.SessionReader()
    second.host = host = FakeHost()
    second.on_init(["event_bus"])
    assert fed == []  # nothing read again
    assert host.published == first.host.published
    # a damaged state file is discarded, not fatal: the scan starts over
    state.write_bytes(b"\xc1garbage")
    third = module.SessionReader()
    third.host = host = FakeHost()
    third.on_init(["event_bus"])
    assert ("info", "discarded an unreadable or outdated saved scan state") in host.logs
    assert host.published == first.host.published and fed != []
