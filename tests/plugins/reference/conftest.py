"""Fixtures for the reference plugins: a fake home of session files, a fake ``witr``."""

from __future__ import annotations

import os
import shutil
import sys
import textwrap
from collections.abc import Callable
from datetime import UTC
from pathlib import Path

import pytest

from hangar.plugins.reference.usage_data import UsageData
from hangar.plugins.reference.usage_scan import UsageScanner

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "plugins"
FIXTURE_HOME = FIXTURES / "home"
WITR_JSON = FIXTURES / "witr" / "nginx.json"

CLAUDE_APP = ".claude/projects/-home-dev-src-app/4f35e220-c435-4cf7-b9b9-f40426042847.jsonl"
CLAUDE_API = ".claude/projects/-home-dev-src-api/9b2d7c11-5e6f-4a8b-9c0d-1e2f3a4b5c6d.jsonl"
CODEX = (
    ".codex/sessions/2025/05/27/"
    "rollout-2025-05-27T14-00-00-0197a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b.jsonl"
)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A writable copy of the fixture home (``~/.claude/projects``, ``~/.codex/sessions``)."""
    target = tmp_path / "home"
    shutil.copytree(FIXTURE_HOME, target)
    return target


@pytest.fixture(scope="session")
def fixture_data() -> UsageData:
    """The fixture home's usage, bucketed by UTC day."""
    scanner = UsageScanner(FIXTURE_HOME, tz=UTC)
    scanner.scan()
    return scanner.snapshot()


def plugin_env(home: Path, tmp_path: Path, path: str | None = None) -> dict[str, str]:
    """A plugin's environment: its own HOME, UTC days, and nothing of the real user's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AINB_", "HANGAR_"))}
    env.update(HOME=str(home), TZ="UTC", AINB_HANGAR_HOME=str(tmp_path / "hangar-home"))
    if path is not None:
        env["PATH"] = path
    return env


FakeWitr = Callable[..., Path]


@pytest.fixture
def fake_witr(tmp_path: Path) -> FakeWitr:
    """Write a fake ``witr`` into ``tmp_path/bin`` and return that directory.

    It records its argv (one per line) in ``bin/argv.txt`` and then: prints the nginx
    fixture (``behaviour="ok"``), or ``stdout`` as given, or sleeps with a child process
    (``"hang"``, child pid in ``bin/child.pid``), exiting with ``exit_code``. Its own pid
    goes to ``bin/witr.pid``.
    """

    def make(behaviour: str = "ok", stdout: str = "", stderr: str = "", exit_code: int = 0) -> Path:
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir(exist_ok=True)
        script = bin_dir / "witr"
        script.write_text(
            f"#!{sys.executable}\n"
            + textwrap.dedent(
                f"""\
                import os, pathlib, subprocess, sys, time
                here = pathlib.Path(__file__).parent
                (here / "argv.txt").write_text("\\n".join(sys.argv[1:]))
                (here / "witr.pid").write_text(str(os.getpid()))
                behaviour = {behaviour!r}
                if behaviour == "hang":
                    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
                    (here / "child.pid").write_text(str(child.pid))
                    time.sleep(60)
                if behaviour == "ok":
                    sys.stdout.write(pathlib.Path({str(WITR_JSON)!r}).read_text())
                sys.stdout.write({stdout!r})
                sys.stderr.write({stderr!r})
                sys.exit({exit_code})
                """
            )
        )
        script.chmod(0o755)
        return bin_dir

    return make
