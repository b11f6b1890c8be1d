"""Screen 4, Skills: sync the bundled toolkit and its summary, attach and detach to the
chosen agent, the SKILL.md body, and a change made elsewhere folded from its event."""

from __future__ import annotations

from textual.widgets import Select

from hangar.proto.skills import SkillsSyncResult, SkillSyncError, SkillSyncItem
from hangar.testing import wait_for
from hangar.tui.screens.skills import SkillBody, SkillsScreen, sync_summary
from tests.tui.helpers import Served, running, shown, wait_shown


async def agent(served: Served, name: str) -> None:
    params = {"name": name, "provider": "command", "command": ["true"]}
    await served.call("hangar/agent_create", params)


async def skills_of(served: Served, agent_name: str) -> list[str]:
    listed = await served.call("hangar/skills_list", {"agent": agent_name})
    return [s["name"] for s in listed["skills"]]


def row_of(text: str, skill: str) -> str:
    return next(line for line in text.splitlines() if line.strip().startswith(skill + " "))


async def test_s_syncs_then_i_and_d_attach_and_detach(served: Served) -> None:
    await agent(served, "bot")
    async with running(served, start="skills") as pilot:
        await wait_shown(pilot, "No skills yet: press s to sync the bundled toolkit.")
        await pilot.press("s")
        text = await wait_shown(pilot, "synced ", "created", "brainstorm")
        assert "updated" not in text and "unchanged" not in text
        screen = pilot.app.screen
        assert isinstance(screen, SkillsScreen) and screen.highlighted is not None
        first = screen.highlighted.name  # the list is by name: the cursor is on the first
        await pilot.press("i")
        text = await wait_shown(pilot, f"attached {first} to bot", "✓ bot")
        assert "bot" in row_of(text, first).split("✓ bot", 1)[1]  # and in USED BY
        assert await skills_of(served, "bot") == [first]
        await pilot.press("d")
        await wait_shown(pilot, f"detached {first} from bot")
        await wait_for(lambda: "✓ bot" not in shown(pilot.app))
        assert await skills_of(served, "bot") == []
        await pilot.press("s")  # again: nothing changes
        await wait_shown(pilot, "unchanged")
        assert "created" not in str(screen.query_one("#summary").render())
        assert pilot.app.sent.count("hangar/skills_sync") == 2


async def test_a_picks_the_agent_that_i_attaches_to(served: Served) -> None:
    await agent(served, "alpha")
    await agent(served, "beta")
    await served.call("hangar/skills_sync", {})
    async with running(served, start="skills") as pilot:
        await wait_shown(pilot, "brainstorm", "alpha")
        screen = pilot.app.screen
        assert isinstance(screen, SkillsScreen)
        await pilot.press("a")
        picker = screen.query_one("#agent", Select)
        await wait_for(lambda: picker.expanded)
        await pilot.press("down", "enter")  # alpha → beta
        await wait_for(lambda: screen.agent is not None and screen.agent.name == "beta")
        assert screen.focused is screen.table  # back on the list: i and d act at once
        await pilot.press("i")
        await wait_shown(pilot, "to beta", "✓ beta")
    first = sorted((await served.call("hangar/skills_list"))["skills"], key=lambda s: s["name"])
    assert await skills_of(served, "beta") == [first[0]["name"]]
    assert await skills_of(served, "alpha") == []


async def test_enter_shows_the_skill_md_body(served: Served) -> None:
    await served.call("hangar/skills_sync", {})
    async with running(served, start="skills") as pilot:
        await wait_shown(pilot, "brainstorm")
        screen = pilot.app.screen
        assert isinstance(screen, SkillsScreen)
        screen.table.move_cursor(row=screen.order.index("brainstorm"))
        await pilot.press("enter")
        await wait_for(lambda: isinstance(pilot.app.screen, SkillBody))
        await wait_shown(pilot, "Brainstorm", "Understand the problem before the solution")
        await wait_shown(pilot, "files: SKILL.md")
        await pilot.press("escape")
        await wait_for(lambda: pilot.app.screen is screen)


async def test_an_attach_made_elsewhere_shows_up_from_its_event(served: Served) -> None:
    await agent(served, "bot")
    await served.call("hangar/skills_sync", {})
    async with running(served, start="skills") as pilot:
        await wait_shown(pilot, "brainstorm", "bot")
        await served.call("hangar/skill_attach", {"skill": "brainstorm", "agent": "bot"})
        text = await wait_shown(pilot, "✓ bot")
        assert "✓ bot" in row_of(text, "brainstorm")


def test_a_refused_sync_names_each_bad_skill_and_its_reason() -> None:
    result = SkillsSyncResult(
        source="/src/skills",
        dry_run=False,
        written=False,
        skills=[SkillSyncItem(name="good", status="created")],
        errors=[SkillSyncError(skill="Bad_Name", reason="name must be lowercase")],
        skipped=[SkillSyncError(skill="notes", reason="no SKILL.md")],
    )
    text = sync_summary(result).plain
    assert text.splitlines() == [
        "sync refused, nothing written: 1 bad skill in /src/skills",
        "  Bad_Name: name must be lowercase",
        "  skipped notes: no SKILL.md",
    ]
