"""Contained children: the watchdog (``hangar.adapters.subreaper``) a spawned program runs
under takes the program's whole tree down when the spawner dies, cleans up after the
program's own exit, and otherwise passes everything through unchanged."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from hangar.adapters import process, procfs, subreaper

from .helpers import DEADLINE_S, eventually_sync

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux processes")

ENV = {"PATH": os.environ.get("PATH", os.defpath)}
PY = sys.executable

# ``tree.py OUT NAME MODES [CHILD:MODES …]``: start the children (each one this same script),
# apply MODES to itself (comma-separated: setsid; HUP or TERM to ignore that signal; note to
# write NAME.term and exit on SIGTERM), write its pid to OUT/NAME, say "ready", and wait.
_TREE = textwrap.dedent(
    """
    import os, signal, subprocess, sys, time

    out, name, modes, *children = sys.argv[1:]
    modes = modes.split(",")
    if "setsid" in modes:
        os.setsid()
    for sig in ("HUP", "TERM"):
        if sig in modes:
            signal.signal(getattr(signal, "SIG" + sig), signal.SIG_IGN)
    if "note" in modes:
        def bye(*_):
            open(os.path.join(out, name + ".term"), "w").close()
            os._exit(0)
        signal.signal(signal.SIGTERM, bye)
    for spec in children:
        child, _, child_modes = spec.partition(":")
        subprocess.Popen(
            [sys.executable, __file__, out, child, child_modes or "-"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    tmp = os.path.join(out, name + ".tmp")
    with open(tmp, "w") as fh:
        fh.write(str(os.getpid()))
    os.rename(tmp, os.path.join(out, name))
    print("ready", flush=True)
    time.sleep(3600)
    """
)


@pytest.fixture
def tree(tmp_path: Path) -> Iterator[Path]:
    """The tree script; every process it started that is still running is killed after."""
    script = tmp_path / "tree.py"
    script.write_text(_TREE)
    (tmp_path / "out").mkdir()
    yield script
    for member in _written(tmp_path / "out").values():
        if procfs.same_process(member):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(member[0], signal.SIGKILL)


def _written(out: Path) -> dict[str, procfs.ProcessId]:
    found: dict[str, procfs.ProcessId] = {}
    for path in out.iterdir():
        if path.suffix:
            continue  # .tmp, .term
        st = procfs.stat(int(path.read_text()))
        if st is not None:
            found[path.name] = st.id
    return found


def _members(out: Path, names: set[str]) -> dict[str, procfs.ProcessId]:
    """Once every one of ``names`` has written its pid: name → (pid, start time)."""
    eventually_sync(lambda: names <= {p.name for p in out.iterdir()})
    found = _written(out)
    assert set(found) == names, "a process of the tree died early"
    return found


def _alive(members: dict[str, procfs.ProcessId]) -> set[str]:
    return {name for name, member in members.items() if procfs.same_process(member)}


@pytest.fixture
async def spawned() -> AsyncIterator[list[asyncio.subprocess.Process]]:
    procs: list[asyncio.subprocess.Process] = []
    yield procs
    for proc in procs:
        await process.reap(proc, timeout=DEADLINE_S)


async def _spawn(
    spawned: list[asyncio.subprocess.Process], argv: list[str], cwd: Path, **kw: object
) -> asyncio.subprocess.Process:
    kw.setdefault("env", ENV)
    proc = await process.spawn(argv, cwd=cwd, **kw)  # type: ignore[arg-type]
    spawned.append(proc)
    return proc


async def _out(proc: asyncio.subprocess.Process) -> tuple[bytes, bytes]:
    return await asyncio.wait_for(proc.communicate(), DEADLINE_S)


# -- what it passes through ------------------------------------------------------------------


async def test_the_program_leads_its_group_under_a_watchdog_outside_it(
    tmp_path: Path, spawned: list[asyncio.subprocess.Process]
) -> None:
    proc = await _spawn(spawned, ["sh", "-c", "echo $$; exec sleep 60"], tmp_path)
    assert proc.stdout is not None
    program = int(await asyncio.wait_for(proc.stdout.readline(), DEADLINE_S))
    assert proc.pid == program  # what the caller signals is the program, as uncontained
    st = procfs.stat(program)
    watchdog = process.watchdog_of(proc)
    assert st is not None and watchdog is not None
    assert (st.pgid, st.session, st.ppid) == (program, program, watchdog)
    outside = procfs.stat(watchdog)
    assert outside is not None and outside.pgid == outside.session == watchdog
    assert outside.ppid == os.getpid()
    assert process.SUBREAPER.encode() in Path(f"/proc/{watchdog}/cmdline").read_bytes()
    uncontained = await _spawn(spawned, ["sleep", "60"], tmp_path, contain=False)
    assert process.watchdog_of(uncontained) is None


@pytest.mark.parametrize("code", [0, 3, 75, 255])
async def test_the_exit_code_passes_through(
    tmp_path: Path, spawned: list[asyncio.subprocess.Process], code: int
) -> None:
    proc = await _spawn(spawned, ["sh", "-c", f"exit {code}"], tmp_path)
    assert await process.wait_exit_status(proc, DEADLINE_S) == code


@pytest.mark.parametrize("sig", [signal.SIGUSR1, signal.SIGTERM, signal.SIGABRT, signal.SIGKILL])
async def test_death_by_a_signal_passes_through(
    tmp_path: Path, spawned: list[asyncio.subprocess.Process], sig: signal.Signals
) -> None:
    proc = await _spawn(spawned, ["sh", "-c", f"kill -{sig.name[3:]} $$"], tmp_path)
    assert await process.wait_exit_status(proc, DEADLINE_S) == -sig
    assert not list(tmp_path.glob("core*"))  # SIGABRT: no core of the watchdog's


async def test_stdin_stdout_stderr_and_cwd_pass_through(
    tmp_path: Path, spawned: list[asyncio.subprocess.Process]
) -> None:
    script = "import os, sys; print(sys.stdin.read().upper()); print(os.getcwd(), file=sys.stderr)"
    proc = await _spawn(spawned, [PY, "-c", script], tmp_path, pipe_stdin=True)
    out, err = await asyncio.wait_for(proc.communicate(b"hello"), DEADLINE_S)
    assert out == b"HELLO\n"
    assert err.decode().strip() == str(tmp_path)
    assert proc.returncode == 0


@pytest.mark.parametrize(
    "env",
    [
        dict(ENV),  # no LC_CTYPE: Python's start-up in the watchdog would set one
        {**ENV, "LC_CTYPE": "C", "PYTHONPATH": "/nowhere", "X": "a b;$HOME"},
        {**ENV, "LANG": "C", "LC_ALL": ""},
    ],
)
async def test_the_environment_passes_through_exactly(
    tmp_path: Path, spawned: list[asyncio.subprocess.Process], env: dict[str, str]
) -> None:
    proc = await _spawn(spawned, ["env", "-0"], tmp_path, env=env)
    out, _ = await _out(proc)
    seen = dict(entry.split("=", 1) for entry in out.decode().split("\0") if entry)
    assert seen == env


async def test_the_program_gets_the_spawners_signal_mask_and_dispositions(
    tmp_path: Path, spawned: list[asyncio.subprocess.Process]
) -> None:
    argv = ["grep", "-E", "^Sig(Blk|Ign|Cgt)", "/proc/self/status"]
    contained = await _spawn(spawned, argv, tmp_path)
    direct = await _spawn(spawned, argv, tmp_path, contain=False)
    assert (await _out(contained))[0] == (await _out(direct))[0]


async def test_a_group_signal_reaches_the_program_alone(
    tmp_path: Path, spawned: list[asyncio.subprocess.Process]
) -> None:
    # the program handles SIGINT its own way; the watchdog, outside the group, never sees it
    script = "trap 'exit 7' INT; echo up; while :; do sleep 0.05; done"
    proc = await _spawn(spawned, ["sh", "-c", script], tmp_path)
    assert proc.stdout is not None
    assert await asyncio.wait_for(proc.stdout.readline(), DEADLINE_S) == b"up\n"
    assert process.kill_group(proc.pid, signal.SIGINT)
    assert await process.wait_exit_status(proc, DEADLINE_S) == 7
    assert not process.group_alive(proc.pid)  # the watchdog reaped it all before it exited


async def test_a_stop_signal_to_the_watchdog_is_passed_to_the_program(
    tmp_path: Path, spawned: list[asyncio.subprocess.Process]
) -> None:
    proc = await _spawn(
        spawned, ["sh", "-c", "trap 'exit 5' TERM; echo up; sleep 60 & wait"], tmp_path
    )
    assert proc.stdout is not None
    assert await asyncio.wait_for(proc.stdout.readline(), DEADLINE_S) == b"up\n"
    proc.terminate()  # the watchdog's pid: an outsider's kill
    assert await process.wait_exit_status(proc, DEADLINE_S) == 5


async def test_a_program_that_cannot_be_executed_exits_126(
    tmp_path: Path, spawned: list[asyncio.subprocess.Process]
) -> None:
    junk = tmp_path / "junk"
    junk.write_bytes(b"\x00\x01 not a program\n")
    junk.chmod(0o755)
    proc = await _spawn(spawned, [str(junk)], tmp_path)
    _, err = await _out(proc)
    assert proc.returncode == 126
    assert b"cannot execute" in err


async def test_the_program_gets_no_file_descriptor_of_the_watchdogs(
    tmp_path: Path, spawned: list[asyncio.subprocess.Process]
) -> None:
    argv = [PY, "-I", "-S", "-c", "import os; print(sorted(os.listdir('/proc/self/fd')))"]
    contained = await _spawn(spawned, argv, tmp_path, pipe_stdin=True)
    direct = await _spawn(spawned, argv, tmp_path, pipe_stdin=True, contain=False)
    assert (await _out(contained))[0] == (await _out(direct))[0]


async def test_a_watchdog_that_cannot_start_is_an_oserror(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "executable", "/bin/false")  # exits before reporting a pid
    with pytest.raises(OSError, match="before starting it"):
        await process.spawn(["sleep", "60"], cwd=tmp_path, env=ENV)


def test_a_watchdog_whose_spawner_is_already_gone_starts_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    not_the_parent = str(os.getpid() + 1_000_000)  # no such pid: the spawner "went" early
    argv = [PY, "-I", "-S", process.SUBREAPER, not_the_parent, "1.0", "-", "2", "--"]
    done = subprocess.run(
        [*argv, "/usr/bin/env", "touch", str(marker)], timeout=DEADLINE_S, check=False
    )
    assert done.returncode == 1
    assert not marker.exists()


# -- what it takes down ----------------------------------------------------------------------


async def test_what_the_program_leaves_is_gone_once_its_status_is_in(
    tmp_path: Path, tree: Path, spawned: list[asyncio.subprocess.Process]
) -> None:
    out = tmp_path / "out"
    argv = [PY, str(tree), str(out), "program", "-", "bg:HUP", "away:setsid,HUP,TERM"]
    proc = await _spawn(spawned, argv, tmp_path)
    members = _members(out, {"program", "bg", "away"})
    program = members["program"][0]
    os.kill(program, signal.SIGUSR1)  # the program ends (by a signal) and leaves two behind
    assert await process.wait_exit_status(proc, DEADLINE_S) == -signal.SIGUSR1
    assert _alive(members) == set()  # already: the watchdog reaps them before it exits
    assert not process.group_alive(program)


async def test_terminate_group_reaches_a_descendant_that_left_the_group(
    tmp_path: Path, tree: Path, spawned: list[asyncio.subprocess.Process]
) -> None:
    out = tmp_path / "out"
    argv = [PY, str(tree), str(out), "program", "TERM", "away:setsid,TERM", "bg:TERM"]
    proc = await _spawn(spawned, argv, tmp_path)
    members = _members(out, {"program", "away", "bg"})
    await process.terminate_group(proc, grace_s=0.5)
    assert proc.returncode == -signal.SIGKILL  # nothing ended on SIGTERM
    assert _alive(members) == set()  # already: the watchdog reaped them before it exited
    assert not process.group_alive(proc.pid)


async def test_reap_kills_the_tree_and_reports_the_programs_status(
    tmp_path: Path, tree: Path, spawned: list[asyncio.subprocess.Process]
) -> None:
    out = tmp_path / "out"
    argv = [PY, str(tree), str(out), "program", "-", "away:setsid"]
    proc = await _spawn(spawned, argv, tmp_path, pipe_stdin=True)
    members = _members(out, {"program", "away"})
    assert await process.reap(proc, timeout=DEADLINE_S) == -signal.SIGKILL
    assert _alive(members) == set()
    assert not process.group_alive(proc.pid)


_SPAWNER = textwrap.dedent(
    """
    import asyncio, sys
    from hangar.adapters import process

    async def main():
        path, grace, *argv = sys.argv[1:]
        child = await process.spawn(
            argv, cwd=".", env={"PATH": path}, orphan_grace_s=float(grace)
        )
        print(child.pid, process.watchdog_of(child), flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)

    asyncio.run(main())
    """
)


def test_kill_9_of_the_spawner_takes_the_whole_tree(tmp_path: Path, tree: Path) -> None:
    out = tmp_path / "out"
    program = [PY, str(tree), str(out), "program", "HUP"]
    children = ["nohup:HUP", "away:setsid,HUP", "stubborn:setsid,HUP,TERM", "noted:note"]
    spawner = subprocess.Popen(
        [PY, "-c", _SPAWNER, ENV["PATH"], "0.5", *program, *children],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        cwd=tmp_path,
    )
    try:
        assert spawner.stdout is not None
        leader, watchdog = map(int, spawner.stdout.readline().split())
        members = _members(out, {"program", "nohup", "away", "stubborn", "noted"})
        assert members["program"][0] == leader
        members["watchdog"] = procfs.stat(watchdog).id  # type: ignore[union-attr]
        assert procfs.stat(members["away"][0]).session != leader  # type: ignore[union-attr]
    finally:
        spawner.kill()  # SIGKILL: the spawner gets no chance to clean up
        spawner.wait()
    eventually_sync(lambda: _alive(members) == set())
    assert (out / "noted.term").exists()  # SIGTERM first; SIGKILL for "stubborn" after grace


def test_descendants_walks_the_tree_down(tmp_path: Path, tree: Path) -> None:
    out = tmp_path / "out"
    top = subprocess.Popen(
        [PY, str(tree), str(out), "top", "-", "mid:-"],
        stdout=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
    )
    try:
        members = _members(out, {"top", "mid"})
        found = subreaper.descendants(os.getpid())
        assert found.index(top.pid) < found.index(members["mid"][0])  # parents first
        assert subreaper.descendants(members["mid"][0]) == []
    finally:
        top.kill()
        top.wait()
