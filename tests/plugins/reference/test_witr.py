"""``ainb witr``: argv (never a shell), output, and every way witr can fail."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from hangar.plugins.reference.witr_cli import (
    EXIT_NOT_FOUND,
    EXIT_TIMEOUT,
    format_result,
    snapshot_payload,
    witr_argv,
    witr_command,
)
from tests.e2e.harness import pid_alive

from .conftest import WITR_JSON, FakeWitr


@pytest.fixture
def on_path(monkeypatch: pytest.MonkeyPatch, fake_witr: FakeWitr) -> Any:
    """Put a fake witr first on PATH (and nothing else: no real witr can be reached)."""

    def use(**kwargs: Any) -> Path:
        bin_dir = fake_witr(**kwargs)
        monkeypatch.setenv("PATH", str(bin_dir))
        return bin_dir

    return use


def recorded_argv(bin_dir: Path) -> list[str]:
    return (bin_dir / "argv.txt").read_text().split("\n")


def test_argv_per_target_kind() -> None:
    assert witr_argv("nginx") == ["witr", "--json", "--", "nginx"]
    assert witr_argv("1234", "pid") == ["witr", "--json", "--pid=1234"]
    assert witr_argv("5432", "port") == ["witr", "--json", "--port=5432"]
    assert witr_argv("/var/lib/db.lock", "file") == ["witr", "--json", "--file=/var/lib/db.lock"]
    # a name that looks like an option stays a name
    assert witr_argv("-rf") == ["witr", "--json", "--", "-rf"]


def test_lookup_prints_a_readable_ancestry(on_path: Any) -> None:
    bin_dir = on_path()
    seen: list[tuple[str, str, Any]] = []
    out = witr_command(["nginx"], on_result=lambda *a: seen.append(a))
    assert out.exit_code == 0, out.stderr
    assert recorded_argv(bin_dir) == ["--json", "--", "nginx"]
    text = out.stdout.decode()
    assert text.startswith("Target      : nginx (pid 1234)\n")
    assert "User        : www-data" in text
    assert (
        "Why it exists:\n  systemd (pid 1)\n  └─ nginx (pid 812)\n     └─ nginx (pid 1234)\n"
    ) in text
    assert "Source      : nginx.service (systemd)" in text
    assert "  • Process is listening on a public interface (0.0.0.0:80)" in text
    assert [(t, m) for t, m, _ in seen] == [("nginx", "name")]


def test_json_flag_prints_witr_json(on_path: Any) -> None:
    bin_dir = on_path()
    out = witr_command(["--pid", "1234", "--json"])
    assert out.exit_code == 0
    assert json.loads(out.stdout) == json.loads(WITR_JSON.read_text())
    assert recorded_argv(bin_dir) == ["--json", "--pid=1234"]


def test_port_and_file_flags(on_path: Any) -> None:
    bin_dir = on_path()
    assert witr_command(["8080", "--port"]).exit_code == 0
    assert recorded_argv(bin_dir) == ["--json", "--port=8080"]
    assert witr_command(["/tmp/x.lock", "--file"]).exit_code == 0
    assert recorded_argv(bin_dir) == ["--json", "--file=/tmp/x.lock"]


def test_target_is_passed_literally_never_through_a_shell(
    on_path: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = on_path()
    monkeypatch.chdir(tmp_path)
    hostile = "nginx; touch pwned $(touch pwned2) `touch pwned3`"
    assert witr_command([hostile]).exit_code == 0
    assert recorded_argv(bin_dir) == ["--json", "--", hostile]
    assert not list(tmp_path.glob("pwned*"))


def test_missing_witr_gives_an_install_hint_and_exit_127(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    out = witr_command(["nginx"])
    assert out.exit_code == EXIT_NOT_FOUND == 127
    err = out.stderr.decode()
    assert err.startswith("ainb witr: witr is not installed (no `witr` on PATH)")
    assert "brew install witr" in err


def test_timeout_kills_witr_and_its_children(on_path: Any) -> None:
    bin_dir = on_path(behaviour="hang")
    started = time.monotonic()
    # long enough for the fake to start its child even on a loaded machine
    out = witr_command(["nginx"], timeout=2.5)
    assert time.monotonic() - started < 10
    assert out.exit_code == EXIT_TIMEOUT == 124
    assert out.stderr.decode().startswith("ainb witr: witr did not answer within 2.5 s (killed)")
    child = int((bin_dir / "child.pid").read_text())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and pid_alive(child):
        time.sleep(0.05)
    assert not pid_alive(child), "the whole process group is killed, not just witr"


def test_witr_failure_shows_its_stderr_and_exit_1(on_path: Any) -> None:
    on_path(behaviour="fail", stderr="no process found matching 'nosuch'\n", exit_code=3)
    out = witr_command(["nosuch"])
    assert out.exit_code == 1
    assert out.stdout == b""
    assert out.stderr.decode() == (
        "ainb witr: witr exited with status 3:\nno process found matching 'nosuch'\n"
    )


def test_witr_output_that_is_not_json_is_an_error(on_path: Any) -> None:
    on_path(behaviour="text", stdout="Target: nginx\n", stderr="json not supported\n")
    out = witr_command(["nginx"])
    assert out.exit_code == 1
    err = out.stderr.decode()
    assert "witr printed something that is not JSON: Target: nginx" in err
    assert "witr stderr: json not supported" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "the following arguments are required: target"),
        (["abc", "--pid"], "--pid needs a number, got 'abc'"),
        (["80x", "--port"], "--port needs a number, got '80x'"),
        (["1", "--pid", "--port"], "argument --port: not allowed with argument --pid"),
    ],
)
def test_bad_arguments_exit_2(argv: list[str], message: str, on_path: Any) -> None:
    bin_dir = on_path()
    out = witr_command(argv)
    assert out.exit_code == 2
    assert out.stderr.decode().splitlines()[-1] == f"ainb witr: error: {message}"
    assert not (bin_dir / "argv.txt").exists(), "witr is not run for bad arguments"


def test_help() -> None:
    out = witr_command(["--help"])
    assert out.exit_code == 0
    text = out.stdout.decode()
    assert "--pid" in text and "--port" in text and "--file" in text and "witr -i" in text


def test_several_matches_and_lowercase_keys_are_formatted() -> None:
    results = [
        {"ancestry": [{"pid": 1, "command": "init"}, {"pid": 7, "command": "sh"}]},
        {"Process": {"PID": 9, "Command": "cron"}, "Ancestry": []},
    ]
    text = format_result(results)
    assert "Target      : sh (pid 7)" in text
    assert "  └─ sh (pid 7)" in text
    assert "Target      : cron (pid 9)" in text
    assert format_result({}) == "witr found no matching process.\n"


def test_snapshot_payload_is_byte_deterministic() -> None:
    result = json.loads(WITR_JSON.read_text())
    shuffled = dict(reversed(list(result.items())))
    assert snapshot_payload("nginx", "name", result) == snapshot_payload("nginx", "name", shuffled)
    doc = json.loads(snapshot_payload("1234", "pid", result))
    assert (doc["version"], doc["target"], doc["mode"]) == (1, "1234", "pid")


def test_the_manifest_declares_the_foreign_tty_handoff_for_witr_i() -> None:
    from hangar.plugins.manifest import load_manifest

    manifest = load_manifest(Path(__file__).parents[3] / "plugins" / "witr" / "manifest.toml")
    (handoff,) = manifest.provides.handoff
    assert (handoff.key, handoff.screen, handoff.argv, handoff.tmux_session) == (
        "w",
        "witr",
        ["witr", "-i"],
        "ainb-witr",
    )
    assert handoff.screen in manifest.provides.screens
