"""Google Gemini CLI (``gemini --prompt=… -o stream-json``), docs/agents.md#providers.

The prompt travels as one ``--prompt=<text>`` argv element, so a prompt starting with ``-`` can
never be read as a flag. Assistant text arrives as deltas; a contiguous run of deltas becomes one
agent message, emitted when the run ends (at the next non-delta event).
"""

from __future__ import annotations

from typing import Any

from hangar.core.failures import FailureReason
from hangar.daemon.providers.base import (
    ERROR_TAIL_LIMIT,
    AgentConfig,
    JsonLinesParser,
    LaunchSpec,
    Message,
    MessageKind,
    Outcome,
    Usage,
    as_dict,
    as_int,
    as_str,
    clip,
    compact_input,
    exit_code_outcome,
    render_tool_call,
    tail,
)

EXIT_INPUT_ERROR = 42
EXIT_TURN_LIMIT = 53


class GeminiProvider:
    name = "gemini"
    executable = "gemini"

    def launch(self, config: AgentConfig) -> LaunchSpec:
        argv = [
            *(config.command or [self.executable]),
            "--prompt=" + config.prompt,
            "-o",
            "stream-json",
            "--approval-mode",
            "yolo",
            "--skip-trust",
        ]
        if config.model:
            argv += ["-m", config.model]
        argv += config.extra_args
        return LaunchSpec(argv=argv, stdin=None)

    def parser(self, model: str | None = None) -> GeminiParser:
        return GeminiParser(model=model)


def _error_message(value: object) -> str | None:
    if isinstance(value, str):
        return value or None
    if isinstance(value, dict):
        return as_str(value.get("message")) or compact_input(value) or None
    return None


class GeminiParser(JsonLinesParser):
    """Parses Gemini CLI stream-json and decides the outcome (docs/agents.md#outcome)."""

    provider_name = "gemini"

    def __init__(self, model: str | None = None) -> None:
        super().__init__()
        self._model = model
        self._run: list[str] = []  # the current contiguous run of assistant deltas
        self._texts: list[str] = []  # finished assistant runs
        self._result: dict[str, Any] | None = None

    def _flush(self) -> list[Message]:
        if not self._run:
            return []
        text = "".join(self._run)
        self._run = []
        self._texts.append(text)
        if not text.strip():
            return []
        self._agent_text(text)
        return [Message(MessageKind.AGENT, clip(text))]

    def _handle(self, obj: dict[str, Any]) -> list[Message]:
        kind = obj.get("type")
        if kind == "message":
            if obj.get("role") != "assistant":
                return []
            content = obj.get("content")
            if not isinstance(content, str):
                return []
            if obj.get("delta") is True:
                self._run.append(content)
                return []
            out = self._flush()
            self._run.append(content)
            return out + self._flush()
        out = self._flush()
        if kind == "init":
            if self._session_id is None:
                self._session_id = as_str(obj.get("session_id"))
            self._model = as_str(obj.get("model")) or self._model
        elif kind == "tool_use":
            name = as_str(obj.get("tool_name")) or "tool"
            out.append(
                Message(MessageKind.TOOL_CALL, render_tool_call(name, obj.get("parameters")))
            )
        elif kind == "tool_result":
            out.append(self._tool_result(obj))
        elif kind == "error":
            message = as_str(obj.get("message")) or "error"
            severity = as_str(obj.get("severity"))
            body = f"{severity}: {message}" if severity else message
            out += self._say_error(body, message)
        elif kind == "result":
            self._result = obj
            self._ended = True
            if obj.get("status") != "success":
                message = _error_message(obj.get("error")) or f"result: {obj.get('status')}"
                out += self._say_error(message)
        return out

    def _tool_result(self, obj: dict[str, Any]) -> Message:
        output = obj.get("output")
        text = output if isinstance(output, str) else compact_input(output)
        self._pr_texts.append(text)
        if obj.get("status") == "error":
            message = _error_message(obj.get("error"))
            body = "\n".join(p for p in (message, text) if p) or "tool failed"
            return Message(MessageKind.ERROR, clip(body))
        return Message(MessageKind.TOOL_RESULT, clip(text))

    # ------------------------------------------------------------------ outcome

    @property
    def result_text(self) -> str | None:
        return self._result_text()

    def _result_text(self) -> str | None:
        texts = [*self._texts, "".join(self._run)] if self._run else self._texts
        texts = [t for t in texts if t]
        return "\n\n".join(texts) if texts else None

    def _usage(self) -> list[Usage]:
        if self._result is None:
            return []
        stats = self._result.get("stats")
        if not isinstance(stats, dict):
            return []
        rows: list[Usage] = []
        for model, raw in as_dict(stats.get("models")).items():
            per = as_dict(raw)
            tokens = as_dict(per.get("tokens")) or per
            rows.append(
                Usage(
                    model=str(model),
                    input_tokens=as_int(tokens.get("input_tokens", tokens.get("prompt"))),
                    output_tokens=as_int(tokens.get("output_tokens", tokens.get("candidates"))),
                    cache_read_tokens=as_int(tokens.get("cached")),
                    cost_usd=None,
                )
            )
        if rows:
            return rows
        return [
            Usage(
                model=self._model or "gemini",
                input_tokens=as_int(stats.get("input_tokens")),
                output_tokens=as_int(stats.get("output_tokens")),
                cache_read_tokens=as_int(stats.get("cached")),
                cost_usd=None,
            )
        ]

    def finish(self, exit_code: int, stderr_tail: str) -> Outcome:
        result_text = self._result_text()
        common: dict[str, Any] = {
            "result_text": result_text,
            "session_id": self._session_id,
            "usage": self._usage(),
            "pr_url": self._pr_url(result_text),
            "exit_code": exit_code,
        }
        result = self._result
        if result is not None:
            if result.get("status") == "success":
                return Outcome(succeeded=True, **common)
            error = _error_message(result.get("error")) or "agent reported an error"
            if exit_code == EXIT_TURN_LIMIT:
                error = f"turn limit exceeded (exit {EXIT_TURN_LIMIT}): {error}"
            return Outcome(
                succeeded=False,
                failure_reason=FailureReason.AGENT_ERROR,
                error=error,
                error_in_transcript=self._already_said(error),
                **common,
            )
        stderr_text = tail(stderr_tail.strip(), ERROR_TAIL_LIMIT)
        if exit_code in (EXIT_TURN_LIMIT, EXIT_INPUT_ERROR):
            if exit_code == EXIT_TURN_LIMIT:
                reason = FailureReason.AGENT_ERROR
                message = f"turn limit exceeded (exit {EXIT_TURN_LIMIT})"
            else:
                reason = FailureReason.SPAWN_ERROR
                message = f"input error: bad prompt or arguments (exit {EXIT_INPUT_ERROR})"
            return Outcome(
                succeeded=False,
                failure_reason=reason,
                error=f"{message}: {stderr_text}" if stderr_text else message,
                **common,
            )
        return exit_code_outcome(
            exit_code,
            stderr_tail,
            session_id=self._session_id,
            result_text=result_text,
            usage=common["usage"],
            pr_url=common["pr_url"],
            said=self._said_texts(),
        )
