"""Private files and directories: 0600 by temp file + rename, 0700 directories."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from hangar.adapters.files import private_dir, write_private


@pytest.fixture
def open_umask() -> Iterator[None]:
    """A umask that lets everything through: permissions must not depend on it."""
    old = os.umask(0)
    yield
    os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_write_private_is_0600_and_replaces(tmp_path: Path, open_umask: None) -> None:
    target = tmp_path / "token"
    target.write_text("old")
    target.chmod(0o644)
    inode = target.stat().st_ino
    write_private(target, "new")
    assert target.read_text() == "new" and mode(target) == 0o600
    assert target.stat().st_ino != inode  # renamed over, not rewritten in place
    write_private(target, b"\x00bytes", sync=True)
    assert target.read_bytes() == b"\x00bytes"
    write_private(target, "x", mode=0o640)
    assert mode(target) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["token"]  # no temp file left


def test_write_private_leaves_nothing_behind_on_failure(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        write_private(tmp_path / "missing-dir" / "f", "x")
    (tmp_path / "dir").mkdir()
    with pytest.raises(IsADirectoryError):
        write_private(tmp_path / "dir", "x")  # cannot rename a file over a directory
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dir"]
    assert list((tmp_path / "dir").iterdir()) == []


def test_private_dir_is_0700_even_if_it_existed(tmp_path: Path, open_umask: None) -> None:
    made = private_dir(tmp_path / "a" / "b")
    assert made == tmp_path / "a" / "b" and mode(made) == 0o700
    wide = tmp_path / "wide"
    wide.mkdir(mode=0o755)
    private_dir(wide)
    assert mode(wide) == 0o700
