"""The payload of topic ``sessions.usage_data``, published by session-reader.

Wire format: UTF-8 JSON (msgspec), one object::

    {
      "version": 2,
      "rows": [
        {"day": "2025-05-26", "source": "claude", "model": "claude-sonnet-4-5-20250929",
         "project": "/home/me/src/app",
         "input_tokens": 120, "cache_creation_tokens": 3000, "cache_read_tokens": 45000,
         "output_tokens": 800, "reasoning_tokens": 0, "total_tokens": 48920,
         "requests": 4, "cost_usd": 0.03171, "cache_creation_1h_tokens": 1000}
      ],
      "files": 12,
      "malformed_lines": 1,
      "complete": true,
      "files_total": 12
    }

- One row per (day, source, model, project): the finest grain, from which every view
  (daily, weekly, by model, by project) is a plain sum. Rows are sorted by that key, so
  the same data always encodes to the same bytes and a republish can be skipped.
- ``day`` is the local calendar day of the request (``YYYY-MM-DD``); ``source`` is
  ``claude`` or ``codex``; ``project`` is the session's working directory.
- The four token kinds never overlap, so ``total_tokens`` is their sum:
  ``input_tokens`` (uncached input), ``cache_creation_tokens`` (Claude cache writes),
  ``cache_read_tokens`` (Claude cache reads, Codex cached input) and ``output_tokens``
  (Codex output includes reasoning). ``reasoning_tokens`` is informational: the part of
  ``output_tokens`` spent on reasoning (Codex only). ``cache_creation_1h_tokens`` is
  informational too: the part of ``cache_creation_tokens`` written to Claude's 1-hour cache
  (priced at 2x base input instead of 1.25x).
- ``requests``: model calls counted (deduplicated Claude messages, Codex token events).
- ``cost_usd``: from ``pricing``; ``null`` when the model has no known price (the tokens
  are still counted).
- ``files`` / ``malformed_lines``: how many session files were read and how many lines in
  them could not be parsed (skipped, never fatal).
- Scan progress: session-reader publishes while it is still scanning, so a snapshot may
  hold partial totals. ``complete`` is true only once every one of the ``files_total``
  session files found has been read to its end; until then ``files`` of ``files_total``
  are done and the rows are the totals so far. Only a complete snapshot without rows
  means "no sessions".

Version history: 2 added ``complete``, ``files_total`` and ``cache_creation_1h_tokens``
(1-hour cache writes, which also changed ``cost_usd``).

Bump ``USAGE_DATA_VERSION`` on any incompatible change; readers reject other versions.
"""

from __future__ import annotations

import msgspec

TOPIC = "sessions.usage_data"
USAGE_DATA_VERSION = 2

__all__ = [
    "TOPIC",
    "USAGE_DATA_VERSION",
    "UsageData",
    "UsageDataError",
    "UsageRow",
    "decode_usage_data",
    "encode_usage_data",
]


class UsageRow(msgspec.Struct, frozen=True, kw_only=True):
    """Usage of one model, in one project, on one day, from one agent CLI."""

    day: str
    source: str
    model: str
    project: str
    input_tokens: int = 0
    cache_creation_tokens: int = 0
    cache_read_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    total_tokens: int = 0
    requests: int = 0
    cost_usd: float | None = None
    cache_creation_1h_tokens: int = 0


class UsageData(msgspec.Struct, frozen=True, kw_only=True):
    """One full snapshot of usage; the bus keeps only the latest."""

    version: int = USAGE_DATA_VERSION
    rows: list[UsageRow] = msgspec.field(default_factory=list)
    files: int = 0
    malformed_lines: int = 0
    complete: bool = True
    """False while session-reader is still reading files: the rows are totals so far."""
    files_total: int = 0
    """Session files found; ``files`` of them are read (equal when ``complete``)."""


class UsageDataError(ValueError):
    """A payload that is not a usage snapshot this reader understands."""


def encode_usage_data(data: UsageData) -> bytes:
    return msgspec.json.encode(data)


def decode_usage_data(payload: bytes) -> UsageData:
    try:
        data = msgspec.json.decode(payload, type=UsageData)
    except msgspec.DecodeError as exc:
        raise UsageDataError(f"not a sessions.usage_data payload: {exc}") from exc
    if data.version != USAGE_DATA_VERSION:
        raise UsageDataError(
            f"sessions.usage_data version {data.version} is not supported "
            f"(this reader knows version {USAGE_DATA_VERSION})"
        )
    return data
