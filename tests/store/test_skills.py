"""Skills in the store: sync (idempotent, all or nothing), list, get, attach, remove, and an
agent's skills for dispatch — on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from hangar.core.clock import FixedClock
from hangar.core.skills import SkillBundle, SkillFile, build_bundle
from hangar.store import Conflict, NotFound, Store
from hangar.store import skills as skill_repo
from tests.skillkit import skill_text
from tests.store.conftest import World, make_world


def bundle(name: str, files: dict[str, bytes] | None = None, **kw: str) -> SkillBundle:
    md = SkillFile("SKILL.md", skill_text(name, **kw).encode())
    extra = [SkillFile(p, d, executable=p.endswith(".sh")) for p, d in (files or {}).items()]
    return build_bundle(name, [md, *extra])


PDF = bundle(
    "pdf-tools",
    {"scripts/run.sh": b"#!/bin/sh\necho hi\n", "assets/logo.png": b"\x89PNG\0\xff\xfe"},
)
COMMIT = bundle("commit")


async def test_sync_creates_then_changes_nothing(world: World, clock: FixedClock) -> None:
    store, ws = world.store, world.ws
    first = await store.skills.sync(ws.id, [PDF, COMMIT], source="/src")
    assert [(i.name, i.status) for i in first] == [("pdf-tools", "created"), ("commit", "created")]
    before = await store.skills.in_workspace(ws.id)
    assert [s.name for s in before] == ["commit", "pdf-tools"]
    pdf = before[1]
    assert (pdf.file_count, pdf.total_bytes, pdf.source) == (3, PDF.total_bytes, "/src")
    assert pdf.digest == PDF.digest and pdf.created_at == pdf.updated_at == clock.now_ms()

    clock.advance(60_000)
    again = await store.skills.sync(ws.id, [PDF, COMMIT], source="/elsewhere")
    assert {i.status for i in again} == {"unchanged"}
    assert await store.skills.in_workspace(ws.id) == before  # not even updated_at moved


async def test_sync_updates_and_replaces_files(world: World, clock: FixedClock) -> None:
    store, ws = world.store, world.ws
    await store.skills.sync(ws.id, [PDF])
    clock.advance(1_000)
    changed = bundle("pdf-tools", {"scripts/new.sh": b"#!/bin/sh\n"}, description="Now better.")
    (item,) = await store.skills.sync(ws.id, [changed])
    assert item.status == "updated"
    detail = await store.skills.get(ws.id, "pdf-tools")
    assert detail is not None
    assert [f.path for f in detail.files] == ["SKILL.md", "scripts/new.sh"]  # the old ones gone
    assert detail.skill.description == "Now better."
    assert detail.skill.updated_at == clock.now_ms() > detail.skill.created_at


async def test_dry_run_writes_nothing(world: World) -> None:
    store, ws = world.store, world.ws
    items = await store.skills.sync(ws.id, [PDF], dry_run=True)
    assert [i.status for i in items] == ["created"]
    assert await store.skills.in_workspace(ws.id) == []


async def test_a_failure_midway_writes_nothing(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, ws = world.store, world.ws
    real = skill_repo._write_files
    calls = 0

    async def failing(conn: object, skill_id: str, files: object) -> None:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("disk on fire")
        await real(conn, skill_id, files)  # type: ignore[arg-type]

    monkeypatch.setattr(skill_repo, "_write_files", failing)
    with pytest.raises(RuntimeError, match="disk on fire"):
        await store.skills.sync(ws.id, [PDF, COMMIT])
    assert await store.skills.in_workspace(ws.id) == []  # the first skill was rolled back too


async def test_files_round_trip_binary_and_text(world: World) -> None:
    store, ws, agent = world.store, world.ws, world.agent
    nul_text = bundle("nul", {"data.txt": b"a\0b"})
    await store.skills.sync(ws.id, [PDF, nul_text])
    await store.skills.attach(ws.id, "pdf-tools", agent.name)
    await store.skills.attach(ws.id, "nul", agent.id)
    got = await store.skills.for_agent(ws.id, agent.id)
    assert [b.name for b in got] == ["nul", "pdf-tools"]
    assert got[1].files == PDF.files  # bytes and executable bits as synced
    assert got[1].digest == PDF.digest
    assert got[0].files[1].data == b"a\0b"
    detail = await store.skills.get(ws.id, "pdf-tools", include_content=True)
    assert detail is not None
    encodings = {f.path: (f.encoding, f.executable, f.size) for f in detail.files}
    assert encodings == {
        "SKILL.md": ("utf-8", False, len(PDF.files[0].data)),
        "assets/logo.png": ("base64", False, 7),
        "scripts/run.sh": ("utf-8", True, 18),
    }
    assert detail.files[2].content == "#!/bin/sh\necho hi\n"
    assert detail.body == "# pdf-tools\n"
    without = await store.skills.get(ws.id, "pdf-tools")
    assert without is not None and all(f.content is None for f in without.files)


async def test_get_by_id_or_name_and_missing(world: World) -> None:
    store, ws = world.store, world.ws
    await store.skills.sync(ws.id, [PDF])
    by_name = await store.skills.get(ws.id, "pdf-tools")
    assert by_name is not None
    by_id = await store.skills.get(ws.id, by_name.skill.id)
    assert by_id is not None and by_id.skill.name == "pdf-tools"
    assert await store.skills.get(ws.id, "nope") is None
    assert await store.skills.missing(ws.id, ["commit", "pdf-tools", "commit"]) == ["commit"]


async def test_attach_detach_are_idempotent(world: World) -> None:
    store, ws, agent = world.store, world.ws, world.agent
    await store.skills.sync(ws.id, [PDF, COMMIT])
    first = await store.skills.attach(ws.id, "pdf-tools", "bot")
    assert (first.skill, first.agent, first.changed) == ("pdf-tools", "bot", True)
    assert not (await store.skills.attach(ws.id, "pdf-tools", "bot")).changed
    listed = await store.skills.in_workspace(ws.id)
    assert {s.name: s.used for s in listed} == {"commit": 0, "pdf-tools": 1}
    assert [s.name for s in await store.skills.in_workspace(ws.id, agent="bot")] == ["pdf-tools"]
    detail = await store.skills.get(ws.id, "pdf-tools")
    assert detail is not None and detail.agents == ["bot"]
    assert (await store.skills.detach(ws.id, "pdf-tools", agent.id)).changed
    assert not (await store.skills.detach(ws.id, "pdf-tools", agent.id)).changed
    assert await store.skills.for_agent(ws.id, agent.id) == []


async def test_other_workspaces_answer_like_missing(store: Store, clock: FixedClock) -> None:
    mine = await make_world(store, clock, "mine")
    theirs = await make_world(store, clock, "theirs")
    await store.skills.sync(theirs.ws.id, [PDF])
    (their_skill,) = await store.skills.in_workspace(theirs.ws.id)
    with pytest.raises(NotFound, match="skill not found: pdf-tools"):
        await store.skills.attach(mine.ws.id, "pdf-tools", mine.agent.id)
    with pytest.raises(NotFound, match=f"skill not found: {their_skill.id}"):
        await store.skills.attach(mine.ws.id, their_skill.id, mine.agent.id)
    await store.skills.sync(mine.ws.id, [PDF])
    with pytest.raises(NotFound, match="agent not found"):
        await store.skills.attach(mine.ws.id, "pdf-tools", theirs.agent.id)
    assert await store.skills.get(mine.ws.id, their_skill.id) is None
    with pytest.raises(NotFound):
        await store.skills.remove(mine.ws.id, their_skill.id)
    with pytest.raises(NotFound):
        await store.skills.in_workspace(mine.ws.id, agent=theirs.agent.id)
    assert await store.skills.for_agent(mine.ws.id, theirs.agent.id) == []
    assert [s.name for s in await store.skills.in_workspace(theirs.ws.id)] == ["pdf-tools"]


async def test_remove_detaches(world: World) -> None:
    store, ws = world.store, world.ws
    await store.skills.sync(ws.id, [PDF, COMMIT])
    await store.skills.attach(ws.id, "pdf-tools", "bot")
    assert await store.skills.remove(ws.id, "pdf-tools") == ("pdf-tools", 1)
    assert [s.name for s in await store.skills.in_workspace(ws.id)] == ["commit"]
    assert await store.skills.for_agent(ws.id, world.agent.id) == []
    # and it can come back
    assert [i.status for i in await store.skills.sync(ws.id, [PDF])] == ["created"]


async def test_create_agent_with_skills_in_one_transaction(world: World) -> None:
    store, ws, runtime = world.store, world.ws, world.runtime
    agent = await store.skills.create_agent_with(
        ws.id,
        skills=["commit"],
        imports=[COMMIT],
        source="bundled",
        name="reviewer",
        runtime_id=runtime.id,
        instructions="Review.",
    )
    assert agent.instructions == "Review."
    # pdf-tools was missing and not imported: nothing at all is written
    with pytest.raises(NotFound, match="skill not found: pdf-tools"):
        await store.skills.create_agent_with(
            ws.id, skills=["pdf-tools"], name="second", runtime_id=runtime.id
        )
    names = [s.name for s in await store.skills.in_workspace(ws.id, agent=agent.id)]
    assert names == ["commit"]
    (commit,) = await store.skills.in_workspace(ws.id)
    assert commit.source == "bundled"
    assert await store.agent_get(ws.id, "second") is None


async def test_create_agent_with_a_taken_name_leaves_the_imports_unwritten(world: World) -> None:
    store, ws, runtime = world.store, world.ws, world.runtime
    with pytest.raises(Conflict):
        await store.skills.create_agent_with(
            ws.id, skills=["commit"], imports=[COMMIT], name="bot", runtime_id=runtime.id
        )
    assert await store.skills.in_workspace(ws.id) == []
