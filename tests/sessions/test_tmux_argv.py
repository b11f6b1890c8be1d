"""The exact tmux argv for every call, against a recording executor."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from hangar.adapters.executor import CommandResult, CommandTimeout
from hangar.daemon.sessions.tmux import (
    ENV_PROGRAM,
    LAUNCHER,
    SEND_KEYS_MAX_BYTES,
    DuplicateSession,
    PaneState,
    SessionGone,
    Tmux,
    TmuxError,
    start_dir,
)
from hangar.testing.executor import RecordingExecutor

from .helpers import wait_until

T = ["tmux", "-L", "s1"]
GONE = CommandResult(1, "", "can't find session: p-a\n")


def make(socket: str | None = "s1") -> tuple[Tmux, RecordingExecutor]:
    ex = RecordingExecutor()
    return Tmux(ex, socket_name=socket), ex


class ReadingExecutor(RecordingExecutor):
    """Also keeps what the environment file named in a new-session argv held at the time."""

    env_files: dict[str, bytes]

    def __init__(self) -> None:
        super().__init__()
        self.env_files = {}

    async def run(
        self, argv: list[str], *, input: bytes | None = None, timeout: float = 10.0
    ) -> CommandResult:
        if "new-session" in argv:
            path = argv[argv.index("--") + len(LAUNCHER) + 1]
            self.env_files[path] = Path(path).read_bytes()
            assert Path(path).stat().st_mode & 0o777 == 0o600
        return await super().run(argv, input=input, timeout=timeout)


SERVER_ENV = {
    "PATH": "/bin",
    "HOME": "/home/u",
    "LC_ALL": "C.UTF-8",
    "TMUX_TMPDIR": "/run/t",
    "GITHUB_TOKEN": "secret",
    "LD_PRELOAD": "/evil.so",
    "BASH_ENV": "/evil.sh",
    "TMUX": "/tmp/tmux-1/default,1,0",
}


def make_new(socket: str | None = "s1") -> tuple[Tmux, ReadingExecutor]:
    ex = ReadingExecutor()
    return Tmux(ex, socket_name=socket, server_env=SERVER_ENV), ex


async def test_new_session_argv(tmp_path: Path) -> None:
    tmux, ex = make_new()
    ex.script([ENV_PROGRAM], CommandResult(0, "%7\n", ""))
    ex.script([*T, "display-message"], GONE)  # the hand-off wait stops at a gone pane
    pane = await tmux.new_session(
        "p-a", tmp_path, ["/bin/claude", "--model", "x;"], env={"A": "1", "B": "two words;"}
    )
    assert pane == "%7"
    argv = ex.argvs[0]
    env_file = argv[argv.index("--") + len(LAUNCHER) + 1]
    assert argv == [
        # a server this starts gets only what tmux needs, never the daemon's environment
        ENV_PROGRAM, "-i", "PATH=/bin", "HOME=/home/u", "LC_ALL=C.UTF-8", "TMUX_TMPDIR=/run/t",
        *T, "new-session", "-d", "-s", "p-a", "-c", str(tmp_path),
        "-x", "200", "-y", "50", "-P", "-F", "#{pane_id}",
        "--", *LAUNCHER, env_file, str(tmp_path), "/bin/claude", "--model", "x\\;",
        ";", "set-option", "-t", "=p-a:", "remain-on-exit", "on",
    ]  # fmt: skip
    # the environment is in a private file, never on a command line, and gone afterwards
    assert ex.env_files[env_file] == b"A=1\0B=two words;"
    assert not Path(env_file).exists()


async def test_new_session_in_a_directory_with_formats_starts_in_a_safe_one(
    tmp_path: Path,
) -> None:
    tmux, ex = make_new(None)
    ex.script([ENV_PROGRAM], CommandResult(0, "%0\n", ""))
    ex.script(["tmux", "display-message"], GONE)
    cwd = tmp_path / "a#(touch x)" / "b#{pane_id}" / "c"
    cwd.mkdir(parents=True)
    await tmux.new_session("p-a", cwd, ["cat"], width=80, height=24)
    argv = ex.argvs[0]
    assert argv[argv.index("-c") + 1] == str(tmp_path)  # the nearest ancestor without "#"
    assert argv[argv.index("-x") : argv.index("-x") + 4] == ["-x", "80", "-y", "24"]
    # the real directory goes to the launcher as a plain argument, after "--"
    launched = argv[argv.index("--") + 1 : argv.index(";")]
    assert launched[len(LAUNCHER) + 1 :] == [str(cwd), "cat"]
    # before "--", nothing but the pane-id format holds a "#"
    assert [a for a in argv[: argv.index("--")] if "#" in a] == ["#{pane_id}"]


def test_start_dir(tmp_path: Path) -> None:
    assert start_dir(tmp_path) == tmp_path
    assert start_dir(Path("/a/b#c/d")) == Path("/a")
    assert start_dir(Path("/#(x)")) == Path("/")


async def test_new_session_errors(tmp_path: Path) -> None:
    tmux, ex = make_new()
    ex.script([ENV_PROGRAM], CommandResult(1, "", "duplicate session: p-a\n"))
    with pytest.raises(DuplicateSession):
        await tmux.new_session("p-a", tmp_path, ["cat"])
    ex.script([ENV_PROGRAM], CommandResult(1, "", "create window failed: fork failed\n"))
    with pytest.raises(TmuxError, match="fork failed"):
        await tmux.new_session("p-b", tmp_path, ["cat"])
    assert all(not Path(f).exists() for f in ex.env_files)  # removed on failure too
    calls = len(ex.calls)
    with pytest.raises(TmuxError, match="does not exist"):
        await tmux.new_session("p-c", tmp_path / "missing", ["cat"])
    with pytest.raises(ValueError, match="absolute"):
        await tmux.new_session("p-c", Path("relative"), ["cat"])
    with pytest.raises(ValueError):
        await tmux.new_session("p-c", tmp_path, [])
    with pytest.raises(ValueError, match="invalid tmux session name"):
        await tmux.new_session("p.c", tmp_path, ["cat"])
    with pytest.raises(ValueError, match="invalid tmux session name"):
        await tmux.new_session("p#(touch x)", tmp_path, ["cat"])
    for env in ({"": "x"}, {"A=B": "x"}, {"A": "x\x00y"}):
        with pytest.raises(ValueError, match="invalid environment entry"):
            await tmux.new_session("p-c", tmp_path, ["cat"], env=env)
    assert len(ex.calls) == calls  # refused before running tmux


async def test_new_session_waits_for_the_launcher_to_take_its_file(tmp_path: Path) -> None:
    tmux, ex = make_new()
    ex.script([ENV_PROGRAM], CommandResult(0, "%3\n", ""))
    ex.script([*T, "display-message"], pane("p-a|99|0|4242|||python"))  # alive, starting
    task = asyncio.create_task(tmux.new_session("p-a", tmp_path, ["cat"]))

    async def written() -> list[str]:
        return list(ex.env_files)

    (env_file,) = await wait_until(written, bool)
    await asyncio.sleep(0.05)
    assert not task.done()  # the launcher has not read it yet
    Path(env_file).unlink()  # as the launcher does once it has read it
    assert await asyncio.wait_for(task, 5) == "%3"


async def test_new_session_stops_waiting_for_a_dead_pane(tmp_path: Path) -> None:
    tmux, ex = make_new()
    ex.script([ENV_PROGRAM], CommandResult(0, "%3\n", ""))
    ex.script([*T, "display-message"], pane("p-a|99|1||126||python"))
    assert await tmux.new_session("p-a", tmp_path, ["cat"]) == "%3"
    assert not any(Path(f).exists() for f in ex.env_files)


def test_server_env_defaults_to_this_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "secret")
    monkeypatch.setenv("TMUX_TMPDIR", "/run/x")
    argv = Tmux(RecordingExecutor())._server_env_argv()
    assert argv[:2] == [ENV_PROGRAM, "-i"] and argv[-1] == "tmux"
    assert "TMUX_TMPDIR=/run/x" in argv
    assert not any(a.startswith("GITHUB_TOKEN") for a in argv)


@pytest.mark.parametrize(
    ("text", "sent"),
    [
        ("echo hi", "echo hi"),
        ("Enter", "Enter"),  # -l: a key name stays text
        ("C-c", "C-c"),
        ("-x", "-x"),  # after --: not a flag
        ("ls;", "ls\\;"),  # a trailing ; would split the tmux command
        ("a\\;", "a\\\\;"),
        ("tab\there", "tab\there"),
    ],
)
async def test_send_text_single_line_is_literal(text: str, sent: str) -> None:
    tmux, ex = make()
    await tmux.send_text("p-a", text)
    assert ex.calls[0].argv == [*T, "send-keys", "-t", "=p-a:", "-l", "--", sent]
    assert ex.calls[0].input is None


async def test_send_text_multiline_pastes_a_unique_buffer() -> None:
    tmux, ex = make()
    await tmux.send_text("p-a", "one\r\ntwo\rthree\nfour;")
    await tmux.send_text("p-a", "x\ny")
    load, paste, load2, _ = ex.calls
    buffer = load.argv[-2]
    assert buffer.startswith("hangar-")
    assert load.argv == [*T, "load-buffer", "-b", buffer, "-"]
    assert load.input == b"one\ntwo\nthree\nfour;"  # stdin: no escaping needed
    assert paste.argv == [*T, "paste-buffer", "-p", "-r", "-d", "-b", buffer, "-t", "=p-a:"]
    assert load2.argv[-2] != buffer


async def test_send_text_long_single_line_is_pasted() -> None:
    tmux, ex = make()
    await tmux.send_text("p-a", "é" * (SEND_KEYS_MAX_BYTES // 2))  # exactly the limit
    assert ex.argvs[-1][3] == "send-keys"
    await tmux.send_text("p-a", "x" * (SEND_KEYS_MAX_BYTES + 1))
    assert [a[3] for a in ex.argvs[1:]] == ["load-buffer", "paste-buffer"]


async def test_send_text_empty_and_nul() -> None:
    tmux, ex = make()
    await tmux.send_text("p-a", "")
    assert ex.calls == []
    with pytest.raises(ValueError, match="NUL"):
        await tmux.send_text("p-a", "a\x00b")


async def test_failed_paste_deletes_its_buffer() -> None:
    tmux, ex = make()
    ex.script([*T, "paste-buffer"], GONE)
    with pytest.raises(SessionGone):
        await tmux.send_text("p-a", "a\nb")
    buffer = ex.argvs[0][-2]
    assert ex.argvs[-1] == [*T, "delete-buffer", "-b", buffer]


async def test_send_keys() -> None:
    tmux, ex = make()
    await tmux.send_keys("p-a", "Enter")
    await tmux.send_keys("p-a", "C-d", "Down")
    await tmux.send_keys("p-a")
    assert ex.argvs == [
        [*T, "send-keys", "-t", "=p-a:", "--", "Enter"],
        [*T, "send-keys", "-t", "=p-a:", "--", "C-d", "Down"],
    ]


async def test_capture_flags_and_trimming() -> None:
    tmux, ex = make()
    ex.script([*T, "capture-pane"], CommandResult(0, "a  \nb\nc\nd \n\n  \n\n", ""))
    assert await tmux.capture("p-a", 3) == "b\nc\nd"
    assert await tmux.capture_history("p-a") == "a\nb\nc\nd"
    assert ex.argvs == [
        [*T, "capture-pane", "-p", "-J", "-t", "=p-a:", "-S", "-3"],
        [*T, "capture-pane", "-p", "-J", "-t", "=p-a:", "-S", "-"],
    ]
    with pytest.raises(ValueError):
        await tmux.capture("p-a", 0)


def pane(fields: str) -> CommandResult:
    """display-message output: session, server pid, dead, pid, status, signal, command."""
    return CommandResult(0, fields.replace("|", "\t") + "\n", "")


async def test_pane_state_parses_the_format() -> None:
    tmux, ex = make()
    ex.script([*T, "display-message"], pane("p-a|99|0|4242|||claude code"))
    assert await tmux.pane_state("p-a") == PaneState(False, 4242, None, "claude code")
    argv = ex.argvs[0]
    assert argv[:7] == [*T, "display-message", "-p", "-t", "=p-a:"]
    assert argv[7].split("\t") == [
        "#{session_name}",
        "#{pid}",
        "#{pane_dead}",
        "#{pane_pid}",
        "#{pane_dead_status}",
        "#{pane_dead_signal}",
        "#{pane_current_command}",
    ]
    ex.script([*T, "display-message"], pane("p-a|99|1|4242|3||sh"))
    assert await tmux.pane_state("p-a") == PaneState(True, None, 3, "sh")
    ex.script([*T, "display-message"], pane("p-a|99|1|4242||15|sh"))
    assert await tmux.pane_state("p-a") == PaneState(True, None, None, "sh", signal=15)


async def test_pane_state_nudges_the_server_for_a_missing_exit_status(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tmux, ex = make()
    nudged: list[int] = []
    monkeypatch.setattr(tmux, "_nudge_server", nudged.append)
    monkeypatch.setattr("hangar.daemon.sessions.tmux.STATUS_WAIT_S", 0.2)
    reaping = pane("p-a|99|1|4242|||sh")  # dead, but its process not reaped yet
    ex.script([*T, "display-message"], reaping, reaping, pane("p-a|99|1||3||sh"))
    assert (await tmux.pane_state("p-a")).exit_status == 3
    assert (len(ex.calls), nudged) == (3, [99])
    ex.script([*T, "display-message"], reaping)
    state = await tmux.pane_state("p-a")  # gives up after STATUS_WAIT_S
    assert state.dead and state.exit_status is None and state.signal is None
    ex.script([*T, "display-message"], pane("p-a|99|0|4242|||sh"))
    await tmux.pane_state("p-a")
    assert nudged == [99, 99]  # a live pane needs no nudge


async def test_pane_state_of_a_missing_session_is_gone() -> None:
    tmux, ex = make()
    # tmux 3.3a: display-message prints empty fields, exit 0, for a missing target
    ex.script([*T, "display-message"], pane("||||||"))
    with pytest.raises(SessionGone):
        await tmux.pane_state("p-a")


async def test_has_kill_list() -> None:
    tmux, ex = make()
    ex.script([*T, "has-session"], CommandResult(0, "", ""), GONE)
    assert await tmux.has_session("p-a") is True
    assert await tmux.has_session("p-a") is False
    ex.script([*T, "kill-session"], GONE)
    await tmux.kill_session("p-a")  # already gone: fine
    ex.script([*T, "list-sessions"], CommandResult(0, "p-a\np-ab\n", ""))
    assert await tmux.list_sessions() == ["p-a", "p-ab"]
    assert ex.argvs == [
        [*T, "has-session", "-t", "=p-a"],
        [*T, "has-session", "-t", "=p-a"],
        [*T, "kill-session", "-t", "=p-a"],
        [*T, "list-sessions", "-F", "#{session_name}"],
    ]


@pytest.mark.parametrize(
    "stderr",
    [
        "no server running on /tmp/tmux-1000/s1\n",
        "error connecting to /tmp/tmux-1000/s1 (No such file or directory)\n",
    ],
)
async def test_no_server_means_no_sessions(stderr: str) -> None:
    tmux, ex = make()
    ex.default = CommandResult(1, "", stderr)
    assert await tmux.list_sessions() == []
    assert await tmux.has_session("p-a") is False
    await tmux.kill_session("p-a")
    with pytest.raises(SessionGone):
        await tmux.capture("p-a", 10)


async def test_other_failures_are_tmux_errors_with_stderr() -> None:
    tmux, ex = make()
    ex.default = CommandResult(1, "", "server exited unexpectedly\n")
    with pytest.raises(TmuxError, match="server exited unexpectedly") as info:
        await tmux.send_keys("p-a", "Enter")
    assert not isinstance(info.value, SessionGone)
    asked = len(ex.calls)
    assert asked > 10  # asked again for a while (2 s, every 50 ms) before giving up
    ex.default = CommandResult(1, "", "protocol version mismatch\n")
    with pytest.raises(TmuxError, match="protocol version mismatch"):
        await tmux.has_session("p-a")
    assert len(ex.calls) == asked + 1  # any other failure is not retried


async def test_a_server_exiting_under_a_command_is_asked_again() -> None:
    """The server exits as its last session dies; a client connecting just then is cut off
    ("server exited unexpectedly") before its command runs. The next try gets the truth."""
    tmux, ex = make()
    cut = CommandResult(1, "", "server exited unexpectedly\n")
    ex.script([*T, "list-sessions"], cut, CommandResult(1, "", "no server running on /x\n"))
    assert await tmux.list_sessions() == []
    ex.script([*T, "has-session"], cut, cut, CommandResult(0, "", ""))
    assert await tmux.has_session("p-a") is True
    assert [a[3] for a in ex.argvs] == ["list-sessions"] * 2 + ["has-session"] * 3


async def test_missing_or_wedged_tmux_is_a_tmux_error() -> None:
    tmux, ex = make()
    ex.script(["tmux"], FileNotFoundError(2, "No such file or directory", "tmux"))
    with pytest.raises(TmuxError, match="cannot run tmux"):
        await tmux.list_sessions()
    ex.script([*T, "capture-pane"], CommandTimeout(["tmux", "capture-pane"], 10))
    with pytest.raises(TmuxError, match="capture-pane did not answer"):
        await tmux.capture("p-a", 10)


def test_attach() -> None:
    tmux, _ = make()
    assert tmux.attach_argv("p-a") == [*T, "attach-session", "-t", "=p-a"]
    assert tmux.attach_hint("p-a") == "tmux -L s1 attach-session -t p-a"
    plain, _ = make(None)
    assert plain.attach_argv("harness-x") == ["tmux", "attach-session", "-t", "=harness-x"]
    assert plain.attach_hint("harness-x") == "tmux attach-session -t harness-x"
