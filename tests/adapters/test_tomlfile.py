"""Settings files changed one key at a time: every other key, table and comment kept, the
write atomic and private."""

from __future__ import annotations

import os
import textwrap
import threading
import tomllib
from pathlib import Path

import pytest

from hangar.adapters import tomlfile

ALLOW_FILE = textwrap.dedent(
    """\
    # what my agents may see
    [env]
    allow = [
        "HOME",
        "PATH",  # needed by everything
    ]
    note = "kept"

    [other]
    x = 1
    """
)


def test_a_key_is_replaced_and_everything_else_kept(tmp_path: Path) -> None:
    path = tmp_path / "env.allow.toml"
    path.write_text(ALLOW_FILE)

    doc = tomlfile.edit(path, "env", {"allow": ["HOME", "PATH", "IS_SANDBOX"]})

    assert doc == {
        "env": {"allow": ["HOME", "PATH", "IS_SANDBOX"], "note": "kept"},
        "other": {"x": 1},
    }
    text = path.read_text()
    assert text.startswith("# what my agents may see\n[env]\n")
    assert 'note = "kept"' in text and "[other]\nx = 1" in text
    assert oct(path.stat().st_mode & 0o777) == oct(0o600)


def test_a_missing_file_or_table_is_made_and_a_key_removed(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    assert tomlfile.read(path) == {}
    tomlfile.edit(path, "beads", {"dir": "/srv/beads"})
    assert tomlfile.read(path) == {"beads": {"dir": "/srv/beads"}}

    path.write_text('[keymap]\n"go.issues" = "i"\n')
    tomlfile.edit(path, "beads", {"dir": "/x"})
    assert tomlfile.read(path) == {"keymap": {"go.issues": "i"}, "beads": {"dir": "/x"}}
    tomlfile.edit(path, "beads", {"dir": None, "absent": None})
    assert tomlfile.read(path) == {"keymap": {"go.issues": "i"}, "beads": {}}


def test_keys_that_need_quotes_and_dotted_layouts(tmp_path: Path) -> None:
    path = tmp_path / "state.toml"
    tomlfile.edit(path, "warnings_ack", {"first_run": "t1", "provider:claude": "t2"})
    tomlfile.edit(path, "warnings_ack", {"provider:claude": None, "provider:codex": "t3"})
    assert tomlfile.read(path) == {"warnings_ack": {"first_run": "t1", "provider:codex": "t3"}}

    # a layout the line edit cannot follow is re-encoded whole, values intact
    path.write_text('beads.dir = "/old"\nother = 2\n')
    tomlfile.edit(path, "beads", {"dir": "/new"})
    assert tomlfile.read(path) == {"beads": {"dir": "/new"}, "other": 2}


def test_invalid_toml_is_an_error_and_the_file_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[beads\n")
    with pytest.raises(tomlfile.TomlFileError, match="not valid TOML"):
        tomlfile.edit(path, "beads", {"dir": "/x"})
    assert path.read_text() == "[beads\n"


def test_concurrent_editors_keep_each_others_keys(tmp_path: Path) -> None:
    path = tmp_path / "state.toml"

    def writer(n: int) -> None:
        for i in range(10):
            tomlfile.edit(path, "t", {f"k{n}_{i}": i})

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(tomllib.loads(path.read_text())["t"]) == 40
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == [] and os.access(path, os.R_OK)
