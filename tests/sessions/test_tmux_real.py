"""The tmux adapter against a real tmux server (private socket, private TMUX_TMPDIR)."""

from __future__ import annotations

import os
from functools import partial
from pathlib import Path

import pytest

from hangar.adapters.executor import SubprocessExecutor
from hangar.daemon.sessions.launch import PANE_VARS
from hangar.daemon.sessions.tmux import DuplicateSession, PaneState, SessionGone, Tmux, TmuxError

from .helpers import (
    format_payload,
    read_dump,
    server_environment,
    start_foreign_server,
    wait_until,
    write_dumper,
)

BASH = ["bash", "--noprofile", "--norc"]
BASH_ENV = {"PS1": "$ ", "HISTFILE": "/dev/null"}
#: cat without the tty's echo: each line shows once, and echo can't interleave with output
QUIET_CAT = ["sh", "-c", "stty -echo; exec cat"]


def ended(state: PaneState) -> bool:
    """Dead with its end known: tmux can show a pane dead before it has the exit status."""
    return state.dead and (state.exit_status is not None or state.signal is not None)


def lines(text: str) -> list[str]:
    return text.splitlines()


async def screen(tmux: Tmux, name: str, want: str, *, count: int = 1) -> str:
    """The pane's history once ``want`` appears as a whole line ``count`` times."""
    return await wait_until(
        lambda: tmux.capture_history(name), lambda out: lines(out).count(want) >= count
    )


async def start_quiet_cat(tmux: Tmux, name: str, cwd: Path) -> None:
    await tmux.new_session(name, cwd, QUIET_CAT)
    await wait_until(lambda: tmux.pane_state(name), lambda s: s.command == "cat")


async def test_bash_runs_what_is_sent_in_cwd_and_size(tmux_server: Tmux, tmp_path: Path) -> None:
    pane = await tmux_server.new_session("p-a", tmp_path, BASH, env=BASH_ENV)
    assert pane.startswith("%")
    await tmux_server.send_text("p-a", "echo hi; pwd; stty size")
    await tmux_server.send_keys("p-a", "Enter")
    out = await screen(tmux_server, "p-a", "50 200")
    assert "hi" in lines(out)
    assert str(tmp_path) in lines(out)
    state = await tmux_server.pane_state("p-a")
    assert not state.dead and state.pid and state.command == "bash"


async def test_key_names_dashes_and_semicolons_are_typed_literally(
    tmux_server: Tmux, tmp_path: Path
) -> None:
    await start_quiet_cat(tmux_server, "p-a", tmp_path)
    typed = ["Enter", "C-c", "-x", "ls;", "a\\;", "{ #{pane_id} }"]
    for text in typed:
        await tmux_server.send_text("p-a", text)
        await tmux_server.send_keys("p-a", "Enter")
    out = await screen(tmux_server, "p-a", typed[-1])
    assert lines(out) == typed
    assert not (await tmux_server.pane_state("p-a")).dead  # C-c was text, not SIGINT


async def test_multiline_paste_arrives_as_separate_lines(tmux_server: Tmux, tmp_path: Path) -> None:
    await start_quiet_cat(tmux_server, "p-a", tmp_path)
    await tmux_server.send_text("p-a", "one\r\ntwo\rthree\nfour;")
    await tmux_server.send_keys("p-a", "Enter")
    out = await screen(tmux_server, "p-a", "four;")
    assert lines(out) == ["one", "two", "three", "four;"]
    res = await SubprocessExecutor().run(["tmux", "-L", str(tmux_server.socket_name), "lsb"])
    assert res.stdout == ""  # the paste buffer was deleted


async def test_long_single_line_arrives_whole(tmux_server: Tmux, tmp_path: Path) -> None:
    got = tmp_path / "got"
    # raw mode: the tty line discipline would cap a canonical line at 4095 bytes
    argv = ["sh", "-c", f"stty raw -echo; exec head -c 20000 > {got}"]
    await tmux_server.new_session("p-a", tmp_path, argv)
    text = "".join(chr(ord("a") + i % 26) for i in range(20000))  # over tmux's 16 KiB limit

    async def size() -> int:
        return got.stat().st_size if got.exists() else 0

    await wait_until(lambda: tmux_server.pane_state("p-a"), lambda s: s.command == "head")
    await tmux_server.send_text("p-a", text)
    await wait_until(size, lambda n: n >= 20000)
    assert got.read_text() == text


async def test_targets_are_exact_never_a_prefix(tmux_server: Tmux, tmp_path: Path) -> None:
    await tmux_server.new_session("p-ab", tmp_path, ["cat"])
    assert await tmux_server.has_session("p-a") is False
    with pytest.raises(SessionGone):
        await tmux_server.send_text("p-a", "wrong")
    with pytest.raises(SessionGone):
        await tmux_server.send_keys("p-a", "Enter")
    with pytest.raises(SessionGone):
        await tmux_server.capture("p-a", 10)
    with pytest.raises(SessionGone):
        await tmux_server.pane_state("p-a")
    await tmux_server.kill_session("p-a")
    assert await tmux_server.list_sessions() == ["p-ab"]

    await tmux_server.new_session("p-a", tmp_path, ["cat"])
    await tmux_server.send_text("p-a", "alpha")
    await tmux_server.send_keys("p-a", "Enter")
    await tmux_server.send_text("p-ab", "beta")
    await tmux_server.send_keys("p-ab", "Enter")
    assert "alpha" not in await screen(tmux_server, "p-ab", "beta")
    assert "beta" not in await screen(tmux_server, "p-a", "alpha")
    await tmux_server.kill_session("p-a")
    assert await tmux_server.list_sessions() == ["p-ab"]


async def test_a_command_that_exits_at_once_leaves_a_dead_pane(
    tmux_server: Tmux, tmp_path: Path
) -> None:
    await tmux_server.new_session("p-a", tmp_path, ["sh", "-c", "exit 3"])
    state = await wait_until(lambda: tmux_server.pane_state("p-a"), ended)
    # (a dead pane's command is the first word tmux started it with: the launcher's)
    assert (state.exit_status, state.pid) == (3, None)
    assert await tmux_server.list_sessions() == ["p-a"]
    assert "Pane is dead (status 3" in await tmux_server.capture("p-a", 5)
    await tmux_server.kill_session("p-a")
    assert await tmux_server.list_sessions() == []


async def test_a_dead_pane_keeps_its_output(tmux_server: Tmux, tmp_path: Path) -> None:
    # waits for a line before exiting: tmux 3.3a can drop the last output of a process
    # that exits within a few ms of writing it (it only checks for unread pty data when
    # pipe-pane is on), so "write then exit at once" would make this test flaky
    await tmux_server.new_session("p-a", tmp_path, ["sh", "-c", "echo bye; read x; exit 4"])
    await screen(tmux_server, "p-a", "bye")
    await tmux_server.send_keys("p-a", "Enter")
    state = await wait_until(lambda: tmux_server.pane_state("p-a"), ended)
    assert state.exit_status == 4
    assert "bye" in lines(await tmux_server.capture_history("p-a"))


async def test_exit_status_is_reported_on_fresh_servers(tmux_server: Tmux, tmp_path: Path) -> None:
    # Debian's tmux 3.3a loses a fresh server's SIGCHLD now and then: pane_state nudges
    for i in range(8):
        socket = f"{tmux_server.socket_name}-{i}"
        fresh = Tmux(SubprocessExecutor(), socket_name=socket)
        try:
            await fresh.new_session("p-a", tmp_path, ["sh", "-c", f"exit {i + 1}"])
            state = await wait_until(partial(fresh.pane_state, "p-a"), ended)
            assert state.exit_status == i + 1
        finally:
            await SubprocessExecutor().run(["tmux", "-L", socket, "kill-server"])


async def test_a_pane_killed_by_a_signal(tmux_server: Tmux, tmp_path: Path) -> None:
    await tmux_server.new_session("p-a", tmp_path, ["sh", "-c", "kill -TERM $$"])
    state = await wait_until(lambda: tmux_server.pane_state("p-a"), ended)
    assert (state.signal, state.exit_status) == (15, None)


async def test_argv_is_execd_without_a_shell(tmux_server: Tmux, tmp_path: Path) -> None:
    # each argument reaches "$@" as it is: tmux did not run the argv through a shell
    script = 'printf "%s|\\n" "$@"; exec cat'
    argv = ["sh", "-c", script, "sh", "a b", "$HOME", "x;", "*", "'q'"]
    await tmux_server.new_session("p-a", tmp_path, argv)
    out = lines(await screen(tmux_server, "p-a", "'q'|"))
    assert out == ["a b|", "$HOME|", "x;|", "*|", "'q'|"]


async def test_a_lone_argument_with_spaces_runs(tmux_server: Tmux, tmp_path: Path) -> None:
    script = tmp_path / "my tools" / "agent;"
    script.parent.mkdir()
    script.write_text('#!/bin/sh\necho "ran $0"\nexec cat\n')
    script.chmod(0o755)
    await tmux_server.new_session("p-a", tmp_path, [str(script)])
    await screen(tmux_server, "p-a", f"ran {script}")


async def test_env_reaches_the_command(tmux_server: Tmux, tmp_path: Path) -> None:
    argv = ["sh", "-c", 'printf "%s|\\n" "$FOO"; exec cat']
    await tmux_server.new_session("p-a", tmp_path, argv, env={"FOO": "v w;"})
    await screen(tmux_server, "p-a", "v w;|")


async def test_capture_returns_the_last_lines(tmux_server: Tmux, tmp_path: Path) -> None:
    await tmux_server.new_session("p-a", tmp_path, ["sh", "-c", "seq 1 300; exec cat"])
    history = lines(await screen(tmux_server, "p-a", "300"))
    assert history == [str(i) for i in range(1, 301)]
    assert lines(await tmux_server.capture("p-a", 10)) == [str(i) for i in range(291, 301)]


async def test_duplicate_name_and_missing_cwd(tmux_server: Tmux, tmp_path: Path) -> None:
    await tmux_server.new_session("p-a", tmp_path, ["cat"])
    with pytest.raises(DuplicateSession):
        await tmux_server.new_session("p-a", tmp_path, ["cat"])
    with pytest.raises(TmuxError, match="does not exist"):
        await tmux_server.new_session("p-b", tmp_path / "nope", ["cat"])
    assert await tmux_server.list_sessions() == ["p-a"]


async def test_a_server_that_never_started(tmux_server: Tmux) -> None:
    fresh = Tmux(SubprocessExecutor(), socket_name=f"{tmux_server.socket_name}-none")
    assert await fresh.list_sessions() == []
    assert await fresh.has_session("p-a") is False
    await fresh.kill_session("p-a")
    with pytest.raises(SessionGone):
        await fresh.pane_state("p-a")


# -- nothing a caller passes is expanded by tmux ------------------------------------------
#
# tmux 3.3a expands formats in `new-session -c` and in session and window names: `#(cmd)`
# runs cmd. Each test puts text that would run a command (and be rewritten) into one
# argument that carries caller text, against a real server, and checks that the command
# never ran and that the agent got the text exactly.

#: what every launched test agent gets besides the variable under test
BASE_ENV = {"LANG": "C.UTF-8", "PATH": "/usr/bin:/bin"}


@pytest.mark.parametrize("where", ["directory", "program", "argument", "env value", "env name"])
async def test_caller_text_is_never_expanded_by_tmux(
    tmux_server: Tmux, tmp_path: Path, where: str
) -> None:
    marker = tmp_path / "expanded"
    payload = format_payload(marker)
    cwd, program = tmp_path / "worktree", tmp_path / "bin" / "agent"
    args, env = ["plain"], dict(BASE_ENV)
    if where == "directory":
        cwd = tmp_path / f"worktree {payload}" / "x;"
    elif where == "program":
        program = tmp_path / f"bin {payload}" / "agent;"
    elif where == "argument":
        args = [payload, f"-{payload};", "#{pane_id}"]
    elif where == "env value":
        env["VALUE"] = payload
    else:
        env[f"NAME_{payload}"] = "v"
    cwd.mkdir(parents=True)
    write_dumper(program)

    await tmux_server.new_session("p-a", cwd, [str(program), *args], env=env)

    dump = await read_dump(program)
    assert (dump["cwd"], dump["env"]["PWD"], dump["argv"]) == (str(cwd), str(cwd), args)
    assert {k: v for k, v in dump["env"].items() if k in env} == env
    assert not marker.exists()
    assert await tmux_server.list_sessions() == ["p-a"]


async def test_a_directory_with_formats_still_works_for_a_person(
    tmux_server: Tmux, tmp_path: Path
) -> None:
    """The session starts in the nearest directory without "#": a window a person opens
    later is there, and the command in the path never ran."""
    marker = tmp_path / "expanded"
    cwd = tmp_path / f"w{format_payload(marker)}"
    cwd.mkdir(parents=True)
    await tmux_server.new_session("p-a", cwd, QUIET_CAT)
    await wait_until(lambda: tmux_server.pane_state("p-a"), lambda s: s.command == "cat")
    res = await SubprocessExecutor().run(
        ["tmux", "-L", str(tmux_server.socket_name), "display-message", "-p", "-t", "=p-a:",
         "#{session_path}|#{pane_current_path}"]
    )  # fmt: skip
    assert res.stdout.strip().split("|") == [str(tmp_path), str(cwd)]
    assert not marker.exists()


async def test_session_names_with_formats_are_refused(tmux_server: Tmux, tmp_path: Path) -> None:
    marker = tmp_path / "expanded"
    for name in (f"p{format_payload(marker)}", "p#S", "p-{a}"):
        with pytest.raises(ValueError, match="invalid tmux session name"):
            await tmux_server.new_session(name, tmp_path, ["cat"])
    assert await tmux_server.list_sessions() == []
    assert not marker.exists()


async def test_sent_text_with_formats_is_typed_as_it_is(tmux_server: Tmux, tmp_path: Path) -> None:
    marker = tmp_path / "expanded"
    payload = format_payload(marker)
    await start_quiet_cat(tmux_server, "p-a", tmp_path)
    await tmux_server.send_text("p-a", payload)  # one line: send-keys -l
    await tmux_server.send_keys("p-a", "Enter")
    await tmux_server.send_text("p-a", f"{payload}\n-{payload}")  # pasted from a buffer
    await tmux_server.send_keys("p-a", "Enter")
    out = await screen(tmux_server, "p-a", f"-{payload}")
    assert lines(out) == [payload, payload, f"-{payload}"]
    assert not marker.exists()


# -- the environment is the caller's, not the tmux server's ---------------------------------

SECRETS = {
    "GITHUB_TOKEN": "ghp_leak",
    "AWS_SECRET_ACCESS_KEY": "aws-leak",
    "BASH_ENV": "/dev/null",
    "LD_PRELOAD": "libc.so.6",  # preloading libc again is harmless, and still a leak
}


async def test_a_server_it_starts_gets_a_clean_environment_and_the_agent_exactly_its_own(
    tmux_server: Tmux, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in {**SECRETS, "COLUMNS": "33", "TERM": "daemon-term"}.items():
        monkeypatch.setenv(key, value)
    agent = write_dumper(tmp_path / "agent")
    env = {**BASE_ENV, "FOO": "v w;", "TERM": "from-caller", "COLUMNS": "44"}

    await tmux_server.new_session("p-a", tmp_path, [str(agent)], env=env)

    dump = (await read_dump(agent))["env"]
    # exactly what was given, except what describes the pane itself (tmux sets it)
    assert set(dump) - set(PANE_VARS) == {"LANG", "PATH", "FOO", "PWD"}
    assert (dump["FOO"], dump["PWD"]) == ("v w;", str(tmp_path))
    assert dump["TERM"] not in ("from-caller", "daemon-term") and "TMUX_PANE" in dump
    # the server (and so a pane a person opens) has only what tmux needs
    global_env = await server_environment(str(tmux_server.socket_name))
    assert not set(SECRETS) & set(global_env)
    assert "PATH" in global_env


async def test_a_server_someone_else_started_leaks_nothing_to_the_agent(
    tmux_server: Tmux, tmp_path: Path
) -> None:
    # a server started from a shell full of secrets (the user's own default server)
    await start_foreign_server(str(tmux_server.socket_name), {**os.environ, **SECRETS})
    assert (await server_environment(str(tmux_server.socket_name)))["GITHUB_TOKEN"] == "ghp_leak"
    agent = write_dumper(tmp_path / "agent")

    await tmux_server.new_session("p-a", tmp_path, [str(agent)], env=BASE_ENV)

    dump = (await read_dump(agent))["env"]
    assert set(dump) - set(PANE_VARS) == {"LANG", "PATH", "PWD"}
