"""The one table of scopes: every method has one (a method added without one fails here),
the table names no method that is gone, and the scopes nest read < write < admin."""

from __future__ import annotations

import pytest

from hangar.proto import calls, methods, scopes


def _method_names() -> set[str]:
    return {
        value
        for name, value in vars(methods).items()
        if name.isupper() and isinstance(value, str) and value not in methods.NOTIFICATIONS
    }


def test_every_method_has_a_scope() -> None:
    missing = sorted({c.method for c in calls.ALL} - set(scopes.REQUIRED))
    assert missing == [], f"give these methods a scope in hangar/proto/scopes.py: {missing}"
    missing = sorted(_method_names() - set(scopes.REQUIRED))
    assert missing == [], f"give these methods a scope in hangar/proto/scopes.py: {missing}"


def test_the_table_names_only_methods() -> None:
    assert sorted(set(scopes.REQUIRED) - _method_names()) == []
    assert set(scopes.REQUIRED.values()) <= set(scopes.SCOPES)


def test_what_each_scope_covers() -> None:
    needs = scopes.REQUIRED
    # read sees, write changes work, admin manages credentials and the daemon
    for m in (methods.ISSUES_LIST, methods.TASK_GET, methods.WORKSPACE_SUBSCRIBE, methods.PING):
        assert needs[m] == "read", m
    for m in (methods.ISSUE_CREATE, methods.TASK_CANCEL, methods.SESSION_SEND):
        assert needs[m] == "write", m
    for m in (methods.TOKEN_CREATE, methods.TOKENS_LIST, methods.TOKEN_REVOKE):
        assert needs[m] == "admin", m
    assert needs[methods.DAEMON_SHUTDOWN] == "admin"


@pytest.mark.parametrize(
    ("held", "needed", "ok"),
    [
        ("read", "read", True),
        ("read", "write", False),
        ("read", "admin", False),
        ("write", "read", True),
        ("write", "write", True),
        ("write", "admin", False),
        ("admin", "read", True),
        ("admin", "write", True),
        ("admin", "admin", True),
        ("root", "read", False),  # an unknown scope allows nothing
        ("admin", "root", False),
    ],
)
def test_scopes_nest(held: str, needed: str, ok: bool) -> None:
    assert scopes.allows(held, needed) is ok


def test_an_unknown_method_needs_admin_and_the_refusal_says_what_is_missing() -> None:
    assert scopes.required("hangar/not_yet_scoped") == "admin"
    assert (
        scopes.refusal("read", methods.ISSUE_CREATE)
        == "this token's scope is read; hangar/issue_create needs write"
    )
