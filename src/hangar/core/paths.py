"""Where Hangar keeps its files: every path derives from one root, so one env var isolates tests."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

HOME_ENV = "AINB_HANGAR_HOME"


@dataclass(frozen=True)
class HangarPaths:
    root: Path

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> HangarPaths:
        env = os.environ if env is None else env
        override = env.get(HOME_ENV)
        if override:
            return cls(Path(override).expanduser())
        home = Path(env.get("HOME") or Path.home())
        return cls(home / ".ainb" / "hangar")

    @property
    def config(self) -> Path:
        """The user's settings for the front ends (the TUI's ``[keymap]``, …)."""
        return self.root / "config.toml"

    @property
    def tui_state(self) -> Path:
        """What the TUI remembers between runs (recent picks): UI state, safe to lose."""
        return self.root / "tui-state.json"

    @property
    def db(self) -> Path:
        return self.root / "hangar.db"

    @property
    def socket(self) -> Path:
        return self.root / "hangar.sock"

    @property
    def token(self) -> Path:
        return self.root / "daemon.token"

    @property
    def lock(self) -> Path:
        return self.root / "daemon.lock"

    @property
    def pid(self) -> Path:
        return self.root / "daemon.pid"

    @property
    def daemon_id_file(self) -> Path:
        return self.root / "daemon.id"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def daemon_stderr(self) -> Path:
        return self.logs / "daemon.stderr.log"

    @property
    def workspaces(self) -> Path:
        return self.root / "workspaces"

    def task_root(self, workspace_slug: str, task_short_id: str) -> Path:
        return self.workspaces / workspace_slug / task_short_id

    def sqlite_url(self) -> str:
        return f"sqlite+aiosqlite:///{self.db}"
