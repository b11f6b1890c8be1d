"""Skills on disk for tests: a valid skill directory in one call."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path


def skill_text(name: str, description: str | None = None, *, body: str = "") -> str:
    desc = description if description is not None else f"The {name} skill, for tests."
    text = body or f"# {name}\n"
    return f"---\nname: {name}\ndescription: {desc}\n---\n{text}"


def write_skill(
    root: Path,
    name: str,
    *,
    description: str | None = None,
    body: str = "",
    files: Mapping[str, bytes | str] | None = None,
    dir_name: str | None = None,
) -> Path:
    """``root/<dir_name or name>/SKILL.md`` (valid unless told otherwise) plus ``files``."""
    directory = root / (dir_name or name)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "SKILL.md").write_text(skill_text(name, description, body=body))
    for rel, content in (files or {}).items():
        path = directory / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            path.write_text(content)
        else:
            path.write_bytes(content)
        if rel.startswith("scripts/"):
            os.chmod(path, 0o644)  # not executable at the source: dispatch makes it so
    return directory
