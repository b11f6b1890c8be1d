"""Line parsers for agent session files: Claude Code transcripts and Codex rollouts.

Each parser is fed one JSONL line at a time and returns a ``UsageEvent`` for lines that
record a model call, ``None`` for every other line, and raises ``MalformedLine`` for a
line that is not JSON or carries usage of the wrong shape. A parser instance belongs to
one file: the Codex one carries state across lines (working directory, model, the last
cumulative total).

Claude Code (``~/.claude/projects/<encoded cwd>/<session>.jsonl``): usage sits on
``type: "assistant"`` lines as ``message.usage`` beside ``message.model``, ``message.id``,
``requestId``, ``timestamp`` and ``cwd``. One API response is written as several lines (one
per content block) that repeat the usage, so events carry a dedupe key
``message.id:requestId``; the last line of a message wins (later lines hold the final
output count). ``<synthetic>`` messages are written by the CLI itself and cost nothing.
``usage.cache_creation_input_tokens`` counts every cache write; the optional breakdown
``usage.cache_creation`` (``ephemeral_5m_input_tokens`` / ``ephemeral_1h_input_tokens``) says
how many of them went to the 1-hour cache, which is priced higher. The breakdown never
changes the cache-write total; it only marks a part of it as 1-hour writes.

Codex (``~/.codex/sessions/YYYY/MM/DD/rollout-*.jsonl``): ``session_meta`` gives the cwd,
``turn_context`` the model, and ``event_msg`` payloads of type ``token_count`` carry
``info.total_token_usage`` (cumulative) and ``info.last_token_usage`` (this call). A token
count repeated with an unchanged total is a duplicate and is skipped; otherwise the
per-call ``last_token_usage`` is used, or the difference of totals when it is absent.
Codex ``input_tokens`` includes ``cached_input_tokens`` and ``output_tokens`` includes
``reasoning_output_tokens``; they are split so that token kinds never overlap.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec

__all__ = [
    "ClaudeParser",
    "CodexParser",
    "MalformedLine",
    "Tokens",
    "UsageEvent",
]


class MalformedLine(ValueError):
    """A line that could not be read; it is skipped and counted."""


@dataclass(frozen=True, slots=True)
class Tokens:
    """Non-overlapping token counts; ``reasoning`` is the part of ``output`` spent thinking,
    ``cache_creation_1h`` the part of ``cache_creation`` written to the 1-hour cache."""

    input: int = 0
    cache_creation: int = 0
    cache_read: int = 0
    output: int = 0
    reasoning: int = 0
    cache_creation_1h: int = 0

    @property
    def total(self) -> int:
        return self.input + self.cache_creation + self.cache_read + self.output

    def __add__(self, other: Tokens) -> Tokens:
        return Tokens(
            self.input + other.input,
            self.cache_creation + other.cache_creation,
            self.cache_read + other.cache_read,
            self.output + other.output,
            self.reasoning + other.reasoning,
            self.cache_creation_1h + other.cache_creation_1h,
        )

    def as_list(self) -> list[int]:
        return [
            self.input,
            self.cache_creation,
            self.cache_read,
            self.output,
            self.reasoning,
            self.cache_creation_1h,
        ]


@dataclass(frozen=True, slots=True)
class UsageEvent:
    """One model call: when, where, which model, how many tokens."""

    when: datetime
    source: str
    model: str
    project: str
    tokens: Tokens
    key: str | None = None  # dedupe key; None = count every occurrence


class _Envelope(msgspec.Struct):
    # Decoding only ``type`` validates the whole line but skips building big tool outputs.
    type: str | None = None


_envelope = msgspec.json.Decoder(_Envelope)


def _line_type(line: bytes) -> str | None:
    try:
        return _envelope.decode(line).type
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise MalformedLine(str(exc)) from exc


def _object(line: bytes) -> dict[str, Any]:
    try:
        value = msgspec.json.decode(line)
    except msgspec.DecodeError as exc:
        raise MalformedLine(str(exc)) from exc
    if not isinstance(value, dict):
        raise MalformedLine("not a JSON object")
    return value


def _dict(value: object) -> dict[str, Any] | None:
    return value if isinstance(value, dict) else None


def _count(usage: dict[str, Any], field: str) -> int:
    value = usage.get(field)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise MalformedLine(f"usage.{field} is not a token count: {value!r}")
    return value


def _timestamp(value: object) -> datetime:
    if not isinstance(value, str):
        raise MalformedLine("missing timestamp")
    try:
        when = datetime.fromisoformat(value)
    except ValueError as exc:
        raise MalformedLine(f"bad timestamp {value!r}") from exc
    # Both CLIs write UTC; a naive stamp is read as UTC too.
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _cache_writes(usage: dict[str, Any]) -> tuple[int, int]:
    """(all cache writes, of which 1-hour writes) of one Claude message.

    The total is ``cache_creation_input_tokens``; only when it is absent is it the sum of the
    breakdown. 1-hour writes never exceed the total.
    """
    split = usage.get("cache_creation")
    if split is not None and not isinstance(split, dict):
        raise MalformedLine(f"usage.cache_creation is not an object: {split!r}")
    five = _count(split, "ephemeral_5m_input_tokens") if split else 0
    hour = _count(split, "ephemeral_1h_input_tokens") if split else 0
    total = (
        _count(usage, "cache_creation_input_tokens")
        if usage.get("cache_creation_input_tokens") is not None
        else five + hour
    )
    return total, min(hour, total)


class ClaudeParser:
    """Parses one Claude Code transcript; ``fallback_project`` names lines without ``cwd``."""

    source = "claude"

    def __init__(self, fallback_project: str) -> None:
        self.fallback_project = fallback_project

    def feed(self, line: bytes) -> UsageEvent | None:
        if _line_type(line) != "assistant":
            return None
        record = _object(line)
        message = _dict(record.get("message"))
        usage = _dict(message.get("usage")) if message is not None else None
        if message is None or usage is None:
            return None
        model = message.get("model")
        if model == "<synthetic>":
            return None
        cache_creation, cache_1h = _cache_writes(usage)
        tokens = Tokens(
            input=_count(usage, "input_tokens"),
            cache_creation=cache_creation,
            cache_read=_count(usage, "cache_read_input_tokens"),
            output=_count(usage, "output_tokens"),
            cache_creation_1h=cache_1h,
        )
        cwd = record.get("cwd")
        return UsageEvent(
            when=_timestamp(record.get("timestamp")),
            source=self.source,
            model=model if isinstance(model, str) and model else "unknown",
            project=cwd if isinstance(cwd, str) and cwd else self.fallback_project,
            tokens=tokens,
            key=self._key(message.get("id"), record.get("requestId")),
        )

    @staticmethod
    def _key(message_id: object, request_id: object) -> str | None:
        if not isinstance(message_id, str) or not message_id:
            return None
        if isinstance(request_id, str) and request_id:
            return f"{message_id}:{request_id}"
        return message_id


@dataclass(frozen=True, slots=True)
class _CodexCounts:
    """Codex's own (overlapping) counters, as written in the rollout."""

    input: int
    cached: int
    output: int
    reasoning: int

    @classmethod
    def read(cls, usage: dict[str, Any]) -> _CodexCounts:
        return cls(
            _count(usage, "input_tokens"),
            _count(usage, "cached_input_tokens"),
            _count(usage, "output_tokens"),
            _count(usage, "reasoning_output_tokens"),
        )

    def minus(self, other: _CodexCounts) -> _CodexCounts:
        return _CodexCounts(
            self.input - other.input,
            self.cached - other.cached,
            self.output - other.output,
            self.reasoning - other.reasoning,
        )

    def tokens(self) -> Tokens:
        return Tokens(
            input=max(self.input - self.cached, 0),
            cache_read=max(self.cached, 0),
            output=max(self.output, 0),
            reasoning=max(self.reasoning, 0),
        )


class CodexParser:
    """Parses one Codex rollout file, remembering its cwd, model and last total."""

    source = "codex"

    def __init__(self, fallback_project: str) -> None:
        self.project = fallback_project
        self.model = "unknown"
        self._last_total: _CodexCounts | None = None

    def feed(self, line: bytes) -> UsageEvent | None:
        kind = _line_type(line)
        if kind not in ("session_meta", "turn_context", "event_msg"):
            return None
        record = _object(line)
        payload = _dict(record.get("payload")) or {}
        if kind != "event_msg":
            self._remember_context(payload)
            return None
        if payload.get("type") != "token_count":
            return None
        info = _dict(payload.get("info"))
        if info is None:  # rate-limit-only update, no usage yet
            return None
        counts = self._call_counts(info)
        if counts is None:
            return None
        return UsageEvent(
            when=_timestamp(record.get("timestamp")),
            source=self.source,
            model=self.model,
            project=self.project,
            tokens=counts.tokens(),
        )

    def save(self) -> tuple[str, str, list[int] | None]:
        """What this parser carries across lines, for ``restore`` in another process."""
        last = self._last_total
        return self.project, self.model, None if last is None else list(dataclasses.astuple(last))

    def restore(self, saved: tuple[str, str, list[int] | None]) -> None:
        self.project, self.model, last = saved
        self._last_total = None if last is None else _CodexCounts(*last)

    def _remember_context(self, payload: dict[str, Any]) -> None:
        cwd = payload.get("cwd")
        if isinstance(cwd, str) and cwd:
            self.project = cwd
        model = payload.get("model")
        if isinstance(model, str) and model:
            self.model = model

    def _call_counts(self, info: dict[str, Any]) -> _CodexCounts | None:
        total_raw = _dict(info.get("total_token_usage"))
        last_raw = _dict(info.get("last_token_usage"))
        total = _CodexCounts.read(total_raw) if total_raw is not None else None
        last = _CodexCounts.read(last_raw) if last_raw is not None else None
        previous, self._last_total = self._last_total, total or self._last_total
        if total is not None and total == previous:
            return None  # the same count emitted twice
        if last is not None:
            return last
        if total is None:
            return None
        if previous is None:
            return total
        delta = total.minus(previous)
        # A shrinking total means the counter restarted: the new total is all new usage.
        return total if min(delta.input, delta.output) < 0 else delta
