"""The allow file at daemon start: a deny-family entry stops the daemon with the reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from hangar.core.env_policy import DEFAULT_ALLOW
from hangar.core.paths import HangarPaths
from hangar.daemon.__main__ import main
from hangar.daemon.config import ConfigError, load_env_policy


def _write(home: Path, allow: str) -> Path:
    home.mkdir(parents=True, exist_ok=True)
    path = home / "env.allow.toml"
    path.write_text(f"[env]\nallow = [{allow}]\n")
    return path


def test_missing_file_means_the_defaults(tmp_path: Path) -> None:
    assert load_env_policy(HangarPaths(tmp_path)).allow == DEFAULT_ALLOW


def test_provider_keys_and_hangar_names_are_accepted(tmp_path: Path) -> None:
    _write(tmp_path, '"HOME", "PATH", "ANTHROPIC_API_KEY", "HANGAR_*", "IS_SANDBOX", "GIT_*"')
    policy = load_env_policy(HangarPaths(tmp_path))
    assert policy.allow == ("HOME", "PATH", "ANTHROPIC_API_KEY", "HANGAR_*", "IS_SANDBOX", "GIT_*")
    assert policy.allows("ANTHROPIC_API_KEY") and policy.allows("HANGAR_WORKSPACE")
    assert policy.allows("GIT_AUTHOR_NAME") and not policy.allows("GIT_SSH_COMMAND")


@pytest.mark.parametrize(
    ("entry", "family"),
    [
        ("LD_*", "dynamic loader"),
        ("PYTHON*", "Python start-up"),
        ("BASH_*", "shell start-up hooks"),
        ("LD_AUDIT", "dynamic loader"),
    ],
)
def test_a_deny_family_entry_is_a_config_error_naming_entry_and_family(
    tmp_path: Path, entry: str, family: str
) -> None:
    path = _write(tmp_path, f'"HOME", "{entry}"')
    with pytest.raises(ConfigError) as info:
        load_env_policy(HangarPaths(tmp_path))
    message = str(info.value)
    assert message.startswith(f"{path}: ")
    assert repr(entry) in message and f'"{family}"' in message
    assert "remove it from [env].allow" in message


def test_the_daemon_refuses_to_start_with_one_clear_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / "hangar"
    _write(home, '"HOME", "LD_*"')
    monkeypatch.setenv("AINB_HANGAR_HOME", str(home))
    assert main([]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert err.startswith("hangar daemon: ") and "'LD_*'" in err and "dynamic loader" in err
