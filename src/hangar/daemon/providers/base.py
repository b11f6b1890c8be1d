"""The provider port: what an agent CLI adapter gives the runner.

Pure logic, no process spawning. The runner asks a :class:`Provider` for a :class:`LaunchSpec`,
spawns it, feeds every stdout line to the :class:`TranscriptParser` and finally calls
:meth:`TranscriptParser.finish` with the exit code and the stderr tail. Parsing is permissive
(garbage, unknown types and unknown fields are skipped); only the terminal decision fails closed.
See docs/agents.md.
"""

from __future__ import annotations

import enum
import json
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from hangar.core.failures import EX_TEMPFAIL, FailureReason
from hangar.core.pr_url import find_pr_url_in

BODY_LIMIT = 8192
"""Transcript bodies (tool results, agent text) are clipped to this many characters."""

ERROR_TAIL_LIMIT = 2000
"""How much of the stderr tail goes into :attr:`Outcome.error`."""


class MessageKind(enum.StrEnum):
    """The five transcript lanes (docs/agents.md#transcript)."""

    AGENT = "agent"
    THINKING = "thinking"
    TOOL_CALL = "tool_call"
    TOOL_RESULT = "tool_result"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class Message:
    """One transcript entry: a lane and the text shown in it."""

    kind: MessageKind
    body: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Usage:
    """Token usage (and cost, when the provider reports it) for one model."""

    model: str
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_creation_tokens: int = 0
    cost_usd: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    """The parser's verdict on a finished run."""

    succeeded: bool
    failure_reason: FailureReason | None = None
    error: str | None = None
    result_text: str | None = None
    session_id: str | None = None
    usage: list[Usage] = field(default_factory=list)
    pr_url: str | None = None
    exit_code: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class LaunchSpec:
    """How to start the agent: argv list (never a shell string), stdin bytes, env additions.

    ``stdin=None`` means DEVNULL. ``env`` holds variables to *add* on top of the policy env.
    """

    argv: list[str]
    stdin: bytes | None = None
    env: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentConfig:
    """Everything a provider needs to build a launch."""

    provider: str
    prompt: str
    command: list[str] | None = None
    """Override of the executable: an argv prefix replacing the bare CLI name."""
    model: str | None = None
    extra_args: list[str] = field(default_factory=list)
    task_root: str = ""
    """Per-task directory outside the git worktree (skills, logs)."""
    workdir: str = ""
    """The task's git worktree (the process cwd; the runner sets it)."""


class TranscriptParser(Protocol):
    """Turns stdout lines into transcript messages, then decides the outcome."""

    def feed(self, line: str) -> list[Message]:
        """Parse one stdout line. Never raises: unknown or invalid lines yield ``[]``."""
        ...

    @property
    def session_id(self) -> str | None:
        """The provider session id, available as soon as a line carrying it was fed."""
        ...

    def finish(self, exit_code: int, stderr_tail: str) -> Outcome:
        """Decide the outcome after the process exited."""
        ...


class Provider(Protocol):
    """An agent CLI adapter."""

    @property
    def name(self) -> str: ...

    @property
    def executable(self) -> str:
        """The default CLI name (used when :attr:`AgentConfig.command` is unset)."""
        ...

    def launch(self, config: AgentConfig) -> LaunchSpec: ...

    def parser(self, model: str | None = None) -> TranscriptParser:
        """A fresh parser for one run. ``model`` (the configured one) labels usage rows
        when the stream itself never names the model."""
        ...


# --------------------------------------------------------------------------- helpers


def clip(text: str, limit: int = BODY_LIMIT) -> str:
    """Clip ``text`` to ``limit`` characters, with a marker saying how much was dropped."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… [clipped {len(text) - limit} chars]"


def tail(text: str, limit: int) -> str:
    """The last ``limit`` characters of ``text``."""
    return text if len(text) <= limit else text[-limit:]


def parse_json_object(line: str) -> dict[str, Any] | None:
    """A JSON object from one stdout line, or ``None`` for blank lines, invalid JSON and
    non-object values."""
    text = line.strip()
    if not text.startswith("{"):
        return None
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def as_str(value: object) -> str | None:
    """``value`` if it is a non-empty string, else ``None``."""
    return value if isinstance(value, str) and value else None


def as_int(value: object) -> int:
    """A token count: ints and finite floats are accepted, anything else counts as 0."""
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value == value and abs(value) != float("inf"):
        return int(value)
    return 0


def as_float(value: object) -> float | None:
    """A cost: ints and floats are accepted, anything else is ``None``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    return None


def as_dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


_PRIMARY_INPUT_KEYS = (
    "command",
    "cmd",
    "file_path",
    "path",
    "absolute_path",
    "pattern",
    "url",
    "query",
    "description",
    "prompt",
)


def compact_input(value: object) -> str:
    """A one-glance rendering of a tool's input: its main argument, else compact JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return shlex.join(value)
    if isinstance(value, Mapping):
        for key in _PRIMARY_INPUT_KEYS:
            primary = value.get(key)
            if isinstance(primary, str) and primary:
                return primary
            if isinstance(primary, list) and primary and all(isinstance(p, str) for p in primary):
                return shlex.join(primary)
        if not value:
            return ""
    if value is None:
        return ""
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    except (TypeError, ValueError, RecursionError):
        return repr(value)


def render_tool_call(name: str, tool_input: object) -> str:
    """``Bash: gh pr create --fill``: the tool name and its compact input."""
    rendered = compact_input(tool_input)
    return clip(f"{name}: {rendered}" if rendered else name)


def exit_code_outcome(
    exit_code: int,
    stderr_tail: str,
    *,
    session_id: str | None,
    result_text: str | None = None,
    usage: list[Usage] | None = None,
    pr_url: str | None = None,
    zero_is_success: bool = False,
    no_result_note: str = "exited without a result line",
) -> Outcome:
    """The fallback verdict from the exit code alone (no terminal event was seen).

    0 → done only when ``zero_is_success`` (the plain command provider), otherwise
    ``unknown`` (a structured CLI that ends without its terminal event broke its contract);
    75 → ``runtime_offline`` (retryable); any other code → ``agent_error`` with the stderr tail.
    """
    common: dict[str, Any] = {
        "session_id": session_id,
        "result_text": result_text,
        "usage": list(usage or []),
        "pr_url": pr_url,
        "exit_code": exit_code,
    }
    stderr_text = tail(stderr_tail.strip(), ERROR_TAIL_LIMIT)
    if exit_code == 0:
        if zero_is_success:
            return Outcome(succeeded=True, **common)
        return Outcome(
            succeeded=False,
            failure_reason=FailureReason.UNKNOWN,
            error=f"provider contract drift: {no_result_note} (exit code 0)",
            **common,
        )
    if exit_code == EX_TEMPFAIL:
        message = f"agent exited with code {EX_TEMPFAIL} (EX_TEMPFAIL)"
        return Outcome(
            succeeded=False,
            failure_reason=FailureReason.RUNTIME_OFFLINE,
            error=f"{message}: {stderr_text}" if stderr_text else message,
            **common,
        )
    message = f"agent exited with code {exit_code}"
    return Outcome(
        succeeded=False,
        failure_reason=FailureReason.AGENT_ERROR,
        error=f"{message}: {stderr_text}" if stderr_text else message,
        **common,
    )


class JsonLinesParser:
    """What the structured parsers share: tolerant line decoding (a bad line never breaks a
    run), the session id pinned as soon as it appears, and PR-URL candidates kept in the
    order they were seen (the last one wins)."""

    def __init__(self) -> None:
        self._session_id: str | None = None
        self._pr_texts: list[str] = []

    @property
    def session_id(self) -> str | None:
        return self._session_id

    def feed(self, line: str) -> list[Message]:
        obj = parse_json_object(line)
        if obj is None:
            return []
        try:
            return self._handle(obj)
        except Exception:  # a last guard: a malformed line must never break the run
            return []

    def _handle(self, obj: dict[str, Any]) -> list[Message]:
        raise NotImplementedError

    def _pr_url(self, result_text: str | None) -> str | None:
        return find_pr_url_in([*self._pr_texts, result_text or ""])
