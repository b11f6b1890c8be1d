"""Hangar's bundled toolkit: Agent Skills shipped with the package.

Each immediate subdirectory of ``skills/`` is one Agent Skill (a ``SKILL.md`` with YAML front
matter, plus optional ``scripts/``). ``hangar skills sync`` imports them when no other source is
given, and the curated templates in ``hangar.core.templates`` attach them by name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

SKILLS_DIR: Final[Path] = Path(__file__).resolve().parent / "skills"
