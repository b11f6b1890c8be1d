"""Claude Code headless (``claude -p --output-format stream-json``), docs/agents.md#providers.

Claude Code announces its own API retries as ``system``/``api_retry`` events: notices, not
progress (docs/agents.md#liveness). An API failure comes as a synthetic assistant message
carrying ``error``, then an ``is_error`` result with the same text: the transcript says it once.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from hangar.core.failures import FailureReason
from hangar.daemon.providers.base import (
    AgentConfig,
    JsonLinesParser,
    LaunchSpec,
    Message,
    MessageKind,
    Outcome,
    RetryNotice,
    Usage,
    as_dict,
    as_float,
    as_int,
    as_list,
    as_str,
    clip,
    exit_code_outcome,
    render_tool_call,
)

#: what Claude Code says when bypass mode is started as root (containers, CI)
_AS_ROOT = "cannot be used with root/sudo privileges"
ROOT_HINT = (
    "Claude Code refuses --dangerously-skip-permissions as root: run the daemon as a normal "
    "user, or, in a sandbox (container, CI), start the daemon with IS_SANDBOX=1 and let it "
    'through in ~/.ainb/hangar/env.allow.toml: [env] allow = ["HOME", "PATH", …, "IS_SANDBOX"]'
)
#: what Claude Code says when it has no credentials ("Not logged in · Please run /login")
LOGIN_HINT = (
    "Claude Code is not logged in for the daemon's user: run `claude /login` as that user (the "
    "agent gets the daemon's HOME), or start the daemon with ANTHROPIC_API_KEY set and let it "
    'through in ~/.ainb/hangar/env.allow.toml: [env] allow = ["HOME", "PATH", …, '
    '"ANTHROPIC_API_KEY"]'
)


def is_login_failure(text: str) -> bool:
    """Does Claude Code say it has no (valid) login? ("Not logged in · Please run /login")"""
    lowered = text.lower()
    return "not logged in" in lowered or "please run /login" in lowered


class ClaudeProvider:
    name = "claude"
    executable = "claude"

    def launch(self, config: AgentConfig) -> LaunchSpec:
        argv = [
            *(config.command or [self.executable]),
            "-p",
            "--dangerously-skip-permissions",
            "--output-format",
            "stream-json",
            "--verbose",
        ]
        if config.model:
            argv += ["--model", config.model]
        for directory in config.add_dirs:  # Claude loads .claude/skills inside each
            argv += ["--add-dir", directory]
        argv += [*config.extra_args, "--", config.prompt]
        return LaunchSpec(argv=argv, stdin=None)

    def parser(self, model: str | None = None) -> ClaudeParser:
        return ClaudeParser(model=model)


def tool_result_text(content: object) -> str:
    """Decode a ``tool_result.content``: a string, or a list of blocks whose text parts are
    joined by newlines (images and other blocks are left out)."""
    if isinstance(content, str):
        return content
    parts: list[str] = []
    for block in as_list(content):
        if isinstance(block, str):
            parts.append(block)
        elif isinstance(block, dict) and isinstance(block.get("text"), str):
            parts.append(block["text"])
    return "\n".join(parts)


class ClaudeParser(JsonLinesParser):
    """Parses Claude Code stream-json and decides the outcome (docs/agents.md#outcome)."""

    provider_name = "claude"

    def __init__(self, model: str | None = None) -> None:
        super().__init__()
        self._model: str | None = model
        self._result: dict[str, Any] | None = None
        #: the result's error, said as giving up after a series of API retries
        self._gave_up_error: str | None = None
        self._login_failed = False

    @property
    def result_text(self) -> str | None:
        result = self._result
        if result is not None and result.get("is_error") is not True:
            text = as_str(result.get("result"))
            if text:
                return text
        return self._last_agent_text

    def _handle(self, obj: dict[str, Any]) -> list[Message]:
        if self._session_id is None:
            self._session_id = as_str(obj.get("session_id"))
        kind = obj.get("type")
        if kind == "system":
            if obj.get("subtype") == "init":
                self._model = as_str(obj.get("model")) or self._model
            return []
        if kind == "assistant":
            return self._assistant(obj)
        if kind == "user":
            return self._user(obj)
        if kind == "result":
            self._result = obj
            self._ended = True
            return self._result_messages(obj)
        return []

    def _retry_notice(self, obj: dict[str, Any]) -> RetryNotice | None:
        if obj.get("type") != "system" or obj.get("subtype") != "api_retry":
            return None
        error = as_str(obj.get("error"))
        status = obj.get("error_status")
        detail: str | None = error
        if isinstance(status, int) and not isinstance(status, bool):
            detail = f"{error} (HTTP {status})" if error else f"HTTP {status}"
        attempt = obj.get("attempt")
        of = obj.get("max_retries")
        return RetryNotice(
            detail=detail,
            attempt=attempt if isinstance(attempt, int) and not isinstance(attempt, bool) else None,
            of=of if isinstance(of, int) and not isinstance(of, bool) else None,
        )

    def _is_progress(self, obj: dict[str, Any]) -> bool:
        kind = obj.get("type")
        if kind == "system":
            return obj.get("subtype") == "init"
        return kind in ("assistant", "user", "result", "stream_event")

    def _login_hint(self, text: str) -> list[Message]:
        """What to do about a missing login, once per run."""
        if not is_login_failure(text):
            return []
        self._login_failed = True
        return self._say_error(LOGIN_HINT)

    def _assistant(self, obj: dict[str, Any]) -> list[Message]:
        message = as_dict(obj.get("message"))
        # An API failure arrives as a synthetic message whose text is the error.
        error = as_str(obj.get("error"))
        out: list[Message] = []
        said_error = False
        for block in as_list(message.get("content")):
            if not isinstance(block, dict):
                continue
            block_type = block.get("type")
            if block_type == "text":
                text = as_str(block.get("text"))
                if not (text and text.strip()):
                    continue
                if error:
                    said_error = True
                    out += self._say_error(f"{text} ({error})", text)
                    out += self._login_hint(text)
                else:
                    self._agent_text(text)
                    out.append(Message(MessageKind.AGENT, clip(text)))
            elif block_type == "thinking":
                text = as_str(block.get("thinking")) or as_str(block.get("text"))
                if text and text.strip():
                    out.append(Message(MessageKind.THINKING, clip(text)))
            elif block_type in ("tool_use", "server_tool_use"):
                name = as_str(block.get("name")) or "tool"
                out.append(
                    Message(MessageKind.TOOL_CALL, render_tool_call(name, block.get("input")))
                )
        if error and not said_error:
            out += self._say_error(f"assistant error: {error}")
        return out

    def _user(self, obj: dict[str, Any]) -> list[Message]:
        message = as_dict(obj.get("message"))
        out: list[Message] = []
        for block in as_list(message.get("content")):
            if not isinstance(block, dict) or block.get("type") != "tool_result":
                continue
            text = tool_result_text(block.get("content"))
            self._pr_texts.append(text)
            lane = MessageKind.ERROR if block.get("is_error") is True else MessageKind.TOOL_RESULT
            out.append(Message(lane, clip(text)))
        return out

    def _result_messages(self, obj: dict[str, Any]) -> list[Message]:
        subtype = obj.get("subtype")
        is_error = obj.get("is_error") is True
        if not (is_error or (subtype is not None and subtype != "success")):
            return []
        raw = as_str(obj.get("result")) or _errors_text(obj) or f"result: {subtype}"
        text = self._gave_up(raw) if is_error else raw
        if text != raw:
            self._gave_up_error = text
        # the synthetic assistant message (or the agent's last words) may have said it already
        return self._say_error(text, raw) + self._login_hint(raw)

    # ------------------------------------------------------------------ outcome

    def _usage(self, result: dict[str, Any]) -> list[Usage]:
        total_cost = as_float(result.get("total_cost_usd"))
        if total_cost is None:
            total_cost = as_float(result.get("cost_usd"))
        model_usage = as_dict(result.get("modelUsage"))
        rows: list[Usage] = []
        for model, raw in model_usage.items():
            per = as_dict(raw)
            rows.append(
                Usage(
                    model=str(model),
                    input_tokens=as_int(per.get("inputTokens")),
                    output_tokens=as_int(per.get("outputTokens")),
                    cache_read_tokens=as_int(per.get("cacheReadInputTokens")),
                    cache_creation_tokens=as_int(per.get("cacheCreationInputTokens")),
                    cost_usd=as_float(per.get("costUSD")),
                )
            )
        if len(rows) == 1 and rows[0].cost_usd is None and total_cost is not None:
            rows = [dataclasses.replace(rows[0], cost_usd=total_cost)]
        if rows:
            return rows
        usage = result.get("usage")
        if not isinstance(usage, dict) and total_cost is None:
            return []
        usage = as_dict(usage)
        return [
            Usage(
                model=self._model or "claude",
                input_tokens=as_int(usage.get("input_tokens")),
                output_tokens=as_int(usage.get("output_tokens")),
                cache_read_tokens=as_int(usage.get("cache_read_input_tokens")),
                cache_creation_tokens=as_int(usage.get("cache_creation_input_tokens")),
                cost_usd=total_cost,
            )
        ]

    def finish(self, exit_code: int, stderr_tail: str) -> Outcome:
        result = self._result
        if result is None:
            outcome = exit_code_outcome(
                exit_code,
                stderr_tail,
                session_id=self._session_id,
                pr_url=self._pr_url(None),
                said=self._said_texts(),
            )
            if _AS_ROOT in stderr_tail and outcome.error:
                # the hint first: a failure message is clipped at its end
                outcome = dataclasses.replace(
                    outcome, error=f"{ROOT_HINT} ({outcome.error})", error_in_transcript=False
                )
            elif outcome.error and (self._login_failed or is_login_failure(stderr_tail)):
                outcome = self._with_login_hint(outcome, outcome.error)
            return outcome
        result_text = result.get("result") if isinstance(result.get("result"), str) else None
        session_id = self._session_id or as_str(result.get("session_id"))
        common: dict[str, Any] = {
            "result_text": result_text,
            "session_id": session_id,
            "usage": self._usage(result),
            "pr_url": self._pr_url(result_text),
            "exit_code": exit_code,
        }
        subtype = result.get("subtype")
        subtype_text = str(subtype)
        # 1. is_error gates everything: an API failure arrives as subtype "success".
        known = _subtype_error(subtype_text)
        if result.get("is_error") is True:
            detail = as_str(result_text) or _errors_text(result)
            if known is not None:
                error = f"{known}: {detail}" if detail else known
            else:
                error = self._gave_up_error or detail or "agent reported an error"
            outcome = Outcome(
                succeeded=False,
                failure_reason=FailureReason.AGENT_ERROR,
                error=error,
                error_in_transcript=self._already_said(error),
                **common,
            )
            if detail and is_login_failure(detail):
                outcome = self._with_login_hint(outcome, error)
            return outcome
        # 2. success → done; so is a result without a subtype that says is_error: false.
        if subtype == "success" or (subtype is None and result.get("is_error") is False):
            return Outcome(succeeded=True, **common)
        # 3. known error subtypes → agent_error; anything else → contract drift.
        if known is not None:
            detail = as_str(result_text) or _errors_text(result)
            return Outcome(
                succeeded=False,
                failure_reason=FailureReason.AGENT_ERROR,
                error=f"{known}: {detail}" if detail else known,
                **common,
            )
        return Outcome(
            succeeded=False,
            failure_reason=FailureReason.UNKNOWN,
            error=f"provider contract drift: subtype {subtype_text}",
            **common,
        )

    def _with_login_hint(self, outcome: Outcome, error: str) -> Outcome:
        """The login hint first (a failure message is clipped at its end), the error after."""
        return dataclasses.replace(
            outcome,
            error=f"{LOGIN_HINT} ({error})",
            error_in_transcript=outcome.error_in_transcript and self._already_said(LOGIN_HINT),
        )


def _errors_text(result: dict[str, Any]) -> str | None:
    parts = [e if isinstance(e, str) else str(e) for e in as_list(result.get("errors"))]
    text = "; ".join(p for p in parts if p)
    return text or None


def _subtype_error(subtype: str) -> str | None:
    if subtype == "error_max_turns":
        return "agent stopped: max turns reached (error_max_turns)"
    if subtype == "error_max_budget_usd":
        return "agent stopped: max budget reached (error_max_budget_usd)"
    if subtype == "error_during_execution":
        return "agent failed during execution (error_during_execution)"
    return None
