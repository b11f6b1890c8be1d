"""Structured JSONL logs under <home>/logs/daemon.<date>.jsonl, a new file each UTC day.

structlog is imported here only: the daemon pays for it, the CLI never does."""

from __future__ import annotations

import datetime as dt
import logging
import sys
import threading
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any, TextIO

import structlog

LEVELS = ("trace", "debug", "info", "warn", "error")


def log_file_for(logs_dir: Path, day: dt.date) -> Path:
    return logs_dir / f"daemon.{day.isoformat()}.jsonl"


class DailyJsonlLogger:
    """A structlog logger that appends rendered lines to today's file (and optionally stderr)."""

    def __init__(self, logs_dir: Path, echo: TextIO | None) -> None:
        self._dir = logs_dir
        self._echo = echo
        self._lock = threading.Lock()
        self._day: dt.date | None = None
        self._fh: TextIO | None = None

    def _file(self) -> TextIO:
        today = dt.datetime.now(dt.UTC).date()
        if self._fh is None or today != self._day:
            if self._fh is not None:
                self._fh.close()
            self._dir.mkdir(parents=True, exist_ok=True)
            self._fh = open(log_file_for(self._dir, today), "a", encoding="utf-8")  # noqa: SIM115
            self._day = today
        return self._fh

    def msg(self, message: str) -> None:
        with self._lock:
            fh = self._file()
            fh.write(message + "\n")
            fh.flush()
            if self._echo is not None:
                self._echo.write(message + "\n")
                self._echo.flush()

    debug = info = warning = warn = error = critical = exception = fatal = log = msg

    def close(self) -> None:
        with self._lock:
            if self._fh is not None:
                self._fh.close()
                self._fh = None


def _level_name(_: Any, method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    level = event.pop("level", method)
    event["level"] = {"warning": "warn", "critical": "error", "exception": "error"}.get(
        level, level
    )
    return event


def _ordered(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    head: dict[str, Any] = {k: event.pop(k) for k in ("ts", "level", "target", "msg") if k in event}
    return {**head, **event}


_sink: DailyJsonlLogger | None = None


def configure_logging(logs_dir: Path, *, echo_stderr: bool = False, level: str = "info") -> None:
    global _sink
    if _sink is not None:
        _sink.close()
    _sink = DailyJsonlLogger(logs_dir, sys.stderr if echo_stderr else None)
    sink = _sink
    threshold = {"trace": 5, "debug": 10, "info": 20, "warn": 30, "error": 40}[level]
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            _level_name,
            structlog.processors.TimeStamper(fmt="iso", utc=True, key="ts"),
            structlog.processors.EventRenamer("msg"),
            structlog.processors.format_exc_info,
            _ordered,
            structlog.processors.JSONRenderer(sort_keys=False),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(threshold),
        logger_factory=lambda *args: sink,
        cache_logger_on_first_use=False,
    )
    # route stdlib logging (asyncio, alembic) into the same file
    logging.basicConfig(level=logging.WARNING, handlers=[_StructlogHandler()], force=True)


class _StructlogHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        log = structlog.get_logger(target=record.name)
        level = record.levelname.lower()
        getattr(log, level if level in ("debug", "info", "warning", "error") else "info")(
            record.getMessage()
        )


def get_logger(target: str) -> Any:
    return structlog.get_logger().bind(target=target)
