"""Runs whose provider is in trouble, end to end in-process: a codex that cannot reach its API
(its reconnect notices are not progress), one that recovers, one that gives up and lingers, a
claude that is not logged in (said once, with what to do), and results that stay readable text
however a structured run ends. Waits are deadlines, never fixed sleeps."""

from __future__ import annotations

import sys
import textwrap
from typing import Any

import pytest

from hangar.daemon.providers.claude import LOGIN_HINT
from hangar.testing import InProcessDaemon
from tests.daemon.helpers import claude_command, make_agent, task_row

pytestmark = pytest.mark.usefixtures("migrated")

DETAIL = (
    "stream disconnected before completion: error sending request for url "
    "(https://api.openai.com/v1/responses)"
)
NOT_LOGGED_IN = "Not logged in · Please run /login"

#: a stand-in for ``codex exec --json`` with no network; argv[1] picks the behaviour
FAKE_CODEX = textwrap.dedent(
    """
    import json, sys, time
    DETAIL = @DETAIL@
    def emit(obj):
        sys.stdout.write(json.dumps(obj) + "\\n")
        sys.stdout.flush()
    def reconnect(n):
        emit({"type": "error", "message": f"Reconnecting... {n}/5 ({DETAIL})"})
    mode = sys.argv[1]
    emit({"type": "thread.started", "thread_id": "0199b0c4-2f1e-7a33-9c10-4be0d2a7e651"})
    emit({"type": "turn.started"})
    if mode == "forever":  # unbounded connection retries: the counter starts over
        n = 0
        while True:
            n = n % 5 + 1
            reconnect(n)
            time.sleep(0.05)
    if mode == "recovers":
        for n in (1, 2, 3):
            reconnect(n)
        emit({"type": "item.completed",
              "item": {"id": "item_0", "type": "agent_message", "text": "Fixed it."}})
        emit({"type": "turn.completed",
              "usage": {"input_tokens": 5, "cached_input_tokens": 0, "output_tokens": 2}})
        sys.exit(0)
    if mode == "gives_up_and_lingers":
        for n in range(1, 6):
            reconnect(n)
        emit({"type": "error", "message": DETAIL})
        emit({"type": "turn.failed", "error": {"message": DETAIL}})
        time.sleep(3600)  # never exits on its own
    """
).replace("@DETAIL@", repr(DETAIL))

FAKE_CLAUDE_NOT_LOGGED_IN = textwrap.dedent(
    """
    import json, sys
    SID = "3f6c1b2e-8a41-4d7e-b0c2-5e9a7d1f4c20"
    TEXT = @TEXT@
    def emit(obj):
        sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\\n")
        sys.stdout.flush()
    emit({"type": "system", "subtype": "init", "session_id": SID, "cwd": ".",
          "model": "claude-sonnet-4-5", "apiKeySource": "none", "tools": [], "mcp_servers": []})
    emit({"type": "assistant",
          "message": {"id": "acbc4b28", "model": "<synthetic>", "role": "assistant",
                      "stop_reason": "stop_sequence", "type": "message",
                      "usage": {"input_tokens": 0, "output_tokens": 0},
                      "content": [{"type": "text", "text": TEXT}]},
          "parent_tool_use_id": None, "session_id": SID, "uuid": "5096d9af",
          "error": "authentication_failed"})
    emit({"type": "result", "subtype": "success", "is_error": True, "duration_ms": 31,
          "num_turns": 1, "result": TEXT, "session_id": SID, "total_cost_usd": 0,
          "usage": {"input_tokens": 0, "output_tokens": 0}, "permission_denials": []})
    sys.stderr.write(TEXT + "\\n")
    sys.exit(1)
    """
).replace("@TEXT@", repr(NOT_LOGGED_IN))


FAKE_CLAUDE_DONE_BUT_LINGERING = textwrap.dedent(
    """
    import json, sys, time
    def emit(obj):
        sys.stdout.write(json.dumps(obj) + "\\n")
        sys.stdout.flush()
    emit({"type": "system", "subtype": "init", "session_id": "s-1", "model": "m"})
    emit({"type": "assistant",
          "message": {"content": [{"type": "text", "text": "Wrote the fix."}]}})
    emit({"type": "result", "subtype": "success", "is_error": False, "result": "Fixed.",
          "session_id": "s-1", "usage": {"input_tokens": 1, "output_tokens": 1}})
    time.sleep(3600)  # a background child, a stuck MCP server: it never exits
    """
)


def codex(mode: str) -> list[str]:
    return [sys.executable, "-c", FAKE_CODEX, mode]


async def run_one(hangar: InProcessDaemon, agent: str) -> dict[str, Any]:
    made = await hangar.call("hangar/issue_create", {"title": "t", "assign": agent})
    await hangar.dispatch(timeout=90)  # a deadline: the run ends long before it
    return await task_row(hangar, made["task"]["id"])


async def messages(hangar: InProcessDaemon, task_id: str) -> list[tuple[str, str]]:
    got = (await hangar.call("hangar/task_messages", {"task_id": task_id}))["messages"]
    return [(m["kind"], m["body"]) for m in got]


def assert_readable(result: dict[str, Any]) -> None:
    """No raw JSON event line in what `hangar task show` prints."""
    for field in ("content", "error"):
        for line in str(result.get(field, "")).splitlines():
            assert not line.lstrip().startswith('{"'), (field, line)


async def test_a_codex_reconnecting_forever_fails_with_its_error_not_the_max_runtime(
    hangar: InProcessDaemon,
) -> None:
    # A notice every 50 ms: were they progress, the 3 s inactivity limit would never fire and
    # only the max runtime (20 s) would end the run.
    await make_agent(
        hangar,
        "offline",
        codex("forever"),
        provider="codex",
        inactivity_timeout_ms=3000,
        max_runtime_ms=20_000,
    )

    task = await run_one(hangar, "offline")

    assert (task["status"], task["failure_reason"]) == ("failed", "agent_error")
    error = task["result"]["error"]
    assert error.startswith(f"codex could not reach its API: {DETAIL} (retry ")
    assert "gave up after" in error and "without progress" in error
    assert "max runtime" not in error and "inactivity" not in error
    assert task["result"]["content"] == ""  # nothing meaningful was said; never raw JSONL
    assert_readable(task["result"])
    lines = await messages(hangar, task["id"])
    assert lines == [
        ("error", f"codex could not reach its API: {DETAIL} (retry 1/5)"),  # once per series
        ("error", error),
    ]


async def test_a_codex_that_reconnects_then_works_is_done(hangar: InProcessDaemon) -> None:
    await make_agent(hangar, "flaky-net", codex("recovers"), provider="codex")

    task = await run_one(hangar, "flaky-net")

    assert task["status"] == "done", task["result"]
    assert task["result"]["content"] == "Fixed it."
    assert await messages(hangar, task["id"]) == [
        ("error", f"codex could not reach its API: {DETAIL} (retry 1/5)"),
        ("agent", "Fixed it."),
    ]


async def test_a_codex_that_gives_up_and_lingers_fails_with_its_own_error(
    hangar: InProcessDaemon,
) -> None:
    # it never exits: the run ends on its silence, with the verdict it already gave
    await make_agent(
        hangar,
        "quitter",
        codex("gives_up_and_lingers"),
        provider="codex",
        inactivity_timeout_ms=3000,
        max_runtime_ms=60_000,
    )

    task = await run_one(hangar, "quitter")

    gave_up = f"codex could not reach its API after 5 retries: {DETAIL}"
    assert (task["status"], task["failure_reason"]) == ("failed", "agent_error")
    assert task["result"]["error"] == gave_up
    assert task["result"]["content"] == ""
    assert await messages(hangar, task["id"]) == [
        ("error", f"codex could not reach its API: {DETAIL} (retry 1/5)"),
        ("error", gave_up),  # said once: not by turn.failed again, not by the runner
    ]


async def test_a_claude_that_is_not_logged_in_says_so_once_with_what_to_do(
    hangar: InProcessDaemon,
) -> None:
    await make_agent(
        hangar, "no-login", [sys.executable, "-c", FAKE_CLAUDE_NOT_LOGGED_IN], provider="claude"
    )

    task = await run_one(hangar, "no-login")

    assert (task["status"], task["failure_reason"]) == ("failed", "agent_error")
    lines = await messages(hangar, task["id"])
    assert lines == [
        ("error", f"{NOT_LOGGED_IN} (authentication_failed)"),
        ("error", LOGIN_HINT),
    ]
    result = task["result"]
    shown = f"{result.get('error', '')}\n{result['content']}"  # what `hangar task show` prints
    assert shown.count("Not logged in") == 1
    assert "claude /login" in result["error"] and "ANTHROPIC_API_KEY" in result["error"]
    assert_readable(result)


async def test_a_run_that_gave_its_verdict_then_lingers_ends_with_that_verdict(
    hangar: InProcessDaemon,
) -> None:
    await make_agent(
        hangar,
        "lingerer",
        [sys.executable, "-c", FAKE_CLAUDE_DONE_BUT_LINGERING],
        provider="claude",
        inactivity_timeout_ms=3000,
    )

    task = await run_one(hangar, "lingerer")

    assert task["status"] == "done", task["result"]  # not an inactivity timeout
    assert task["result"]["content"] == "Fixed."
    assert task["session_id"] == "s-1"


@pytest.mark.parametrize(
    ("scenario", "limits", "said"),
    [
        # silent after its first lines: killed by the inactivity watchdog
        ("hang", {"inactivity_timeout_ms": 3000}, "child pid"),
        # exits 1 without a result line
        ("crash", {}, "Starting work…"),
        # killed at its max runtime while still talking
        ("slow", {"max_runtime_ms": 3000}, "tick"),
    ],
)
async def test_a_structured_run_that_ends_badly_keeps_a_readable_result(
    hangar: InProcessDaemon, scenario: str, limits: dict[str, int], said: str
) -> None:
    await make_agent(hangar, "c", claude_command(scenario), provider="claude", **limits)

    task = await run_one(hangar, "c")

    assert task["status"] == "failed"
    assert task["result"]["content"].startswith(said)  # the last thing the agent said
    assert_readable(task["result"])
