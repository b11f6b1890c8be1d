"""The daemon's structured log, read back: one JSON object a line, a file a UTC day.

The daemon writes ``<home>/logs/daemon.<YYYY-MM-DD>.jsonl``, each line an object that starts
``ts``, ``level``, ``target``, ``msg`` and carries the event's fields after them. ``hangar
logs tail`` and the TUI's Logs screen read those files with what is here: which file is the
newest, what a line says, how a level ranks, how fields print. Reading the files is the
callers' business, so this stays IO-free.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "HEAD_KEYS",
    "LEVELS",
    "UNRANKED",
    "format_fields",
    "format_value",
    "is_log_name",
    "level_rank",
    "newest_log_name",
    "parse_record",
    "record_level",
]

#: the levels the daemon writes, lowest first
LEVELS = ("trace", "debug", "info", "warn", "error")
#: the rank of a level the daemon does not write: it passes every minimum, like a line that
#: is not a record at all — what cannot be classified is never hidden
UNRANKED = len(LEVELS)
#: the keys every record starts with; the rest are the event's fields
HEAD_KEYS = ("ts", "level", "target", "msg")

_LOG_NAME = re.compile(r"daemon\.\d{4}-\d{2}-\d{2}\.jsonl")
#: a bare value never holds one of these; a value that does is printed as JSON (quoted)
_NEEDS_QUOTES = re.compile(r"[\s\"'=]")


def is_log_name(name: str) -> bool:
    """``daemon.2026-06-01.jsonl`` is a day's log; ``daemon.stderr.log`` is not."""
    return _LOG_NAME.fullmatch(name) is not None


def newest_log_name(names: Iterable[str]) -> str | None:
    """The newest day's file among ``names`` (ISO dates sort as they fall)."""
    return max((n for n in names if is_log_name(n)), default=None)


def parse_record(line: str | bytes) -> dict[str, Any] | None:
    """The line's record, or None when it is not one (not JSON, not an object, cut short)."""
    try:
        record = json.loads(line)
    except ValueError:  # JSONDecodeError and UnicodeDecodeError both
        return None
    return record if isinstance(record, dict) else None


def record_level(record: Mapping[str, Any]) -> str:
    return str(record.get("level", "info"))


def level_rank(level: str) -> int:
    """trace 0 … error 4; any other level ``UNRANKED`` (shown at every minimum)."""
    try:
        return LEVELS.index(level)
    except ValueError:
        return UNRANKED


def format_value(value: Any) -> str:
    """A field's value on one line: a plain word as it is, anything else as JSON (so a
    value with spaces stays one token, and a newline or a control character is escaped)."""
    if isinstance(value, str) and value and value.isprintable() and not _NEEDS_QUOTES.search(value):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def format_fields(record: Mapping[str, Any]) -> str:
    """``key=value`` for every field after the head, in the order written."""
    return " ".join(f"{k}={format_value(v)}" for k, v in record.items() if k not in HEAD_KEYS)
