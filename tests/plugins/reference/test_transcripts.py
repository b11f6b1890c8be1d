"""Line parsers: Claude Code transcripts and Codex rollouts."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from hangar.plugins.reference.transcripts import (
    ClaudeParser,
    CodexParser,
    MalformedLine,
    Tokens,
)


def line(obj: Any) -> bytes:
    return json.dumps(obj).encode() + b"\n"


def assistant(**over: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "type": "assistant",
        "cwd": "/home/dev/src/app",
        "sessionId": "s1",
        "requestId": "req_1",
        "timestamp": "2025-05-26T08:00:00.000Z",
        "message": {
            "id": "msg_1",
            "model": "claude-sonnet-4-5-20250929",
            "content": [{"type": "text", "text": "hi"}],
            "usage": {
                "input_tokens": 3,
                "cache_creation_input_tokens": 10,
                "cache_read_input_tokens": 20,
                "output_tokens": 7,
            },
        },
    }
    record.update(over)
    return record


def test_claude_assistant_line_is_one_usage_event() -> None:
    event = ClaudeParser("fallback").feed(line(assistant()))
    assert event is not None
    assert event.tokens == Tokens(input=3, cache_creation=10, cache_read=20, output=7)
    assert event.tokens.total == 40
    assert event.key == "msg_1:req_1"
    assert (event.source, event.model, event.project) == (
        "claude",
        "claude-sonnet-4-5-20250929",
        "/home/dev/src/app",
    )
    assert event.when == datetime(2025, 5, 26, 8, 0, tzinfo=UTC)


def test_claude_lines_without_usage_are_not_events() -> None:
    parser = ClaudeParser("fallback")
    user = {"type": "user", "message": {"role": "user", "content": "hello"}}
    assert parser.feed(line(user)) is None
    assert parser.feed(line({"type": "summary", "summary": "x", "leafUuid": "u"})) is None
    no_usage = assistant(message={"id": "m", "model": "claude-opus-4-1", "content": []})
    assert parser.feed(line(no_usage)) is None


def test_claude_synthetic_messages_cost_nothing() -> None:
    record = assistant()
    record["message"]["model"] = "<synthetic>"
    assert ClaudeParser("fallback").feed(line(record)) is None


def test_claude_key_falls_back_to_message_id_and_project_to_the_directory() -> None:
    record = assistant()
    del record["requestId"], record["cwd"]
    event = ClaudeParser("-home-dev-src-app").feed(line(record))
    assert event is not None
    assert event.key == "msg_1"
    assert event.project == "-home-dev-src-app"
    record["message"].pop("id")
    event = ClaudeParser("p").feed(line(record))
    assert event is not None and event.key is None


@pytest.mark.parametrize(
    "raw",
    [
        b'{"type":"assistant","message":{"id":"m","usage":{"input_tok\n',  # torn JSON
        b"[1, 2, 3]\n",  # JSON, not an object
        b'{"type": 7}\n',  # type of the wrong kind
    ],
)
def test_claude_malformed_lines_raise(raw: bytes) -> None:
    with pytest.raises(MalformedLine):
        ClaudeParser("p").feed(raw)


def test_claude_usage_of_the_wrong_shape_raises() -> None:
    record = assistant()
    record["message"]["usage"]["output_tokens"] = "many"
    with pytest.raises(MalformedLine, match="output_tokens"):
        ClaudeParser("p").feed(line(record))
    record = assistant(timestamp=None)
    with pytest.raises(MalformedLine, match="timestamp"):
        ClaudeParser("p").feed(line(record))


def token_count(total: dict[str, int] | None, last: dict[str, int] | None) -> bytes:
    info: dict[str, Any] = {}
    if total is not None:
        info["total_token_usage"] = total
    if last is not None:
        info["last_token_usage"] = last
    payload = {"type": "token_count", "info": info}
    return line({"timestamp": "2025-05-27T14:00:00Z", "type": "event_msg", "payload": payload})


def usage(i: int, c: int, o: int, r: int) -> dict[str, int]:
    return {
        "input_tokens": i,
        "cached_input_tokens": c,
        "output_tokens": o,
        "reasoning_output_tokens": r,
        "total_tokens": i + o,
    }


def codex_with_context() -> CodexParser:
    parser = CodexParser("unknown")
    meta = {"type": "session_meta", "payload": {"id": "t", "cwd": "/home/dev/src/app"}}
    assert parser.feed(line(meta)) is None
    context = {"type": "turn_context", "payload": {"cwd": "/home/dev/src/app", "model": "gpt-5"}}
    assert parser.feed(line(context)) is None
    return parser


def test_codex_token_count_splits_cached_input_and_keeps_reasoning_inside_output() -> None:
    parser = codex_with_context()
    event = parser.feed(token_count(usage(5000, 3000, 400, 100), usage(5000, 3000, 400, 100)))
    assert event is not None
    assert event.tokens == Tokens(input=2000, cache_read=3000, output=400, reasoning=100)
    assert event.tokens.total == 5400  # Codex's own total_tokens: input + output
    assert (event.source, event.model, event.project) == ("codex", "gpt-5", "/home/dev/src/app")


def test_codex_repeated_count_is_not_counted_twice() -> None:
    parser = codex_with_context()
    first = token_count(usage(5000, 3000, 400, 100), usage(5000, 3000, 400, 100))
    assert parser.feed(first) is not None
    assert parser.feed(first) is None


def test_codex_uses_the_per_call_usage_when_present() -> None:
    parser = codex_with_context()
    parser.feed(token_count(usage(5000, 3000, 400, 100), usage(5000, 3000, 400, 100)))
    event = parser.feed(token_count(usage(12000, 8000, 1000, 300), usage(7000, 5000, 600, 200)))
    assert event is not None
    assert event.tokens == Tokens(input=2000, cache_read=5000, output=600, reasoning=200)


def test_codex_without_per_call_usage_takes_the_difference_of_totals() -> None:
    parser = codex_with_context()
    assert parser.feed(token_count(usage(5000, 3000, 400, 100), None)) is not None
    event = parser.feed(token_count(usage(8000, 4000, 700, 150), None))
    assert event is not None
    assert event.tokens == Tokens(input=2000, cache_read=1000, output=300, reasoning=50)


def test_codex_total_that_shrinks_restarts_the_count() -> None:
    parser = codex_with_context()
    parser.feed(token_count(usage(8000, 4000, 700, 150), None))
    event = parser.feed(token_count(usage(100, 0, 10, 0), None))
    assert event is not None
    assert event.tokens == Tokens(input=100, output=10)


def test_codex_lines_without_usage_are_not_events() -> None:
    parser = codex_with_context()
    rate_only = {"type": "event_msg", "payload": {"type": "token_count", "info": None}}
    assert parser.feed(line(rate_only)) is None
    message = {"type": "event_msg", "payload": {"type": "agent_message", "message": "ok"}}
    assert parser.feed(line(message)) is None
    item = {"type": "response_item", "payload": {"type": "function_call", "name": "shell"}}
    assert parser.feed(line(item)) is None


def test_codex_model_defaults_to_unknown_until_a_turn_context() -> None:
    parser = CodexParser("unknown")
    event = parser.feed(token_count(usage(10, 0, 1, 0), usage(10, 0, 1, 0)))
    assert event is not None
    assert (event.model, event.project) == ("unknown", "unknown")


def test_claude_one_hour_cache_writes_are_a_part_of_all_cache_writes() -> None:
    record = assistant()
    record["message"]["usage"] = {
        "input_tokens": 3,
        "cache_creation_input_tokens": 3000,
        "cache_creation": {"ephemeral_5m_input_tokens": 1000, "ephemeral_1h_input_tokens": 2000},
        "output_tokens": 7,
    }
    event = ClaudeParser("fallback").feed(line(record))
    assert event is not None
    assert event.tokens == Tokens(input=3, cache_creation=3000, output=7, cache_creation_1h=2000)
    assert event.tokens.total == 3010  # the breakdown adds no tokens
    # without the total, the breakdown is the total
    del record["message"]["usage"]["cache_creation_input_tokens"]
    event = ClaudeParser("fallback").feed(line(record))
    assert event is not None
    assert (event.tokens.cache_creation, event.tokens.cache_creation_1h) == (3000, 2000)
    # only 5-minute writes (the common case): nothing at the 1-hour rate
    record["message"]["usage"]["cache_creation"] = {"ephemeral_5m_input_tokens": 400}
    event = ClaudeParser("fallback").feed(line(record))
    assert event is not None
    assert (event.tokens.cache_creation, event.tokens.cache_creation_1h) == (400, 0)


@pytest.mark.parametrize(
    "split", [[1, 2], "2000", {"ephemeral_1h_input_tokens": -5}, {"ephemeral_1h_input_tokens": "x"}]
)
def test_claude_cache_breakdown_of_the_wrong_shape_raises(split: object) -> None:
    record = assistant()
    record["message"]["usage"]["cache_creation"] = split
    with pytest.raises(MalformedLine):
        ClaudeParser("fallback").feed(line(record))
