"""The small watchdog a contained child runs under, so its whole tree dies with its spawner.

:func:`hangar.adapters.process.spawn` starts
``python -I -S subreaper.py SPAWNER GRACE LC_CTYPE REPORT_FD -- EXE ARG…`` in a new session;
this process (the watchdog) forks the program, which

- leads a session and process group of its own, as an uncontained child would: the spawner's
  signals to that group (stop, kill) reach the program and what it started, never the
  watchdog, which therefore always outlives the tree it watches;
- writes its pid to ``REPORT_FD`` once it leads that group (the spawner waits for it: that pid
  is the one it signals), gets SIGKILL as its death signal should the watchdog ever die, and
  then execs with the signal mask and dispositions, stdin, stdout, stderr, working directory
  and environment the watchdog was given (``LC_CTYPE`` is restored from the argument: Python's
  start-up may coerce it).

The watchdog itself

- is a child subreaper (``PR_SET_CHILD_SUBREAPER``): what the program's descendants leave
  behind, even after a ``setsid()``, is reparented to it rather than to init, so it can always
  find the whole tree;
- gets a death signal when the spawner goes (``PR_SET_PDEATHSIG``; checked against the
  spawner's pid once set, in case it went before): it sends SIGTERM to every descendant,
  waits ``GRACE`` seconds, SIGKILLs what is left until nothing is, and exits;
- when the program exits, SIGKILLs whatever it left behind (a finished run's leftovers are
  killed anyway), reaps it all and exits with the program's status: the same code, or death
  by the same signal;
- blocks every catchable signal and waits for them with ``sigwaitinfo``; a stop signal sent to
  it (SIGTERM, SIGINT, SIGHUP, …) is passed on to the program's group.

It is run as a script with ``-I -S`` (no site, no ``PYTHON*`` variables, nothing from the
working directory on the path) and imports only what it needs from the stdlib: ``_signal``
rather than ``signal`` (whose enums cost milliseconds), ``ctypes`` for ``prctl``. Linux only.
"""

from __future__ import annotations

import _signal
import os
import sys
import time

__all__ = ["DEATH_SIGNAL", "descendants", "main"]

_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36

#: What the watchdog gets when its spawner goes: a real-time signal nobody else sends it.
DEATH_SIGNAL = _signal.SIGRTMIN + 2

#: After the program's end or its spawner's death, give up on descendants that will not die
#: (stuck in the kernel) after this long, and exit anyway.
_GIVE_UP_S = 30.0
_POLL_S = 0.05

_SIGCHLD = _signal.SIGCHLD
_SIGKILL = _signal.SIGKILL
_SIGTERM = _signal.SIGTERM
_CATCHABLE = _signal.valid_signals() - {_SIGKILL, _signal.SIGSTOP}
#: signals to the watchdog that are meant for the program
_PASSED_ON = {
    _signal.SIGHUP,
    _signal.SIGINT,
    _signal.SIGQUIT,
    _SIGTERM,
    _signal.SIGUSR1,
    _signal.SIGUSR2,
}


def descendants(root: int) -> list[int]:
    """Every live descendant of ``root``, parents before children."""
    children: dict[int, list[int]] = {}
    try:
        names = os.listdir("/proc")
    except OSError:
        return []
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as fh:
                raw = fh.read()
        except OSError:
            continue  # gone meanwhile
        # the command name may hold spaces and parentheses: the last ")" ends it
        fields = raw[raw.rfind(b")") + 1 :].split()
        try:
            state, ppid = fields[0], int(fields[1])
        except (IndexError, ValueError):
            continue
        if state not in (b"Z", b"X"):  # a zombie runs nothing and has no children
            children.setdefault(ppid, []).append(int(name))
    found: list[int] = []
    todo = [root]
    while todo:
        for kid in children.get(todo.pop(), ()):
            found.append(kid)
            todo.append(kid)
    return found


def _send(pids: list[int], sig: int) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except OSError:  # gone meanwhile
            pass


def _signal_tree(program: int, me: int, sig: int) -> None:
    """``sig`` to the program's group (reached even without ``/proc``) and to every
    descendant of ours."""
    try:
        os.killpg(program, sig)
    except OSError:  # the group is gone
        pass
    _send(descendants(me), sig)


class _Watch:
    """The program's pid and, once reaped, its wait status."""

    def __init__(self, program: int) -> None:
        self.me = os.getpid()
        self.program = program
        self.status: int | None = None

    def reap(self) -> bool:
        """Collect every child that has exited; False once no child is left at all (then no
        descendant is either: each one is under a living child, or reparented to us)."""
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return False
            if pid == 0:
                return True
            if pid == self.program:
                self.status = status

    def wait(self) -> bool:
        """Until the program exits (True) or the spawner dies (False)."""
        while True:
            sig = _signal.sigwaitinfo(_CATCHABLE).si_signo
            if sig == _SIGCHLD:
                self.reap()
                if self.status is not None:
                    return True
            elif sig == DEATH_SIGNAL:
                return False
            elif sig in _PASSED_ON and self.status is None:
                try:
                    os.killpg(self.program, sig)
                except OSError:
                    pass

    def pause(self, seconds: float) -> None:
        """Until a child exits or ``seconds`` pass."""
        if seconds > 0:
            _signal.sigtimedwait({_SIGCHLD}, seconds)

    def end_tree(self, grace_s: float) -> None:
        """SIGTERM every descendant, give them ``grace_s``, then SIGKILL them until none is
        left (or :data:`_GIVE_UP_S` passed)."""
        now = time.monotonic()
        if grace_s > 0:
            _signal_tree(self.program, self.me, _SIGTERM)
            deadline = now + grace_s
            while self.reap() and (left := deadline - time.monotonic()) > 0:
                self.pause(min(_POLL_S, left))
        self.kill_tree(now + _GIVE_UP_S)

    def kill_tree(self, give_up: float) -> None:
        while self.reap() and time.monotonic() < give_up:
            _signal_tree(self.program, self.me, _SIGKILL)
            self.pause(_POLL_S)


def _exit_like(status: int | None) -> None:
    """Exit as the program did: with its code, or by the signal that ended it."""
    if status is None:
        os._exit(1)
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        if sig != _SIGKILL:
            try:
                import resource  # the signal may dump core: the program's, not ours

                _, hard = resource.getrlimit(resource.RLIMIT_CORE)
                resource.setrlimit(resource.RLIMIT_CORE, (0, hard))
                _signal.signal(sig, _signal.SIG_DFL)
                _signal.pthread_sigmask(_signal.SIG_UNBLOCK, {sig})
            except (OSError, ValueError):
                pass
        os.kill(os.getpid(), sig)
        os._exit(128 + sig)  # a signal that does not end a process by default
    os._exit(os.waitstatus_to_exitcode(status))


def _start(
    program: list[str],
    env: dict[bytes, bytes],
    report: int,
    mask: set[int],
    sigchld: object,
    prctl: object,
) -> int:
    """Fork the program as our child, leading its own session; it dies if we do, reports
    its pid and gets what we started with."""
    me = os.getpid()
    pid = os.fork()
    if pid:
        return pid
    try:  # the child: only os-level calls from here to exec
        os.setsid()
        prctl(_PR_SET_PDEATHSIG, _SIGKILL, 0, 0, 0)  # type: ignore[operator]
        if os.getppid() != me:
            os._exit(1)
        os.write(report, b"%d\n" % os.getpid())
        os.close(report)
        # Python's start-up ignores these; the program gets them as the spawner left them,
        # which (subprocess's restore_signals) is the default
        _signal.signal(_signal.SIGPIPE, _signal.SIG_DFL)
        _signal.signal(_signal.SIGXFSZ, _signal.SIG_DFL)
        if sigchld == _signal.SIG_IGN:
            _signal.signal(_SIGCHLD, _signal.SIG_IGN)
        _signal.pthread_sigmask(_signal.SIG_SETMASK, mask)
        os.execve(program[0], program, env)
    except OSError as exc:
        os.write(2, f"hangar: cannot execute {program[0]!r}: {exc.strerror}\n".encode())
        os._exit(127 if isinstance(exc, FileNotFoundError) else 126)
    finally:
        os._exit(127)


def _environment(lc_ctype: str) -> dict[bytes, bytes]:
    """Our environment as the spawner gave it: ``lc_ctype`` is ``=VALUE``, or ``-`` when it
    was unset."""
    env = dict(os.environb)
    if lc_ctype.startswith("="):
        env[b"LC_CTYPE"] = os.fsencode(lc_ctype[1:])
    else:
        env.pop(b"LC_CTYPE", None)
    return env


def main(argv: list[str]) -> None:
    """``argv``: this script, the spawner's pid, the grace in seconds, the ``LC_CTYPE`` spec,
    the fd to report the program's pid on, ``--``, then the program's argv with a resolved
    path first."""
    spawner, grace_s, lc_ctype, report = int(argv[1]), float(argv[2]), argv[3], int(argv[4])
    program = argv[6:]
    mask = _signal.pthread_sigmask(_signal.SIG_BLOCK, _CATCHABLE)
    sigchld = _signal.getsignal(_SIGCHLD)
    _signal.signal(_SIGCHLD, _signal.SIG_DFL)  # never auto-reaped: we wait for it
    import ctypes

    prctl = ctypes.CDLL(None, use_errno=True).prctl
    prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    prctl(_PR_SET_PDEATHSIG, DEATH_SIGNAL, 0, 0, 0)
    if os.getppid() != spawner:  # it went before the death signal was set: start nothing
        os._exit(1)
    watch = _Watch(_start(program, _environment(lc_ctype), report, mask, sigchld, prctl))
    os.close(report)  # the spawner sees its end once the program has reported (or died)
    # our copies of the pipes: the spawner sees their end when the tree has let go of them
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.close(null)
    try:
        if watch.wait():
            watch.kill_tree(time.monotonic() + _GIVE_UP_S)
        else:
            watch.end_tree(grace_s)
    except BaseException:
        watch.kill_tree(time.monotonic() + _GIVE_UP_S)
        raise
    _exit_like(watch.status)


if __name__ == "__main__":
    main(sys.argv)
