"""Claude Code's user config: pre-accept workspace trust for a new worktree.

Claude asks "Do you trust the files in this folder?" for every new path, and the question
blocks an unattended session, so the answer is written into ``.claude.json`` before launch.
Claude rewrites that file itself, hence: a lock, a merge that keeps every other key (and
each number's exact spelling), a one-time backup, and an atomic replace that keeps the mode.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import re
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hangar.adapters.files import write_private

CONFIG_DIR_ENV = "CLAUDE_CONFIG_DIR"
#: Not ``.claude.json.lock``: Claude's own lockfile library may create that as a directory.
LOCK_SUFFIX = ".hangar.lock"
BACKUP_SUFFIX = ".hangar.bak"


class ClaudeConfigError(ValueError):
    """The config file cannot be merged safely; it was left untouched."""


def config_file_path() -> Path:
    """``$CLAUDE_CONFIG_DIR/.claude.json`` when that is set, else ``~/.claude.json``."""
    config_dir = os.environ.get(CONFIG_DIR_ENV)
    return Path(config_dir) / ".claude.json" if config_dir else Path.home() / ".claude.json"


def claude_project_dir(cwd: Path) -> Path:
    """Where Claude keeps transcripts for ``cwd``: every non-alphanumeric char becomes ``-``."""
    config_dir = os.environ.get(CONFIG_DIR_ENV)
    root = Path(config_dir) if config_dir else Path.home() / ".claude"
    encoded = re.sub(r"[^A-Za-z0-9]", "-", str(cwd.resolve()))
    return root / "projects" / encoded


def has_transcript(cwd: Path, session_id: str) -> bool:
    """Whether ``claude --resume <session_id>`` has a transcript to resume in ``cwd``."""
    if not session_id or "/" in session_id or session_id.startswith("."):
        return False
    return (claude_project_dir(cwd) / f"{session_id}.jsonl").is_file()


def trust_worktree(path: Path, *, config_file: Path | None = None) -> None:
    """Mark the exact resolved ``path`` as trusted and onboarded in Claude's config.

    Blocking (file lock, fsync): call :func:`trust_worktree_async` from the event loop."""
    # a symlinked config (dotfiles) is updated in place, not replaced by a regular file
    target = Path(os.path.realpath(config_file or config_file_path()))
    project = str(path.resolve())
    with _locked(target):
        original = target.read_bytes() if target.exists() else None
        doc = _load(target, original)
        projects = doc.setdefault("projects", {})
        if not isinstance(projects, dict):
            raise ClaudeConfigError(f"{target}: 'projects' is not an object; left untouched")
        entry = projects.setdefault(project, {})
        if not isinstance(entry, dict):
            raise ClaudeConfigError(f"{target}: projects[{project!r}] is not an object")
        wanted = {"hasTrustDialogAccepted": True, "hasCompletedProjectOnboarding": True}
        if all(entry.get(k) is True for k in wanted) and "hasCompletedOnboarding" in doc:
            return  # already trusted: don't rewrite a file Claude may be writing too
        entry.update(wanted)
        doc.setdefault("hasCompletedOnboarding", True)
        if original is not None:
            _backup_once(target)
        write_private(target, _dump(doc), mode=_mode(target), sync=True)


async def trust_worktree_async(path: Path, *, config_file: Path | None = None) -> None:
    await asyncio.to_thread(trust_worktree, path, config_file=config_file)


# -- helpers ------------------------------------------------------------------------------


@contextlib.contextmanager
def _locked(target: Path) -> Iterator[None]:
    """An exclusive flock on a sidecar file: one open file each, so threads exclude too."""
    target.parent.mkdir(parents=True, exist_ok=True)
    lock_path = target.with_name(target.name + LOCK_SUFFIX)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


class _Number:
    """A JSON float kept as its original text, so rewriting never changes its spelling."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


def _load(target: Path, raw: bytes | None) -> dict[str, Any]:
    if raw is None or not raw.strip():  # nothing to lose
        return {}
    try:
        doc = json.loads(raw, parse_float=_Number)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ClaudeConfigError(f"{target} is not valid JSON ({exc}); left untouched") from exc
    if not isinstance(doc, dict):
        raise ClaudeConfigError(f"{target} does not hold a JSON object; left untouched")
    return doc


def _dump(doc: dict[str, Any]) -> bytes:
    nonce = secrets.token_hex(8)
    numbers: dict[str, str] = {}

    def default(obj: object) -> str:
        if isinstance(obj, _Number):
            key = f"@{nonce}:{len(numbers)}@"
            numbers[key] = obj.text
            return key
        raise TypeError(f"cannot serialise {type(obj).__name__}")

    text = json.dumps(doc, indent=2, ensure_ascii=False, default=default)
    for key, raw in numbers.items():  # placeholders were dumped as strings: unquote them
        text = text.replace(f'"{key}"', raw, 1)
    return (text + "\n").encode()


def _mode(target: Path) -> int:
    try:
        return target.stat().st_mode & 0o7777
    except FileNotFoundError:
        return 0o600  # it can hold OAuth account details


def _backup_once(target: Path) -> None:
    backup = target.with_name(target.name + BACKUP_SUFFIX)
    if not backup.exists():
        shutil.copy2(target, backup)
