from __future__ import annotations

import pytest

from hangar.core.names import (
    validate_agent_name,
    validate_session_name,
    validate_slug,
    validate_title,
)


@pytest.mark.parametrize("s", ["a", "7", "ab", "my-ws", "a1-b2", "x" * 40, "a--b"])
def test_slug_ok(s: str) -> None:
    assert validate_slug(s) == s


@pytest.mark.parametrize(
    "s", ["", "-a", "a-", "-", "A", "My-WS", "a_b", "a.b", "a b", "x" * 41, "é", "a\n", "ab\n"]
)
def test_slug_bad(s: str) -> None:
    with pytest.raises(ValueError, match="lowercase letters, digits or hyphens"):
        validate_slug(s)


@pytest.mark.parametrize("s", ["a", "Claude", "code-reviewer", "bot_1.v2", "X" * 64, "9x"])
def test_agent_name_ok(s: str) -> None:
    assert validate_agent_name(s) == s


@pytest.mark.parametrize("s", ["", "-a", ".a", "_a", "a b", "X" * 65, "a/b", "a\n"])
def test_agent_name_bad(s: str) -> None:
    with pytest.raises(ValueError, match="1-64 letters"):
        validate_agent_name(s)


@pytest.mark.parametrize("s", ["news", "list-2", "deleted", "feature-x", "n"])
def test_session_name_ok(s: str) -> None:
    assert validate_session_name(s) == s


@pytest.mark.parametrize("s", ["new", "list", "delete"])
def test_session_name_reserved(s: str) -> None:
    with pytest.raises(ValueError, match="reserved"):
        validate_session_name(s)


@pytest.mark.parametrize("s", ["", "New", "a_b", "-x", "x" * 41])
def test_session_name_bad(s: str) -> None:
    with pytest.raises(ValueError, match="session name"):
        validate_session_name(s)


def test_title_is_stripped() -> None:
    assert validate_title("  Fix the login bug\t ") == "Fix the login bug"
    assert validate_title("a\tb") == "a\tb"
    assert validate_title("ünïcödé ✓") == "ünïcödé ✓"
    assert validate_title("x" * 500) == "x" * 500


@pytest.mark.parametrize(
    ("s", "why"),
    [
        ("", "empty"),
        (" \t\n ", "empty"),
        ("x" * 501, "limit is 500"),
        ("a\x00b", "control character"),
        ("line1\nline2", "control character"),
        ("a\rb", "control character"),
        ("a\x1bb", "control character"),
        ("a\x7fb", "control character"),
        ("a\x85b", "control character"),
    ],
)
def test_title_bad(s: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        validate_title(s)


def test_non_strings_are_value_errors() -> None:
    for fn in (validate_slug, validate_agent_name, validate_session_name, validate_title):
        with pytest.raises(ValueError, match="must be a string"):
            fn(None)  # type: ignore[arg-type]
