"""Skills and templates through the daemon's real route table: sync (all or nothing, every
bad input named), list, get, attach across workspaces, remove, events; templates list, show
and use (on a fresh home, with the bundled toolkit synced in the same transaction)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from hangar.core.templates import TEMPLATES
from hangar.proto import jsonrpc as rpc
from hangar.proto.events import SkillsChanged
from hangar.testing import InProcessDaemon, daemon_in_process
from hangar.toolkit import SKILLS_DIR
from tests.daemon.helpers import make_agent
from tests.skillkit import write_skill

pytestmark = pytest.mark.usefixtures("migrated")

BUNDLED = sorted(p.name for p in SKILLS_DIR.iterdir() if (p / "SKILL.md").is_file())


async def refused(hangar: InProcessDaemon, method: str, params: dict[str, Any]) -> rpc.RpcError:
    with pytest.raises(rpc.RpcError) as caught:
        await hangar.call(method, params)
    return caught.value


def good_source(tmp_path: Path) -> Path:
    source = tmp_path / "skills"
    write_skill(source, "pdf-tools", files={"scripts/run.sh": "echo\n", "logo.png": b"\x89\xff"})
    write_skill(source, "commit")
    return source


async def names(hangar: InProcessDaemon, **params: Any) -> list[str]:
    return [s["name"] for s in (await hangar.call("hangar/skills_list", params))["skills"]]


# ----------------------------------------------------------------- sync


async def test_sync_then_sync_again_changes_nothing(
    hangar: InProcessDaemon, tmp_path: Path
) -> None:
    source = good_source(tmp_path)
    events = await hangar.subscribe()
    first = await hangar.call("hangar/skills_sync", {"source_path": str(source)})
    assert first["written"] and not first["dry_run"] and first["source"] == str(source)
    assert [(s["name"], s["status"]) for s in first["skills"]] == [
        ("commit", "created"),
        ("pdf-tools", "created"),
    ]
    again = await hangar.call("hangar/skills_sync", {"source_path": str(source)})
    assert [s["status"] for s in again["skills"]] == ["unchanged", "unchanged"]
    changed = [e for e in events.drain() if isinstance(e, SkillsChanged)]
    assert [(e.change, e.skills) for e in changed] == [("synced", ["commit", "pdf-tools"])]
    listed = (await hangar.call("hangar/skills_list"))["skills"]
    assert [(s["name"], s["file_count"], s["used"]) for s in listed] == [
        ("commit", 1, 0),
        ("pdf-tools", 3, 0),
    ]


async def test_dry_run_says_and_writes_nothing(hangar: InProcessDaemon, tmp_path: Path) -> None:
    source = good_source(tmp_path)
    res = await hangar.call("hangar/skills_sync", {"source_path": str(source), "dry_run": True})
    assert res["dry_run"] and not res["written"]
    assert [s["status"] for s in res["skills"]] == ["created", "created"]
    assert await names(hangar) == []


async def test_without_a_source_the_bundled_toolkit_is_synced(hangar: InProcessDaemon) -> None:
    res = await hangar.call("hangar/skills_sync")
    assert res["source"] == str(SKILLS_DIR) and res["errors"] == []
    assert len(BUNDLED) == 14
    assert await names(hangar) == BUNDLED


async def test_one_bad_skill_refuses_the_batch_and_names_every_reason(
    hangar: InProcessDaemon, tmp_path: Path
) -> None:
    source = good_source(tmp_path)
    write_skill(source, "pdf", dir_name="not-pdf")  # name ≠ directory
    (source / "notes").mkdir()  # no SKILL.md: skipped and said
    huge = write_skill(source, "huge")
    with open(huge / "big.bin", "wb") as fh:
        fh.truncate(100 * 1024 * 1024)
    linked = write_skill(source, "linked")
    os.symlink("/etc", linked / "etc")
    res = await hangar.call("hangar/skills_sync", {"source_path": str(source)})
    assert not res["written"]
    reasons = {e["skill"]: e["reason"] for e in res["errors"]}
    assert set(reasons) == {"not-pdf", "huge", "linked"}
    assert "differs from its directory's name 'not-pdf'" in reasons["not-pdf"]
    assert "big.bin is 100.0 MiB" in reasons["huge"]
    assert "symlink to /etc, outside the skill" in reasons["linked"]
    assert res["skipped"] == [{"skill": "notes", "reason": "no SKILL.md: not a skill"}]
    assert await names(hangar) == []  # the good ones were not written either
    assert await hangar.call("ping") == {}  # and the daemon serves on


@pytest.mark.parametrize(
    ("source", "said"),
    [("relative/dir", "must be absolute"), ("/nonexistent/skills", "does not exist")],
)
async def test_a_bad_source_is_refused(hangar: InProcessDaemon, source: str, said: str) -> None:
    err = await refused(hangar, "hangar/skills_sync", {"source_path": source})
    assert err.code == rpc.INVALID_PARAMS and said in err.message


# ----------------------------------------------------------------- get, attach, remove


async def test_get_shows_the_body_and_files(hangar: InProcessDaemon, tmp_path: Path) -> None:
    await hangar.call("hangar/skills_sync", {"source_path": str(good_source(tmp_path))})
    detail = await hangar.call("hangar/skill_get", {"skill": "pdf-tools", "include_content": True})
    assert detail["body"] == "# pdf-tools\n"
    files = {f["path"]: (f["encoding"], f["content"]) for f in detail["files"]}
    assert files["scripts/run.sh"] == ("utf-8", "echo\n")
    assert files["logo.png"] == ("base64", "if8=")
    err = await refused(hangar, "hangar/skill_get", {"skill": "nope"})
    assert (err.code, err.message) == (rpc.NOT_FOUND, "skill not found: nope")


async def test_contents_too_big_for_one_reply_are_refused(
    hangar: InProcessDaemon, tmp_path: Path
) -> None:
    source = tmp_path / "skills"
    chunk = b"\\" * (1024 * 1024)  # backslashes: each doubles when escaped in JSON
    write_skill(source, "bulky", files={f"part{i}.txt": chunk for i in range(5)})
    await hangar.call("hangar/skills_sync", {"source_path": str(source)})
    err = await refused(hangar, "hangar/skill_get", {"skill": "bulky", "include_content": True})
    assert err.code == rpc.INVALID_PARAMS and "ask without include_content" in err.message
    detail = await hangar.call("hangar/skill_get", {"skill": "bulky"})
    assert len(detail["files"]) == 6


async def test_attach_detach_remove_with_events(hangar: InProcessDaemon, tmp_path: Path) -> None:
    await hangar.call("hangar/skills_sync", {"source_path": str(good_source(tmp_path))})
    bot = await make_agent(hangar, "bot")
    events = await hangar.subscribe()
    first = await hangar.call("hangar/skill_attach", {"skill": "commit", "agent": "bot"})
    assert first == {"skill": "commit", "agent": "bot", "changed": True}
    again = await hangar.call("hangar/skill_attach", {"skill": "commit", "agent": bot["id"]})
    assert not again["changed"]
    await hangar.call("hangar/skill_attach", {"skill": "pdf-tools", "agent": "bot"})
    assert await names(hangar, agent="bot") == ["commit", "pdf-tools"]
    detached = await hangar.call("hangar/skill_detach", {"skill": "commit", "agent": "bot"})
    assert detached["changed"]
    gone = await hangar.call("hangar/skill_remove", {"skill": "pdf-tools"})
    assert gone == {"skill": "pdf-tools", "detached": 1}
    assert await names(hangar, agent="bot") == []
    changes = [(e.change, e.skills) for e in events.drain() if isinstance(e, SkillsChanged)]
    assert changes == [
        ("attached", ["commit"]),
        ("attached", ["pdf-tools"]),
        ("detached", ["commit"]),
        ("removed", ["pdf-tools"]),
    ]
    err = await refused(hangar, "hangar/skill_attach", {"skill": "commit", "agent": "ghost"})
    assert (err.code, err.message) == (rpc.NOT_FOUND, "agent not found: ghost")


async def test_another_workspaces_skill_answers_like_a_missing_one(
    hangar: InProcessDaemon, tmp_path: Path
) -> None:
    await hangar.call("workspace/create", {"slug": "other"})
    source = good_source(tmp_path)
    await hangar.call("hangar/skills_sync", {"workspace_id": "other", "source_path": str(source)})
    theirs = (await hangar.call("hangar/skills_list", {"workspace_id": "other"}))["skills"][0]
    await make_agent(hangar, "bot")
    by_id = await refused(hangar, "hangar/skill_attach", {"skill": theirs["id"], "agent": "bot"})
    missing = await refused(hangar, "hangar/skill_attach", {"skill": "no-such-id", "agent": "bot"})
    assert by_id.code == missing.code == rpc.NOT_FOUND
    assert by_id.message == f"skill not found: {theirs['id']}"
    assert await names(hangar, agent="bot") == []
    err = await refused(hangar, "hangar/skill_remove", {"skill": theirs["id"]})
    assert err.code == rpc.NOT_FOUND
    assert await names(hangar, workspace_id="other") == ["commit", "pdf-tools"]


async def test_unknown_fields_and_empty_names_are_refused(hangar: InProcessDaemon) -> None:
    err = await refused(hangar, "hangar/skill_get", {"skill": ""})
    assert err.code == rpc.INVALID_PARAMS
    err = await refused(hangar, "hangar/skills_sync", {"source": "/x"})
    assert err.code == rpc.INVALID_PARAMS and "source" in err.message


# ----------------------------------------------------------------- templates


async def test_templates_list_and_show(hangar: InProcessDaemon) -> None:
    listed = (await hangar.call("hangar/templates_list"))["templates"]
    assert [t["name"] for t in listed] == [t.name for t in TEMPLATES]
    assert len(listed) == 10
    shown = await hangar.call("hangar/template_get", {"name": "planner"})
    assert shown["skills"] == ["plan", "plan-tdd", "expose"] and shown["instructions"]
    err = await refused(hangar, "hangar/template_get", {"name": "chef"})
    assert err.code == rpc.NOT_FOUND
    assert err.message.startswith("template not found: chef (the templates are: code-reviewer,")


async def test_use_on_a_fresh_home_syncs_the_bundled_skills(hangar: InProcessDaemon) -> None:
    events = await hangar.subscribe()
    used = await hangar.call(
        "hangar/template_use",
        {"name": "code-reviewer", "provider": "command", "command": ["true"]},
    )
    agent = used["agent"]
    assert agent["name"] == "code-reviewer" and agent["provider"] == "command"
    assert agent["instructions"].startswith("You are a code reviewer.")
    assert used["skills"] == ["commit", "find-missing-tests"]
    assert used["imported"] == ["commit", "find-missing-tests"]
    assert await names(hangar) == ["commit", "find-missing-tests"]  # only what it needed
    assert await names(hangar, agent="code-reviewer") == ["commit", "find-missing-tests"]
    changes = [(e.change, e.skills) for e in events.drain() if isinstance(e, SkillsChanged)]
    assert changes == [
        ("synced", ["commit", "find-missing-tests"]),
        ("attached", ["commit", "find-missing-tests"]),
    ]
    # a second agent from another template reuses what is there and imports the rest
    second = await hangar.call(
        "hangar/template_use",
        {
            "name": "release-manager",
            "agent_name": "shipper",
            "provider": "command",
            "command": ["true"],
        },
    )
    assert (second["skills"], second["imported"]) == (["commit", "gh-issue"], ["gh-issue"])


async def test_use_with_a_taken_name_writes_nothing(hangar: InProcessDaemon) -> None:
    await make_agent(hangar, "planner")
    err = await refused(
        hangar,
        "hangar/template_use",
        {"name": "planner", "provider": "command", "command": ["true"]},
    )
    assert err.code == rpc.CONFLICT and "--agent-name" in err.message
    assert await names(hangar) == []  # the bundled skills it would import: not written


async def test_use_of_an_unknown_template(hangar: InProcessDaemon) -> None:
    err = await refused(hangar, "hangar/template_use", {"name": "chef", "provider": "command"})
    assert err.code == rpc.NOT_FOUND and "template not found: chef" in err.message
    assert (await hangar.call("hangar/agents_list"))["agents"] == []
    assert await names(hangar) == []


async def test_use_with_a_missing_cli_is_refused_before_anything(hangar: InProcessDaemon) -> None:
    err = await refused(
        hangar,
        "hangar/template_use",
        {"name": "planner", "provider": "codex", "command": ["/nonexistent/codex"]},
    )
    assert err.code == rpc.INVALID_PARAMS and "not installed" in err.message
    assert (await hangar.call("hangar/agents_list"))["agents"] == []


async def test_use_when_the_toolkit_lacks_a_skill(
    tmp_path: Path, migrated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    toolkit = tmp_path / "toolkit"
    write_skill(toolkit, "plan")
    write_skill(toolkit, "expose", dir_name="plan-tdd")  # broken: name ≠ directory
    monkeypatch.setattr("hangar.daemon.app.SKILLS_DIR", toolkit)
    async with daemon_in_process(migrated) as hangar:
        err = await refused(
            hangar,
            "hangar/template_use",
            {"name": "planner", "provider": "command", "command": ["true"]},
        )
        assert err.code == rpc.INVALID_PARAMS
        assert "template planner needs skill 'plan-tdd': name 'expose' differs" in err.message
        assert (await hangar.call("hangar/agents_list"))["agents"] == []
        assert await names(hangar) == []
