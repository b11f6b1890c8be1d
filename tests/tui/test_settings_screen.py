"""Screen `,`, Settings, against the real daemon: a provider key stored (never on screen) and
deleted, the env allowlist (a deny-family entry refused in the daemon's words), a token
shown once then listed and revoked, workspaces made, renamed, made default and switched to,
the config table with its sources, and a read token's refusal shown in place."""

from __future__ import annotations

import pytest
from textual.widgets import Input

from hangar.core.env_policy import validate_allow_key
from hangar.testing import wait_for
from hangar.tui.screens.issues import IssuesScreen
from hangar.tui.screens.settings import MASK, SettingsScreen
from hangar.tui.screens.settings_forms import (
    Confirm,
    EntryForm,
    SecretForm,
    TokenForm,
    TokenShown,
    WorkspaceForm,
)
from tests.tui.helpers import Served, running, shown, wait_shown

NEXT = "right_square_bracket"


def settings(app: object) -> SettingsScreen:
    screen = app.screen  # type: ignore[attr-defined]
    assert isinstance(screen, SettingsScreen)
    return screen


async def test_a_provider_key_is_stored_never_shown_and_deleted(served: Served) -> None:
    secret = "sk-ant-never-on-screen-0123456789"
    async with running(served, start="settings") as pilot:
        await wait_shown(pilot, "ANTHROPIC_API_KEY", "not set", "claude agents", "kept in")
        await pilot.press("n")  # the highlighted key, the first: ANTHROPIC_API_KEY
        await wait_for(lambda: isinstance(pilot.app.screen, SecretForm))
        await pilot.press(*secret)  # into the password field
        assert secret not in shown(pilot.app) and "•" * 8 in shown(pilot.app)
        await pilot.press("enter")
        text = await wait_shown(pilot, "stored ANTHROPIC_API_KEY", f"ANTHROPIC_API_KEY  {MASK}")
        assert secret not in text
        listed = await served.call("hangar/secrets_list")
        assert listed["names"] == ["ANTHROPIC_API_KEY"]
        assert served.daemon.daemon.secrets.get("ANTHROPIC_API_KEY") == secret
        await pilot.press("x")
        await wait_for(lambda: isinstance(pilot.app.screen, Confirm))
        await pilot.press("y")
        text = await wait_shown(pilot, "deleted ANTHROPIC_API_KEY")
        assert MASK not in text and secret not in text
        assert pilot.app.sent.count("hangar/secret_set") == 1
    assert (await served.call("hangar/secrets_list"))["names"] == []


async def test_env_allowlist_adds_and_a_deny_family_entry_is_refused_word_for_word(
    served: Served,
) -> None:
    async with running(served, start="settings") as pilot:
        await wait_shown(pilot, "Provider keys", "kept in")
        await pilot.press(NEXT, NEXT)
        await wait_shown(pilot, "LD_*", "locked · deny family: dynamic loader")
        await pilot.press("n")
        await wait_for(lambda: isinstance(pilot.app.screen, EntryForm))
        await pilot.press(*"MY_TOOL_HOME", "enter")
        await wait_shown(pilot, "added MY_TOOL_HOME", "allowed")
        assert "MY_TOOL_HOME" in (await served.call("hangar/env_allow_list"))["allow"]
        await pilot.press("n")
        await wait_for(lambda: isinstance(pilot.app.screen, EntryForm))
        form = pilot.app.screen
        await pilot.press(*"LD_PRELOAD", "enter")
        with pytest.raises(ValueError) as refused:
            validate_allow_key("LD_PRELOAD")  # the daemon's check, so its words
        await wait_for(lambda: str(refused.value) in str(form.query_one(".form-error").render()))
        assert isinstance(pilot.app.screen, EntryForm)  # the form stays, with what was typed
        await pilot.press("escape")
    allow = (await served.call("hangar/env_allow_list"))["allow"]
    assert "MY_TOOL_HOME" in allow and "LD_PRELOAD" not in allow


async def test_a_token_is_shown_once_then_listed_and_revoked(served: Served) -> None:
    async with running(served, start="settings") as pilot:
        await wait_shown(pilot, "Provider keys", "kept in")
        await pilot.press(NEXT, NEXT, NEXT)
        await wait_shown(pilot, "No tokens yet")
        await pilot.press("n")
        await wait_for(lambda: isinstance(pilot.app.screen, TokenForm))
        await pilot.press(*"ci-bot", "enter")
        await wait_for(lambda: isinstance(pilot.app.screen, TokenShown))
        text = await wait_shown(pilot, "ainb_", "the only time it is shown")
        plaintext = next(w for w in text.split() if w.startswith("ainb_"))
        await pilot.press("escape")
        text = await wait_shown(pilot, "ci-bot", "read", "active", "created token")
        assert plaintext not in text  # never again
        listed = (await served.call("hangar/tokens_list"))["tokens"]
        assert [(t["name"], t["scope"]) for t in listed] == [("ci-bot", "read")]
        await pilot.press("x")
        await wait_for(lambda: isinstance(pilot.app.screen, Confirm))
        await pilot.press("y")
        await wait_shown(pilot, "revoked token", "revoked")
    listed = (await served.call("hangar/tokens_list"))["tokens"]
    assert listed[0]["revoked_at"] is not None


async def test_workspaces_new_rename_default_and_switch(served: Served) -> None:
    await served.call("hangar/issue_create", {"title": "Default work"})
    async with running(served, start="issues") as pilot:
        await wait_shown(pilot, "Default work")
        await pilot.press("comma", NEXT)
        await wait_shown(pilot, "● shown", "default")
        await pilot.press("n")
        await wait_for(lambda: isinstance(pilot.app.screen, WorkspaceForm))
        await pilot.press(*"team-b", "enter")
        await wait_shown(pilot, "created workspace team-b", "team-b")
        await served.call("hangar/issue_create", {"title": "Team B work", "workspace_id": "team-b"})
        screen = settings(pilot.app)
        table = screen.table("workspaces")
        made = next(w for w in screen.workspaces.values() if w.slug == "team-b")
        table.move_cursor(row=table.get_row_index(made.id))
        await pilot.press("r")
        await wait_for(lambda: isinstance(pilot.app.screen, WorkspaceForm))
        pilot.app.screen.query_one("#slug", Input).value = "team-bee"
        await pilot.press("ctrl+s")
        await wait_shown(pilot, "renamed team-b to team-bee")
        await pilot.press("d")
        await wait_shown(pilot, "team-bee is the daemon's default now")
        listed = (await served.call("workspace/list"))["workspaces"]
        assert [w["slug"] for w in listed if w["is_default"]] == ["team-bee"]
        assert pilot.app.sub_title != "team-bee"  # the default changed, not what is shown
        await pilot.press("s")
        await wait_shown(pilot, "showing workspace team-bee")
        assert pilot.app.sub_title == "team-bee"
        await pilot.press("1")  # the Issues screen, mounted before: refreshed for team-bee
        await wait_for(lambda: isinstance(pilot.app.screen, IssuesScreen))
        text = await wait_shown(pilot, "Team B work")
        assert "Default work" not in text


async def test_the_config_table_says_where_each_setting_comes_from(served: Served) -> None:
    beads = served.paths.root / "beads"
    beads.mkdir()
    await served.call("hangar/config_set", {"key": "beads.dir", "value": str(beads)})
    async with running(served, start="settings") as pilot:
        await wait_shown(pilot, "Provider keys", "kept in")
        await pilot.press(NEXT, NEXT, NEXT, NEXT)
        text = await wait_shown(pilot, "SETTING", "SOURCE", "beads.dir", str(beads))
        sources = {w[0]: w[1] for w in map(str.split, text.splitlines()) if len(w) > 2}
        assert sources["beads.dir"] == "file" and sources["slots"] == "default"
        table = settings(pilot.app).table("config")
        table.move_cursor(row=table.get_row_index("beads.dir"))
        await wait_shown(pilot, "(file: ")  # the highlighted one's file
        before = list(pilot.app.sent)
        await pilot.press("n", "x", "s")  # the other sections' keys do nothing here
        await pilot.pause()
        assert list(pilot.app.sent) == before and isinstance(pilot.app.screen, SettingsScreen)


async def test_a_read_token_gets_the_daemons_refusal_in_each_section(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = await served.call("hangar/token_create", {"name": "tab", "scope": "read"})
    monkeypatch.setenv("HANGAR_TOKEN", made["plaintext"])
    async with running(served, start="settings") as pilot:
        await wait_shown(pilot, "this token's scope is read; hangar/secrets_list needs admin")
        await pilot.press(NEXT)  # the workspaces are the read scope's to see
        await wait_shown(pilot, "● shown", "default")
        await pilot.press(NEXT)
        await wait_shown(pilot, "this token's scope is read; hangar/env_allow_list needs admin")
