"""A run's ``.gc_meta.json``: which process group it spawned, so the next daemon can reap
a group the previous one left behind (docs/lifecycle.md#boot-recovery)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hangar.adapters.files import write_private

__all__ = ["read_meta", "write_meta"]

_NAME = ".gc_meta.json"


def write_meta(task_root: Path, task_id: str, pid: int, started_at: int) -> None:
    meta = {"task_id": task_id, "pid": pid, "pgid": pid, "started_at": started_at}
    write_private(task_root / _NAME, json.dumps(meta))


def read_meta(task_root: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((task_root / _NAME).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
