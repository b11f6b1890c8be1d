"""The one reader of ``/proc`` (Linux): a process's stat fields, its environment, and the
processes of a session or process group.

Where there is no ``/proc`` (macOS) the readers find nothing and :func:`pid_alive` falls
back to asking the kernel with ``kill(pid, 0)``. Only ``os`` and ``typing`` are imported: the
client uses this module and must start fast.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import NamedTuple

__all__ = [
    "ProcessId",
    "Stat",
    "environ",
    "group_has_env",
    "group_members",
    "pid_alive",
    "pids",
    "same_process",
    "session_members",
    "stat",
]

PROC = "/proc"

#: A process: its pid and its start time (clock ticks since boot), which tells it apart
#: from a later process that was given the same pid.
ProcessId = tuple[int, int]

# fields of /proc/PID/stat counted after the ")" that ends the command name
_STATE, _PPID, _PGID, _SESSION, _STARTTIME = 0, 1, 2, 3, 19


class Stat(NamedTuple):
    pid: int
    state: str
    ppid: int
    pgid: int
    session: int
    #: clock ticks since boot; with the pid it names one process for its whole life
    start_time: int

    @property
    def zombie(self) -> bool:
        """Exited but not yet reaped by its parent: it runs nothing any more."""
        return self.state in ("Z", "X")

    @property
    def id(self) -> ProcessId:
        return (self.pid, self.start_time)


def stat(pid: int) -> Stat | None:
    """``/proc/PID/stat``, or None when there is no such process (or no ``/proc``)."""
    try:
        with open(f"{PROC}/{pid}/stat", "rb") as fh:
            raw = fh.read()
    except OSError:
        return None
    # the name may hold spaces and parentheses: the last ")" ends it
    fields = raw[raw.rfind(b")") + 1 :].split()
    try:
        return Stat(
            pid=pid,
            state=fields[_STATE].decode(),
            ppid=int(fields[_PPID]),
            pgid=int(fields[_PGID]),
            session=int(fields[_SESSION]),
            start_time=int(fields[_STARTTIME]),
        )
    except (IndexError, ValueError):
        return None


def environ(pid: int) -> dict[str, str] | None:
    """The environment ``pid`` was started with, or None when it cannot be read (gone,
    another user's, a zombie's is empty)."""
    try:
        with open(f"{PROC}/{pid}/environ", "rb") as fh:
            raw = fh.read()
    except OSError:
        return None
    env: dict[str, str] = {}
    for entry in raw.split(b"\0"):
        key, sep, value = entry.partition(b"=")
        if sep:
            env[key.decode(errors="replace")] = value.decode(errors="replace")
    return env


def pids() -> Iterator[int]:
    """Every pid in ``/proc`` right now (none where there is no ``/proc``)."""
    try:
        entries = os.listdir(PROC)
    except OSError:
        return
    for name in entries:
        if name.isdigit():
            yield int(name)


def _live() -> Iterator[Stat]:
    for pid in pids():
        st = stat(pid)
        if st is not None and not st.zombie:
            yield st


def session_members(sid: int) -> list[ProcessId]:
    """Live processes of session ``sid``.

    A tmux pane's process leads its own session; what it starts stays in it, even in other
    process groups (unless it calls setsid). Only call this while the leader is known to be
    alive: then no other session can have that id."""
    return [st.id for st in _live() if st.session == sid]


def group_members(pgid: int) -> list[ProcessId]:
    """Live processes of process group ``pgid``."""
    return [st.id for st in _live() if st.pgid == pgid]


def group_has_env(pgid: int, name: str, value: str) -> bool:
    """Does a live member of process group ``pgid`` carry ``name=value`` in its environment?

    After a restart, a recorded pgid may have been given to somebody else's group: a marker
    in the environment tells ours apart."""
    for pid, _ in group_members(pgid):
        env = environ(pid)
        if env is not None and env.get(name) == value:
            return True
    return False


def same_process(member: ProcessId) -> bool:
    """Is ``member`` still running as the same process (same pid *and* start time)?"""
    st = stat(member[0])
    return st is not None and not st.zombie and st.start_time == member[1]


def pid_alive(pid: int) -> bool:
    """True while ``pid`` runs; a zombie (exited, not yet reaped) counts as gone."""
    st = stat(pid)
    if st is not None:
        return not st.zombie
    try:  # no /proc (or hidden by hidepid): ask the kernel, which cannot tell zombies apart
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
