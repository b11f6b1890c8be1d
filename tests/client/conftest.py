"""Client test fixtures: an isolated home, a fake daemon, and cleanup of spawned daemons."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakedaemon import TOKEN, ThreadedDaemon, write_token

from hangar.client import autostart
from hangar.core.paths import HangarPaths

FAKE_DAEMON_SCRIPT = Path(__file__).with_name("fakedaemon.py")


@pytest.fixture(autouse=True)
def _hermetic_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Never spawn the real daemon from these tests; start with autostart enabled."""
    monkeypatch.delenv(autostart.NO_AUTOSTART_ENV, raising=False)
    monkeypatch.setenv(
        autostart.DAEMON_CMD_ENV, json.dumps([sys.executable, str(FAKE_DAEMON_SCRIPT)])
    )
    for name in ("FAKE_DAEMON_MODE", "FAKE_DAEMON_START_DELAY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def _reap_spawned_daemons() -> Iterator[None]:
    yield
    for child in list(autostart._children):
        if child.poll() is None:
            child.terminate()
        child.wait(10)
    autostart._children.clear()


@pytest.fixture
def paths(hangar_home: Path) -> HangarPaths:
    return HangarPaths(hangar_home)


@pytest.fixture
def daemon(paths: HangarPaths) -> Iterator[ThreadedDaemon]:
    """A fake daemon serving ``paths.socket`` from a background thread."""
    write_token(paths, TOKEN)
    served = ThreadedDaemon(paths, TOKEN)
    served.start()
    yield served
    served.stop()
