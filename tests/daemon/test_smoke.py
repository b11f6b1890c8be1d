from __future__ import annotations

from hangar.testing import InProcessDaemon


async def test_an_assigned_issue_runs_to_done(hangar: InProcessDaemon) -> None:
    events = await hangar.subscribe()
    await hangar.call(
        "hangar/agent_create", {"name": "ok", "provider": "command", "command": ["true"]}
    )
    made = await hangar.call("hangar/issue_create", {"title": "t", "assign": "ok"})
    await hangar.dispatch()
    task = (await hangar.call("hangar/task_get", {"task_id": made["task"]["id"]}))["task"]
    assert task["status"] == "done"
    assert events.names() == [
        "IssueCreated",
        "TaskQueued",
        "TaskStarted",
        "IssueUpdated",
        "TaskFinished",
        "IssueUpdated",
    ]
