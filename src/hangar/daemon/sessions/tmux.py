"""The tmux adapter: one named session per agent, addressed exactly, text sent literally.

Facts about tmux 3.3a this module relies on (each is covered by a real-tmux test):

* ``-t name`` is a prefix match, so sessions are addressed as ``=name`` and their active
  pane as ``=name:`` (the colon keeps ``=name`` from being read as a window name).
* tmux splits its argv into commands at any argument that *ends* in ``;``. An argument
  ending in ``\\;`` becomes one ending in ``;``, so every caller-supplied argument goes
  through :func:`_arg`, or text like ``ls;`` loses its semicolon and a trailing ``;`` in an
  agent argv would start a second tmux command.
* ``display-message -t`` does not fail for a missing session: it prints empty fields.
* ``new-session -c`` silently falls back to another directory when the path is missing.
* tmux expands formats in ``new-session -c`` and in session (``-s``) and window names:
  ``#(cmd)`` runs ``cmd``, ``#{…}`` is replaced. It does not expand the command's argv,
  ``-e``, targets, ``send-keys -l`` text or buffer names. So no caller text reaches an
  expanded argument: names keep to a safe alphabet, the start directory is one without
  ``#``, and the pane enters the real directory itself (see :mod:`.launch`).
* a pane gets the tmux server's global environment (whoever started the server), so
  the agent's environment is handed over whole, in a private file (see :mod:`.launch`),
  and a server this adapter starts is started with :data:`SERVER_ENV` only.
* one tmux command may carry at most ~16 KiB, so long text goes through a paste buffer.
* a pane is marked dead when its pty closes; its exit status arrives with SIGCHLD, which
  Debian's build sometimes loses (see :meth:`Tmux.pane_state`). Output written in the
  last moments before a quick exit can also be lost: 3.3a only drains the pty before
  destroying a pane while pipe-pane is on (fixed in later releases).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shlex
import signal
import sys
import tempfile
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from hangar.adapters.executor import CommandResult, CommandTimeout, Executor
from hangar.core.env_policy import pattern_matches
from hangar.daemon.sessions import launch

#: How long pane_state waits for tmux to reap a dead pane's process and learn its status.
STATUS_WAIT_S = 0.5
#: Single lines above this many UTF-8 bytes are pasted: send-keys would hit the command limit.
SEND_KEYS_MAX_BYTES = 4096
#: How long new_session waits for the pane to take its environment file before removing it.
ENV_HANDOFF_S = 30.0
#: The variables a tmux server this adapter starts gets from the daemon's environment: what
#: tmux needs (its socket directory, config, locale, shell), nothing an agent could abuse.
#: The server's environment is what every pane starts with (a person's split included).
SERVER_ENV = (
    "HOME", "PATH", "USER", "LOGNAME", "SHELL", "LANG", "LC_*", "TZ", "TMUX_TMPDIR",
    "XDG_CONFIG_HOME",
)  # fmt: skip
#: The program that runs ``tmux`` with exactly :data:`SERVER_ENV`.
ENV_PROGRAM = "/usr/bin/env"
#: The launcher every pane starts with (:mod:`.launch`), and how it is run: ``-I`` ignores
#: ``PYTHON*`` variables and the current directory, ``-S`` skips site-packages.
LAUNCHER = [sys.executable, "-I", "-S", launch.__file__]

#: tmux rewrites "." and ":" in session names, and they would change what a target means.
_NAME = re.compile(r"[A-Za-z0-9_-]+")
_PANE_ID = re.compile(r"%[0-9]+")
_PANE_FORMAT = "\t".join(
    # session_name first: display-message prints empty fields for a missing target
    (
        "#{session_name}",
        "#{pid}",  # the server's
        "#{pane_dead}",
        "#{pane_pid}",
        "#{pane_dead_status}",
        "#{pane_dead_signal}",
        "#{pane_current_command}",  # last: the only field that may hold any text
    )
)

_GONE_MARKERS = (
    "can't find session",
    "can't find window",
    "can't find pane",
    "no server running",
    # only a missing socket means "no server": EACCES or ECONNRESET must not orphan everything
    "(No such file or directory)",
)


_SERVER_EXITED = "server exited unexpectedly"
#: a dying server starved of CPU can take a while to go: ask again for this long
_SERVER_EXIT_RETRY_S = 2.0
_SERVER_EXIT_RETRY_DELAY = 0.05


class TmuxError(RuntimeError):
    """A tmux command failed; the message carries tmux's stderr."""


class SessionGone(TmuxError):
    """The targeted session does not exist (or no tmux server is running)."""


class DuplicateSession(TmuxError):
    """``new_session`` with a name that is already taken."""


@dataclass(frozen=True)
class PaneState:
    dead: bool
    pid: int | None
    exit_status: int | None
    """The exit code of a process that exited (not set when a signal killed it)."""
    command: str
    signal: int | None = None
    """The signal that killed the pane's process, if one did."""


def _arg(value: str) -> str:
    """Escape a trailing ``;`` so tmux keeps it as text instead of splitting commands there."""
    return value[:-1] + "\\;" if value.endswith(";") else value


def _normalise(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _trim(output: str) -> list[str]:
    """Lines without trailing spaces (``-J`` keeps them) and without trailing blank lines."""
    lines = [line.rstrip() for line in output.split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    return lines


class Tmux:
    def __init__(
        self,
        executor: Executor,
        *,
        socket_name: str | None = None,
        server_env: Mapping[str, str] | None = None,
    ) -> None:
        """``server_env`` is where :data:`SERVER_ENV` is taken from when this adapter starts
        a tmux server (default: this process's environment at that moment)."""
        self._executor = executor
        self.socket_name = socket_name
        self.server_env = server_env

    # -- argv helpers -------------------------------------------------------------------

    def _base(self) -> list[str]:
        return ["tmux", "-L", self.socket_name] if self.socket_name else ["tmux"]

    @staticmethod
    def _session(name: str) -> str:
        """Exactly session ``name``: a bare ``-t name`` would also match ``name2``."""
        if not _NAME.fullmatch(name):
            raise ValueError(f"invalid tmux session name {name!r}")
        return f"={name}"

    @classmethod
    def _pane(cls, name: str, pane: str | None = None) -> str:
        """Pane ``pane`` (an id like ``%7``) when given, else the active pane of the current
        window of exactly session ``name``. Callers that know the agent's pane id pass it:
        a person who splits the window must not receive the orchestrator's keystrokes."""
        if pane is not None:
            if not _PANE_ID.fullmatch(pane):
                raise ValueError(f"invalid tmux pane id {pane!r}")
            cls._session(name)  # validates the name
            return pane
        return f"{cls._session(name)}:"

    async def _run(
        self,
        *args: str,
        input: bytes | None = None,
        timeout: float = 10.0,
        clean_env: bool = False,
    ) -> CommandResult:
        """Run tmux with ``args``; ``clean_env`` for a command that may start the server."""
        argv = [*(self._server_env_argv() if clean_env else self._base()), *args]
        deadline = asyncio.get_running_loop().time() + _SERVER_EXIT_RETRY_S
        while True:
            try:
                res = await self._executor.run(argv, input=input, timeout=timeout)
            except CommandTimeout as exc:  # a wedged server: callers handle TmuxError only
                raise TmuxError(f"tmux {args[0]} did not answer: {exc}") from exc
            except OSError as exc:  # tmux missing or not executable
                raise TmuxError(f"cannot run tmux: {exc}") from exc
            # The server exits when its last session dies; a client that connected just
            # then is cut off before its command runs. Asking again gets the truth: a new
            # server, or "no server running".
            if res.returncode == 0 or _SERVER_EXITED not in res.stderr:
                return res
            if asyncio.get_running_loop().time() >= deadline:
                return res
            await asyncio.sleep(_SERVER_EXIT_RETRY_DELAY)

    async def _check(self, name: str, *args: str, input: bytes | None = None) -> CommandResult:
        """Run a command targeting session ``name``; map failures to exceptions."""
        res = await self._run(*args, input=input)
        if res.returncode != 0:
            raise _error(name, args[0], res)
        return res

    # -- lifecycle ----------------------------------------------------------------------

    async def new_session(
        self,
        name: str,
        cwd: Path,
        argv: list[str],
        env: Mapping[str, str] | None = None,
        width: int = 200,
        height: int = 50,
    ) -> str:
        """Start ``argv`` detached in a new session ``name``, in directory ``cwd``, with
        exactly ``env`` as its environment (plus the pane's own variables, see
        :mod:`.launch`); return its pane id (``%N``).

        No argument tmux expands carries ``cwd``, ``argv`` or ``env``: the name is checked
        against a safe alphabet, the session starts in :func:`start_dir` and the launcher
        enters ``cwd`` itself, and ``env`` goes through a 0600 file the launcher deletes.
        ``remain-on-exit`` is set in the same tmux invocation, before the server reads the
        child's exit, so a command that dies at once leaves a dead pane to inspect."""
        if not argv:
            raise ValueError("argv must not be empty")
        target = self._pane(name)  # validates the name
        if not cwd.is_absolute():
            raise ValueError(f"working directory {cwd} must be absolute")
        if not cwd.is_dir():  # fail here, with a clear message, not in the pane
            raise TmuxError(f"working directory {cwd} does not exist")
        env_file = _write_env_file(env or {})
        try:
            res = await self._run(
                "new-session", "-d", "-s", name,
                "-c", str(start_dir(cwd)), "-x", str(width), "-y", str(height),
                "-P", "-F", "#{pane_id}",
                "--", *(_arg(a) for a in [*LAUNCHER, env_file, str(cwd), *argv]),
                ";", "set-option", "-t", target, "remain-on-exit", "on",
                clean_env=True,
            )  # fmt: skip
            if res.returncode != 0:
                if "duplicate session" in res.stderr:
                    raise DuplicateSession(f"tmux session {name!r} already exists")
                raise TmuxError(f"tmux new-session {name!r} failed: {res.stderr.strip()}")
            pane_id = res.stdout.strip().splitlines()[0] if res.stdout.strip() else ""
            if not pane_id.startswith("%"):
                raise TmuxError(f"tmux new-session {name!r} printed no pane id: {res.stdout!r}")
            await self._await_handoff(name, pane_id, env_file)
            return pane_id
        finally:
            with contextlib.suppress(OSError):
                os.unlink(env_file)

    async def _await_handoff(self, name: str, pane: str, env_file: str) -> None:
        """Until the launcher has taken its environment file (it deletes it), the pane has
        died or gone, or :data:`ENV_HANDOFF_S` passed: the file never outlives the launch."""
        deadline = time.monotonic() + ENV_HANDOFF_S
        checked = 0.0
        while os.path.lexists(env_file) and time.monotonic() < deadline:
            if time.monotonic() - checked >= 0.2:
                checked = time.monotonic()
                try:
                    if (await self._pane_state_once(name, pane))[0].dead:
                        return
                except TmuxError:  # gone, or tmux failing: the probe after us will say
                    return
            await asyncio.sleep(0.01)

    def _server_env_argv(self) -> list[str]:
        """``env -i KEY=VALUE… tmux [-L socket]``: a server that this command starts gets
        only :data:`SERVER_ENV`, never the daemon's whole environment."""
        source = os.environ if self.server_env is None else self.server_env
        kept = [
            f"{key}={value}"
            for key, value in source.items()
            if any(pattern_matches(p, key) for p in SERVER_ENV) and "=" not in key
        ]
        return [ENV_PROGRAM, "-i", *kept, *self._base()]

    async def has_session(self, name: str) -> bool:
        res = await self._run("has-session", "-t", self._session(name))
        if res.returncode == 0:
            return True
        if _is_gone(res.stderr):
            return False
        raise TmuxError(f"tmux has-session {name!r} failed: {res.stderr.strip()}")

    async def kill_session(self, name: str) -> None:
        """Kill session ``name``; a session that is already gone is not an error."""
        try:
            await self._check(name, "kill-session", "-t", self._session(name))
        except SessionGone:
            pass

    async def list_sessions(self) -> list[str]:
        res = await self._run("list-sessions", "-F", "#{session_name}")
        if res.returncode != 0:
            if _is_gone(res.stderr):  # no server running: no sessions
                return []
            raise TmuxError(f"tmux list-sessions failed: {res.stderr.strip()}")
        return [line for line in res.stdout.splitlines() if line]

    # -- input --------------------------------------------------------------------------

    async def send_text(self, name: str, text: str, *, pane: str | None = None) -> None:
        """Type ``text`` literally into the session's active pane (Enter is not added).

        One short line goes through ``send-keys -l`` so key names like ``Enter`` and
        leading dashes stay text; anything with a newline, or long, is pasted from a
        buffer so each LF stays a newline instead of becoming a keystroke that submits."""
        if "\x00" in text:
            raise ValueError("text must not contain NUL")
        text = _normalise(text)
        if not text:
            return
        data = text.encode()
        if "\n" not in text and len(data) <= SEND_KEYS_MAX_BYTES:
            await self._check(
                name, "send-keys", "-t", self._pane(name, pane), "-l", "--", _arg(text)
            )
            return
        buffer = f"hangar-{uuid.uuid4().hex}"
        await self._check(name, "load-buffer", "-b", buffer, "-", input=data)
        try:
            # -p: bracketed paste when the app asked for it; -r: keep LF; -d: drop the buffer
            await self._check(
                name, "paste-buffer", "-p", "-r", "-d", "-b", buffer, "-t", self._pane(name, pane)
            )
        except TmuxError:
            await self._run("delete-buffer", "-b", buffer)  # -d only runs on success
            raise

    async def send_keys(self, name: str, *keys: str, pane: str | None = None) -> None:
        """Press real keys by tmux name (``Enter``, ``C-c``, ``Down``); ``--`` keeps a key
        that starts with ``-`` from being read as a flag."""
        if not keys:
            return
        await self._check(
            name, "send-keys", "-t", self._pane(name, pane), "--", *(_arg(k) for k in keys)
        )

    # -- output -------------------------------------------------------------------------

    async def capture(self, name: str, lines: int, *, pane: str | None = None) -> str:
        """The last ``lines`` lines of the pane (history included), plain text, joined."""
        if lines < 1:
            raise ValueError("lines must be at least 1")
        res = await self._check(
            name, "capture-pane", "-p", "-J", "-t", self._pane(name, pane), "-S", f"-{lines}"
        )
        return "\n".join(_trim(res.stdout)[-lines:])

    async def capture_history(self, name: str, *, pane: str | None = None) -> str:
        res = await self._check(
            name, "capture-pane", "-p", "-J", "-t", self._pane(name, pane), "-S", "-"
        )
        return "\n".join(_trim(res.stdout))

    async def pane_state(self, name: str, *, pane: str | None = None) -> PaneState:
        """Whether the pane's process is alive, and how it ended if not.

        tmux marks a pane dead when its pty closes, which can come before it reaps the
        process; and Debian's utempter-enabled tmux 3.3a sometimes never sees the
        SIGCHLD at all (tmux/tmux#311, #4559), leaving a zombie and no status. So a dead
        pane without a status nudges its server with SIGCHLD (tmux answers by reaping)
        and is asked again for up to :data:`STATUS_WAIT_S`; then the status stays None."""
        state, server_pid = await self._pane_state_once(name, pane)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STATUS_WAIT_S
        if _status_unknown(state) and server_pid is not None:
            self._nudge_server(server_pid)
        while _status_unknown(state) and loop.time() < deadline:
            await asyncio.sleep(0.02)
            state, _ = await self._pane_state_once(name, pane)
        return state

    async def _pane_state_once(
        self, name: str, pane: str | None = None
    ) -> tuple[PaneState, int | None]:
        res = await self._check(
            name, "display-message", "-p", "-t", self._pane(name, pane), _PANE_FORMAT
        )
        fields = res.stdout.rstrip("\n").split("\t", 6)
        # a pane id outlives nothing: after a server restart it may name another session's pane
        if len(fields) != 7 or fields[0] != name:
            raise SessionGone(f"tmux session {name!r} not found")
        _, server_pid, dead, pid, status, killed_by, command = fields
        is_dead = dead == "1"
        state = PaneState(
            dead=is_dead,
            pid=None if is_dead else _int(pid),  # a dead pane's pid is stale
            exit_status=_int(status) if is_dead else None,
            command=command,
            signal=_int(killed_by) if is_dead else None,
        )
        return state, _int(server_pid)

    def _nudge_server(self, server_pid: int) -> None:
        """Make tmux run its reaping loop; harmless when nothing is left to reap."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(server_pid, signal.SIGCHLD)

    # -- attaching ----------------------------------------------------------------------

    def attach_argv(self, name: str) -> list[str]:
        return [*self._base(), "attach-session", "-t", self._session(name)]

    def attach_hint(self, name: str) -> str:
        """The command a person types to attach (docs/sessions.md#attach)."""
        sock = f"-L {shlex.quote(self.socket_name)} " if self.socket_name else ""
        return f"tmux {sock}attach-session -t {shlex.quote(name)}"


def start_dir(cwd: Path) -> Path:
    """Where tmux starts a session meant for ``cwd``: ``cwd`` itself, or its nearest
    ancestor, whose path holds no ``#``. tmux expands formats in ``-c``, and without ``#``
    there is nothing to expand. (The pane enters ``cwd`` itself; this only decides where a
    window a person opens later starts.)"""
    return next(p for p in (cwd, *cwd.parents) if "#" not in str(p))


def _write_env_file(env: Mapping[str, str]) -> str:
    """``env`` as NUL-separated ``KEY=VALUE`` entries in a new 0600 file; its path."""
    entries = []
    for key, value in env.items():
        if not key or "=" in key or "\x00" in key or "\x00" in value:
            raise ValueError(f"invalid environment entry {key!r}")
        entries.append(f"{key}={value}".encode(errors="surrogateescape"))
    fd, path = tempfile.mkstemp(prefix="hangar-env-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(b"\0".join(entries))
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(path)
        raise
    return path


def _int(value: str) -> int | None:
    try:
        return int(value)
    except ValueError:
        return None


def _status_unknown(state: PaneState) -> bool:
    return state.dead and state.exit_status is None and state.signal is None


def _is_gone(stderr: str) -> bool:
    return any(marker in stderr for marker in _GONE_MARKERS)


def _error(name: str, command: str, res: CommandResult) -> TmuxError:
    detail = res.stderr.strip() or f"exit status {res.returncode}"
    if _is_gone(res.stderr):
        return SessionGone(f"tmux session {name!r} not found ({detail})")
    return TmuxError(f"tmux {command} on {name!r} failed: {detail}")
