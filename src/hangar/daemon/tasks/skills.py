"""An agent's skills, written for one run where its CLI loads them (docs/skills.md#dispatch).

- ``claude``: ``{task root}/.claude/skills/<name>/``, outside the worktree; the runner passes
  ``--add-dir {task root}`` (Claude Code loads ``.claude/skills`` inside added directories).
- ``codex``, ``gemini`` and ``command``: ``{workdir}/.agents/skills/<name>/``, inside the
  worktree, each with a ``.gitignore`` of ``*`` so ``git status`` stays clean (the file
  ignores itself and everything beside it). A skill the repository already tracks at that
  place is left alone: the repository's own wins.

Files are copied, never linked; ``scripts/*`` (and files that were executable at the
source) are 0755, the rest 0644; a path that would leave the skill's directory is refused.
``HANGAR_SKILLS_DIR`` names the root. An agent without skills gets nothing: no directory,
no flag, no variable.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hangar.adapters import git
from hangar.core.skills import SkillBundle, check_file_path, is_script, name_problem

__all__ = ["SKILLS_DIR_ENV", "SkillsWritten", "skills_root", "write_skills"]

SKILLS_DIR_ENV = "HANGAR_SKILLS_DIR"
_IGNORE_ALL = b"*\n"


@dataclass(frozen=True)
class SkillsWritten:
    """What was written for a run: the root (None: nothing), the skills, files and bytes."""

    root: Path | None = None
    names: list[str] = field(default_factory=list)
    files: int = 0
    bytes: int = 0
    #: (skill, why) for each skill left out
    skipped: list[tuple[str, str]] = field(default_factory=list)

    @property
    def env(self) -> dict[str, str]:
        return {SKILLS_DIR_ENV: str(self.root)} if self.root is not None else {}


def skills_root(provider: str, task_root: Path, workdir: Path) -> tuple[Path, bool]:
    """Where ``provider`` loads skills from, and whether that is inside the worktree."""
    if provider.lower() == "claude":
        return task_root / ".claude" / "skills", False
    return workdir / ".agents" / "skills", True


def _inside(parent: Path, child: Path) -> bool:
    try:
        child.relative_to(parent)
    except ValueError:
        return False
    return child != parent


def _write_file(path: Path, data: bytes, mode: int) -> None:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(path, flags, 0o600)
    try:
        with os.fdopen(fd, "wb", closefd=False) as fh:
            fh.write(data)
        os.fchmod(fd, mode)
    finally:
        os.close(fd)


def _problem(bundle: SkillBundle, dest: Path) -> str | None:
    why = name_problem(bundle.name)
    if why is not None:
        return why
    for f in bundle.files:
        why = check_file_path(f.path)
        if why is not None:
            return why
        if not _inside(dest, Path(os.path.normpath(dest / f.path))):
            return f"{f.path} would be written outside the skill's directory"
    if dest.exists() or dest.is_symlink():
        return f"{dest} exists already"
    return None


def _write_all(
    bundles: Sequence[SkillBundle], root: Path, *, ignore: bool, refused: dict[str, str]
) -> SkillsWritten:
    names: list[str] = []
    skipped = [(name, why) for name, why in refused.items()]
    files = total = 0
    for bundle in bundles:
        if bundle.name in refused:
            continue
        dest = root / bundle.name
        why = _problem(bundle, dest)
        if why is not None:
            skipped.append((bundle.name, why))
            continue
        dest.mkdir(parents=True, mode=0o755)
        for f in bundle.files:
            path = dest / f.path
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
            executable = is_script(f.path) or f.executable
            _write_file(path, f.data, 0o755 if executable else 0o644)
            files += 1
            total += len(f.data)
        if ignore:  # ours wins over a .gitignore the skill may carry: the worktree stays clean
            gitignore = dest / ".gitignore"
            gitignore.unlink(missing_ok=True)
            _write_file(gitignore, _IGNORE_ALL, 0o644)
        names.append(bundle.name)
    if not names:
        return SkillsWritten(skipped=skipped)
    return SkillsWritten(root=root, names=names, files=files, bytes=total, skipped=skipped)


async def _tracked(workdir: Path, root: Path, names: Sequence[str]) -> dict[str, str]:
    """Skills whose directory the repository tracks: the repository's own copy wins."""
    rel = root.relative_to(workdir)
    result = await git.run(workdir, "ls-files", "-z", "--", str(rel))
    if result.returncode != 0:
        return {}
    tracked: dict[str, str] = {}
    for path in result.stdout.split("\0"):
        parts = path.split("/")
        depth = len(rel.parts)
        if len(parts) > depth and parts[depth] in names:
            tracked[parts[depth]] = f"the repository tracks {rel}/{parts[depth]}: its own wins"
    return tracked


async def write_skills(
    bundles: Sequence[SkillBundle],
    *,
    provider: str,
    task_root: Path,
    workdir: Path,
    in_git: bool,
    log: Any,
) -> SkillsWritten:
    """Write ``bundles`` where ``provider`` loads skills; log what was written and what not."""
    if not bundles:
        return SkillsWritten()
    root, in_worktree = skills_root(provider, task_root, workdir)
    refused: dict[str, str] = {}
    if in_worktree and in_git:
        refused = await _tracked(workdir, root, [b.name for b in bundles])
    done = await asyncio.to_thread(
        _write_all, bundles, root, ignore=in_worktree and in_git, refused=refused
    )
    for name, why in done.skipped:
        log.warning("skill not written", skill=name, reason=why)
    if done.root is not None:
        log.info(
            "skills written",
            root=str(done.root),
            skills=done.names,
            files=done.files,
            bytes=done.bytes,
        )
    return done
