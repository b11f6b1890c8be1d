"""Skills and templates as a user meets them: the real CLI, a real daemon over its socket,
a real git repository, and an agent that reports what skills it can see."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from tests.e2e.harness import Hangar, make_repo
from tests.skillkit import write_skill

LISTER = """\
import os, stat, subprocess
root = os.environ.get("HANGAR_SKILLS_DIR")
print("ROOT", os.path.relpath(root, os.getcwd()) if root else None)
for dirpath, dirs, files in sorted(os.walk(root or "/nonexistent")):
    dirs.sort()
    for name in sorted(files):
        path = os.path.join(dirpath, name)
        print("FILE", os.path.relpath(path, root), oct(stat.S_IMODE(os.stat(path).st_mode)))
status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"],
                        capture_output=True, text=True)
print("STATUS", repr(status.stdout))
"""


def source(tmp: Path) -> Path:
    root = tmp / "my-skills"
    write_skill(
        root,
        "pdf-tools",
        description="Extract text from PDFs. Use when a PDF is mentioned.",
        body="# PDF tools\n\nRun scripts/extract.py FILE.\n",
        files={"scripts/extract.py": "print('text')\n"},
    )
    write_skill(root, "commit")
    return root


def test_sync_list_show_attach_and_a_run_that_sees_them(hangar: Hangar, tmp_path: Path) -> None:
    src = source(tmp_path)
    first = hangar.json("skills", "sync", "--source", str(src))
    assert [(s["name"], s["status"]) for s in first["skills"]] == [
        ("commit", "created"),
        ("pdf-tools", "created"),
    ]
    again = hangar.run("skills", "sync", "--source", str(src))
    assert again.out.splitlines() == [
        "unchanged  commit  (1 file, 72 B)",
        "unchanged  pdf-tools  (2 files, 146 B)",
    ]

    listed = hangar.json("skills", "list")
    assert [(s["name"], s["file_count"]) for s in listed] == [("commit", 1), ("pdf-tools", 2)]
    shown = hangar.run("skills", "show", "pdf-tools").out
    assert "Extract text from PDFs." in shown
    assert "  -       14 B  scripts/extract.py" in shown  # not executable at the source
    assert "Run scripts/extract.py FILE." in shown

    repo = make_repo(tmp_path / "repo")
    script = tmp_path / "lister.py"
    script.write_text(LISTER)
    cmd = f"{sys.executable} {script}"
    hangar.json(
        "agent",
        "create",
        "--name",
        "lister",
        "--provider",
        "command",
        "--command",
        cmd,
        "--repo",
        str(repo),
    )
    assert hangar.run("skills", "attach", "pdf-tools", "--agent", "lister").out == (
        "attached pdf-tools to lister\n"
    )
    assert (
        "already attached" in hangar.run("skills", "attach", "pdf-tools", "--agent", "lister").out
    )
    assert [s["name"] for s in hangar.json("skills", "list", "--agent", "lister")] == ["pdf-tools"]

    task = hangar.wait_done(hangar.assign("lister")["task"]["id"])
    assert task["status"] == "done", task["result"]
    assert task["result"]["content"].splitlines() == [
        "ROOT .agents/skills",
        "FILE pdf-tools/.gitignore 0o644",
        "FILE pdf-tools/SKILL.md 0o644",
        "FILE pdf-tools/scripts/extract.py 0o755",
        "STATUS ''",
    ]

    assert hangar.run("skills", "detach", "pdf-tools", "--agent", "lister").out.startswith(
        "detached"
    )
    assert hangar.run("skills", "remove", "commit").out == "removed commit\n"
    assert [s["name"] for s in hangar.json("skills", "list")] == ["pdf-tools"]


def test_sync_defaults_to_the_toolkit_variable_then_the_bundled_one(
    hangar: Hangar, tmp_path: Path
) -> None:
    src = source(tmp_path)
    env = {"AINB_TOOLKIT_SKILLS_DIR": str(src)}
    res = hangar.run("skills", "sync", "--dry-run", "--json", extra_env=env).json()
    assert res["source"] == str(src) and res["dry_run"] and not res["written"]
    assert hangar.json("skills", "list") == []
    bundled = hangar.json("skills", "sync")
    assert len(bundled["skills"]) == 14 and bundled["source"].endswith("toolkit/skills")


def test_bad_skills_are_named_and_nothing_is_written(hangar: Hangar, tmp_path: Path) -> None:
    src = source(tmp_path)
    write_skill(src, "pdf", dir_name="wrong-name")
    huge = write_skill(src, "huge")
    with open(huge / "big.bin", "wb") as fh:
        fh.truncate(100 * 1024 * 1024)
    linked = write_skill(src, "linked")
    os.symlink("/etc/passwd", linked / "passwd")
    (src / "notes").mkdir()

    res = hangar.run("skills", "sync", "--source", str(src), ok=False)

    assert res.code == 1
    err = res.err.splitlines()
    assert "skipped notes: no SKILL.md: not a skill" in err
    assert any(line.startswith("refused huge: big.bin is 100.0 MiB") for line in err)
    assert any("refused linked: passwd is a symlink to /etc/passwd" in line for line in err)
    assert any("refused wrong-name: name 'pdf' differs" in line for line in err)
    assert err[-1] == "hangar: error: nothing written: 3 skills refused (all or nothing)"
    assert hangar.json("skills", "list") == []
    missing = hangar.run("skills", "sync", "--source", str(tmp_path / "nope"), ok=False)
    assert missing.code == 1 and "does not exist" in missing.err
    assert hangar.run("daemon", "status").code == 0  # still serving


def test_another_workspaces_skill_is_not_found(hangar: Hangar, tmp_path: Path) -> None:
    hangar.run("workspace", "create", "other")
    hangar.run("skills", "sync", "--source", str(source(tmp_path)), "--workspace", "other")
    theirs = hangar.json("skills", "list", "--workspace", "other")[0]["id"]
    hangar.json("agent", "create", "--name", "bot", "--provider", "command", "--command", "true")
    foreign = hangar.run("skills", "attach", theirs, "--agent", "bot", ok=False)
    missing = hangar.run(
        "skills", "attach", "01JZZZZZZZZZZZZZZZZZZZZZZZ", "--agent", "bot", ok=False
    )
    assert foreign.code == missing.code == 4
    assert foreign.err == f"hangar: error: skill not found: {theirs}\n"
    assert hangar.run("skills", "show", "nope", ok=False).code == 4


def test_templates_list_show_and_use_on_a_fresh_home(hangar: Hangar) -> None:
    listed = hangar.json("templates", "list")
    assert [t["name"] for t in listed][:3] == ["code-reviewer", "brainstormer", "bug-fixer"]
    assert len(listed) == 10
    text = hangar.run("templates", "list").out
    assert text.splitlines()[0].split() == ["NAME", "SKILLS", "DESCRIPTION"]
    shown = hangar.run("templates", "show", "bug-fixer").out
    assert "debug-bridge, expect-test" in shown and "You are a bug fixer." in shown

    used = hangar.run(
        "templates",
        "use",
        "bug-fixer",
        "--agent-name",
        "fixer",
        "--provider",
        "command",
        "--command",
        "true",
    ).out.splitlines()
    assert used[0].startswith("created agent fixer (")
    assert used[1] == "synced from the bundled toolkit: debug-bridge, expect-test"
    assert [s["name"] for s in hangar.json("skills", "list", "--agent", "fixer")] == [
        "debug-bridge",
        "expect-test",
    ]
    assert hangar.json("agent", "show", "fixer")["instructions"].startswith("You are a bug fixer.")


def test_templates_use_bad_input(hangar: Hangar) -> None:
    unknown = hangar.run("templates", "use", "chef", "--provider", "command", ok=False)
    assert unknown.code == 4
    assert unknown.err.startswith("hangar: error: template not found: chef (the templates are: ")
    assert hangar.json("agent", "list") == [] and hangar.json("skills", "list") == []
    hangar.json(
        "agent", "create", "--name", "planner", "--provider", "command", "--command", "true"
    )
    taken = hangar.run(
        "templates", "use", "planner", "--provider", "command", "--command", "true", ok=False
    )
    assert taken.code == 1 and "--agent-name" in taken.err
    assert hangar.json("skills", "list") == []  # nothing half-written
    show = hangar.run("templates", "show", "chef", ok=False)
    assert show.code == 4
