from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import Hangar


@pytest.fixture
def hangar(hangar_home: Path, database_url: str, tmp_path: Path) -> Iterator[Hangar]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HANGAR_", "AINB_"))}
    env["AINB_HANGAR_HOME"] = str(hangar_home)
    if not database_url.startswith("sqlite"):
        env["HANGAR_DATABASE_URL"] = database_url
    env["HANGAR_KILL_GRACE"] = "1s"
    h = Hangar(home=hangar_home, env=env, tmp=tmp_path)
    try:
        yield h
    finally:
        h.stop()
