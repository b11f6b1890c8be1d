from __future__ import annotations

import pytest

from hangar.core.env_policy import (
    DEFAULT_ALLOW,
    DENY_FAMILY,
    EnvPolicy,
    apply_policy,
    pattern_matches,
    validate_allow_key,
)

AMBIENT = {
    "HOME": "/home/u",
    "PATH": "/usr/bin",
    "LANG": "C.UTF-8",
    "LC_ALL": "C",
    "LCD": "nope",
    "CLAUDE_CONFIG_DIR": "/cfg",
    "AWS_SECRET_ACCESS_KEY": "secret",
    "ANTHROPIC_API_KEY": "ambient-key",
    "LD_PRELOAD": "/evil.so",
    "home": "lowercase",
}


def test_default_allowlist_has_the_twelve_entries() -> None:
    assert len(DEFAULT_ALLOW) == 12
    assert EnvPolicy().allow == DEFAULT_ALLOW
    assert len(DENY_FAMILY) == 11


def test_deny_by_default() -> None:
    env = apply_policy(EnvPolicy(), AMBIENT)
    assert env == {
        "HOME": "/home/u",
        "PATH": "/usr/bin",
        "LANG": "C.UTF-8",
        "LC_ALL": "C",
        "CLAUDE_CONFIG_DIR": "/cfg",
    }


def test_prefix_glob_and_exact_match() -> None:
    assert pattern_matches("LC_*", "LC_ALL")
    assert pattern_matches("LC_*", "LC_")
    assert not pattern_matches("LC_*", "LCD")
    assert pattern_matches("HOME", "HOME")
    assert not pattern_matches("HOME", "home")
    assert not pattern_matches("HOME", "HOMEDIR")
    assert not pattern_matches("H*ME", "HOME")  # '*' only globs at the end


@pytest.mark.parametrize("key", DENY_FAMILY)
def test_deny_family_beats_any_allow_entry(key: str) -> None:
    policy = EnvPolicy(allow=(key, key[0] + "*"))
    assert not policy.allows(key)
    env = apply_policy(policy, {key: "x"}, secrets={key: "x"}, agent_env={key: "x"})
    assert key not in env


def test_empty_env_in_empty_env_out() -> None:
    assert apply_policy(EnvPolicy(), {}) == {}
    assert apply_policy(EnvPolicy(allow=()), AMBIENT) == {}


def test_pure_does_not_touch_inputs() -> None:
    parent = dict(AMBIENT)
    agent = {"FOO": "1"}
    apply_policy(EnvPolicy(), parent, agent_env=agent)
    assert parent == AMBIENT
    assert agent == {"FOO": "1"}


def test_layer_order() -> None:
    env = apply_policy(
        EnvPolicy(),
        {"HOME": "/home/u", "CLAUDE_HOME": "/ambient", "ANTHROPIC_BASE_URL": "ambient"},
        daemon_vars={"CLAUDE_HOME": "/task"},
        secrets={"ANTHROPIC_API_KEY": "from-keychain", "ANTHROPIC_BASE_URL": "keychain"},
        agent_env={"FOO": "bar", "HOME": "/agent-home"},
    )
    assert env == {
        "HOME": "/agent-home",  # per-agent env overrides ambient
        "CLAUDE_HOME": "/task",  # the daemon's stamp beats ambient
        "ANTHROPIC_BASE_URL": "keychain",  # the keychain beats ambient
        "ANTHROPIC_API_KEY": "from-keychain",
        "FOO": "bar",
    }


def test_agent_env_and_secrets_cannot_override_daemon_stamps() -> None:
    env = apply_policy(
        EnvPolicy(),
        {},
        daemon_vars={"CODEX_HOME": "/task/.codex"},
        secrets={"CODEX_HOME": "/s"},
        agent_env={"CODEX_HOME": "/elsewhere"},
    )
    assert env == {"CODEX_HOME": "/task/.codex"}


def test_daemon_vars_are_trusted() -> None:
    env = apply_policy(EnvPolicy(), {}, daemon_vars={"NODE_OPTIONS": "--max-old-space-size=1"})
    assert env == {"NODE_OPTIONS": "--max-old-space-size=1"}


def test_agent_env_may_add_variables_the_ambient_allowlist_would_drop() -> None:
    env = apply_policy(EnvPolicy(), {"FOO": "ambient"}, agent_env={"FOO": "agent"})
    assert env == {"FOO": "agent"}


class TestValidateAllowKey:
    @pytest.mark.parametrize("key", ["HOME", "LC_*", "MY_VAR", "_X", "lower_ok", "A1"])
    def test_accepts(self, key: str) -> None:
        assert validate_allow_key(key) == key

    @pytest.mark.parametrize("key", DENY_FAMILY)
    def test_refuses_deny_family(self, key: str) -> None:
        with pytest.raises(ValueError, match="deny family"):
            validate_allow_key(key)

    @pytest.mark.parametrize("key", ["", "*", "1ABC", "A B", "A=B", "A*B", "A**", " HOME", "É"])
    def test_refuses_invalid(self, key: str) -> None:
        with pytest.raises(ValueError, match=r"allowlist entry"):
            validate_allow_key(key)


def test_from_keys_validates_and_dedups() -> None:
    assert EnvPolicy.from_keys(["HOME", "LC_*", "HOME"]).allow == ("HOME", "LC_*")
    with pytest.raises(ValueError):
        EnvPolicy.from_keys(["HOME", "LD_PRELOAD"])


def test_listing_marks_deny_keys() -> None:
    lines = EnvPolicy(allow=("HOME",)).listing()
    assert lines[0] == "HOME"
    assert lines[1:] == [f"{k} [deny-locked]" for k in DENY_FAMILY]
