"""An agent's whole process tree dies with the daemon: kill -9 of the daemon takes the agent
and everything it started, before anything restarts on the same home (docs/lifecycle.md#runner).

Boot recovery would kill the agent's old group at the next start, so these tests never run a
command (which would start a daemon) between the kill and the check."""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import sys
import textwrap
from pathlib import Path

import pytest

from hangar.adapters import procfs
from tests.e2e.harness import Hangar, pid_alive, wait_until

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux processes")

# The agent starts two children that ignore SIGHUP: one stays in the agent's process group,
# the other leaves it with setsid(). Each writes its pid to a file (atomically); the agent
# writes its own, says so, and waits.
_AGENT = textwrap.dedent(
    """
    import os, subprocess, sys, time

    out = sys.argv[1]

    def note(name, pid):
        with open(os.path.join(out, name + ".tmp"), "w") as fh:
            fh.write(str(pid))
        os.rename(os.path.join(out, name + ".tmp"), os.path.join(out, name))

    CHILD = (
        "import os, signal, sys, time\\n"
        "signal.signal(signal.SIGHUP, signal.SIG_IGN)\\n"
        "if sys.argv[2] == 'setsid':\\n"
        "    os.setsid()\\n"
        "out, name = sys.argv[1], sys.argv[3]\\n"
        "open(os.path.join(out, name + '.tmp'), 'w').write(str(os.getpid()))\\n"
        "os.rename(os.path.join(out, name + '.tmp'), os.path.join(out, name))\\n"
        "time.sleep(3600)\\n"
    )
    for how, name in (("stay", "nohup"), ("setsid", "setsid")):
        subprocess.Popen(
            [sys.executable, "-c", CHILD, out, how, name],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    note("agent", os.getpid())
    print("agent ready", flush=True)
    time.sleep(3600)
    """
)

_NAMES = ("agent", "nohup", "setsid")


def _tree_agent(hangar: Hangar, name: str) -> Path:
    """Create a command agent running the script above; returns where the pids appear."""
    out = hangar.tmp / f"pids-{name}"
    out.mkdir()
    script = hangar.tmp / "tree_agent.py"
    script.write_text(_AGENT)
    command = shlex.join([sys.executable, str(script), str(out)])
    hangar.json("agent", "create", "--name", name, "--provider", "command", "--command", command)
    return out


def _pids(out: Path) -> dict[str, procfs.ProcessId]:
    """Each of the three processes, by pid and start time, once all have written their pid."""

    def read() -> dict[str, procfs.ProcessId] | None:
        found: dict[str, procfs.ProcessId] = {}
        for name in _NAMES:
            try:
                pid = int((out / name).read_text())
            except (OSError, ValueError):
                return None
            st = procfs.stat(pid)
            if st is None:
                raise AssertionError(f"{name} ({pid}) is gone before the daemon was killed")
            found[name] = st.id
        return found

    return wait_until(read, timeout=60, interval=0.1)


def _kill_leftovers(pids: dict[str, procfs.ProcessId]) -> None:
    """Never leave a test's sleeper behind, even when the test failed."""
    for member in pids.values():
        if procfs.same_process(member):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(member[0], signal.SIGKILL)


def test_kill_9_of_the_daemon_takes_the_agents_whole_tree(hangar: Hangar) -> None:
    out = _tree_agent(hangar, "tree")
    task_id = hangar.assign("tree")["task"]["id"]
    hangar.wait_status(task_id, {"running"}, timeout=60)
    pids = _pids(out)
    try:
        agent, nohup, setsid = (procfs.stat(pids[n][0]) for n in _NAMES)
        assert agent is not None and nohup is not None and setsid is not None
        assert nohup.pgid == agent.pgid  # still in the agent's group …
        assert setsid.session != agent.session  # … and one that left it
        above = procfs.stat(agent.ppid)  # the agent's parent: the daemon, or what it spawned
        assert above is not None
        if above.pid != hangar.daemon_pid:
            pids["parent"] = above.id
        hangar.kill_daemon()
        # no restart in between: the tree dies with the daemon, not at the next boot
        try:
            wait_until(
                lambda: not any(procfs.same_process(m) for m in pids.values()),
                timeout=30,
                interval=0.05,
            )
        except AssertionError:
            left = sorted(n for n, m in pids.items() if procfs.same_process(m))
            raise AssertionError(f"still running 30 s after the daemon died: {left}") from None
        assert not any(pid_alive(pid) for pid, _ in pids.values())
    finally:
        _kill_leftovers(pids)
