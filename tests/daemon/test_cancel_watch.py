"""A cancel marked on the row (as another daemon does) stops the run here."""

from __future__ import annotations

from hangar.testing import InProcessDaemon, wait_for


async def test_a_marked_cancel_stops_the_local_run_and_finalizes_it(
    hangar: InProcessDaemon,
) -> None:
    await hangar.call(
        "hangar/agent_create", {"name": "slow", "provider": "command", "command": ["sleep", "60"]}
    )
    made = await hangar.call("hangar/issue_create", {"title": "t", "assign": "slow"})
    task_id = made["task"]["id"]
    await hangar.dispatcher.refresh_runtimes()
    await hangar.dispatcher.fill_slots()

    async def running() -> bool:
        task = await hangar.store.task_get(made["task"]["workspace_id"], task_id)
        return task is not None and task.status == "running"

    await wait_for(running, timeout=20)
    assert await hangar.dispatcher.stop_cancelled() == 0  # nothing asked yet
    # the mark another daemon's cancel leaves; no signal reaches this process
    change = await hangar.store.task_request_cancel(made["task"]["workspace_id"], task_id)
    assert change.task is not None and change.task.cancel_requested_at is not None
    assert hangar.dispatcher.runs  # still running: nobody told the runner

    assert await hangar.dispatcher.stop_cancelled() == 1
    await hangar.dispatcher.drain(timeout=20)
    task = await hangar.store.task_get(made["task"]["workspace_id"], task_id)
    assert task is not None and (task.status, task.failure_reason) == ("cancelled", "user_cancel")
