"""The first program of a session's pane: enter the worktree, take the agent's environment
from a private file, and become the agent.

tmux expands formats (``#(…)`` runs a command, ``#{…}`` is replaced) in ``new-session -c``
and in session and window names, and its panes inherit the server's environment. So the
pane starts here instead (docs/sessions.md#launch), run as
``python -I -S launch.py ENV_FILE DIRECTORY PROGRAM [ARG…]``: the directory and the agent's
argv arrive as plain arguments, which tmux passes on untouched, and the environment comes
from ``ENV_FILE`` (``KEY=VALUE`` entries separated by NUL, mode 0600, written by the
daemon), which this program deletes as soon as it has read it. Values never sit on a
command line, where ``ps`` and audit logs would show them.

The agent's environment is exactly the file's, plus what describes the pane itself
(:data:`PANE_VARS`, as tmux set them) and ``PWD``. Nothing else of the pane's environment
(the tmux server's) reaches the agent. ``COLUMNS`` and ``LINES`` never do: the pane's size
is the terminal's to tell.

Standard library only, and run with ``-I -S``: no site-packages, no ``PYTHON*`` variables,
nothing imported from the current directory.
"""

from __future__ import annotations

import os
import sys
import time
from typing import NoReturn

#: What tmux sets for every pane; these come from the pane, never from the daemon.
PANE_VARS = ("TERM", "TERM_PROGRAM", "TERM_PROGRAM_VERSION", "TMUX", "TMUX_PANE")
#: Terminal facts the daemon's own environment must not claim for the pane.
DROPPED_VARS = ("COLUMNS", "LINES", "PWD")
#: tmux 3.3a can lose what a process writes just before a quick exit: a failure message
#: stays on screen this long before the pane dies, so the launch probe can report it.
ERROR_LINGER_S = 0.5


def read_env_file(path: str) -> dict[str, str]:
    """The entries of an environment file, which is deleted once read."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    finally:
        try:
            os.unlink(path)
        except OSError:
            pass  # the daemon removes it too
    env: dict[str, str] = {}
    for entry in data.split(b"\0"):
        if not entry:
            continue
        key, sep, value = entry.partition(b"=")
        if not sep or not key:
            raise ValueError(f"malformed entry {entry[:40]!r}")
        env[os.fsdecode(key)] = os.fsdecode(value)
    return env


def agent_env(file_env: dict[str, str], pane_env: dict[str, str], directory: str) -> dict[str, str]:
    """The agent's environment: the file's, the pane's own variables, and ``PWD``."""
    env = {k: v for k, v in file_env.items() if k not in PANE_VARS and k not in DROPPED_VARS}
    env.update({k: pane_env[k] for k in PANE_VARS if k in pane_env})
    env["PWD"] = directory
    return env


def _fail(message: str, status: int) -> NoReturn:
    sys.stderr.write(f"hangar: {message}\n")
    sys.stderr.flush()
    time.sleep(ERROR_LINGER_S)
    sys.exit(status)


def main(argv: list[str]) -> None:
    if len(argv) < 3:
        _fail("usage: launch.py ENV_FILE DIRECTORY PROGRAM [ARG...]", 2)
    env_file, directory, command = argv[0], argv[1], argv[2:]
    try:
        file_env = read_env_file(env_file)
    except (OSError, ValueError) as exc:
        _fail(f"cannot read the agent's environment: {exc}", 126)
    try:
        os.chdir(directory)
    except OSError as exc:
        _fail(f"cannot enter {directory}: {exc.strerror}", 126)
    env = agent_env(file_env, dict(os.environ), directory)
    try:
        os.execvpe(command[0], command, env)  # PATH: the agent's, as given
    except OSError as exc:
        _fail(f"cannot run {command[0]}: {exc.strerror}", 127)


if __name__ == "__main__":
    main(sys.argv[1:])
