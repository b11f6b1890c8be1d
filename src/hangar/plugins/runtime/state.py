"""Quarantine and recent crashes survive the process: ``<data home>/plugins/state.json``,
written atomically.

Each CLI invocation is its own host; a plugin quarantined in one stays quarantined in the
next until ``ainb plugins reload ID`` clears it. Its crashes are kept here too (wall-clock
times, pruned to the failure window), so three crashing ``ainb`` runs inside the window add
up to a quarantine like three crashes in one long-lived host. Changes are load →
modify → save under an exclusive ``flock`` on ``state.json.lock``, so two hosts (a CLI and a
TUI) never drop each other's entries; readers need no lock, the rename is atomic.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hangar.adapters.files import write_private
from hangar.core.paths import HangarPaths

__all__ = ["QuarantineStore"]


class QuarantineStore:
    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def under(cls, paths: HangarPaths) -> QuarantineStore:
        """The store of the data home ``paths`` (``<data home>/plugins/state.json``)."""
        return cls(paths.root / "plugins" / "state.json")

    def load(self) -> dict[str, dict[str, Any]]:
        """Quarantined plugin id → ``{since, reason}``; an unreadable file counts as empty."""
        return _entries(self._read(), "quarantined")

    def get(self, plugin_id: str) -> dict[str, Any] | None:
        return self.load().get(plugin_id)

    def quarantine(self, plugin_id: str, reason: str) -> None:
        with self._locked():
            data = self._read()
            entries = data["quarantined"] = _entries(data, "quarantined")
            entries[plugin_id] = {"since": time.time(), "reason": reason}
            self._save(data)

    def record_crash(self, plugin_id: str, at: float, window: float) -> list[float]:
        """Add a crash at ``at`` (``time.time()``); its crashes inside ``window`` seconds
        before it, oldest first, this one included. Crashes of every host count."""
        with self._locked():
            data = self._read()
            crashes = data["crashes"] = _entries(data, "crashes")
            for pid in list(crashes):  # the file keeps only what a window can still see
                kept = _recent(crashes[pid], at, window)
                if kept:
                    crashes[pid] = kept
                else:
                    del crashes[pid]
            recent = [*crashes.get(plugin_id, []), at]
            crashes[plugin_id] = recent
            self._save(data)
            return recent

    def clear(self, plugin_id: str) -> bool:
        """Lift the quarantine and forget the crashes; False when it was not quarantined."""
        with self._locked():
            data = self._read()
            quarantined = _entries(data, "quarantined")
            crashes = _entries(data, "crashes")
            lifted = quarantined.pop(plugin_id, None) is not None
            forgot = crashes.pop(plugin_id, None) is not None
            if lifted or forgot:
                data["quarantined"], data["crashes"] = quarantined, crashes
                self._save(data)
            return lifted

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Hold the sidecar lock (not state.json itself: the rename replaces that inode)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock = self.path.with_name(self.path.name + ".lock")
        with open(lock, "a") as fh:  # closing the file releases the lock
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            yield

    def _save(self, data: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_private(self.path, json.dumps(data, indent=2, sort_keys=True), sync=True)


def _entries(data: dict[str, Any], key: str) -> dict[str, Any]:
    """``data[key]`` as a dict of per-plugin entries, junk left out."""
    entries = data.get(key)
    if not isinstance(entries, dict):
        return {}
    kind = dict if key == "quarantined" else list
    return {k: v for k, v in entries.items() if isinstance(v, kind)}


def _recent(times: list[Any], now: float, window: float) -> list[float]:
    """The times inside ``window`` before ``now``; a clock set back drops later ones."""
    return [
        float(t)
        for t in times
        if isinstance(t, int | float) and not isinstance(t, bool) and 0 <= now - t <= window
    ]
