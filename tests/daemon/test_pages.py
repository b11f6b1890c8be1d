"""List pages always fit a frame: clipping in list views, a byte budget, a cursor."""

from __future__ import annotations

import pytest

from hangar.core.failures import FailureReason
from hangar.daemon.rpc import pages
from hangar.proto import methods
from hangar.testing import InProcessDaemon


async def test_task_pages_clip_results_and_walk_with_the_cursor(hangar: InProcessDaemon) -> None:
    await hangar.call(
        "hangar/agent_create", {"name": "a", "provider": "command", "command": ["true"]}
    )
    noisy = {"content": "\x01" * 8000, "error": "\x02" * 8000, "exit_code": 1}
    ids = []
    for n in range(12):
        made = await hangar.call("hangar/issue_create", {"title": f"t{n}", "assign": "a"})
        ids.append(made["task"]["id"])
        await hangar.store.task_fail(ids[-1], reason=FailureReason.AGENT_ERROR, result=noisy)
    seen, before = [], None
    while True:
        params = {"limit": 5} | ({"before": before} if before else {})
        page = await hangar.call(methods.TASKS_LIST, params)
        for task in page["tasks"]:
            assert len(task["result"]["content"]) < 1100 and task["result"]["exit_code"] == 1
        seen += [t["id"] for t in page["tasks"]]
        before = page["next_before"]
        if before is None:
            break
    assert seen == list(reversed(ids))  # newest first, each once
    whole = await hangar.call(methods.TASK_GET, {"task_id": ids[0]})
    assert whole["task"]["result"] == noisy


async def test_an_unknown_cursor_is_not_found(hangar: InProcessDaemon) -> None:
    from hangar.proto.jsonrpc import NOT_FOUND, RpcError

    with pytest.raises(RpcError) as info:
        await hangar.call(methods.TASKS_LIST, {"before": "nope"})
    assert info.value.code == NOT_FOUND


def test_the_budget_cuts_a_page_but_keeps_at_least_one_row(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pages, "LIST_REPLY_BUDGET", 100)
    rows = ["x" * 40, "y" * 40, "z" * 40]
    assert pages.within_budget(rows) == (rows[:2], True)
    assert pages.within_budget(["w" * 500]) == (["w" * 500], False)
