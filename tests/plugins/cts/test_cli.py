"""``ainb plugins check PATH`` end to end, as a user runs it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from .expect import CANARIES, REPO

AINB = Path(sys.executable).with_name("ainb")
if not AINB.exists():
    AINB = REPO / ".venv" / "bin" / "ainb"
ROW = re.compile(r"^\s*(\d+)\s+(.*?)\s{2,}(ok|FAIL)\s{2,}(.*)$")


def check(plugin_dir: Path, tmp_path: Path) -> tuple[int, dict[int, tuple[str, str]], str]:
    env = dict(os.environ, HOME=str(tmp_path), AINB_HANGAR_HOME=str(tmp_path / "hangar"))
    done = subprocess.run(
        [str(AINB), "plugins", "check", str(plugin_dir)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    rows = {}
    for line in done.stdout.splitlines():
        m = ROW.match(line)
        if m:
            rows[int(m.group(1))] = (m.group(3), m.group(4))
    return done.returncode, rows, done.stdout + done.stderr


def test_check_passes_canary_ok(tmp_path: Path) -> None:
    code, rows, out = check(CANARIES / "canary-ok", tmp_path)
    assert sorted(rows) == list(range(1, 15)), out
    assert code == 0, out
    assert all(verdict == "ok" for verdict, _ in rows.values()), out
    assert "canary-ok: 14/14 axes passed" in out


def test_check_fails_a_broken_canary_on_its_axis(tmp_path: Path) -> None:
    code, rows, out = check(CANARIES / "canary-cli", tmp_path)
    assert code != 0, out
    assert sorted(rows) == list(range(1, 15)), out
    assert rows[14][0] == "FAIL" and "hello" in rows[14][1], out
    assert {axis for axis, (verdict, _) in rows.items() if verdict == "FAIL"} == {14}, out
