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
import re
import shlex
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from hangar.core.failures import EX_TEMPFAIL, FailureReason
from hangar.core.pr_url import find_pr_url_in

BODY_LIMIT = 8192
"""Transcript bodies (tool results, agent text) are clipped to this many characters."""

ERROR_TAIL_LIMIT = 2000
"""How much of the stderr tail goes into :attr:`Outcome.error`."""

TRANSPORT_RETRY_LIMIT_S = 300.0
"""How long a provider may keep retrying its own transport (reconnecting to its API) with no
progress before the run fails with its error (docs/agents.md#liveness). Longer than the CLIs'
own retry budgets (Claude Code: 10 retries, about 3 minutes of backoff; Codex: 5 stream retries,
seconds), so a provider that would recover, or give up by itself, gets to; a retry loop that
never ends is cut after minutes instead of holding a slot until the max runtime."""

ENDED_GRACE_S = 30.0
"""How long an agent may linger after its terminal event (its verdict is known) before its
process group is stopped and the run finalized from that verdict."""


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
    error_in_transcript: bool = False
    """The stream's own messages already say :attr:`error` (each of its parts), so the runner
    adds no closing error line that would repeat it."""


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
    add_dirs: list[str] = field(default_factory=list)
    """Directories the agent may read besides its cwd, for CLIs that take them (Claude's
    ``--add-dir``): the task root, when the agent's skills were written there."""


class TranscriptParser(Protocol):
    """Turns stdout lines into transcript messages, then decides the outcome."""

    def feed(self, line: str) -> list[Message]:
        """Parse one stdout line. Never raises: unknown or invalid lines yield ``[]``."""
        ...

    @property
    def session_id(self) -> str | None:
        """The provider session id, available as soon as a line carrying it was fed."""
        ...

    @property
    def retrying(self) -> str | None:
        """While the provider is retrying its own transport (reconnecting to its API) and has
        made no progress since: a readable account of the trouble, e.g. ``codex could not
        reach its API: … (retry 3/5)``. ``None`` otherwise. A line after which this is set
        was not progress: it does not postpone the inactivity watchdog."""
        ...

    @property
    def ended(self) -> bool:
        """The provider has emitted its terminal event: its verdict is known, whatever the
        process does next."""
        ...

    @property
    def result_text(self) -> str | None:
        """The readable result so far: the provider's final text, else its last agent
        message (a command's stdout tail). Never a raw event line."""
        ...

    def finish(self, exit_code: int, stderr_tail: str) -> Outcome:
        """Decide the outcome after the process exited (or after it was stopped, once
        :attr:`ended`)."""
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
    said: Collection[str] = (),
) -> Outcome:
    """The fallback verdict from the exit code alone (no terminal event was seen).

    0 → done only when ``zero_is_success`` (the plain command provider), otherwise
    ``unknown`` (a structured CLI that ends without its terminal event broke its contract);
    75 → ``runtime_offline`` (retryable); any other code → ``agent_error`` with the stderr tail.
    A stderr tail identical to an error the stream already ``said`` is folded: the outcome
    says the transcript holds it (:attr:`Outcome.error_in_transcript`).
    """
    stderr_text = tail(stderr_tail.strip(), ERROR_TAIL_LIMIT)
    common: dict[str, Any] = {
        "session_id": session_id,
        "result_text": result_text,
        "usage": list(usage or []),
        "pr_url": pr_url,
        "exit_code": exit_code,
        "error_in_transcript": bool(stderr_text) and stderr_text in said,
    }
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


@dataclass(frozen=True, slots=True)
class RetryNotice:
    """A provider's own transport retry, as it announced it."""

    detail: str | None = None
    attempt: int | None = None
    of: int | None = None


#: Codex's reconnect notice: ``Reconnecting... 2/5 (stream disconnected before completion: …)``
_RECONNECTING = re.compile(
    r"^\s*Reconnecting\s*(?:\.\.\.|…)?\s*(\d+)\s*/\s*(\d+)\s*(?:\((.*)\))?\s*$", re.DOTALL
)


def reconnect_notice(message: str) -> RetryNotice | None:
    """A ``Reconnecting… N/M (detail)`` message as a notice, else ``None``."""
    found = _RECONNECTING.match(message)
    if found is None:
        return None
    detail = (found.group(3) or "").strip() or None
    return RetryNotice(detail=detail, attempt=int(found.group(1)), of=int(found.group(2)))


class JsonLinesParser:
    """What the structured parsers share: tolerant line decoding (a bad line never breaks a
    run), the session id pinned as soon as it appears, PR-URL candidates kept in the order they
    were seen (the last one wins), the provider's transport retries (not progress; one
    transcript line per series; a readable error when it gives up), its terminal event, and
    the texts already said in the error lane (a repeat is not said again)."""

    #: the CLI's name, in the messages about its trouble
    provider_name = "agent"

    def __init__(self) -> None:
        self._session_id: str | None = None
        self._pr_texts: list[str] = []
        self._retry: RetryNotice | None = None
        self._retries = 0  # notices in the current series (since the last progress)
        self._ended = False
        self._said: set[str] = set()  # texts the error lane (or the agent lane) already holds
        self._last_agent_text: str | None = None

    @property
    def session_id(self) -> str | None:
        return self._session_id

    @property
    def retrying(self) -> str | None:
        notice = self._retry
        if notice is None:
            return None
        text = f"{self.provider_name} could not reach its API"
        if notice.detail:
            text += f": {notice.detail}"
        if notice.attempt is not None and notice.of is not None:
            text += f" (retry {notice.attempt}/{notice.of})"
        elif notice.attempt is not None:
            text += f" (retry {notice.attempt})"
        return text

    @property
    def ended(self) -> bool:
        return self._ended

    @property
    def result_text(self) -> str | None:
        return self._last_agent_text

    def feed(self, line: str) -> list[Message]:
        obj = parse_json_object(line)
        if obj is None:
            return []
        try:
            notice = self._retry_notice(obj)
            if notice is not None:
                return self._on_retry(notice)
            out = self._handle(obj)
            if self._is_progress(obj):
                self._retry, self._retries = None, 0
            return out
        except Exception:  # a last guard: a malformed line must never break the run
            return []

    def _handle(self, obj: dict[str, Any]) -> list[Message]:
        raise NotImplementedError

    def _retry_notice(self, obj: dict[str, Any]) -> RetryNotice | None:
        """The provider's own transport retry this line announces, if it is one."""
        return None

    def _is_progress(self, obj: dict[str, Any]) -> bool:
        """Does this (non-notice) event show the agent at work again? Bookkeeping events a
        provider may interleave with its retries say no."""
        return True

    def _on_retry(self, notice: RetryNotice) -> list[Message]:
        first = self._retry is None
        self._retry = notice
        self._retries += 1
        if not first:
            return []  # one line per series: the raw log keeps every notice
        text = self.retrying or f"{self.provider_name} is retrying"
        self._said.add(text)
        return [Message(MessageKind.ERROR, clip(text))]

    def _gave_up(self, text: str) -> str:
        """``text`` (a fatal error), said as giving up when it ends a series of retries."""
        if self._retry is None:
            return text
        count = max(self._retry.attempt or 0, self._retries)
        noun = "retry" if count == 1 else "retries"
        return f"{self.provider_name} could not reach its API after {count} {noun}: {text}"

    def _already_said(self, text: str) -> bool:
        """Does the transcript already hold ``text`` (an error, or the last agent message)?"""
        return text in self._said or text == self._last_agent_text

    def _say_error(self, text: str, *also: str) -> list[Message]:
        """An error-lane message, unless the transcript already holds ``text`` or one of the
        raw forms in ``also`` that it repeats."""
        repeat = any(self._already_said(t) for t in (text, *also))
        self._said.update((text, *also))
        return [] if repeat else [Message(MessageKind.ERROR, clip(text))]

    def _agent_text(self, text: str) -> None:
        """Remember an agent message: the result so far, and a text a later error may repeat."""
        self._last_agent_text = text

    def _said_texts(self) -> set[str]:
        said = set(self._said)
        if self._last_agent_text:
            said.add(self._last_agent_text)
        return said

    def _pr_url(self, result_text: str | None) -> str | None:
        return find_pr_url_in([*self._pr_texts, result_text or ""])
