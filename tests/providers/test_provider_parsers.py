"""Parser tests over golden transcripts and hand-made lines: lanes, ids, usage, outcomes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from hangar.core.failures import FailureReason
from hangar.daemon.providers import (
    Message,
    MessageKind,
    Outcome,
    TranscriptParser,
    Usage,
    get_provider,
)
from hangar.daemon.providers.base import clip, render_tool_call

from .helpers import read_transcript

K = MessageKind
SID = "3f6c1b2e-8a41-4d7e-b0c2-5e9a7d1f4c20"


def feed_all(parser: TranscriptParser, lines: list[str]) -> list[Message]:
    out: list[Message] = []
    for line in lines:
        out += parser.feed(line)
    return out


def j(obj: dict[str, Any]) -> str:
    return json.dumps(obj)


GARBAGE = [
    "",
    "   ",
    "not json",
    "{",
    "[1,2]",
    "null",
    '"a string"',
    "{}",
    '{"type": 5}',
    '{"type": "assistant", "message": "nope"}',
    '{"type": "assistant", "message": {"content": "text"}}',
    '{"type": "assistant", "message": {"content": [1, null, "x", {"type": "tool_use"}]}}',
    '{"type": "user", "message": {"content": [{"type": "tool_result", "content": 7}]}}',
    '{"type": "result", "subtype": null, "usage": "x", "modelUsage": [1]}',
    '{"type": "item.completed", "item": null}',
    '{"type": "item.completed", "item": {"type": "command_execution", "exit_code": "x"}}',
    '{"type": "turn.completed", "usage": {"input_tokens": "many"}}',
    '{"type": "message", "role": "assistant", "content": null, "delta": true}',
    '{"type": "tool_result", "output": {"deep": [1, 2]}}',
    '{"type": "unknown_future_event", "x": 1}',
    "[" * 100_000,
    "\x00\xff\ud800",
]


@pytest.mark.parametrize("provider", ["claude", "codex", "gemini", "command"])
def test_garbage_never_raises(provider: str) -> None:
    parser = get_provider(provider).parser()
    for line in GARBAGE:
        result = parser.feed(line)
        assert isinstance(result, list)
    outcome = parser.finish(1, "")
    assert isinstance(outcome, Outcome)
    assert outcome.exit_code == 1


# ---------------------------------------------------------------- claude


def test_claude_happy_transcript() -> None:
    parser = get_provider("claude").parser()
    lines = read_transcript("claude_happy.jsonl")
    first = parser.feed(lines[0])
    assert first == []
    assert parser.session_id == SID  # pinned from system/init, before anything else
    messages = first + feed_all(parser, lines[1:])
    assert messages == [
        Message(K.THINKING, "The fix is small; open a PR after the tests pass."),
        Message(K.TOOL_CALL, "Bash: pytest -q"),
        Message(K.ERROR, "1 failed, 3 passed"),
        Message(K.TOOL_CALL, "Bash: gh pr create --fill"),
        Message(K.TOOL_RESULT, "https://github.com/acme/web/pull/88\n"),
        Message(K.AGENT, "Opened the PR."),
    ]
    outcome = parser.finish(0, "")
    assert outcome.succeeded is True
    assert outcome.failure_reason is None
    assert outcome.error is None
    assert outcome.result_text == "Opened the PR."
    assert outcome.session_id == SID
    assert outcome.pr_url == "https://github.com/acme/web/pull/88"
    assert outcome.exit_code == 0
    assert outcome.usage == [
        Usage(
            model="claude-sonnet-4-5",
            input_tokens=130,
            output_tokens=1100,
            cache_read_tokens=52000,
            cache_creation_tokens=4100,
            cost_usd=0.2,
        ),
        Usage(model="claude-haiku-4-5", input_tokens=10, output_tokens=110, cost_usd=0.01),
    ]


def test_claude_is_error_with_success_subtype_fails() -> None:
    parser = get_provider("claude").parser()
    messages = feed_all(parser, read_transcript("claude_is_error.jsonl"))
    # the synthetic assistant message carries the error; the result repeats it: said once
    assert messages == [
        Message(K.ERROR, "API Error: 400 invalid_request_error … (invalid_request)")
    ]
    # The CLI deliberately exits non-zero after an is_error result; exit 0 must fail too.
    for code in (1, 0):
        outcome = parser.finish(code, "")
        assert outcome.succeeded is False
        assert outcome.failure_reason is FailureReason.AGENT_ERROR
        assert outcome.error == "API Error: 400 invalid_request_error …"
        assert outcome.session_id == SID
        assert outcome.usage == [Usage(model="claude-sonnet-4-5", cost_usd=0.0)]


def _claude_result(**fields: Any) -> str:
    return j({"type": "result", "session_id": SID, **fields})


def test_claude_usage_from_last_result_without_model_usage() -> None:
    parser = get_provider("claude").parser(model="configured-model")
    parser.feed(_claude_result(subtype="success", is_error=False, result="a", total_cost_usd=9.0))
    parser.feed(
        _claude_result(
            subtype="success",
            is_error=False,
            result="b",
            total_cost_usd=0.5,
            usage={
                "input_tokens": 7,
                "output_tokens": 8,
                "cache_read_input_tokens": 9,
                "cache_creation_input_tokens": 10,
            },
        )
    )
    outcome = parser.finish(0, "")
    assert outcome.succeeded
    assert outcome.result_text == "b"
    assert outcome.usage == [
        Usage(
            model="configured-model",
            input_tokens=7,
            output_tokens=8,
            cache_read_tokens=9,
            cache_creation_tokens=10,
            cost_usd=0.5,
        )
    ]


def test_claude_session_id_pinned_first_and_kept() -> None:
    parser = get_provider("claude").parser()
    assert parser.session_id is None
    parser.feed(j({"type": "system", "subtype": "hook_started", "session_id": "first"}))
    assert parser.session_id == "first"
    parser.feed(j({"type": "system", "subtype": "init", "session_id": "second"}))
    assert parser.session_id == "first"


def test_claude_session_id_from_result_when_never_seen_earlier() -> None:
    parser = get_provider("claude").parser()
    parser.feed(j({"type": "result", "subtype": "success", "is_error": False, "result": "x"}))
    assert parser.session_id is None
    parser.feed(_claude_result(subtype="success", is_error=False, result="x"))
    assert parser.finish(0, "").session_id == SID


def test_claude_max_turns() -> None:
    parser = get_provider("claude").parser()
    parser.feed(_claude_result(subtype="error_max_turns", is_error=False, num_turns=30))
    outcome = parser.finish(1, "")
    assert outcome.failure_reason is FailureReason.AGENT_ERROR
    assert outcome.error is not None and "max turns" in outcome.error


def test_claude_max_turns_with_is_error_still_mentions_max_turns() -> None:
    parser = get_provider("claude").parser()
    parser.feed(_claude_result(subtype="error_max_turns", is_error=True, errors=["cap hit"]))
    outcome = parser.finish(1, "")
    assert outcome.failure_reason is FailureReason.AGENT_ERROR
    assert outcome.error is not None
    assert "max turns" in outcome.error and "cap hit" in outcome.error


def test_claude_error_during_execution_is_agent_error() -> None:
    parser = get_provider("claude").parser()
    parser.feed(_claude_result(subtype="error_during_execution", errors=["tool crashed"]))
    outcome = parser.finish(1, "")
    assert outcome.failure_reason is FailureReason.AGENT_ERROR
    assert outcome.error is not None and "tool crashed" in outcome.error


def test_claude_unknown_subtype_is_contract_drift() -> None:
    parser = get_provider("claude").parser()
    parser.feed(_claude_result(subtype="success_but_different", is_error=False, result="ok"))
    outcome = parser.finish(0, "")
    assert outcome.succeeded is False
    assert outcome.failure_reason is FailureReason.UNKNOWN
    assert outcome.error == "provider contract drift: subtype success_but_different"


def test_claude_success_wins_over_nonzero_exit() -> None:
    parser = get_provider("claude").parser()
    parser.feed(_claude_result(subtype="success", is_error=False, result="ok"))
    outcome = parser.finish(143, "terminated")
    assert outcome.succeeded is True
    assert outcome.exit_code == 143


@pytest.mark.parametrize(
    ("code", "reason", "needle"),
    [
        (75, FailureReason.RUNTIME_OFFLINE, "75"),
        (1, FailureReason.AGENT_ERROR, "boom: segfault"),
        (-9, FailureReason.AGENT_ERROR, "-9"),
        (0, FailureReason.UNKNOWN, "exited without a result line"),
    ],
)
def test_claude_no_result_line_uses_exit_code(
    code: int, reason: FailureReason, needle: str
) -> None:
    parser = get_provider("claude").parser()
    feed_all(parser, read_transcript("claude_happy.jsonl")[:3])
    outcome = parser.finish(code, "warning: x\nboom: segfault\n")
    assert outcome.succeeded is False
    assert outcome.failure_reason is reason
    assert outcome.error is not None and needle in outcome.error
    assert outcome.session_id == SID  # still a resume pointer after a crash
    assert outcome.usage == []
    assert outcome.exit_code == code


def test_claude_pr_url_last_wins_and_result_text_counts() -> None:
    parser = get_provider("claude").parser()

    def tool_result(content: Any) -> str:
        block = {"type": "tool_result", "tool_use_id": "t", "content": content, "is_error": False}
        return j({"type": "user", "message": {"content": [block]}})

    parser.feed(tool_result("https://github.com/acme/web/pull/1\n"))
    parser.feed(tool_result([{"type": "text", "text": "done\nhttps://github.com/acme/web/pull/2"}]))
    parser.feed(tool_result("see https://github.com/acme/web/pull/3 mid-sentence"))
    parser.feed(tool_result("https://github.com/acme/web/pull/4/files"))
    parser.feed(_claude_result(subtype="success", is_error=False, result="Opened it."))
    assert parser.finish(0, "").pr_url == "https://github.com/acme/web/pull/2"

    parser = get_provider("claude").parser()
    parser.feed(tool_result("https://github.com/acme/web/pull/1"))
    parser.feed(
        _claude_result(
            subtype="success", is_error=False, result="PR:\n  https://github.com/acme/web/pull/9  "
        )
    )
    assert parser.finish(0, "").pr_url == "https://github.com/acme/web/pull/9"


def test_claude_raw_stream_json_line_never_matches_pr_url() -> None:
    parser = get_provider("claude").parser()
    parser.feed(
        j(
            {
                "type": "assistant",
                "message": {"content": [{"type": "text", "text": "no url in tool results"}]},
            }
        )
    )
    parser.feed(_claude_result(subtype="success", is_error=False, result="Nothing to open."))
    assert parser.finish(0, "").pr_url is None


def test_claude_long_tool_result_is_clipped() -> None:
    parser = get_provider("claude").parser()
    big = "x" * 10_000
    block = {"type": "tool_result", "tool_use_id": "t", "content": big}
    (message,) = parser.feed(j({"type": "user", "message": {"content": [block]}}))
    assert message.kind is K.TOOL_RESULT
    assert message.body == "x" * 8192 + "… [clipped 1808 chars]"


# ---------------------------------------------------------------- codex

THREAD = "0199b0c4-2f1e-7a33-9c10-4be0d2a7e651"


def test_codex_happy_transcript() -> None:
    parser = get_provider("codex").parser(model="gpt-5-codex")
    lines = read_transcript("codex_happy.jsonl")
    parser.feed(lines[0])
    assert parser.session_id == THREAD
    messages = feed_all(parser, lines[1:])
    assert messages == [
        Message(K.THINKING, "Check the failing test first."),
        Message(K.TOOL_CALL, "Shell: bash -lc 'pytest -q tests/test_auth.py'"),
        Message(K.TOOL_RESULT, "2 passed\n"),
        # No item.started for these two: the call is shown right before its result.
        Message(K.TOOL_CALL, "Shell: bash -lc 'gh pr create --fill'"),
        Message(K.TOOL_RESULT, "Creating pull request\nhttps://github.com/acme/api/pull/12\n"),
        Message(K.TOOL_CALL, "Shell: bash -lc 'false'"),
        Message(K.ERROR, "command failed (exit code 1)"),
        Message(K.AGENT, "Fixed the redirect; tests pass."),
    ]
    outcome = parser.finish(0, "")
    assert outcome.succeeded is True
    assert outcome.result_text == "Fixed the redirect; tests pass."
    assert outcome.session_id == THREAD
    assert outcome.pr_url == "https://github.com/acme/api/pull/12"
    assert outcome.usage == [
        Usage(model="gpt-5-codex", input_tokens=18250, output_tokens=342, cache_read_tokens=16100)
    ]


def test_codex_completed_turn_wins_over_nonzero_exit() -> None:
    parser = get_provider("codex").parser()
    feed_all(parser, read_transcript("codex_happy.jsonl"))
    outcome = parser.finish(1, "some noise")
    assert outcome.succeeded is True
    assert outcome.usage[0].model == "codex"


def test_codex_failed_turn_with_lying_exit_code() -> None:
    parser = get_provider("codex").parser()
    messages = feed_all(parser, read_transcript("codex_failed.jsonl"))
    assert messages[-1] == Message(K.ERROR, "stream error: upstream closed")
    outcome = parser.finish(0, "")
    assert outcome.succeeded is False
    assert outcome.failure_reason is FailureReason.AGENT_ERROR
    assert outcome.error == "stream error: upstream closed"
    assert outcome.result_text == "Working on it."
    assert outcome.session_id == THREAD
    assert outcome.usage == []


def test_codex_top_level_error_fails_even_after_completed_turn() -> None:
    parser = get_provider("codex").parser()
    parser.feed(j({"type": "thread.started", "thread_id": "t"}))
    parser.feed(j({"type": "error", "message": "401 Unauthorized"}))
    parser.feed(j({"type": "turn.completed", "usage": {"input_tokens": 1, "output_tokens": 2}}))
    outcome = parser.finish(0, "")
    assert outcome.failure_reason is FailureReason.AGENT_ERROR
    assert outcome.error == "401 Unauthorized"


def test_codex_usage_summed_over_turns() -> None:
    parser = get_provider("codex").parser()
    for n in (1, 2):
        parser.feed(j({"type": "turn.started"}))
        usage = {"input_tokens": 10 * n, "cached_input_tokens": n, "output_tokens": 3 * n}
        parser.feed(j({"type": "turn.completed", "usage": usage}))
    assert parser.finish(0, "").usage == [
        Usage(model="codex", input_tokens=30, output_tokens=9, cache_read_tokens=3)
    ]


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        (75, FailureReason.RUNTIME_OFFLINE),
        (2, FailureReason.AGENT_ERROR),
        (0, FailureReason.UNKNOWN),
    ],
)
def test_codex_exit_code_only_without_turn_end(code: int, reason: FailureReason) -> None:
    parser = get_provider("codex").parser()
    parser.feed(j({"type": "thread.started", "thread_id": "t"}))
    parser.feed(j({"type": "turn.started"}))
    outcome = parser.finish(code, "panicked")
    assert outcome.failure_reason is reason
    assert outcome.session_id == "t"


def test_codex_mcp_tool_call_and_error_items() -> None:
    parser = get_provider("codex").parser()
    item = {"id": "m1", "type": "mcp_tool_call", "server": "gh", "tool": "create_pr"}
    call = {**item, "arguments": {"title": "x"}, "status": "in_progress"}
    started = parser.feed(j({"type": "item.started", "item": call}))
    assert started == [Message(K.TOOL_CALL, 'gh.create_pr: {"title":"x"}')]
    result = {"content": [{"type": "text", "text": "https://github.com/a/b/pull/3"}]}
    done = parser.feed(
        j({"type": "item.completed", "item": {**item, "result": result, "status": "completed"}})
    )
    assert done == [Message(K.TOOL_RESULT, "https://github.com/a/b/pull/3")]
    failed = parser.feed(
        j(
            {
                "type": "item.completed",
                "item": {**item, "id": "m2", "error": {"message": "denied"}, "status": "failed"},
            }
        )
    )
    assert failed == [Message(K.TOOL_CALL, "gh.create_pr"), Message(K.ERROR, "denied")]
    warn = parser.feed(j({"type": "item.completed", "item": {"type": "error", "message": "w"}}))
    assert warn == [Message(K.ERROR, "w")]
    parser.feed(j({"type": "turn.completed"}))
    outcome = parser.finish(0, "")
    assert outcome.succeeded  # a non-fatal error item does not fail the run
    assert outcome.pr_url == "https://github.com/a/b/pull/3"


# ---------------------------------------------------------------- gemini

GSID = "9d0e7c55-1b2a-4c3d-8e9f-a0b1c2d3e4f5"


def test_gemini_happy_transcript() -> None:
    parser = get_provider("gemini").parser()
    lines = read_transcript("gemini_happy.jsonl")
    parser.feed(lines[0])
    assert parser.session_id == GSID
    messages = feed_all(parser, lines[1:])
    assert messages == [
        Message(K.TOOL_CALL, "run_shell_command: npm test"),
        Message(K.ERROR, "1 failing"),
        Message(K.ERROR, "warning: Loop detected, continuing"),
        Message(K.TOOL_CALL, "run_shell_command: gh pr create --fill"),
        Message(K.TOOL_RESULT, "https://github.com/acme/dates/pull/7"),
        Message(K.AGENT, "Patched the date parser."),
    ]
    outcome = parser.finish(0, "")
    assert outcome.succeeded is True
    assert outcome.result_text == "Patched the date parser."
    assert outcome.session_id == GSID
    assert outcome.pr_url == "https://github.com/acme/dates/pull/7"
    assert outcome.usage == [
        Usage(
            model="gemini-2.5-pro", input_tokens=28900, output_tokens=1220, cache_read_tokens=20000
        )
    ]


def test_gemini_result_text_joins_runs_and_keeps_unflushed_tail() -> None:
    parser = get_provider("gemini").parser()

    def delta(text: str) -> str:
        return j({"type": "message", "role": "assistant", "content": text, "delta": True})

    assert parser.feed(delta("Looking ")) == []
    assert parser.feed(delta("now.")) == []
    tool = j({"type": "tool_use", "tool_name": "read_file", "parameters": {"path": "a.py"}})
    assert parser.feed(tool) == [
        Message(K.AGENT, "Looking now."),
        Message(K.TOOL_CALL, "read_file: a.py"),
    ]
    parser.feed(delta("Done"))
    outcome = parser.finish(1, "killed")  # no result line: crashed mid-run
    assert outcome.result_text == "Looking now.\n\nDone"
    assert outcome.failure_reason is FailureReason.AGENT_ERROR


def test_gemini_result_error() -> None:
    parser = get_provider("gemini").parser()
    parser.feed(j({"type": "init", "session_id": "g", "model": "m"}))
    messages = parser.feed(
        j({"type": "result", "status": "error", "error": {"type": "x", "message": "quota"}})
    )
    assert messages == [Message(K.ERROR, "quota")]
    outcome = parser.finish(0, "")
    assert outcome.failure_reason is FailureReason.AGENT_ERROR
    assert outcome.error == "quota"


@pytest.mark.parametrize(
    ("code", "reason", "needle"),
    [
        (53, FailureReason.AGENT_ERROR, "turn limit"),
        (42, FailureReason.SPAWN_ERROR, "input error"),
        (1, FailureReason.AGENT_ERROR, "exited with code 1"),
        (75, FailureReason.RUNTIME_OFFLINE, "75"),
        (0, FailureReason.UNKNOWN, "contract drift"),
    ],
)
def test_gemini_exit_codes_without_result(code: int, reason: FailureReason, needle: str) -> None:
    parser = get_provider("gemini").parser()
    parser.feed(j({"type": "init", "session_id": "g"}))
    outcome = parser.finish(code, "")
    assert outcome.failure_reason is reason
    assert outcome.error is not None and needle in outcome.error
    assert outcome.session_id == "g"


# ---------------------------------------------------------------- command


def test_command_lines_tail_and_pr_url() -> None:
    parser = get_provider("command").parser()
    assert parser.feed("hello\n") == [Message(K.AGENT, "hello")]
    assert parser.feed("\n") == []
    assert parser.feed("https://github.com/acme/web/pull/5\n") == [
        Message(K.AGENT, "https://github.com/acme/web/pull/5")
    ]
    parser.feed("bye")
    outcome = parser.finish(0, "")
    assert outcome.succeeded is True
    assert outcome.session_id is None
    assert outcome.usage == []
    assert outcome.pr_url == "https://github.com/acme/web/pull/5"
    assert outcome.result_text == "hello\n\nhttps://github.com/acme/web/pull/5\nbye"


def test_command_result_text_is_bounded_tail() -> None:
    parser = get_provider("command").parser()
    for n in range(5000):
        parser.feed(f"line {n:05d}")
    outcome = parser.finish(0, "")
    assert outcome.result_text is not None
    assert len(outcome.result_text) <= 4000
    assert outcome.result_text.endswith("line 04999")


@pytest.mark.parametrize(
    ("code", "succeeded", "reason"),
    [
        (0, True, None),
        (75, False, FailureReason.RUNTIME_OFFLINE),
        (3, False, FailureReason.AGENT_ERROR),
    ],
)
def test_command_exit_codes(code: int, succeeded: bool, reason: FailureReason | None) -> None:
    parser = get_provider("command").parser()
    outcome = parser.finish(code, "bad thing happened\n")
    assert outcome.succeeded is succeeded
    assert outcome.failure_reason is reason
    if code == 3:
        assert outcome.error == "agent exited with code 3: bad thing happened"


# ---------------------------------------------------------------- base helpers


def test_clip_and_render() -> None:
    assert clip("abc", 5) == "abc"
    assert clip("abcdefg", 5) == "abcde… [clipped 2 chars]"
    assert render_tool_call("Bash", {"command": "gh pr create --fill", "description": "d"}) == (
        "Bash: gh pr create --fill"
    )
    assert render_tool_call("Read", {"file_path": "/a/b.py"}) == "Read: /a/b.py"
    assert render_tool_call("Todo", {"todos": [1]}) == 'Todo: {"todos":[1]}'
    assert render_tool_call("Noop", {}) == "Noop"
    assert render_tool_call("Shell", ["bash", "-lc", "ls"]) == "Shell: bash -lc ls"


def test_claude_result_without_subtype() -> None:
    parser = get_provider("claude").parser()
    parser.feed(_claude_result(is_error=False, result="ok"))
    assert parser.finish(0, "").succeeded is True

    parser = get_provider("claude").parser()
    parser.feed(_claude_result(result="ok"))  # neither subtype nor is_error: fail closed
    outcome = parser.finish(0, "")
    assert outcome.failure_reason is FailureReason.UNKNOWN
    assert outcome.error == "provider contract drift: subtype None"


def test_claude_refusing_root_says_what_to_do() -> None:
    parser = get_provider("claude").parser(None)
    stderr = (
        "--dangerously-skip-permissions cannot be used with root/sudo privileges "
        "for security reasons\n"
    )
    outcome = parser.finish(1, stderr)
    assert not outcome.succeeded
    assert outcome.error is not None
    assert "root/sudo" in outcome.error and "IS_SANDBOX=1" in outcome.error
    assert "env.allow.toml" in outcome.error
    plain = get_provider("claude").parser(None).finish(1, "something else broke\n")
    assert plain.error is not None and "IS_SANDBOX" not in plain.error


def test_the_root_hint_survives_a_long_stderr() -> None:
    from hangar.core.result import TaskResult

    stderr = "x" * 3000 + "\ncannot be used with root/sudo privileges\n"
    outcome = get_provider("claude").parser(None).finish(1, stderr)
    stored = TaskResult(content="", error=outcome.error).to_dict()["error"]
    assert "IS_SANDBOX=1" in str(stored)
