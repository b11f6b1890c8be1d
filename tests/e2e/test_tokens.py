"""``hangar auth token`` end to end: a real daemon over its socket, the real CLI, and a token
given to any command through HANGAR_TOKEN (``ainb serve --token``: test_serve_token.py)."""

from __future__ import annotations

import re

from tests.e2e.harness import Hangar


def _create(hangar: Hangar, *args: str) -> dict[str, object]:
    made = hangar.json("auth", "token", "create", *args)
    assert isinstance(made, dict)
    return made


def test_create_list_revoke_and_a_token_that_only_reads(hangar: Hangar) -> None:
    made = _create(hangar, "--name", "dashboard", "--scope", "read", "--expires", "30d")
    plaintext = made["plaintext"]
    token = made["token"]
    assert isinstance(plaintext, str) and re.fullmatch(r"ainb_[A-Z2-7]{52}", plaintext)
    assert isinstance(token, dict)
    assert (token["name"], token["scope"], token["revoked_at"]) == ("dashboard", "read", None)
    assert token["expires_at"] - token["created_at"] == 30 * 86_400_000

    # text mode: the plaintext alone on stdout (for $(…)), the notes on stderr
    text = hangar.run("auth", "token", "create", "--name", "ci", "--scope", "write")
    assert re.fullmatch(r"ainb_[A-Z2-7]{52}\n", text.out)
    assert "only time" in text.err and "scope write" in text.err
    writer = text.out.strip()

    rows = hangar.json("auth", "token", "list")
    assert [(r["name"], r["scope"]) for r in rows] == [("ci", "write"), ("dashboard", "read")]
    listing = hangar.run("auth", "token", "list").out
    for header in ("ID", "NAME", "SCOPE", "STATE", "CREATED", "LAST USED", "EXPIRES", "REVOKED"):
        assert header in listing
    assert "dashboard" in listing and "active" in listing
    for shown in (listing, str(rows)):
        assert plaintext not in shown and writer not in shown

    # the read token: any command with HANGAR_TOKEN acts with it
    as_reader = {"HANGAR_TOKEN": plaintext}
    assert hangar.run("issue", "list", "--json", extra_env=as_reader).json() == []
    refused = hangar.run(
        "issue", "create", "--title", "t", "--no-repo", ok=False, extra_env=as_reader
    )
    assert refused.code == 1
    assert "this token's scope is read; hangar/issue_create needs write" in refused.err
    assert hangar.run("issue", "list", "--json").json() == []  # nothing was filed
    denied = hangar.run("auth", "token", "list", ok=False, extra_env={"HANGAR_TOKEN": writer})
    assert denied.code == 1 and "needs admin" in denied.err
    filed = hangar.run(
        "issue", "create", "--title", "w", "--no-repo", extra_env={"HANGAR_TOKEN": writer}
    )
    assert filed.code == 0
    used = {r["name"]: r for r in hangar.json("auth", "token", "list")}
    assert used["dashboard"]["last_used"] is not None and used["ci"]["last_used"] is not None

    revoked = hangar.json("auth", "token", "revoke", str(token["id"]))
    assert revoked["id"] == token["id"] and revoked["revoked_at"] is not None
    after = hangar.run("issue", "list", ok=False, extra_env=as_reader)
    assert after.code == 1 and "token revoked" in after.err and "$HANGAR_TOKEN" in after.err
    assert "revoked" in hangar.run("auth", "token", "list").out
    said = hangar.run("auth", "token", "revoke", str(token["id"]))  # again: a no-op
    assert "revoked token" in said.out


def test_bad_input_is_refused_with_a_clear_error(hangar: Hangar) -> None:
    unknown = hangar.run("auth", "token", "create", "--name", "x", "--scope", "root", ok=False)
    assert unknown.code == 2 and "root" in unknown.err
    zero = hangar.run("auth", "token", "create", "--name", "x", "--expires", "0", ok=False)
    assert zero.code == 2 and "greater than zero" in zero.err
    nonsense = hangar.run("auth", "token", "create", "--name", "x", "--expires", "soon", ok=False)
    assert nonsense.code == 2 and "--expires" in nonsense.err
    past = hangar.run("auth", "token", "create", "--name", "x", "--expires", "2020-01-01", ok=False)
    assert past.code == 1 and "not in the future" in past.err
    missing = hangar.run("auth", "token", "revoke", "01NOSUCHTOKEN", ok=False)
    assert missing.code == 4 and "token not found: 01NOSUCHTOKEN" in missing.err
    garbage = hangar.run("issue", "list", ok=False, extra_env={"HANGAR_TOKEN": "ainb_nope"})
    assert garbage.code == 1 and "unauthorized" in garbage.err
    assert hangar.json("auth", "token", "list") == []  # nothing half-made
    assert hangar.run("issue", "list").code == 0  # and the daemon serves on
