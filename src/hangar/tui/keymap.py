"""The user's key remaps: ``[keymap]`` in the Hangar config file, binding id → keys."""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Keymap", "load_keymap"]


@dataclass(frozen=True)
class Keymap:
    keys: dict[str, str] = field(default_factory=dict)
    #: what was wrong with the file, one line each, to show the user (never fatal)
    problems: list[str] = field(default_factory=list)


def load_keymap(path: Path, known_ids: Callable[[], Iterable[str]]) -> Keymap:
    """``[keymap] "issue.create" = "n"`` → {"issue.create": "n"}. A missing file is an empty
    keymap; an unreadable one, an unknown id or a value that is not a string is reported and
    skipped, so a typo never keeps the UI from starting."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Keymap()
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        return Keymap(problems=[f"unreadable ({exc}); key remaps ignored"])
    table = raw.get("keymap", {})
    if not isinstance(table, dict):
        return Keymap(problems=["[keymap] must be a table of binding id = keys"])
    if not table:
        return Keymap()
    known = set(known_ids())  # only now: knowing every id imports every screen
    keys: dict[str, str] = {}
    problems: list[str] = []
    for binding_id, value in table.items():
        if binding_id not in known:
            problems.append(f"no binding {binding_id!r}")
        elif not isinstance(value, str) or not value.strip():
            problems.append(f'{binding_id!r} must be keys like "f5" or "n,N"')
        else:
            keys[binding_id] = value.strip()
    return Keymap(keys=keys, problems=problems)
