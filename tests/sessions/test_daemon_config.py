"""The daemon's session settings, read from its environment at boot."""

from __future__ import annotations

from pathlib import Path

import pytest

from hangar.daemon.config import ConfigError, DaemonConfig


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"AINB_HANGAR_HOME": str(tmp_path / "home"), **extra}


def test_the_launch_probe_defaults_to_half_a_second_and_takes_a_duration(tmp_path: Path) -> None:
    assert DaemonConfig.from_env(_env(tmp_path)).launch_probe_s == 0.5
    slow = DaemonConfig.from_env(_env(tmp_path, HANGAR_LAUNCH_PROBE="3s"))
    assert slow.launch_probe_s == 3.0


def test_a_bad_launch_probe_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="HANGAR_LAUNCH_PROBE"):
        DaemonConfig.from_env(_env(tmp_path, HANGAR_LAUNCH_PROBE="soon"))


def test_a_launch_probe_of_minutes_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="HANGAR_LAUNCH_PROBE must be at most 30s"):
        DaemonConfig.from_env(_env(tmp_path, HANGAR_LAUNCH_PROBE="5m"))
