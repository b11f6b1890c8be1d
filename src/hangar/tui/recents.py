"""The agent picker's recent picks, kept per user in a small JSON file (UI state, not
domain state: losing it loses nothing but an ordering)."""

from __future__ import annotations

import json
import os
from pathlib import Path

__all__ = ["Recents"]

KEEP = 5


class Recents:
    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._refs: list[str] = self._load()

    def _load(self) -> list[str]:
        if self.path is None:
            return []
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return []
        refs = raw.get("recent_picks", []) if isinstance(raw, dict) else []
        return [r for r in refs if isinstance(r, str)][:KEEP]

    def rank(self) -> dict[str, int]:
        """actor ref → 0 for the latest pick, 1 for the one before, …"""
        return {ref: n for n, ref in enumerate(self._refs)}

    def add(self, ref: str) -> None:
        self._refs = [ref, *(r for r in self._refs if r != ref)][:KEEP]
        if self.path is None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps({"recent_picks": self._refs}), encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError:
            pass  # an ordering, not worth an error
