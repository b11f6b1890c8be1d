"""Where the beads settings come from (``daemon/config.py: load_beads``): the variable over
the file, bd from ``[beads] bin`` or the PATH, and a refusal that says what to do."""

from __future__ import annotations

from pathlib import Path

import pytest

from hangar.daemon.config import BeadsNotConfigured, BeadsSettings, load_beads
from tests.beadskit import install_fake_bd


@pytest.fixture
def bd(tmp_path: Path) -> Path:
    return install_fake_bd(tmp_path / "bin")


def test_off_until_a_directory_is_named(tmp_path: Path, bd: Path) -> None:
    with pytest.raises(BeadsNotConfigured, match=r"hangar config set beads.dir PATH"):
        load_beads(tmp_path / "config.toml", {"PATH": str(bd.parent)})


def test_the_file_names_the_directory_and_bd_comes_from_the_path(tmp_path: Path, bd: Path) -> None:
    beads = tmp_path / "beads"
    beads.mkdir()
    config = tmp_path / "config.toml"
    config.write_text(f'[beads]\ndir = "{beads}"\ntimeout = "5s"\npoll = "2m"\n')
    conf = load_beads(config, {"PATH": f"/nowhere:{bd.parent}"})
    assert (conf.dir, conf.bin, conf.timeout_s, conf.poll_s) == (beads, str(bd), 5.0, 120.0)
    assert conf.origin == f"{config} [beads] dir"


def test_the_variable_wins_and_bin_names_bd(tmp_path: Path, bd: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    config = tmp_path / "config.toml"
    config.write_text(f'[beads]\ndir = "{tmp_path / "a"}"\nbin = "{bd}"\n')
    conf = load_beads(config, {"HANGAR_BEADS_DIR": str(tmp_path / "b"), "PATH": ""})
    assert (conf.dir, conf.bin, conf.origin) == (tmp_path / "b", str(bd), "HANGAR_BEADS_DIR")


def test_a_repository_stands_for_its_beads_directory(tmp_path: Path, bd: Path) -> None:
    (tmp_path / "repo" / ".beads").mkdir(parents=True)
    conf = load_beads(
        tmp_path / "c.toml", {"HANGAR_BEADS_DIR": str(tmp_path / "repo"), "PATH": str(bd.parent)}
    )
    assert conf.dir == tmp_path / "repo" / ".beads"


@pytest.mark.parametrize(
    ("text", "env", "says"),
    [
        ('[beads]\ndir = "relative"\n', {}, "is not an existing absolute directory"),
        ('[beads]\ndir = "/no/such/dir"\n', {}, "is not an existing absolute directory"),
        ("[beads]\ndir = {DIR}\n", {"PATH": "/nowhere"}, "no `bd` is on the daemon's PATH"),
        ('[beads]\ndir = {DIR}\nbin = "{DIR}/config.toml"\n', {}, "is not an executable file"),
        ('[beads]\ndir = {DIR}\npoll = "often"\n', {}, "[beads] poll"),
        ('[beads]\ndir = {DIR}\ntimeout = "0s"\n', {}, "[beads] timeout: duration '0s' must be"),
        ("[beads\n", {}, "cannot read the beads settings"),
    ],
)
def test_a_setting_that_cannot_work_says_why(
    tmp_path: Path, bd: Path, text: str, env: dict[str, str], says: str
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(text.replace("{DIR}/", f"{tmp_path}/").replace("{DIR}", f'"{tmp_path}"'))
    with pytest.raises(BeadsNotConfigured) as caught:
        load_beads(config, {"PATH": str(bd.parent), **env})
    assert says in str(caught.value)


def test_settings_are_kept_until_the_file_changes(tmp_path: Path, bd: Path) -> None:
    config = tmp_path / "config.toml"
    settings = BeadsSettings(config, {"PATH": str(bd.parent)})
    with pytest.raises(BeadsNotConfigured):
        settings()
    config.write_text(f'[beads]\ndir = "{tmp_path}"\n')
    first = settings()
    assert settings() is first
    replaced = tmp_path / "new.toml"
    replaced.write_text(f'[beads]\ndir = "{tmp_path}"\npoll = "1m"\n')
    replaced.replace(config)  # as `config set` writes: a new file renamed over the old
    assert settings().poll_s == 60.0
