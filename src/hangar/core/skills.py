"""Agent Skills, the format (docs/skills.md): parse and check a ``SKILL.md`` and a skill's
files, pure and IO-free. Reading a directory is ``hangar.adapters.skill_source``; storing a
batch is ``hangar.store.skills``; writing one for a run is ``hangar.daemon.tasks.skills``.

A skill is a directory holding ``SKILL.md``: YAML front matter between ``---`` fences, then
Markdown. ``name`` (1-64 chars: lowercase letters, digits and single hyphens, no hyphen at
either end, equal to the directory's name) and ``description`` (1-1024 chars) are required;
``license``, ``compatibility`` (up to 500 chars), ``metadata`` (string to string) and
``allowed-tools`` are optional. Other keys (Claude Code's own, say) are left alone: the file
is copied as it is, so the agent CLI reads them itself.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.composer import ComposerError

__all__ = [
    "MAX_COMPATIBILITY",
    "MAX_DESCRIPTION",
    "MAX_FILES",
    "MAX_FILE_BYTES",
    "MAX_FRONT_MATTER_BYTES",
    "MAX_NAME",
    "MAX_PATH",
    "MAX_SKILL_BYTES",
    "SKILL_MD",
    "SkillBundle",
    "SkillFile",
    "SkillFormatError",
    "SkillManifest",
    "build_bundle",
    "check_file_path",
    "duplicates",
    "is_script",
    "name_problem",
    "normalise_name",
    "parse_skill_md",
]

SKILL_MD = "SKILL.md"
MAX_NAME = 64
MAX_DESCRIPTION = 1024
MAX_COMPATIBILITY = 500
#: one file of a skill; a skill as a whole; files in one skill (SKILL.md included)
MAX_FILE_BYTES = 1024 * 1024
MAX_SKILL_BYTES = 8 * 1024 * 1024
MAX_FILES = 1000
#: the YAML between the fences (a description is at most 1 KiB: this is generous)
MAX_FRONT_MATTER_BYTES = 64 * 1024
#: a file's path inside its skill, in characters
MAX_PATH = 1024

_NAME = re.compile(r"\A[a-z0-9]+(?:-[a-z0-9]+)*\Z")
_FENCE = re.compile(r"\A---[ \t]*\Z")
_DRIVE = re.compile(r"\A[A-Za-z]:")


class SkillFormatError(ValueError):
    """A skill that does not follow the format; ``problems`` says each thing wrong."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems) or ["invalid skill"]
        super().__init__("; ".join(self.problems))


@dataclass(frozen=True, slots=True)
class SkillManifest:
    """What ``SKILL.md`` says about its skill."""

    name: str
    description: str
    body: str
    license: str | None = None
    compatibility: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    #: as written (a list is joined with spaces): experimental, for display only
    allowed_tools: str | None = None


@dataclass(frozen=True, slots=True)
class SkillFile:
    """One file of a skill: a ``/``-separated path relative to the skill's directory."""

    path: str
    data: bytes
    #: the source file had an executable bit (``scripts/*`` are made executable anyway)
    executable: bool = False


@dataclass(frozen=True, slots=True)
class SkillBundle:
    """A checked skill: its manifest and every file (``SKILL.md`` included), sorted by path."""

    manifest: SkillManifest
    files: tuple[SkillFile, ...]

    @property
    def name(self) -> str:
        return self.manifest.name

    @property
    def total_bytes(self) -> int:
        return sum(len(f.data) for f in self.files)

    @property
    def digest(self) -> str:
        """sha256 over paths, modes and contents: equal digests, equal skills."""
        h = hashlib.sha256()
        for f in self.files:
            h.update(f.path.encode())
            h.update(b"\0x\0" if f.executable else b"\0-\0")
            h.update(str(len(f.data)).encode() + b"\0")
            h.update(f.data)
        return h.hexdigest()


def normalise_name(name: str) -> str:
    """The name two skills must not share: NFKC, case-folded, runs of anything but letters
    and digits as one hyphen (``My_Skill`` and ``my-skill`` are the same skill)."""
    folded = unicodedata.normalize("NFKC", name).casefold()
    return re.sub(r"[^a-z0-9]+", "-", folded).strip("-")


def name_problem(name: object) -> str | None:
    """Why ``name`` is not a skill name, or None."""
    if not isinstance(name, str):
        return f"name must be a string, got {_kind(name)}"
    if not name:
        return "name is empty"
    if len(name) > MAX_NAME:
        return f"name is {len(name)} characters; the limit is {MAX_NAME}"
    if _NAME.fullmatch(name) is None:
        return (
            f"name {name!r} is not lowercase letters, digits and single hyphens "
            "(no hyphen at the start or end)"
        )
    return None


def is_script(path: str) -> bool:
    """Files under ``scripts/`` are made executable when a skill is written for a run."""
    return path.startswith("scripts/") and len(path) > len("scripts/")


def check_file_path(path: str) -> str | None:
    """Why ``path`` may not be a file of a skill (it would escape the skill's directory, or
    not name one file portably), or None."""
    if not path:
        return "empty path"
    if len(path) > MAX_PATH:
        return f"path is over {MAX_PATH} characters"
    if "\0" in path:
        return "path contains a NUL byte"
    if "\\" in path:
        return f"path {path!r} contains a backslash"
    if path.startswith("/") or _DRIVE.match(path):
        return f"path {path!r} is absolute"
    for part in path.split("/"):
        if part in ("", ".", ".."):
            return f"path {path!r} has an empty, '.' or '..' part"
        if any(unicodedata.category(ch) == "Cc" for ch in part):
            return f"path {path!r} contains a control character"
    return None


class _NoAliasLoader(yaml.SafeLoader):
    """SafeLoader without anchors and aliases: front matter has no use for them, and a
    few lines of aliases can expand to gigabytes (the "billion laughs")."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise ComposerError(None, None, "aliases (*name) are not allowed", event.start_mark)
        return super().compose_node(parent, index)


def _kind(value: object) -> str:
    if value is None:
        return "nothing"
    return {dict: "a mapping", list: "a list", bool: "a boolean", int: "a number"}.get(
        type(value), type(value).__name__
    )


def _split(text: str) -> tuple[str, str]:
    """(front matter, body) of a SKILL.md, or SkillFormatError."""
    if text.startswith("\ufeff"):
        text = text[1:]
    lines = text.splitlines(keepends=True)
    if not lines or _FENCE.match(lines[0].rstrip("\r\n")) is None:
        raise SkillFormatError([f"{SKILL_MD} does not start with YAML front matter ('---')"])
    for i in range(1, len(lines)):
        if _FENCE.match(lines[i].rstrip("\r\n")):
            return "".join(lines[1:i]), "".join(lines[i + 1 :])
    raise SkillFormatError([f"{SKILL_MD}: the front matter has no closing '---'"])


def _optional_str(
    data: Mapping[str, Any], key: str, problems: list[str], limit: int | None = None
) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        problems.append(f"{key} must be a string, got {_kind(value)}")
        return None
    if not value.strip():
        problems.append(f"{key} is empty")
        return None
    if limit is not None and len(value) > limit:
        problems.append(f"{key} is {len(value)} characters; the limit is {limit}")
    return value


def parse_skill_md(text: str, *, dir_name: str | None = None) -> SkillManifest:
    """The manifest of a ``SKILL.md``; ``dir_name``, when given, must equal its name.
    Raises :class:`SkillFormatError` naming every problem found."""
    front, body = _split(text)
    if len(front.encode()) > MAX_FRONT_MATTER_BYTES:
        raise SkillFormatError([f"front matter is over {MAX_FRONT_MATTER_BYTES // 1024} KiB"])
    try:
        data = yaml.load(front, Loader=_NoAliasLoader)  # a SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 2})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise SkillFormatError([f"front matter is not valid YAML{where}: {problem}"]) from None
    if not isinstance(data, dict):
        raise SkillFormatError([f"front matter must be a mapping, got {_kind(data)}"])
    problems: list[str] = []
    name = data.get("name")
    if name is None:
        problems.append("name is missing")
    elif (why := name_problem(name)) is not None:
        problems.append(why)
    elif dir_name is not None and name != dir_name:
        problems.append(f"name {name!r} differs from its directory's name {dir_name!r}")
    description = data.get("description")
    if description is None:
        problems.append("description is missing")
    elif not isinstance(description, str):
        problems.append(f"description must be a string, got {_kind(description)}")
    elif not description.strip():
        problems.append("description is empty")
    elif len(description) > MAX_DESCRIPTION:
        problems.append(
            f"description is {len(description)} characters; the limit is {MAX_DESCRIPTION}"
        )
    license_ = _optional_str(data, "license", problems)
    compatibility = _optional_str(data, "compatibility", problems, MAX_COMPATIBILITY)
    metadata: dict[str, str] = {}
    raw_meta = data.get("metadata")
    if raw_meta is not None:
        if not isinstance(raw_meta, dict):
            problems.append(f"metadata must be a mapping of strings, got {_kind(raw_meta)}")
        else:
            for key, value in raw_meta.items():
                if not isinstance(key, str) or not isinstance(value, str):
                    problems.append(
                        f"metadata.{key} must map a string to a string, got {_kind(value)} "
                        "(quote it)"
                    )
                else:
                    metadata[key] = value
    tools = data.get("allowed-tools")
    allowed_tools: str | None = None
    if isinstance(tools, str):
        allowed_tools = tools
    elif isinstance(tools, list) and all(isinstance(t, str) for t in tools):
        allowed_tools = " ".join(tools)
    elif tools is not None:
        problems.append(f"allowed-tools must be a string or a list of strings, got {_kind(tools)}")
    if problems:
        raise SkillFormatError(problems)
    assert isinstance(name, str) and isinstance(description, str)
    return SkillManifest(
        name=name,
        description=description,
        body=body,
        license=license_,
        compatibility=compatibility,
        metadata=metadata,
        allowed_tools=allowed_tools,
    )


def build_bundle(dir_name: str, files: Iterable[SkillFile]) -> SkillBundle:
    """Check a skill read from directory ``dir_name``: its paths, sizes and ``SKILL.md``.
    Raises :class:`SkillFormatError` naming every problem found."""
    problems: list[str] = []
    by_path: dict[str, SkillFile] = {}
    total = 0
    for f in files:
        why = check_file_path(f.path)
        if why is not None:
            problems.append(why)
            continue
        if f.path in by_path:
            problems.append(f"{f.path} appears twice")
            continue
        if len(f.data) > MAX_FILE_BYTES:
            problems.append(f"{f.path} is over {MAX_FILE_BYTES // 1024} KiB")
        total += len(f.data)
        by_path[f.path] = f
    if len(by_path) > MAX_FILES:
        problems.append(f"{len(by_path)} files; the limit is {MAX_FILES}")
    if total > MAX_SKILL_BYTES:
        problems.append(f"its files hold over {MAX_SKILL_BYTES // (1024 * 1024)} MiB")
    skill_md = by_path.get(SKILL_MD)
    manifest: SkillManifest | None = None
    if skill_md is None:
        problems.append(f"no {SKILL_MD}")
    else:
        try:
            text = skill_md.data.decode("utf-8")
        except UnicodeDecodeError:
            problems.append(f"{SKILL_MD} is not UTF-8 text")
        else:
            try:
                manifest = parse_skill_md(text, dir_name=dir_name)
            except SkillFormatError as exc:
                problems.extend(exc.problems)
    if problems or manifest is None:
        raise SkillFormatError(problems)
    return SkillBundle(manifest, tuple(by_path[p] for p in sorted(by_path)))


def duplicates(names: Iterable[str]) -> dict[str, list[str]]:
    """Names that are the same skill after :func:`normalise_name`: normalised → the names."""
    seen: dict[str, list[str]] = {}
    for name in names:
        seen.setdefault(normalise_name(name), []).append(name)
    return {key: found for key, found in seen.items() if len(found) > 1}
