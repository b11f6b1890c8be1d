"""The /proc reader against live, zombie and reaped children."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from hangar.adapters import procfs

from .helpers import eventually_sync

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


@pytest.fixture
def child() -> Iterator[subprocess.Popen[bytes]]:
    """A session leader carrying an env marker, with one child of its own."""
    env = {**os.environ, "HANGAR_TEST_MARKER": "m-1"}
    proc = subprocess.Popen(["sh", "-c", "sleep 60 & wait"], env=env, start_new_session=True)
    yield proc
    os.killpg(proc.pid, 9)
    proc.wait()


def test_stat_of_a_live_child(child: subprocess.Popen[bytes]) -> None:
    st = procfs.stat(child.pid)
    assert st is not None
    assert (st.pid, st.ppid, st.pgid, st.session) == (child.pid, os.getpid(), child.pid, child.pid)
    assert st.state in "RSD" and not st.zombie
    assert st.start_time > 0
    again = procfs.stat(child.pid)
    assert again is not None and again.id == st.id  # pid + start time: this process, for life
    assert procfs.same_process(st.id)
    assert not procfs.same_process((child.pid, st.start_time + 1))
    assert procfs.pid_alive(child.pid)


def test_environ_and_the_group_marker(child: subprocess.Popen[bytes]) -> None:
    # the kernel publishes the new environment a moment after exec reports success
    eventually_sync(lambda: "HANGAR_TEST_MARKER" in (procfs.environ(child.pid) or {}))
    env = procfs.environ(child.pid)
    assert env is not None and env["HANGAR_TEST_MARKER"] == "m-1"
    assert procfs.group_has_env(child.pid, "HANGAR_TEST_MARKER", "m-1")
    assert not procfs.group_has_env(child.pid, "HANGAR_TEST_MARKER", "m-2")
    assert not procfs.group_has_env(os.getpgid(0), "HANGAR_TEST_MARKER", "m-1")


def test_members_of_a_session_and_a_group(child: subprocess.Popen[bytes]) -> None:
    eventually_sync(lambda: len(procfs.session_members(child.pid)) == 2)
    members = procfs.session_members(child.pid)
    assert child.pid in [pid for pid, _ in members]
    assert sorted(procfs.group_members(child.pid)) == sorted(members)
    assert procfs.group_members(child.pid + 10**7) == []  # beyond pid_max: nobody


def test_a_zombie_is_not_alive_and_a_reaped_pid_is_gone() -> None:
    proc = subprocess.Popen(["true"])
    # exited but not waited for: a zombie, which /proc still lists
    eventually_sync(lambda: (st := procfs.stat(proc.pid)) is not None and st.zombie)
    assert not procfs.pid_alive(proc.pid)
    assert proc.pid not in [pid for pid, _ in procfs.group_members(os.getpgid(0))]
    proc.wait()
    assert procfs.stat(proc.pid) is None
    assert procfs.environ(proc.pid) is None
    assert not procfs.pid_alive(proc.pid)


def test_a_name_with_parentheses_and_spaces(tmp_path: Path) -> None:
    odd = tmp_path / "a) b (c"
    odd.symlink_to("/bin/sleep" if os.path.exists("/bin/sleep") else "/usr/bin/sleep")
    proc = subprocess.Popen([str(odd), "60"], start_new_session=True)
    comm = Path(f"/proc/{proc.pid}/comm")
    try:
        eventually_sync(lambda: comm.read_text().strip() == "a) b (c")  # exec has happened
        st = procfs.stat(proc.pid)
        assert st is not None and (st.pgid, st.ppid) == (proc.pid, os.getpid())
        assert not st.zombie
    finally:
        proc.kill()
        proc.wait()


def test_pids_lists_this_process() -> None:
    assert os.getpid() in set(procfs.pids())
