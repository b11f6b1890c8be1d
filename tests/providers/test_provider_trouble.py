"""How the parsers read a provider in trouble: its own transport retries (not progress, one
transcript line per series, a readable error when it gives up), its terminal event, and an
error it repeats in several forms (said once; "Not logged in" comes with what to do)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from hangar.core.failures import FailureReason
from hangar.daemon.providers import Message, MessageKind, TranscriptParser, get_provider
from hangar.daemon.providers.claude import LOGIN_HINT

K = MessageKind
SID = "3f6c1b2e-8a41-4d7e-b0c2-5e9a7d1f4c20"
THREAD = "0199b0c4-2f1e-7a33-9c10-4be0d2a7e651"
#: what codex says when the model API cannot be reached (codex-rs: StreamErrorEvent)
DETAIL = (
    "stream disconnected before completion: error sending request for url "
    "(https://api.openai.com/v1/responses)"
)
NOT_LOGGED_IN = "Not logged in · Please run /login"


def j(obj: dict[str, Any]) -> str:
    return json.dumps(obj, ensure_ascii=False)


def feed_all(parser: TranscriptParser, lines: list[str]) -> list[Message]:
    out: list[Message] = []
    for line in lines:
        out += parser.feed(line)
    return out


def reconnect(n: int, of: int = 5, dots: str = "...") -> str:
    return j({"type": "error", "message": f"Reconnecting{dots} {n}/{of} ({DETAIL})"})


def codex_start() -> list[str]:
    return [j({"type": "thread.started", "thread_id": THREAD}), j({"type": "turn.started"})]


# ---------------------------------------------------------------- codex transport retries


def test_codex_reconnect_notices_are_not_progress_and_show_once_per_series() -> None:
    parser = get_provider("codex").parser()
    feed_all(parser, codex_start())
    assert parser.retrying is None  # ordinary lines are progress

    first = parser.feed(reconnect(1))

    assert parser.retrying == f"codex could not reach its API: {DETAIL} (retry 1/5)"
    assert first == [Message(K.ERROR, f"codex could not reach its API: {DETAIL} (retry 1/5)")]
    for n in (2, 3, 4):
        assert parser.feed(reconnect(n)) == []  # the series is said once
    assert parser.retrying == f"codex could not reach its API: {DETAIL} (retry 4/5)"
    assert not parser.ended
    assert parser.feed("not json at all") == []
    assert parser.retrying is not None  # noise is not progress either


@pytest.mark.parametrize("dots", ["...", "…"])
def test_codex_reconnect_is_recognised_with_either_ellipsis(dots: str) -> None:
    parser = get_provider("codex").parser()
    parser.feed(reconnect(2, dots=dots))
    assert parser.retrying is not None and "(retry 2/5)" in parser.retrying
    bare = get_provider("codex").parser()
    bare.feed(j({"type": "error", "message": f"Reconnecting{dots} 3/5"}))
    assert bare.retrying == "codex could not reach its API (retry 3/5)"


def test_codex_websocket_fallback_is_a_transport_notice() -> None:
    parser = get_provider("codex").parser()
    feed_all(parser, codex_start())
    fallback = f"Falling back from WebSockets to HTTPS transport. {DETAIL}"
    said = parser.feed(
        j(
            {
                "type": "item.completed",
                "item": {"id": "item_0", "type": "error", "message": fallback},
            }
        )
    )
    assert parser.retrying == f"codex could not reach its API: {fallback}"
    assert [m.kind for m in said] == [K.ERROR]


def test_codex_that_reconnects_and_recovers_succeeds() -> None:
    parser = get_provider("codex").parser()
    feed_all(parser, [*codex_start(), reconnect(1), reconnect(2)])
    done = j({"type": "item.completed", "item": {"type": "agent_message", "text": "All fixed."}})

    assert parser.feed(done) == [Message(K.AGENT, "All fixed.")]
    assert parser.retrying is None  # progress again

    parser.feed(j({"type": "turn.completed", "usage": {"input_tokens": 1, "output_tokens": 1}}))
    assert parser.ended
    outcome = parser.finish(0, "")
    assert outcome.succeeded, outcome  # a retry that worked is not a failure
    assert outcome.result_text == "All fixed."


def test_codex_that_gives_up_fails_with_its_error_said_once() -> None:
    parser = get_provider("codex").parser()
    lines = [
        *codex_start(),
        *(reconnect(n) for n in range(1, 6)),
        j({"type": "error", "message": DETAIL}),
        j({"type": "turn.failed", "error": {"message": DETAIL}}),
    ]

    messages = feed_all(parser, lines)

    gave_up = f"codex could not reach its API after 5 retries: {DETAIL}"
    assert messages == [
        Message(K.ERROR, f"codex could not reach its API: {DETAIL} (retry 1/5)"),
        Message(K.ERROR, gave_up),  # turn.failed repeats the error: not said again
    ]
    assert parser.retrying is None
    assert parser.ended
    outcome = parser.finish(1, "")
    assert outcome.failure_reason is FailureReason.AGENT_ERROR
    assert outcome.error == gave_up
    assert outcome.error_in_transcript  # the runner need not say it a third time
    assert outcome.result_text is None
    assert parser.result_text is None


def test_codex_turn_failed_alone_after_retries_also_reads_as_giving_up() -> None:
    parser = get_provider("codex").parser()
    feed_all(parser, [*codex_start(), reconnect(1), reconnect(2)])
    said = parser.feed(j({"type": "turn.failed", "error": {"message": DETAIL}}))
    assert said == [Message(K.ERROR, f"codex could not reach its API after 2 retries: {DETAIL}")]
    assert parser.finish(0, "").error == said[0].body


def test_codex_fatal_error_without_retries_is_unchanged_and_ends_the_run() -> None:
    parser = get_provider("codex").parser()
    feed_all(parser, codex_start())
    said = parser.feed(j({"type": "error", "message": "unexpected status 401 Unauthorized"}))
    assert said == [Message(K.ERROR, "unexpected status 401 Unauthorized")]
    assert parser.ended  # the verdict is fixed: nothing after it can make the run succeed
    outcome = parser.finish(0, "")
    assert outcome.error == "unexpected status 401 Unauthorized"
    assert outcome.error_in_transcript


def test_codex_result_text_so_far_is_the_last_agent_message() -> None:
    parser = get_provider("codex").parser()
    assert parser.result_text is None
    feed_all(
        parser,
        [
            *codex_start(),
            j({"type": "item.completed", "item": {"type": "agent_message", "text": "Halfway."}}),
        ],
    )
    assert parser.result_text == "Halfway."


# ---------------------------------------------------------------- claude api retries


def api_retry(attempt: int, of: int = 10, status: int = 529, error: str = "server_error") -> str:
    return j(
        {
            "type": "system",
            "subtype": "api_retry",
            "attempt": attempt,
            "max_retries": of,
            "retry_delay_ms": 500 * 2 ** (attempt - 1),
            "error_status": status,
            "error": error,
            "session_id": SID,
        }
    )


def test_claude_api_retries_are_not_progress() -> None:
    parser = get_provider("claude").parser()
    parser.feed(j({"type": "system", "subtype": "init", "session_id": SID, "model": "m"}))
    assert parser.retrying is None

    first = parser.feed(api_retry(1))

    expected = "claude could not reach its API: server_error (HTTP 529) (retry 1/10)"
    assert first == [Message(K.ERROR, expected)]
    assert parser.feed(api_retry(2)) == []
    assert parser.retrying == expected.replace("1/10", "2/10")
    text = {"type": "text", "text": "Back online."}
    parser.feed(j({"type": "assistant", "message": {"content": [text]}, "session_id": SID}))
    assert parser.retrying is None


def test_claude_giving_up_after_retries_says_so() -> None:
    parser = get_provider("claude").parser()
    api_error = "API Error: 529 Overloaded"
    feed_all(parser, [api_retry(1), api_retry(2)])
    said = parser.feed(
        j({"type": "result", "subtype": "success", "is_error": True, "result": api_error})
    )
    gave_up = f"claude could not reach its API after 2 retries: {api_error}"
    assert said == [Message(K.ERROR, gave_up)]
    assert parser.ended
    outcome = parser.finish(1, "")
    assert outcome.error == gave_up
    assert outcome.error_in_transcript


# ---------------------------------------------------------------- claude, not logged in

#: what Claude Code 2.1.x prints when it has no credentials (a synthetic assistant message,
#: then an is_error result with the same text)
NOT_LOGGED_IN_STREAM = [
    j(
        {
            "type": "system",
            "subtype": "init",
            "session_id": SID,
            "cwd": "/srv/t/workdir",
            "model": "claude-sonnet-4-5",
            "apiKeySource": "none",
            "tools": ["Bash"],
            "mcp_servers": [],
        }
    ),
    j(
        {
            "type": "assistant",
            "message": {
                "id": "acbc4b28",
                "model": "<synthetic>",
                "role": "assistant",
                "stop_reason": "stop_sequence",
                "stop_sequence": "",
                "type": "message",
                "usage": {"input_tokens": 0, "output_tokens": 0},
                "content": [{"type": "text", "text": NOT_LOGGED_IN}],
            },
            "parent_tool_use_id": None,
            "session_id": SID,
            "uuid": "5096d9af",
            "error": "authentication_failed",
        }
    ),
    j(
        {
            "type": "result",
            "subtype": "success",
            "is_error": True,
            "duration_ms": 31,
            "num_turns": 1,
            "result": NOT_LOGGED_IN,
            "session_id": SID,
            "total_cost_usd": 0,
            "usage": {"input_tokens": 0, "output_tokens": 0},
            "permission_denials": [],
        }
    ),
]


def test_claude_not_logged_in_is_said_once_with_what_to_do() -> None:
    parser = get_provider("claude").parser()

    messages = feed_all(parser, NOT_LOGGED_IN_STREAM)

    assert messages == [
        Message(K.ERROR, f"{NOT_LOGGED_IN} (authentication_failed)"),
        Message(K.ERROR, LOGIN_HINT),
    ]
    outcome = parser.finish(1, f"{NOT_LOGGED_IN}\n")
    assert outcome.failure_reason is FailureReason.AGENT_ERROR
    assert outcome.error == f"{LOGIN_HINT} ({NOT_LOGGED_IN})"
    assert outcome.error_in_transcript
    assert "claude /login" in LOGIN_HINT and "ANTHROPIC_API_KEY" in LOGIN_HINT
    assert "env.allow.toml" in LOGIN_HINT


def test_claude_not_logged_in_without_a_result_line_folds_the_same_stderr() -> None:
    parser = get_provider("claude").parser()
    messages = feed_all(parser, NOT_LOGGED_IN_STREAM[:2])
    assert [m.body for m in messages] == [f"{NOT_LOGGED_IN} (authentication_failed)", LOGIN_HINT]

    outcome = parser.finish(1, f"{NOT_LOGGED_IN}\n")

    assert outcome.failure_reason is FailureReason.AGENT_ERROR
    assert outcome.error is not None and outcome.error.startswith(LOGIN_HINT)
    assert NOT_LOGGED_IN in outcome.error
    assert outcome.error_in_transcript  # stderr says what the stream said


def test_claude_not_logged_in_only_on_stderr_still_gets_the_hint() -> None:
    outcome = get_provider("claude").parser().finish(1, f"{NOT_LOGGED_IN}\n")
    assert outcome.error is not None and outcome.error.startswith(LOGIN_HINT)
    assert not outcome.error_in_transcript  # nothing said it yet: the runner writes it


def test_claude_distinct_stderr_is_not_folded() -> None:
    parser = get_provider("claude").parser()
    feed_all(parser, NOT_LOGGED_IN_STREAM[:2])
    outcome = parser.finish(1, "segfault in the renderer\n")
    assert outcome.error is not None and "segfault in the renderer" in outcome.error
    assert not outcome.error_in_transcript


def test_claude_result_repeating_the_last_agent_text_is_not_said_again() -> None:
    parser = get_provider("claude").parser()
    text = {"type": "text", "text": "Credit balance is too low"}
    said = parser.feed(j({"type": "assistant", "message": {"content": [text]}}))
    assert said == [Message(K.AGENT, "Credit balance is too low")]
    again = parser.feed(
        j(
            {
                "type": "result",
                "subtype": "success",
                "is_error": True,
                "result": "Credit balance is too low",
            }
        )
    )
    assert again == []
    outcome = parser.finish(1, "")
    assert outcome.error == "Credit balance is too low"
    assert outcome.error_in_transcript


def test_claude_distinct_result_error_is_kept() -> None:
    parser = get_provider("claude").parser()
    text = {"type": "text", "text": "Let me try that."}
    parser.feed(j({"type": "assistant", "message": {"content": [text]}}))
    said = parser.feed(
        j({"type": "result", "subtype": "success", "is_error": True, "result": "API Error: 500"})
    )
    assert said == [Message(K.ERROR, "API Error: 500")]
    assert parser.result_text == "Let me try that."  # the last meaningful agent message


def test_claude_ended_only_by_its_result() -> None:
    parser = get_provider("claude").parser()
    parser.feed(NOT_LOGGED_IN_STREAM[0])
    assert not parser.ended
    parser.feed(j({"type": "result", "subtype": "success", "is_error": False, "result": "ok"}))
    assert parser.ended
    assert parser.result_text == "ok"


# ---------------------------------------------------------------- gemini and command


def test_gemini_error_repeated_by_its_result_is_said_once() -> None:
    parser = get_provider("gemini").parser()
    said = feed_all(
        parser,
        [
            j({"type": "error", "severity": "error", "message": "429 Resource exhausted"}),
            j(
                {
                    "type": "result",
                    "status": "error",
                    "error": {"message": "429 Resource exhausted"},
                }
            ),
        ],
    )
    assert said == [Message(K.ERROR, "error: 429 Resource exhausted")]
    assert parser.ended and parser.retrying is None
    outcome = parser.finish(1, "")
    assert outcome.error == "429 Resource exhausted"
    assert outcome.error_in_transcript


def test_command_lines_are_always_progress_and_never_end_the_run() -> None:
    parser = get_provider("command").parser()
    parser.feed("Reconnecting... 1/5\n")
    assert parser.retrying is None and not parser.ended
    assert parser.result_text == "Reconnecting... 1/5"
