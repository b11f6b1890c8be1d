"""Issue dependencies as a user drives them: the real CLI, a real daemon over its socket
(SQLite and PostgreSQL). Filing blocked work, the blocked/ready lists, show, block and
unblock by hand, refusals with nothing written, and a kill -9 right after a blocker's finish
(the wake is in the finalize's transaction, so a restart finds the dependent queued once)."""

from __future__ import annotations

from typing import Any

from tests.e2e.harness import Hangar, wait_until


def _quick(hangar: Hangar, name: str = "quick") -> None:
    hangar.json(
        "agent", "create", "--name", name, "--provider", "command", "--command", "echo done"
    )


def _ids(rows: list[dict[str, Any]]) -> list[str]:
    return [r["id"] for r in rows]


def _tasks(hangar: Hangar, issue_id: str) -> list[dict[str, Any]]:
    return list(hangar.json("task", "list", "--issue", issue_id))


def test_file_blocked_work_list_show_and_run_it_in_order(hangar: Hangar) -> None:
    _quick(hangar)
    b1 = hangar.json("issue", "create", "--title", "B1")["issue"]["id"]
    b2 = hangar.json("issue", "create", "--title", "B2")["issue"]["id"]
    made = hangar.json(
        "issue", "create", "--title", "A", "--assign", "quick", "--blocked-by", f"{b1},{b2}"
    )
    a = made["issue"]["id"]
    assert made["task"] is None
    assert made["issue"]["blocked"] == f"blocked by {b1}, {b2}"

    said = hangar.run("issue", "create", "--title", "A2", "--blocked-by", b1).out
    assert f"blocked by {b1}: nothing is queued until then" in said
    a2 = said.split()[2]  # "created issue <id>"

    assert set(_ids(hangar.json("issue", "list", "--blocked"))) == {a, a2}
    assert set(_ids(hangar.json("issue", "list", "--ready"))) == {b1, b2}
    both = hangar.run("issue", "list", "--blocked", "--ready", ok=False)
    assert both.code == 2 and "--blocked and --ready exclude each other" in both.err
    listed = hangar.run("issue", "list").out
    assert "BLOCKED" in listed and f"blocked by {b1}, {b2}" in listed

    shown = hangar.run("issue", "show", a).out
    assert "BLOCKED BY" in shown and b1 in shown and b2 in shown and "pending" in shown
    detail = hangar.json("issue", "show", a)
    assert [x["issue_id"] for x in detail["blockers"]] == [b1, b2]
    assert [x["issue_id"] for x in hangar.json("issue", "show", b1)["dependents"]] == [a, a2]
    assert "BLOCKS" in hangar.run("issue", "show", b1).out

    hangar.run("issue", "update", b1, "--state", "done")
    assert _tasks(hangar, a) == []
    hangar.run("issue", "update", b2, "--state", "done")
    [task] = wait_until(lambda: _tasks(hangar, a))
    assert hangar.wait_done(task["id"])["status"] == "done"
    assert hangar.json("issue", "show", a)["issue"]["blocked"] is None


def test_block_unblock_and_refusals_write_nothing(hangar: Hangar) -> None:
    _quick(hangar)
    c = hangar.json("issue", "create", "--title", "C")["issue"]["id"]
    d = hangar.json("issue", "create", "--title", "D")["issue"]["id"]

    out = hangar.run("issue", "block", d, "--by", c).out
    assert f"issue {d} now waits for {c}" in out and f"blocked by {c}" in out
    again = hangar.json("issue", "block", d, "--by", c)
    assert again["changed"] is False and again["issue"]["blocked"] == f"blocked by {c}"

    cycle = hangar.run("issue", "block", c, "--by", d, ok=False)
    assert cycle.code != 0 and f"dependency cycle: {c} -> {d} -> {c}" in cycle.err
    itself = hangar.run("issue", "block", c, "--by", c, ok=False)
    assert itself.code != 0 and "cannot block itself" in itself.err
    missing = hangar.run("issue", "block", c, "--by", "nope", ok=False)
    assert missing.code != 0 and "issue not found: nope" in missing.err
    hangar.json("workspace", "create", "other")
    foreign = hangar.json("issue", "create", "--title", "F", "-w", "other")["issue"]["id"]
    alien = hangar.run("issue", "block", c, "--by", foreign, ok=False)
    assert alien.code == missing.code and f"issue not found: {foreign}" in alien.err

    count = len(hangar.json("issue", "list"))
    bad = hangar.run(
        "issue",
        "create",
        "--title",
        "X",
        "--assign",
        "quick",
        "--blocked-by",
        f"{c},nope",
        ok=False,
    )
    assert bad.code != 0 and "nope" in bad.err
    assert len(hangar.json("issue", "list")) == count  # the create was one transaction
    assert hangar.json("issue", "show", c)["dependents"][0]["issue_id"] == d  # only D

    hangar.run("issue", "assign", d, "quick")
    assert _tasks(hangar, d) == []  # blocked: assigning queued nothing
    freed = hangar.json("issue", "unblock", d, "--by", c)
    assert freed["changed"] is True and freed["issue"]["blocked"] is None
    assert freed["task"] is not None
    assert hangar.wait_done(freed["task"]["id"])["status"] == "done"
    said = hangar.run("issue", "unblock", d, "--by", c).out
    assert f"issue {d} did not wait for {c}" in said
    assert len(_tasks(hangar, d)) == 1

    helped = hangar.run("issue", "block", "--help").out
    assert "wait" in helped and "--by" in helped


def test_kill_9_right_after_the_blocker_finishes_then_restart(hangar: Hangar) -> None:
    _quick(hangar)
    hangar.json(
        "agent", "create", "--name", "later", "--provider", "command", "--command", "echo later"
    )
    blocker = hangar.assign("quick", "B")
    b_task = blocker["task"]["id"]
    a = hangar.json(
        "issue",
        "create",
        "--title",
        "A",
        "--assign",
        "later",
        "--blocked-by",
        blocker["issue"]["id"],
    )["issue"]["id"]

    hangar.wait_done(b_task)
    hangar.kill_daemon()  # the finish and the wake were one transaction: both or neither

    tasks = wait_until(lambda: _tasks(hangar, a))  # restarts the daemon
    assert len(tasks) == 1
    assert hangar.wait_done(tasks[0]["id"])["status"] == "done"
    assert len(_tasks(hangar, a)) == 1
