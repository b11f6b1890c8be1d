"""Pure rules: which stored keys each provider gets, what a secret's name may be, and which
full-access acknowledgements a run still needs."""

from __future__ import annotations

import pytest

from hangar.core import full_access
from hangar.core.provider_keys import (
    keys_for,
    provider_of_key,
    validate_secret_name,
    validate_secret_value,
)


def test_each_provider_gets_its_own_keys_only() -> None:
    assert keys_for("claude") == ("ANTHROPIC_API_KEY",)
    assert keys_for("codex") == ("OPENAI_API_KEY", "CODEX_API_KEY")
    assert keys_for("gemini") == ("GEMINI_API_KEY",)
    assert keys_for("command") == () and keys_for(None) == ()
    assert provider_of_key("CODEX_API_KEY") == "codex"
    assert provider_of_key("GITHUB_TOKEN") is None


@pytest.mark.parametrize("name", ["ANTHROPIC_API_KEY", "_X", "a1", "GITHUB_TOKEN"])
def test_variable_names_are_secret_names(name: str) -> None:
    assert validate_secret_name(name) == name


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("1PASSWORD", "environment variable name"),
        ("MY-KEY", "environment variable name"),
        ("A B", "environment variable name"),
        ("", "environment variable name"),
        ("KEY=VALUE", "environment variable name"),
        ("LD_PRELOAD", "deny family"),
        ("PYTHONPATH", "deny family"),
        ("X" * 129, "longer than"),
    ],
)
def test_other_names_are_refused_saying_why(name: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        validate_secret_name(name)


def test_values_must_fit_an_environment_variable_and_are_never_quoted() -> None:
    assert validate_secret_value("sk-ant-1") == "sk-ant-1"
    for bad, why in (("", "empty"), ("sk\x00x", "NUL"), ("k" * (64 * 1024 + 1), "64 KiB")):
        with pytest.raises(ValueError, match=why) as err:
            validate_secret_value(bad)
        assert bad[:8] not in str(err.value) or not bad


def test_the_first_run_and_each_providers_first_are_due_once() -> None:
    assert full_access.due([], "claude") == ["first_run", "provider:claude"]
    assert full_access.due(["first_run", "provider:claude"], "claude") == []
    assert full_access.due(["first_run", "provider:claude"], "codex") == ["provider:codex"]
    assert full_access.due(["first_run"], None) == ["provider:agent"]


def test_a_reset_forgets_all_or_one_providers() -> None:
    acks = {"first_run": "t", "provider:claude": "t", "provider:claude:session:s1": "t"}
    assert full_access.reset(acks) == {}
    assert full_access.reset({**acks, "provider:codex": "t"}, "claude") == {
        "first_run": "t",
        "provider:codex": "t",
    }


def test_the_warning_says_what_full_access_means() -> None:
    first = full_access.warning_text("claude", ["first_run", "provider:claude"])
    assert "full access" in first and "claude" in first and "sandbox" in first
    assert "hangar config warnings reset" in first
    later = full_access.warning_text("codex", ["provider:codex"])
    assert later.startswith("First run of codex")
