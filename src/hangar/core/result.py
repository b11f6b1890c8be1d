"""A task's result JSON: ``{content, exit_code?, pr_url?, error?}`` (docs/agents.md#result).

Optional fields are omitted when empty (no ``null``, no ``""``) and parsing is tolerant, so
older rows (``{content, exit_code}``) and newer writers with extra keys both still read.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

#: How much of the stdout tail a result keeps by default.
CONTENT_TAIL_CHARS = 16_000
ERROR_MAX_CHARS = 500


@dataclass(frozen=True)
class TaskResult:
    content: str
    exit_code: int | None = None
    pr_url: str | None = None
    error: str | None = None  # one line; normalised on construction

    def __post_init__(self) -> None:
        if self.error is not None:
            object.__setattr__(self, "error", one_line(self.error))

    def to_dict(self) -> dict[str, str | int]:
        out: dict[str, str | int] = {"content": self.content}
        if self.exit_code is not None:
            out["exit_code"] = self.exit_code
        if self.pr_url:
            out["pr_url"] = self.pr_url
        if self.error:
            out["error"] = self.error
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> TaskResult:
        if not isinstance(data, Mapping):
            raise ValueError(f"task result must be an object, got {type(data).__name__}")
        content = data.get("content")
        if not isinstance(content, str):
            raise ValueError("task result needs a string 'content'")
        exit_code = data.get("exit_code")
        # bool is an int subclass; a JSON true is not an exit code.
        if isinstance(exit_code, bool) or not isinstance(exit_code, int | None):
            raise ValueError(f"task result 'exit_code' must be an integer, got {exit_code!r}")
        return cls(
            content=content,
            exit_code=exit_code,
            pr_url=_opt_str(data, "pr_url"),
            error=_opt_str(data, "error"),
        )

    @classmethod
    def from_json(cls, text: str) -> TaskResult:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"task result is not valid JSON: {exc}") from None
        return cls.from_dict(data)


def _opt_str(data: Mapping[str, object], key: str) -> str | None:
    value = data.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(f"task result {key!r} must be a string, got {value!r}")
    return value


def clip_tail(text: str, max_chars: int = CONTENT_TAIL_CHARS) -> str:
    """The last ``max_chars`` characters: the end of a run says how it went."""
    if max_chars < 0:
        raise ValueError(f"max_chars must be >= 0, got {max_chars}")
    return text[-max_chars:] if max_chars else ""


def one_line(text: str, max_chars: int = ERROR_MAX_CHARS) -> str:
    """Collapse whitespace (newlines included) and clip, for a failure message."""
    flat = " ".join(text.split())
    if len(flat) > max_chars:
        flat = flat[: max(max_chars - 1, 0)] + "…"
    return flat
