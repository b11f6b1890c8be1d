"""The full-access warning's acknowledgements, in ``<home>/state.toml`` ``[warnings_ack]``.

``take`` is what a front end calls after it queued work for an agent: the warning to show
now (None when every acknowledgement it needs is there), recorded as shown. The file keeps
its other keys; writes are atomic (``tomlfile.edit``). Cheap: one small file read.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from hangar.adapters import tomlfile
from hangar.adapters.files import private_dir
from hangar.core import full_access
from hangar.core.paths import HangarPaths

__all__ = ["STATE_FILE", "acknowledged", "reset", "state_path", "take"]

STATE_FILE = "state.toml"


def state_path(paths: HangarPaths) -> Path:
    return paths.root / STATE_FILE


def acknowledged(paths: HangarPaths) -> dict[str, str]:
    """Every acknowledgement: key → when (ISO 8601). A file that cannot be read counts as
    none (the warning shows again rather than never)."""
    try:
        table = tomlfile.read(state_path(paths)).get(full_access.ACK_SECTION, {})
    except tomlfile.TomlFileError:
        return {}
    return {str(k): str(v) for k, v in table.items()} if isinstance(table, dict) else {}


def take(paths: HangarPaths, provider: str | None) -> str | None:
    """The warning a run of ``provider`` still needs, now marked as shown; None if none.
    Recording never fails the caller: at worst the warning shows once more."""
    keys = full_access.due(acknowledged(paths), provider)
    if not keys:
        return None
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    try:
        private_dir(paths.root)
        tomlfile.edit(state_path(paths), full_access.ACK_SECTION, dict.fromkeys(keys, now))
    except (OSError, tomlfile.TomlFileError):
        pass
    return full_access.warning_text(provider, keys)


def reset(paths: HangarPaths, provider: str | None = None) -> list[str]:
    """Forget the acknowledgements (all, or one provider's); the keys forgotten."""
    acks = acknowledged(paths)
    kept = full_access.reset(acks, provider)
    gone = sorted(set(acks) - set(kept))
    if gone:
        tomlfile.edit(state_path(paths), full_access.ACK_SECTION, dict.fromkeys(gone))
    return gone
