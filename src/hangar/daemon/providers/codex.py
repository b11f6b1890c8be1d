"""OpenAI Codex CLI (``codex exec --json``), docs/agents.md#providers.

The exit code is unreliable both ways, so the outcome comes from the events: a top-level
``error`` or a last ``turn.failed`` fails the run, a last ``turn.completed`` finishes it, and the
exit code decides only when no turn ever ended.

Codex announces its own transport retries as top-level ``error`` events too
(``Reconnecting... 2/5 (stream disconnected before completion: …)``), and a switch of transport
as an ``error`` item (``Falling back from WebSockets to HTTPS transport. …``). Those are notices,
not failures and not progress (docs/agents.md#liveness); the error that ends such a series is
said as giving up.
"""

from __future__ import annotations

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
    as_int,
    as_list,
    as_str,
    clip,
    compact_input,
    exit_code_outcome,
    reconnect_notice,
    render_tool_call,
)

_TOOL_ITEMS = ("command_execution", "mcp_tool_call")
#: an ``error`` item saying codex switched transport after its connection failed
_TRANSPORT_FALLBACK = "Falling back from WebSockets to HTTPS transport"


class CodexProvider:
    name = "codex"
    executable = "codex"

    def launch(self, config: AgentConfig) -> LaunchSpec:
        argv = [*(config.command or [self.executable]), "exec", "--json", "--skip-git-repo-check"]
        if config.model:
            argv += ["-m", config.model]
        argv += [*config.extra_args, "-"]
        return LaunchSpec(argv=argv, stdin=config.prompt.encode("utf-8", "replace"))

    def parser(self, model: str | None = None) -> CodexParser:
        return CodexParser(model=model)


def _tool_call_body(item: dict[str, Any]) -> str:
    if item.get("type") == "mcp_tool_call":
        server = as_str(item.get("server"))
        tool = as_str(item.get("tool")) or "tool"
        name = f"{server}.{tool}" if server else tool
        return render_tool_call(name, item.get("arguments"))
    return render_tool_call("Shell", item.get("command"))


def _mcp_result_text(item: dict[str, Any]) -> str:
    error = item.get("error")
    if error:
        return as_str(as_dict(error).get("message")) or compact_input(error)
    result = item.get("result")
    if isinstance(result, dict):
        parts = [
            block["text"]
            for block in as_list(result.get("content"))
            if isinstance(block, dict) and isinstance(block.get("text"), str)
        ]
        if parts:
            return "\n".join(parts)
        structured = result.get("structured_content")
        if structured is not None:
            return compact_input(structured)
    return compact_input(result)


class CodexParser(JsonLinesParser):
    """Parses ``codex exec --json`` events and decides the outcome (docs/agents.md#outcome)."""

    provider_name = "codex"

    def __init__(self, model: str | None = None) -> None:
        super().__init__()
        self._model = model
        self._started: set[str] = set()
        self._last_agent_message: str | None = None
        self._turn_state: str | None = None  # "started" | "completed" | "failed"
        self._turn_error: str | None = None
        self._stream_error: str | None = None
        self._usage_seen = False
        self._input = 0
        self._cached = 0
        self._output = 0

    def _handle(self, obj: dict[str, Any]) -> list[Message]:
        kind = obj.get("type")
        if kind == "thread.started":
            if self._session_id is None:
                self._session_id = as_str(obj.get("thread_id"))
            return []
        if kind == "turn.started":
            self._turn_state = "started"
            return []
        if kind == "turn.completed":
            self._turn_state = "completed"
            self._ended = True
            usage = obj.get("usage")
            if isinstance(usage, dict):
                self._usage_seen = True
                self._input += as_int(usage.get("input_tokens"))
                self._cached += as_int(usage.get("cached_input_tokens"))
                self._output += as_int(usage.get("output_tokens"))
            return []
        if kind == "turn.failed":
            self._turn_state = "failed"
            self._ended = True
            error = obj.get("error")
            raw = as_str(as_dict(error).get("message")) or as_str(error) or "turn failed"
            message = self._gave_up(raw)
            self._turn_error = message
            return self._say_error(message, raw)
        if kind == "error":
            raw = as_str(obj.get("message")) or "stream error"
            message = self._gave_up(raw)
            self._stream_error = message
            self._ended = True  # a fatal error fails the run whatever follows
            return self._say_error(message, raw)
        if kind == "item.started":
            return self._item_started(as_dict(obj.get("item")))
        if kind == "item.completed":
            return self._item_completed(as_dict(obj.get("item")))
        return []

    def _retry_notice(self, obj: dict[str, Any]) -> RetryNotice | None:
        kind = obj.get("type")
        if kind == "error":
            return reconnect_notice(as_str(obj.get("message")) or "")
        if kind == "item.completed":
            item = as_dict(obj.get("item"))
            message = as_str(item.get("message")) or ""
            if item.get("type") == "error" and message.startswith(_TRANSPORT_FALLBACK):
                return RetryNotice(detail=message)
        return None

    def _is_progress(self, obj: dict[str, Any]) -> bool:
        return obj.get("type") in (
            "thread.started",
            "turn.started",
            "turn.completed",
            "turn.failed",
            "error",
            "item.started",
            "item.updated",
            "item.completed",
        )

    def _item_started(self, item: dict[str, Any]) -> list[Message]:
        if item.get("type") not in _TOOL_ITEMS:
            return []
        item_id = item.get("id")
        if isinstance(item_id, str):
            self._started.add(item_id)
        return [Message(MessageKind.TOOL_CALL, _tool_call_body(item))]

    def _item_completed(self, item: dict[str, Any]) -> list[Message]:
        item_type = item.get("type")
        if item_type == "agent_message":
            text = item.get("text")
            if not isinstance(text, str):
                return []
            self._last_agent_message = text
            if not text.strip():
                return []
            self._agent_text(text)
            return [Message(MessageKind.AGENT, clip(text))]
        if item_type == "reasoning":
            text = as_str(item.get("text"))
            return [Message(MessageKind.THINKING, clip(text))] if text and text.strip() else []
        if item_type == "error":
            return [Message(MessageKind.ERROR, clip(as_str(item.get("message")) or "error"))]
        if item_type in _TOOL_ITEMS:
            return self._tool_completed(item)
        if item_type == "file_change":
            changes = [
                f"{as_str(c.get('kind')) or 'change'} {as_str(c.get('path')) or '?'}"
                for c in as_list(item.get("changes"))
                if isinstance(c, dict)
            ]
            return [Message(MessageKind.TOOL_CALL, clip("Edit: " + ", ".join(changes)))]
        if item_type == "web_search":
            return [
                Message(MessageKind.TOOL_CALL, render_tool_call("WebSearch", item.get("query")))
            ]
        return []

    def _tool_completed(self, item: dict[str, Any]) -> list[Message]:
        out: list[Message] = []
        item_id = item.get("id")
        if not (isinstance(item_id, str) and item_id in self._started):
            # No item.started was seen: show the call before its result.
            out.append(Message(MessageKind.TOOL_CALL, _tool_call_body(item)))
        status = item.get("status")
        if item.get("type") == "command_execution":
            output = item.get("aggregated_output")
            text = output if isinstance(output, str) else ""
            self._pr_texts.append(text)
            exit_code = item.get("exit_code")
            failed = status in ("failed", "declined") or (
                isinstance(exit_code, int) and not isinstance(exit_code, bool) and exit_code != 0
            )
            if failed and not text.strip():
                text = f"command {status or 'failed'} (exit code {exit_code})"
        else:
            text = _mcp_result_text(item)
            self._pr_texts.append(text)
            failed = status == "failed" or bool(item.get("error"))
        out.append(Message(MessageKind.ERROR if failed else MessageKind.TOOL_RESULT, clip(text)))
        return out

    # ------------------------------------------------------------------ outcome

    def _usage(self) -> list[Usage]:
        if not self._usage_seen:
            return []
        return [
            Usage(
                model=self._model or "codex",
                input_tokens=self._input,
                output_tokens=self._output,
                cache_read_tokens=self._cached,
                cache_creation_tokens=0,
                cost_usd=None,
            )
        ]

    def finish(self, exit_code: int, stderr_tail: str) -> Outcome:
        common: dict[str, Any] = {
            "result_text": self._last_agent_message,
            "session_id": self._session_id,
            "usage": self._usage(),
            "pr_url": self._pr_url(self._last_agent_message),
            "exit_code": exit_code,
        }
        if self._stream_error is not None or self._turn_state == "failed":
            error = self._stream_error or self._turn_error or "turn failed"
            return Outcome(
                succeeded=False,
                failure_reason=FailureReason.AGENT_ERROR,
                error=error,
                error_in_transcript=self._already_said(error),
                **common,
            )
        if self._turn_state == "completed":
            return Outcome(succeeded=True, **common)
        return exit_code_outcome(
            exit_code,
            stderr_tail,
            session_id=self._session_id,
            result_text=self._last_agent_message,
            usage=common["usage"],
            pr_url=common["pr_url"],
            no_result_note="exited without a completed turn",
            said=self._said_texts(),
        )
