"""Skills written for a run where each provider loads them: exact paths, modes, a clean
``git status`` in a real worktree, Claude's ``--add-dir``, and nothing at all for an agent
without skills — first the writer alone, then through whole dispatches in-process."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from hangar.core.env_policy import ALLOW_FILE, DEFAULT_ALLOW
from hangar.core.ids import short_id
from hangar.core.skills import SkillBundle, SkillFile, SkillManifest, build_bundle
from hangar.daemon.tasks.skills import SKILLS_DIR_ENV, skills_root, write_skills
from hangar.testing import InProcessDaemon, daemon_in_process
from tests.daemon.helpers import RecordingLog, claude_command, make_agent, task_row
from tests.skillkit import skill_text, write_skill

pytestmark = pytest.mark.usefixtures("migrated")

GIT_ENV = {
    "GIT_CONFIG_GLOBAL": "/dev/null",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "T",
    "GIT_AUTHOR_EMAIL": "t@example.invalid",
    "GIT_COMMITTER_NAME": "T",
    "GIT_COMMITTER_EMAIL": "t@example.invalid",
}


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args],
        cwd=cwd,
        env={**os.environ, **GIT_ENV},
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip()


def make_repo(tmp_path: Path, tracked: dict[str, str] | None = None) -> Path:
    """A repository with one commit: a README plus ``tracked`` files."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "README").write_text("hello\n")
    for rel, text in (tracked or {}).items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "init")
    return repo


def repo_with_worktree(tmp_path: Path, tracked: dict[str, str] | None = None) -> Path:
    """A worktree of a fresh repository (see ``make_repo``), as a run gets one."""
    repo = make_repo(tmp_path, tracked)
    workdir = tmp_path / "task" / "workdir"
    git(repo, "worktree", "add", "-q", "-b", "hangar/task/x", str(workdir))
    return workdir


def bundle(name: str, files: dict[str, bytes] | None = None) -> SkillBundle:
    md = SkillFile("SKILL.md", skill_text(name).encode())
    return build_bundle(name, [md, *(SkillFile(p, d) for p, d in (files or {}).items())])


PDF = bundle(
    "pdf-tools",
    {
        "scripts/extract.py": b"#!/usr/bin/env python3\nprint('x')\n",
        "references/REF.md": b"# ref\n",
        "assets/logo.png": b"\x89PNG\0\xff",
    },
)
COMMIT = bundle("commit")


def tree(root: Path) -> dict[str, str]:
    """Every file under ``root``: relative path → octal mode."""
    return {
        str(p.relative_to(root)): oct(stat.S_IMODE(p.stat().st_mode))
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


# ----------------------------------------------------------------- the writer alone


async def test_claude_gets_them_beside_the_worktree(tmp_path: Path) -> None:
    task_root, log = tmp_path / "task", RecordingLog()
    workdir = task_root / "workdir"
    workdir.mkdir(parents=True)
    done = await write_skills(
        [PDF, COMMIT],
        provider="claude",
        task_root=task_root,
        workdir=workdir,
        in_git=False,
        log=log,
    )
    root = task_root / ".claude" / "skills"
    assert done.root == root and done.names == ["pdf-tools", "commit"]
    assert done.env == {SKILLS_DIR_ENV: str(root)}
    assert tree(root) == {
        "commit/SKILL.md": "0o644",
        "pdf-tools/SKILL.md": "0o644",
        "pdf-tools/assets/logo.png": "0o644",
        "pdf-tools/references/REF.md": "0o644",
        "pdf-tools/scripts/extract.py": "0o755",
    }
    assert (root / "pdf-tools" / "assets" / "logo.png").read_bytes() == b"\x89PNG\0\xff"
    assert not any(p.is_symlink() for p in root.rglob("*"))  # copies, never links
    assert list(workdir.iterdir()) == []  # nothing inside the worktree
    assert (done.files, done.bytes) == (5, PDF.total_bytes + COMMIT.total_bytes)
    (line,) = log.fields("skills written")
    assert line["skills"] == ["pdf-tools", "commit"] and line["files"] == 5


@pytest.mark.parametrize("provider", ["codex", "gemini", "command"])
async def test_the_others_get_them_in_the_worktree_and_git_status_stays_clean(
    tmp_path: Path, provider: str
) -> None:
    workdir = repo_with_worktree(tmp_path)
    task_root = workdir.parent
    done = await write_skills(
        [PDF],
        provider=provider,
        task_root=task_root,
        workdir=workdir,
        in_git=True,
        log=RecordingLog(),
    )
    root = workdir / ".agents" / "skills"
    assert done.root == root == skills_root(provider, task_root, workdir)[0]
    assert tree(root) == {
        "pdf-tools/.gitignore": "0o644",
        "pdf-tools/SKILL.md": "0o644",
        "pdf-tools/assets/logo.png": "0o644",
        "pdf-tools/references/REF.md": "0o644",
        "pdf-tools/scripts/extract.py": "0o755",
    }
    assert (root / "pdf-tools" / ".gitignore").read_text() == "*\n"
    assert git(workdir, "status", "--porcelain", "--untracked-files=all") == ""


async def test_a_skill_the_repository_tracks_is_left_to_the_repository(tmp_path: Path) -> None:
    ours = ".agents/skills/commit/SKILL.md"
    workdir = repo_with_worktree(tmp_path, {ours: "the repository's own\n"})
    log = RecordingLog()
    done = await write_skills(
        [PDF, COMMIT],
        provider="codex",
        task_root=workdir.parent,
        workdir=workdir,
        in_git=True,
        log=log,
    )
    assert done.names == ["pdf-tools"]
    assert (workdir / ours).read_text() == "the repository's own\n"
    assert not (workdir / ".agents/skills/commit/.gitignore").exists()
    (warning,) = log.fields("skill not written")
    assert warning["skill"] == "commit" and "its own wins" in warning["reason"]
    assert git(workdir, "status", "--porcelain", "--untracked-files=all") == ""


async def test_no_skills_nothing_written(tmp_path: Path) -> None:
    log, task_root = RecordingLog(), tmp_path / "task"
    task_root.mkdir()
    done = await write_skills(
        [], provider="claude", task_root=task_root, workdir=task_root / "w", in_git=False, log=log
    )
    assert done.root is None and done.env == {} and done.names == []
    assert list(task_root.iterdir()) == [] and log.lines == []


async def test_a_path_out_of_the_skill_is_refused(tmp_path: Path) -> None:
    manifest = SkillManifest(name="evil", description="d", body="")
    evil = SkillBundle(
        manifest, (SkillFile("SKILL.md", b"x"), SkillFile("../../escaped", b"gotcha"))
    )
    absolute = SkillBundle(
        SkillManifest(name="abs", description="d", body=""),
        (SkillFile("SKILL.md", b"x"), SkillFile("/tmp/abs", b"gotcha")),
    )
    log, task_root = RecordingLog(), tmp_path / "task"
    done = await write_skills(
        [evil, absolute, COMMIT],
        provider="claude",
        task_root=task_root,
        workdir=task_root / "w",
        in_git=False,
        log=log,
    )
    assert done.names == ["commit"]
    assert not (task_root / "escaped").exists() and not (task_root / ".claude/escaped").exists()
    assert not (task_root / ".claude/skills/evil").exists()
    reasons = {f["skill"]: f["reason"] for f in log.fields("skill not written")}
    assert "'..' part" in reasons["evil"] and "absolute" in reasons["abs"]


# ----------------------------------------------------------------- through a dispatch

LISTER = """\
import os, stat, subprocess, sys
root = os.environ.get("HANGAR_SKILLS_DIR")
print("ROOT", root)
if root:
    for dirpath, dirs, files in sorted(os.walk(root)):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(dirpath, name)
            print("FILE", os.path.relpath(path, root), oct(stat.S_IMODE(os.stat(path).st_mode)))
status = subprocess.run(
    ["git", "status", "--porcelain", "--untracked-files=all"], capture_output=True, text=True
)
print("STATUS", repr(status.stdout))
"""


async def sync_skills(hangar: InProcessDaemon, tmp_path: Path) -> None:
    source = tmp_path / "skills"
    write_skill(source, "pdf-tools", files={"scripts/extract.py": "print('x')\n"})
    write_skill(source, "commit")
    synced = await hangar.call("hangar/skills_sync", {"source_path": str(source)})
    assert synced["written"] and synced["errors"] == []


async def run_issue(hangar: InProcessDaemon, agent: str) -> dict[str, Any]:
    made = await hangar.call("hangar/issue_create", {"title": "t", "assign": agent})
    await hangar.dispatch()
    return await task_row(hangar, made["task"]["id"])


async def test_a_command_agent_sees_its_skills_in_the_worktree(
    hangar: InProcessDaemon, tmp_path: Path
) -> None:
    await sync_skills(hangar, tmp_path)
    repo = make_repo(tmp_path)
    script = tmp_path / "lister.py"
    script.write_text(LISTER)
    await make_agent(hangar, "lister", [sys.executable, str(script)], repo_path=str(repo))
    await hangar.call("hangar/skill_attach", {"skill": "pdf-tools", "agent": "lister"})

    task = await run_issue(hangar, "lister")

    assert task["status"] == "done", task["result"]
    lines = task["result"]["content"].splitlines()
    assert lines == [
        f"ROOT {task['work_dir']}/.agents/skills",
        "FILE pdf-tools/.gitignore 0o644",
        "FILE pdf-tools/SKILL.md 0o644",
        "FILE pdf-tools/scripts/extract.py 0o755",
        "STATUS ''",
    ]
    assert not Path(task["work_dir"]).exists()  # clean, so tidied away after the run


async def test_a_command_agent_without_skills_gets_nothing(
    hangar: InProcessDaemon, tmp_path: Path
) -> None:
    await sync_skills(hangar, tmp_path)  # synced, but not attached to this agent
    script = tmp_path / "lister.py"
    script.write_text(LISTER)
    await make_agent(hangar, "plain", [sys.executable, str(script)])
    task = await run_issue(hangar, "plain")
    assert task["status"] == "done", task["result"]
    assert task["result"]["content"].splitlines()[0] == "ROOT None"
    assert not (Path(task["work_dir"]) / ".agents").exists()


async def test_claude_loads_them_through_add_dir(hangar: InProcessDaemon, tmp_path: Path) -> None:
    await sync_skills(hangar, tmp_path)
    await make_agent(hangar, "claudy", claude_command("skills"), provider="claude")
    await hangar.call("hangar/skill_attach", {"skill": "pdf-tools", "agent": "claudy"})
    await hangar.call("hangar/skill_attach", {"skill": "commit", "agent": "claudy"})

    task = await run_issue(hangar, "claudy")

    assert task["status"] == "done", task["result"]
    slug = (await hangar.store.workspace_default()).slug
    task_root = hangar.daemon.paths.task_root(slug, short_id(task["id"]))
    said = [
        m["body"]
        for m in (await hangar.call("hangar/task_messages", {"task_id": task["id"]}))["messages"]
        if m["kind"] == "agent"
    ]
    assert said == [
        "SKILLS commit pdf-tools",
        f"ADD_DIRS {task_root}",
        f"HANGAR_SKILLS_DIR {task_root}/.claude/skills",
    ]
    assert (
        oct(
            stat.S_IMODE((task_root / ".claude/skills/pdf-tools/scripts/extract.py").stat().st_mode)
        )
        == "0o755"
    )


async def test_claude_without_skills_gets_no_add_dir(
    hangar: InProcessDaemon, tmp_path: Path
) -> None:
    await make_agent(hangar, "bare", claude_command("skills"), provider="claude")
    task = await run_issue(hangar, "bare")
    said = [
        m["body"]
        for m in (await hangar.call("hangar/task_messages", {"task_id": task["id"]}))["messages"]
        if m["kind"] == "agent"
    ]
    assert said == ["SKILLS <none>", "ADD_DIRS <none>", "HANGAR_SKILLS_DIR <unset>"]


# ----------------------------------------------------------------- the real Claude CLI


def real_claude() -> str | None:
    """The real ``claude`` (npm ``@anthropic-ai/claude-code``): $HANGAR_TEST_CLAUDE or PATH."""
    return os.environ.get("HANGAR_TEST_CLAUDE") or shutil.which("claude")


@pytest.mark.skipif(
    real_claude() is None,
    reason="the real claude CLI is not installed (npm install -g @anthropic-ai/claude-code)",
)
async def test_the_real_claude_cli_loads_the_attached_skill(tmp_path: Path, migrated: Path) -> None:
    """Claude Code lists the skills it loaded in its first event, ``system/init``, before it
    finds it has no credentials (a private HOME: it never logs in, nothing leaves the host)."""
    claude = real_claude()
    assert claude is not None
    home = tmp_path / "user-home"
    home.mkdir()
    # root (containers, CI) needs IS_SANDBOX for --dangerously-skip-permissions; let it through
    allow = [*DEFAULT_ALLOW, "IS_SANDBOX"]
    (migrated / ALLOW_FILE).write_text(f"[env]\nallow = {json.dumps(allow)}\n")
    env = {"HOME": str(home), "IS_SANDBOX": "1"}
    async with daemon_in_process(migrated, env=env) as hangar:
        source = tmp_path / "skills"
        write_skill(source, "hello-skill", description="Says hello. Use when greeting someone.")
        await hangar.call("hangar/skills_sync", {"source_path": str(source)})
        await make_agent(hangar, "real", [claude], provider="claude")
        await hangar.call("hangar/skill_attach", {"skill": "hello-skill", "agent": "real"})

        task = await run_issue(hangar, "real")

        slug = (await hangar.store.workspace_default()).slug
        task_root = hangar.daemon.paths.task_root(slug, short_id(task["id"]))
        lines = (task_root / "logs" / "claude.jsonl").read_text().splitlines()
        init = json.loads(lines[0])
        assert (init["type"], init["subtype"]) == ("system", "init"), lines[:3]
        assert "hello-skill" in init["skills"]
