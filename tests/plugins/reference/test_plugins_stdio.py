"""The three plugin executables, driven over their real stdio by a minimal host."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hangar.plugins import protocol as p
from hangar.plugins.reference.usage_cli import EXIT_INCOMPLETE, NOT_PUBLISHED
from hangar.plugins.reference.usage_data import (
    TOPIC,
    UsageData,
    decode_usage_data,
    encode_usage_data,
)

from .conftest import FakeWitr, plugin_env
from .stdio_host import StdioHost
from .test_usage_scan import EXPECTED


@pytest.fixture
def hosts(tmp_path: Path) -> Iterator[list[StdioHost]]:
    started: list[StdioHost] = []
    yield started
    for host in started:
        host.close()


def start(
    hosts: list[StdioHost],
    plugin_id: str,
    env: dict[str, str],
    tmp_path: Path,
    snapshots: dict[str, bytes] | None = None,
) -> StdioHost:
    host = StdioHost(plugin_id, env, tmp_path / f"{plugin_id}.stderr", snapshots)
    hosts.append(host)
    assert host.init() == {"name": plugin_id, "version": "0.1.0"}
    return host


def test_session_reader_publishes_usage_during_init(
    hosts: list[StdioHost], home: Path, tmp_path: Path
) -> None:
    host = start(hosts, "session-reader", plugin_env(home, tmp_path), tmp_path)
    assert [topic for topic, _ in host.published] == [TOPIC]
    data = decode_usage_data(host.published[0][1])
    assert data.rows == EXPECTED
    assert (data.files, data.malformed_lines) == (3, 1)
    assert any(log["message"] == "published usage" for log in host.logs)
    assert host.close() == 0


def test_session_reader_with_no_sessions_publishes_an_empty_snapshot(
    hosts: list[StdioHost], tmp_path: Path
) -> None:
    empty_home = tmp_path / "empty-home"
    empty_home.mkdir()
    host = start(hosts, "session-reader", plugin_env(empty_home, tmp_path), tmp_path)
    assert decode_usage_data(host.published[0][1]) == UsageData()


def test_burndown_cli_reads_the_snapshot(
    hosts: list[StdioHost], home: Path, tmp_path: Path, fixture_data: UsageData
) -> None:
    snapshots = {TOPIC: encode_usage_data(fixture_data)}
    host = start(hosts, "burndown", plugin_env(home, tmp_path), tmp_path, snapshots)
    out = host.cli("usage", "projects", "--json")
    assert out.exit_code == 0, out.stderr
    doc = json.loads(out.stdout)
    assert [(r["project"], r["total_tokens"]) for r in doc["rows"]] == [
        ("/home/dev/src/app", 22384),
        ("/home/dev/src/api", 7573),
    ]
    text = host.cli("usage").stdout.decode()
    assert text.startswith("Token usage by day\n") and "29,957" in text
    bad = host.cli("usage", "--days", "-3")
    assert bad.exit_code == 2 and b"error:" in bad.stderr
    other = host.cli("nope")
    assert other.exit_code == 2


def test_burndown_without_any_snapshot_says_so_and_not_no_sessions(
    hosts: list[StdioHost], tmp_path: Path
) -> None:
    host = start(hosts, "burndown", plugin_env(tmp_path, tmp_path), tmp_path)
    out = host.cli("usage", "weekly", "--wait", "0.3")
    assert (out.exit_code, out.stdout) == (EXIT_INCOMPLETE, b"")
    assert out.stderr.decode() == "ainb usage: " + NOT_PUBLISHED


def synthetic_history(home: Path, files: int, lines: int) -> None:
    """``files`` Claude transcripts of ``lines`` assistant messages each, over a few days."""
    for f in range(files):
        project = f"-home-dev-src-p{f % 7}"
        path = home / ".claude" / "projects" / project / f"session-{f:04d}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        out = []
        for i in range(lines):
            record = {
                "type": "assistant",
                "cwd": f"/home/dev/src/p{f % 7}",
                "requestId": f"req_{f}_{i}",
                "timestamp": f"2025-05-{10 + (f + i) % 20:02d}T12:00:00Z",
                "message": {
                    "id": f"msg_{f}_{i}",
                    "model": ("claude-sonnet-4-5", "claude-opus-4-5", "claude-haiku-4-5")[i % 3],
                    "content": [{"type": "text", "text": "x" * 200}],
                    "usage": {
                        "input_tokens": i % 50,
                        "cache_creation_input_tokens": 100,
                        "cache_creation": {"ephemeral_1h_input_tokens": 40 * (i % 2)},
                        "cache_read_input_tokens": 1000,
                        "output_tokens": 30 + i % 9,
                    },
                },
            }
            out.append(json.dumps(record))
        path.write_text("\n".join(out) + "\n")


def test_session_reader_answers_init_at_once_then_converges_and_resumes_from_saved_state(
    hosts: list[StdioHost], tmp_path: Path
) -> None:
    from datetime import UTC

    from hangar.plugins.reference.usage_scan import UsageScanner

    home = tmp_path / "big-home"
    synthetic_history(home, files=150, lines=200)  # 30,000 messages, ~15 MB
    expected = UsageScanner(home, tz=UTC)
    expected.scan()
    want = expected.snapshot()
    env = plugin_env(home, tmp_path)
    env.update(AINB_SESSION_READER_SLICE_MS="20", AINB_PLUGIN_DATA_DIR=str(tmp_path / "data"))

    host = start(hosts, "session-reader", env, tmp_path)
    first = decode_usage_data(host.published[0][1])
    # init was answered after one slice, not a whole scan
    assert not first.complete and first.files < first.files_total == 150
    # the scan goes on between requests: each is answered within a slice or so
    deadline = time.monotonic() + 30
    while not decode_usage_data(host.published[-1][1]).complete:
        assert time.monotonic() < deadline, "the scan did not complete"
        asked = time.monotonic()
        host.render(10, 2)
        # a 20 ms slice; the bound leaves room for 4 test workers on 2 loaded cores
        assert time.monotonic() - asked < 10.0
        time.sleep(0.05)
    published = [decode_usage_data(payload) for _, payload in host.published]
    assert len(published) >= 2
    done = [d.files for d in published]
    assert done == sorted(done)  # progress only goes forward
    assert published[-1] == want  # the totals converge on a whole scan's, exactly
    assert sum(r.requests for r in want.rows) == 30_000
    assert host.close() == 0

    # a new process (the next `ainb usage`) starts from the saved state: complete at once
    again = start(hosts, "session-reader", env, tmp_path)
    assert decode_usage_data(again.published[0][1]) == want


def test_burndown_renders_deterministically_and_follows_keys_and_events(
    hosts: list[StdioHost], home: Path, tmp_path: Path, fixture_data: UsageData
) -> None:
    snapshots = {TOPIC: encode_usage_data(fixture_data)}
    host = start(hosts, "burndown", plugin_env(home, tmp_path), tmp_path, snapshots)
    first = host.render(80, 24)
    assert all(host.render(80, 24) == first for _ in range(9))
    assert "2025-05-27" in host.screen_text(80, 24)
    host.key("analytics", "m")
    models = host.screen_text(80, 24)
    assert "gpt-5-codex" in models and "2025-05-27" not in models
    host.key("analytics", "left")
    assert " week of " in host.screen_text(80, 24)
    # a publish reaches handle_event: the screen follows it without asking
    smaller = UsageData(rows=fixture_data.rows[:1], files=1)
    host.notify(p.HANDLE_EVENT, p.HandleEventParams(TOPIC, encode_usage_data(smaller)))
    host.key("analytics", "m")
    after = host.screen_text(80, 24)
    assert "gpt-5-codex" not in after and "claude-sonnet" in after
    for width, height in ((1, 1), (3, 2), (15, 4)):
        buffer = json.loads(host.render(width, height))
        assert all(x < width and y < height for (x, y), _ in _coords(buffer))


def _coords(buffer: dict[str, object]) -> list[tuple[tuple[int, int], object]]:
    cells = buffer["cells"]
    assert isinstance(cells, list)
    return [((c["x"], c["y"]), cell) for c, cell in cells]


def test_witr_plugin_runs_witr_and_publishes_the_lookup(
    hosts: list[StdioHost], tmp_path: Path, fake_witr: FakeWitr
) -> None:
    bin_dir = fake_witr()
    env = plugin_env(tmp_path, tmp_path, path=str(bin_dir))
    host = start(hosts, "witr", env, tmp_path)
    out = host.cli("witr", "nginx")
    assert out.exit_code == 0, out.stderr
    assert b"systemd (pid 1)" in out.stdout
    [(topic, payload)] = host.published
    assert topic == "witr.snapshot"
    assert json.loads(payload)["target"] == "nginx"
    assert "└─ nginx (pid 812)" in host.screen_text(80, 20)


def test_witr_plugin_without_witr_on_path(hosts: list[StdioHost], tmp_path: Path) -> None:
    empty = tmp_path / "nothing"
    empty.mkdir()
    host = start(hosts, "witr", plugin_env(tmp_path, tmp_path, path=str(empty)), tmp_path)
    out = host.cli("witr", "nginx")
    assert out.exit_code == 127
    assert b"brew install witr" in out.stderr
    assert host.published == []
