"""Any command: plain-text stdout, outcome from the exit code (docs/agents.md#outcome).

The prompt goes to stdin and into ``HANGAR_PROMPT``. Every non-blank stdout line is an agent
message; the result text is the stdout tail.
"""

from __future__ import annotations

from collections import deque

from hangar.core.pr_url import find_pr_url
from hangar.daemon.providers.base import (
    AgentConfig,
    LaunchSpec,
    Message,
    MessageKind,
    Outcome,
    clip,
    exit_code_outcome,
    tail,
)

PROMPT_ENV = "HANGAR_PROMPT"
RESULT_TAIL_CHARS = 4000
PROMPT_ENV_MAX_BYTES = 120 * 1024
"""Linux caps one env string at 128 KiB; a larger prompt is only on stdin."""


class CommandProvider:
    name = "command"
    executable = ""  # there is no default: ``AgentConfig.command`` is required

    def launch(self, config: AgentConfig) -> LaunchSpec:
        if not config.command:
            raise ValueError("the command provider needs a command (an argv list)")
        env: dict[str, str] = {}
        prompt_env = config.prompt.replace("\0", "")
        if len(prompt_env.encode("utf-8", "replace")) <= PROMPT_ENV_MAX_BYTES:
            env[PROMPT_ENV] = prompt_env
        return LaunchSpec(
            argv=[*config.command, *config.extra_args],
            stdin=config.prompt.encode("utf-8", "replace"),
            env=env,
        )

    def parser(self, model: str | None = None) -> CommandParser:
        return CommandParser()


class CommandParser:
    """Each stdout line is agent text; the exit code decides."""

    def __init__(self) -> None:
        self._tail: deque[str] = deque()
        self._tail_chars = 0
        self._pr_url: str | None = None

    @property
    def session_id(self) -> str | None:
        return None

    @property
    def retrying(self) -> str | None:
        return None  # plain text has no transport notices: every line is progress

    @property
    def ended(self) -> bool:
        return False  # no terminal event: the exit code decides

    @property
    def result_text(self) -> str | None:
        return self._result_text()

    def feed(self, line: str) -> list[Message]:
        text = line.rstrip("\r\n")
        self._remember(text)
        url = find_pr_url(text)
        if url:
            self._pr_url = url
        if not text.strip():
            return []
        return [Message(MessageKind.AGENT, clip(text))]

    def _remember(self, text: str) -> None:
        self._tail.append(text)
        self._tail_chars += len(text) + 1
        while (
            len(self._tail) > 1 and self._tail_chars - len(self._tail[0]) - 1 >= RESULT_TAIL_CHARS
        ):
            self._tail_chars -= len(self._tail.popleft()) + 1

    def _result_text(self) -> str | None:
        text = "\n".join(self._tail).strip("\n")
        return tail(text, RESULT_TAIL_CHARS) if text else None

    def finish(self, exit_code: int, stderr_tail: str) -> Outcome:
        return exit_code_outcome(
            exit_code,
            stderr_tail,
            session_id=None,
            result_text=self._result_text(),
            pr_url=self._pr_url,
            zero_is_success=True,
        )
