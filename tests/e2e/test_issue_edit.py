"""Editing issues, their threads and renaming workspaces, as a user does it: the real CLI, a
real daemon over its socket (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.e2e.harness import Hangar, wait_until


def _comments(hangar: Hangar, issue_id: str) -> list[dict[str, object]]:
    page = hangar.json("issue", "comments", issue_id)
    return list(page["comments"])


def _stdin(hangar: Hangar, text: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hangar.cli", *args],
        input=text,
        env=hangar.env,
        cwd=hangar.tmp,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_edit_assign_close_reopen_and_the_thread(hangar: Hangar) -> None:
    hangar.json(
        "agent",
        "create",
        "--name",
        "quick",
        "--provider",
        "command",
        "--command",
        "echo done-by-quick",
    )
    hangar.json(
        "agent", "create", "--name", "sleepy", "--provider", "command", "--command", "sleep 30"
    )
    issue_id = hangar.json("issue", "create", "--title", "Old")["issue"]["id"]

    row = hangar.json(
        "issue", "update", issue_id, "--title", "New", "--description", "Do it", "--priority", "2"
    )
    assert (row["title"], row["description"], row["priority"]) == ("New", "Do it", 2)

    said = hangar.run("issue", "assign", issue_id, "sleepy").out
    assert "assigned issue" in said and "queued task" in said
    [task] = hangar.json("task", "list", "--issue", issue_id)
    hangar.wait_status(task["id"], {"running"})

    hangar.run("issue", "comment", issue_id, "please *hurry*")
    piped = _stdin(hangar, "from a pipe\n\nsecond paragraph\n", "issue", "comment", issue_id, "-")
    assert piped.returncode == 0, piped.stderr

    closed = hangar.run("issue", "close", issue_id)
    assert "closed issue" in closed.out and "done" in closed.out
    # the close waited for the daemon to stop the run it was holding
    assert hangar.task(task["id"])["status"] == "cancelled"
    refused = hangar.run("issue", "update", issue_id, "--state", "cancelled", ok=False)
    assert refused.code == 1 and "from done it can go to open" in refused.err
    assert hangar.json("issue", "reopen", issue_id)["state"] == "open"

    hangar.run("issue", "assign", issue_id, "quick")
    quick_task = next(
        t for t in hangar.json("task", "list", "--issue", issue_id) if t["status"] != "cancelled"
    )
    hangar.wait_done(quick_task["id"])
    comments = wait_until(lambda: (c := _comments(hangar, issue_id)) and len(c) == 3 and c)
    assert [c["body"] for c in comments][:2] == [
        "please *hurry*",
        "from a pipe\n\nsecond paragraph",
    ]
    assert str(comments[2]["author"]).startswith("agent:")
    assert "done-by-quick" in str(comments[2]["body"])

    shown = hangar.run("issue", "show", issue_id).out
    assert (
        shown.index("please *hurry*") < shown.index("from a pipe") < shown.rindex("done-by-quick")
    )
    assert "quick" in shown  # the agent named as the result's author
    detail = hangar.json("issue", "show", issue_id)
    assert [c["id"] for c in detail["comments"]] == [c["id"] for c in comments]

    page = hangar.json("issue", "comments", issue_id, "--limit", "2")
    older = hangar.json(
        "issue", "comments", issue_id, "--limit", "2", "--before", page["next_before"]
    )
    assert [c["id"] for c in older["comments"] + page["comments"]] == [c["id"] for c in comments]

    assert hangar.json("issue", "show", issue_id)["issue"]["state"] == "done"  # the run did it
    assert hangar.json("issue", "unassign", issue_id)["assignee"] is None
    hangar.run("issue", "reopen", issue_id)
    assert hangar.json("issue", "close", issue_id, "--as", "cancelled")["state"] == "cancelled"


def test_bad_edits_and_comments_are_one_clear_line_and_write_nothing(hangar: Hangar) -> None:
    hangar.run("workspace", "create", "other")
    theirs = hangar.json("issue", "create", "--title", "theirs", "--workspace", "other")
    mine = hangar.json("issue", "create", "--title", "mine")["issue"]["id"]
    foreign = theirs["issue"]["id"]

    cases = [
        (("issue", "comment", foreign, "hi"), 4, "issue not found"),
        (("issue", "update", foreign, "--title", "x"), 4, "issue not found"),
        (("issue", "close", foreign), 4, "issue not found"),
        (("issue", "comment", mine, "   "), 1, "must not be empty"),
        (("issue", "update", mine, "--state", "closed"), 2, "closed"),
        (("issue", "update", mine), 2, "nothing to change"),
        (("issue", "assign", mine, "ghost"), 4, "agent not found"),
        (("issue", "update", mine, "--priority", "9"), 2, "priority"),
        (("workspace", "rename", "other", "Bad Slug"), 1, "invalid slug"),
    ]
    for args, code, needle in cases:
        res = hangar.run(*args, ok=False)
        assert res.code == code, (args, res.code, res.err)
        assert needle.lower() in res.err.lower(), (args, res.err)
        assert code == 2 or len(res.err.strip().splitlines()) == 1, res.err

    huge = _stdin(hangar, "x" * (10 * 1024 * 1024), "issue", "comment", mine, "--stdin")
    assert huge.returncode == 1 and "the limit is 64 KiB" in huge.stderr, huge.stderr

    # nothing half-written, and the daemon serves on
    assert _comments(hangar, mine) == []
    assert hangar.json("issue", "show", mine)["issue"]["title"] == "mine"
    assert hangar.json("issue", "show", foreign, "--workspace", "other")["issue"]["title"] == (
        "theirs"
    )


def test_workspace_rename_and_default(hangar: Hangar) -> None:
    hangar.run("workspace", "list")  # the default workspace is made on first use
    hangar.run("workspace", "create", "team")
    issue = hangar.json("issue", "create", "--title", "t", "--workspace", "team")["issue"]

    renamed = hangar.json("workspace", "rename", "team", "crew")
    assert (renamed["slug"], renamed["name"]) == ("crew", "crew")
    assert (
        hangar.json("issue", "show", issue["id"], "--workspace", "crew")["issue"]["id"]
        == (issue["id"])
    )
    taken = hangar.run("workspace", "rename", "crew", "default", ok=False)
    assert taken.code == 1 and "already exists" in taken.err
    assert hangar.run("workspace", "rename", "nope", "x", ok=False).code == 4

    said = hangar.run("workspace", "default", "crew").out
    assert "default workspace is now crew" in said
    rows = json.loads(hangar.run("workspace", "list", "--json").out)
    assert [w["slug"] for w in rows if w["is_default"]] == ["crew"]
    assert [i["id"] for i in hangar.json("issue", "list")] == [issue["id"]]
