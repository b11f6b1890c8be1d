"""The pane's launcher: its environment file, the agent's environment, and its failures
(its success, becoming the agent, is covered against real tmux in test_tmux_real.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hangar.daemon.sessions import launch


def env_file(tmp_path: Path, data: bytes, name: str = "env") -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def test_read_env_file_parses_and_deletes(tmp_path: Path) -> None:
    path = env_file(tmp_path, b"A=1\0B=x=y\nz;\0EMPTY=\0\0")
    assert launch.read_env_file(path) == {"A": "1", "B": "x=y\nz;", "EMPTY": ""}
    assert not Path(path).exists()


@pytest.mark.parametrize("data", [b"NOEQUALS", b"=value"])
def test_a_malformed_env_file_is_refused_and_still_deleted(tmp_path: Path, data: bytes) -> None:
    path = env_file(tmp_path, data)
    with pytest.raises(ValueError, match="malformed"):
        launch.read_env_file(path)
    assert not Path(path).exists()


def test_agent_env_keeps_the_panes_terminal_and_nothing_else_of_it() -> None:
    given = {"PATH": "/bin", "TERM": "xterm", "COLUMNS": "80", "LINES": "9", "PWD": "/x"}
    pane = {"TERM": "tmux-256color", "TMUX_PANE": "%1", "GITHUB_TOKEN": "leak", "HOME": "/h"}
    assert launch.agent_env(given, pane, "/work") == {
        "PATH": "/bin",
        "TERM": "tmux-256color",
        "TMUX_PANE": "%1",
        "PWD": "/work",
    }


@pytest.fixture
def no_linger(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(launch, "ERROR_LINGER_S", 0)


@pytest.mark.usefixtures("no_linger")
def test_failures_say_why_and_exit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cases = [
        ([str(tmp_path / "gone"), str(tmp_path), "cat"], 126, "cannot read the agent's env"),
        ([env_file(tmp_path, b"A=1", "e1"), str(tmp_path / "nope"), "cat"], 126, "cannot enter"),
        ([env_file(tmp_path, b"PATH=/nonexistent", "e2"), str(tmp_path), "no-such-agent"], 127,
         "cannot run no-such-agent"),
        ([str(tmp_path)], 2, "usage"),
    ]  # fmt: skip
    for argv, status, said in cases:
        with pytest.raises(SystemExit) as exited:
            launch.main(argv)
        assert exited.value.code == status
        assert said in capsys.readouterr().err
