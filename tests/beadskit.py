"""The fake ``bd`` for tests: put it on a PATH, look into its issues, make it misbehave.

``tests/fixtures/fake_bd.py`` keeps its issues in ``$BEADS_DIR/fake-bd.json``; a test reads
and changes them through :class:`FakeBeads`, which takes the same lock the fake does.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.fixtures.fake_bd import EPOCH, stamp

FAKE_BD = Path(__file__).resolve().parent / "fixtures" / "fake_bd.py"


def install_fake_bd(bin_dir: Path) -> Path:
    """``bin_dir/bd``: an executable that runs the fake with this interpreter."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    bd = bin_dir / "bd"
    bd.write_text(
        f"#!{sys.executable}\nimport runpy\nrunpy.run_path({str(FAKE_BD)!r}, run_name='__main__')\n"
    )
    bd.chmod(0o755)
    return bd


def path_with(bin_dir: Path, base: str | None = None) -> str:
    """``PATH`` with ``bin_dir`` first."""
    return os.pathsep.join([str(bin_dir), base or os.environ.get("PATH", os.defpath)])


@dataclass
class FakeBeads:
    """One fake beads database: ``root`` is its ``BEADS_DIR``."""

    root: Path
    bin: Path

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        with (self.root / ".fake-bd.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def state(self) -> dict[str, Any]:
        with self._locked():
            try:
                return json.loads((self.root / "fake-bd.json").read_text())
            except FileNotFoundError:
                return {"issues": {}}

    def issues(self) -> list[dict[str, Any]]:
        return list(self.state()["issues"].values())

    def issue(self, bd_id: str) -> dict[str, Any]:
        return self.state()["issues"][bd_id]

    def by_ref(self, hangar_id: str) -> dict[str, Any] | None:
        ref = f"hangar:{hangar_id}"
        return next((i for i in self.issues() if i.get("external_ref") == ref), None)

    def bd(self, *args: str) -> Any:
        """Run the fake as a user at a terminal would (JSON answers, the envelope off)."""
        env = {**os.environ, "BEADS_DIR": str(self.root)}
        env.pop("BD_JSON_ENVELOPE", None)
        done = subprocess.run(
            [str(self.bin), *args, "--json"], env=env, capture_output=True, text=True, check=True
        )
        return json.loads(done.stdout)

    def calls(self) -> list[dict[str, Any]]:
        """Every call so far: ``{argv, env, cwd}``."""
        try:
            text = (self.root / "fake-bd.log").read_text()
        except FileNotFoundError:
            return []
        return [json.loads(line) for line in text.splitlines() if line]

    def verbs(self) -> list[str]:
        return [c["argv"][0] for c in self.calls()]

    def misbehave(self, kind: str | None, verb: str | None = None) -> None:
        """``fail``, ``fail-json``, ``garbage``, ``hang``, ``no-envelope``; None: behave."""
        path = self.root / "fake-bd-mode"
        if kind is None:
            path.unlink(missing_ok=True)
            return
        self.root.mkdir(parents=True, exist_ok=True)
        path.write_text(kind if verb is None else f"{kind} {verb}")

    def put(self, bd_id: str, **fields: Any) -> dict[str, Any]:
        """Write an issue as bd would have it (a tagged orphan, a deleted one's tombstone…),
        moving the fake's clock one second."""
        with self._locked():
            path = self.root / "fake-bd.json"
            try:
                state = json.loads(path.read_text())
            except FileNotFoundError:
                state = {"next": 1, "clock": EPOCH, "prefix": "bd", "issues": {}}
            state["clock"] += 1
            now = stamp(state["clock"])
            issue = state["issues"].get(bd_id) or {
                "id": bd_id,
                "title": bd_id,
                "description": "",
                "status": "open",
                "priority": 2,
                "issue_type": "task",
                "labels": [],
                "external_ref": None,
                "created_at": now,
            }
            issue.update(fields, updated_at=now)
            state["issues"][bd_id] = issue
            path.write_text(json.dumps(state, indent=1))
            return issue

    def forget(self, bd_id: str) -> None:
        """The issue is gone from bd altogether."""
        with self._locked():
            path = self.root / "fake-bd.json"
            state = json.loads(path.read_text())
            del state["issues"][bd_id]
            path.write_text(json.dumps(state, indent=1))


def fake_beads(tmp: Path) -> FakeBeads:
    """A fresh fake: ``tmp/bin/bd`` and the database directory ``tmp/beads``."""
    root = tmp / "beads"
    root.mkdir(parents=True, exist_ok=True)
    return FakeBeads(root=root, bin=install_fake_bd(tmp / "bin"))
