"""Read a directory of skills (docs/skills.md#sync): every immediate subdirectory holding a
``SKILL.md`` is one skill, with all its files.

Nothing is trusted: a file is measured before it is read (a 100 MB file is refused from its
size, never read), only regular files are read (a FIFO would block), a symlink is read as
the file it points to only when that file is inside the same skill, and every path is
checked by ``hangar.core.skills``. Files that are not UTF-8 are kept as bytes (the store
keeps them base64), so images and other assets travel too; only ``SKILL.md`` must be text.
Blocking: the daemon runs it in a thread.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from hangar.core.skills import (
    MAX_FILE_BYTES,
    MAX_FILES,
    MAX_SKILL_BYTES,
    SKILL_MD,
    SkillBundle,
    SkillFile,
    SkillFormatError,
    build_bundle,
    check_file_path,
    duplicates,
    normalise_name,
)

__all__ = ["MAX_DEPTH", "SKIPPED_NAMES", "SourceProblem", "SourceScan", "read_source"]

#: directories deeper than this inside a skill are refused
MAX_DEPTH = 16
#: left out of a skill without a word: version control and caches, never skill content
SKIPPED_NAMES = frozenset({".git", ".hg", ".svn", "__pycache__", ".DS_Store"})


@dataclass(frozen=True, slots=True)
class SourceProblem:
    """Why one directory of the source is not imported."""

    skill: str
    reason: str


@dataclass(slots=True)
class SourceScan:
    """What a source directory holds: its checked skills, the skills refused (any refuses
    the whole batch) and the directories that are not skills (said, not refused)."""

    root: Path
    skills: list[SkillBundle] = field(default_factory=list)
    errors: list[SourceProblem] = field(default_factory=list)
    skipped: list[SourceProblem] = field(default_factory=list)


class _Refused(Exception):
    """One reason a skill cannot be read; the walk of that skill stops."""


def _inside(parent: str, child: str) -> bool:
    return child != parent and os.path.commonpath([parent, child]) == parent


def _read_regular(path: str) -> bytes:
    """A regular file's bytes, at most MAX_FILE_BYTES (a file that grew past it is refused)."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise _Refused("is not a regular file")
        chunks: list[bytes] = []
        got = 0
        while True:
            chunk = os.read(fd, min(256 * 1024, MAX_FILE_BYTES + 1 - got))
            if not chunk:
                break
            chunks.append(chunk)
            got += len(chunk)
            if got > MAX_FILE_BYTES:
                raise _Refused(f"is over {MAX_FILE_BYTES // 1024} KiB")
        return b"".join(chunks)
    finally:
        os.close(fd)


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MiB" if size >= 1024 * 1024 else f"{size} bytes"


class _SkillReader:
    def __init__(self, real_dir: str) -> None:
        self.real_dir = real_dir
        self.files: list[SkillFile] = []
        self.total = 0

    def walk(self, path: str, rel: str, depth: int) -> None:
        if depth > MAX_DEPTH:
            raise _Refused(f"{rel}: directories nested over {MAX_DEPTH} deep")
        with os.scandir(path) as it:
            entries = sorted(it, key=lambda e: e.name)
        for entry in entries:
            if entry.name in SKIPPED_NAMES:
                continue
            child_rel = f"{rel}/{entry.name}" if rel else entry.name
            why = check_file_path(child_rel)
            if why is not None:
                raise _Refused(why)
            if entry.is_symlink():
                self._symlink(entry.path, child_rel)
            elif entry.is_dir(follow_symlinks=False):
                self.walk(entry.path, child_rel, depth + 1)
            elif entry.is_file(follow_symlinks=False):
                st = entry.stat(follow_symlinks=False)
                self._add(entry.path, child_rel, st)
            else:
                raise _Refused(f"{child_rel} is not a regular file (a FIFO, socket or device)")

    def _symlink(self, path: str, rel: str) -> None:
        target = os.path.realpath(path)
        if not _inside(self.real_dir, target):
            raise _Refused(
                f"{rel} is a symlink to {target}, outside the skill: symlinks are followed "
                "only inside the skill's directory"
            )
        try:
            st = os.stat(target, follow_symlinks=False)
        except FileNotFoundError:
            raise _Refused(f"{rel} is a dangling symlink") from None
        if not stat.S_ISREG(st.st_mode):
            raise _Refused(f"{rel} is a symlink to something other than a file")
        self._add(target, rel, st)

    def _add(self, path: str, rel: str, st: os.stat_result) -> None:
        if len(self.files) >= MAX_FILES:
            raise _Refused(f"more than {MAX_FILES} files")
        if st.st_size > MAX_FILE_BYTES:
            raise _Refused(
                f"{rel} is {_mib(st.st_size)}; a file may hold {MAX_FILE_BYTES // 1024} KiB"
            )
        if self.total + st.st_size > MAX_SKILL_BYTES:
            raise _Refused(
                f"its files hold over {MAX_SKILL_BYTES // (1024 * 1024)} MiB (reached at {rel})"
            )
        try:
            data = _read_regular(path)
        except _Refused as exc:
            raise _Refused(f"{rel} {exc}") from None
        self.total += len(data)
        self.files.append(SkillFile(rel, data, executable=bool(st.st_mode & 0o111)))


def _read_skill(directory: Path, name: str) -> SkillBundle:
    real = os.path.realpath(directory)
    reader = _SkillReader(real)
    try:
        reader.walk(real, "", 0)
    except OSError as exc:
        raise _Refused(f"cannot read it: {exc.strerror or exc}") from None
    try:
        return build_bundle(name, reader.files)
    except SkillFormatError as exc:
        raise _Refused(str(exc)) from None


def _skill_md_variant(directory: Path) -> str | None:
    """A file named like SKILL.md but spelled otherwise (``skill.md``), if there is one."""
    try:
        with os.scandir(directory) as it:
            for entry in it:
                if entry.name.lower() == SKILL_MD.lower() and entry.name != SKILL_MD:
                    return entry.name
    except OSError:
        return None
    return None


def read_source(root: Path) -> SourceScan:
    """Every skill of ``root``, checked. Raises ``NotADirectoryError`` or
    ``FileNotFoundError`` when ``root`` is not a readable directory."""
    if not root.is_dir():
        if root.exists():
            raise NotADirectoryError(f"{root} is not a directory")
        raise FileNotFoundError(f"{root} does not exist")
    scan = SourceScan(root=root)
    real_root = os.path.realpath(root)
    if (root / SKILL_MD).is_file():
        scan.errors.append(
            SourceProblem(
                root.name,
                f"{root} holds a {SKILL_MD} itself: pass the directory that holds the skill "
                "directories (its parent)",
            )
        )
        return scan
    candidates: list[tuple[str, Path]] = []
    with os.scandir(root) as it:
        entries = sorted(it, key=lambda e: e.name)
    for entry in entries:
        if entry.name.startswith(".") or entry.name in SKIPPED_NAMES:
            continue
        if entry.is_symlink():
            target = os.path.realpath(entry.path)
            if not os.path.isdir(target):
                continue  # a link to a file: not a skill
            if not _inside(real_root, target):
                scan.errors.append(
                    SourceProblem(
                        entry.name,
                        f"is a symlink to {target}, outside {root}: copy the skill in, or "
                        "sync its own parent directory",
                    )
                )
                continue
        elif not entry.is_dir(follow_symlinks=False):
            continue  # README.md and such, next to the skills
        directory = Path(entry.path)
        if not (directory / SKILL_MD).is_file():
            variant = _skill_md_variant(directory)
            if variant is not None:
                scan.errors.append(
                    SourceProblem(entry.name, f"has {variant}: the file must be named {SKILL_MD}")
                )
            else:
                scan.skipped.append(SourceProblem(entry.name, f"no {SKILL_MD}: not a skill"))
            continue
        candidates.append((entry.name, directory))
    clashes = duplicates(name for name, _ in candidates)
    for name, directory in candidates:
        same = clashes.get(normalise_name(name))
        if same is not None:
            others = ", ".join(repr(n) for n in same if n != name)
            scan.errors.append(
                SourceProblem(
                    name,
                    f"is the same skill as {others} once names are normalised "
                    f"({normalise_name(name)!r})",
                )
            )
            continue
        try:
            scan.skills.append(_read_skill(directory, name))
        except _Refused as exc:
            scan.errors.append(SourceProblem(name, str(exc)))
    return scan
