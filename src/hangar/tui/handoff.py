"""Foreign-TTY handoff: give the whole terminal to another program and take it back.

Attaching to a session's tmux, or witr's own process browser (`witr -i` in tmux session
``ainb-witr``), suspends the app, runs the program in the foreground until the user
detaches or quits, and resumes the app on the screen it was on, cursor and all: the app
never left it. Programs are argv lists, never shell lines.

In a browser tab (``ainb serve``) there is no terminal to hand over: the caller is told so,
with the command to run in a terminal instead, and nothing is suspended.

The two ways a program runs are module functions the tests replace: ``run_in_terminal``
(the foreground program, the app suspended) and ``run_quiet`` (a short tmux call that needs
no terminal, the app still running).
"""

from __future__ import annotations

import asyncio
import os
import shlex
import shutil
import subprocess
from collections.abc import Sequence
from typing import Any

from textual.app import App, SuspendNotSupported

__all__ = [
    "WEB_REASON",
    "hand_over",
    "run_in_terminal",
    "run_quiet",
    "tmux_handoff",
]

WEB_REASON = "a browser tab (ainb serve) has no terminal to hand over"


def run_in_terminal(argv: list[str]) -> int:
    """Run ``argv`` in the foreground with the terminal; its exit status (127: not found).

    Inside tmux, ``$TMUX`` is left out: tmux refuses to attach from inside a session
    unless it is, and a nested client is what lets a detach come back here.
    """
    env = {k: v for k, v in os.environ.items() if k != "TMUX"}
    try:
        return subprocess.run(argv, env=env, check=False).returncode
    except OSError:
        return 127


async def run_quiet(argv: list[str]) -> tuple[int, str]:
    """Run ``argv`` without a terminal (stdin from /dev/null); its status and stderr."""
    env = {k: v for k, v in os.environ.items() if k != "TMUX"}
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=env,
        )
    except OSError as exc:
        return 127, exc.strerror or str(exc)
    _, err = await proc.communicate()
    status = proc.returncode if proc.returncode is not None else 0
    return status, err.decode(errors="replace").strip()


def hand_over(app: App[Any], argv: Sequence[str]) -> str | None:
    """Suspend ``app``, run ``argv`` in the terminal, resume. None when it ran and ended
    well; otherwise the line to show (the app is back either way)."""
    if app.is_web:
        return f"{WEB_REASON}: run `{shlex.join(argv)}` in a terminal"
    try:
        with app.suspend():
            status = run_in_terminal(list(argv))
    except SuspendNotSupported:
        return f"this terminal cannot be handed over: run `{shlex.join(argv)}` in another one"
    if status == 127:
        return f"{argv[0]}: command not found"
    if status != 0:
        return f"`{shlex.join(argv)}` ended with status {status}"
    return None


async def tmux_handoff(app: App[Any], session: str, argv: Sequence[str]) -> str | None:
    """Run ``argv`` in tmux session ``session`` (made if missing, kept if there) and
    attach to it; None when that worked, else the line to show.

    The session is looked for first rather than made with ``new-session -A -d``: when the
    session exists, ``-A`` attaches even with ``-d``, which fails without a terminal.
    """
    if app.is_web:
        attach = ["tmux", "new-session", "-A", "-s", session, *argv]
        return f"{WEB_REASON}: run `{shlex.join(attach)}` in a terminal"
    if shutil.which(argv[0]) is None:
        return f"{argv[0]} is not installed (not found on PATH)"
    if shutil.which("tmux") is None:
        return "tmux is not installed (not found on PATH)"
    target = f"={session}"
    status, _ = await run_quiet(["tmux", "has-session", "-t", target])
    if status != 0:
        # tmux runs a one-word command through a shell: `env --` keeps it an argv
        command = list(argv) if len(argv) > 1 else ["env", "--", *argv]
        status, err = await run_quiet(["tmux", "new-session", "-d", "-s", session, *command])
        if status != 0:
            return f"could not start `{shlex.join(argv)}` in tmux: {err or f'status {status}'}"
    return hand_over(app, ["tmux", "attach-session", "-t", target])
