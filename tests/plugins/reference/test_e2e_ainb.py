"""Tripwires through the real ``ainb`` entry point: discovery, the runtime, the plugins.

Each run gets its own HOME (the session files), AINB_HANGAR_HOME and PATH; TZ=UTC pins
the day buckets. ``ainb usage`` starts burndown, whose ``host.get`` makes the runtime start
session-reader, the provider of ``sessions.usage_data``.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from hangar.plugins.reference.usage_cli import NO_SESSIONS
from tests.e2e.harness import pid_alive, wait_until

from .conftest import FakeWitr, plugin_env

AINB = Path(sys.executable).parent / "ainb"


def ainb(env: dict[str, str], *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(AINB), *argv],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def test_ainb_usage_json_and_text(home: Path, tmp_path: Path) -> None:
    env = plugin_env(home, tmp_path)
    done = ainb(env, "usage", "daily", "--json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert [(r["date"], r["total_tokens"]) for r in doc["rows"]] == [
        ("2025-05-26", 2814),
        ("2025-05-27", 16370),
        ("2025-05-28", 10773),
    ]
    assert doc["total"]["cost_usd"] == 0.090026
    text = ainb(env, "usage", "projects")
    assert text.returncode == 0
    assert text.stdout.splitlines()[0] == "Token usage by project"
    # HOME is the fixture copy, not /home/dev: project paths stay whole
    assert "/home/dev/src/app" in text.stdout and "~/src/app" not in text.stdout


def test_ainb_usage_without_sessions_and_with_bad_arguments(tmp_path: Path) -> None:
    empty = tmp_path / "empty-home"
    empty.mkdir()
    env = plugin_env(empty, tmp_path)
    done = ainb(env, "usage")
    assert (done.returncode, done.stdout) == (0, NO_SESSIONS)
    bad = ainb(env, "usage", "--since", "last-week")
    assert bad.returncode == 2
    assert bad.stderr.splitlines()[-1].startswith("ainb usage: error: argument --since:")
    helped = ainb(env, "usage", "--help")
    assert helped.returncode == 0 and "weekly" in helped.stdout


def test_ainb_witr_with_and_without_witr(tmp_path: Path, fake_witr: FakeWitr) -> None:
    bin_dir = fake_witr()
    done = ainb(plugin_env(tmp_path, tmp_path, path=str(bin_dir)), "witr", "--pid", "1234")
    assert done.returncode == 0, done.stderr
    assert "  └─ nginx (pid 812)" in done.stdout
    assert (bin_dir / "argv.txt").read_text().split("\n") == ["--json", "--pid=1234"]
    nothing = tmp_path / "nothing"
    nothing.mkdir()
    missing = ainb(plugin_env(tmp_path, tmp_path, path=str(nothing)), "witr", "nginx")
    assert missing.returncode == 127
    assert "witr is not installed" in missing.stderr


def test_witr_never_outlives_a_killed_host(tmp_path: Path, fake_witr: FakeWitr) -> None:
    """kill -9 of ``ainb`` mid-lookup: the plugin dies with it, and witr with the plugin."""
    bin_dir = fake_witr(behaviour="hang")
    env = plugin_env(tmp_path, tmp_path, path=str(bin_dir))
    host = subprocess.Popen(
        [str(AINB), "witr", "nginx"], env=env, stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_until(lambda: (bin_dir / "child.pid").exists(), timeout=30)
        witr = int((bin_dir / "witr.pid").read_text())
        assert pid_alive(witr)
        host.kill()
        host.wait(10)
        wait_until(lambda: not pid_alive(witr), timeout=10)
    finally:
        host.kill()
        host.wait(10)
        if (bin_dir / "child.pid").exists():  # the fake's own child: not witr's to reap
            with contextlib.suppress(ProcessLookupError):
                os.kill(int((bin_dir / "child.pid").read_text()), signal.SIGKILL)


def test_ainb_help_lists_the_plugin_namespaces(tmp_path: Path) -> None:
    done = ainb(plugin_env(tmp_path, tmp_path), "--help")
    assert done.returncode == 0
    assert "[plugin burndown]" in done.stdout and "[plugin witr]" in done.stdout
