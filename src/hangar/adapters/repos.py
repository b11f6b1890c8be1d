"""Which repository a command means when the user names none: the one they stand in."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["enclosing_repository"]


def enclosing_repository(start: str | os.PathLike[str] = ".") -> Path | None:
    """The nearest directory at or above ``start`` holding ``.git``, or None.

    A file walk rather than ``git rev-parse``: no process per command. The daemon
    resolves the path to its git toplevel again and refuses what is not a repository.
    """
    here = Path(os.path.abspath(start))
    for directory in (here, *here.parents):
        if (directory / ".git").exists():  # a directory, or a file in a linked worktree
            return directory
    return None
