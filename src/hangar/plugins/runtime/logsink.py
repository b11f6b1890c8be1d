"""Plugin log lines, as JSONL in ``<data home>/logs/plugins.<date>.jsonl`` (one file per UTC day).

Same leading fields as the daemon's log (``ts``, ``level``, ``target``, ``msg``) plus
``event`` and ``plugin``. Plain ``json``: the CLI path never imports structlog.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    import asyncio

__all__ = ["LEVELS", "BudgetedLog", "LogBudget", "PluginLog", "log_file_for", "pump_lines"]

LEVELS: Final = {"trace": 5, "debug": 10, "info": 20, "warn": 30, "error": 40}
_RESERVED: Final = frozenset({"ts", "level", "target", "msg", "event", "plugin"})
MAX_MESSAGE: Final = 8192
MAX_LINE: Final = 64 * 1024


def log_file_for(logs_dir: Path, day: dt.date) -> Path:
    return logs_dir / f"plugins.{day.isoformat()}.jsonl"


class PluginLog:
    def __init__(self, logs_dir: Path, level: str = "info") -> None:
        self.logs_dir = logs_dir
        self.threshold = LEVELS.get(level, LEVELS["info"])
        self._lock = threading.Lock()
        self._day: dt.date | None = None
        self._fh: IO[str] | None = None

    @property
    def path(self) -> Path:
        """The file lines go to (today's, or the open one)."""
        return log_file_for(self.logs_dir, self._day or dt.datetime.now(dt.UTC).date())

    def enabled(self, level: str) -> bool:
        return LEVELS.get(level, LEVELS["info"]) >= self.threshold

    def write(self, level: str, event: str, plugin: str, msg: str, /, **fields: Any) -> None:
        if not self.enabled(level):
            return
        now = dt.datetime.now(dt.UTC)
        line: dict[str, Any] = {
            "ts": now.isoformat().replace("+00:00", "Z"),
            "level": level,
            "target": f"plugin.{plugin}",
            "msg": msg[:MAX_MESSAGE],
            "event": event,
            "plugin": plugin,
        }
        for key, value in fields.items():
            line[f"field_{key}" if key in _RESERVED else key] = value
        text = json.dumps(line, default=str, ensure_ascii=False)
        if len(text) > MAX_LINE:  # huge fields: keep the line, not the payload
            line = {k: line[k] for k in ("ts", "level", "target", "msg", "event", "plugin")}
            line["truncated"] = True
            text = json.dumps(line, default=str, ensure_ascii=False)
        with self._lock:
            try:
                fh = self._file(now.date())
                fh.write(text + "\n")
                fh.flush()
            except OSError:
                pass  # a full disk must not take the host down with it

    def _file(self, today: dt.date) -> IO[str]:
        if self._fh is None or today != self._day:
            if self._fh is not None:
                self._fh.close()
            self.logs_dir.mkdir(parents=True, exist_ok=True)
            self._fh = open(log_file_for(self.logs_dir, today), "a", encoding="utf-8")  # noqa: SIM115
            self._day = today
        return self._fh

    def close(self) -> None:
        with self._lock:
            if self._fh is not None:
                self._fh.close()
                self._fh = None


class LogBudget:
    """One plugin's allowance of log lines it causes (``host/log``, bad notifications …):
    ``lines`` and ``nbytes`` per one-second window, like the stderr pump's line limit, so a
    chatty plugin cannot fill the disk or keep the loop busy writing."""

    def __init__(
        self, lines: int, nbytes: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.lines = lines
        self.nbytes = nbytes
        self._clock = clock
        self._window = clock()
        self._used_lines = 0
        self._used_bytes = 0
        self._reported = self._window
        self.dropped = 0
        """Lines refused, in all."""
        self.unreported = 0
        """Lines refused since the last drop report."""

    def allow(self, size: int) -> bool:
        now = self._clock()
        if now - self._window >= 1.0:
            self._window, self._used_lines, self._used_bytes = now, 0, 0
        if self._used_lines + 1 > self.lines or self._used_bytes + size > self.nbytes:
            self.dropped += 1
            self.unreported += 1
            return False
        self._used_lines += 1
        self._used_bytes += size
        return True

    def report_due(self, force: bool = False) -> int:
        """Drops to report now (at most one report a second, or ``force``), else 0."""
        now = self._clock()
        if not self.unreported or (not force and now - self._reported < 1.0):
            return 0
        count, self.unreported, self._reported = self.unreported, 0, now
        return count


class BudgetedLog:
    """The lines plugins cause (``host/log``, bad notifications, dropped publishes), each
    plugin held to its own ``LogBudget``; what is dropped is reported at most once a second."""

    def __init__(self, log: PluginLog, lines_per_sec: int, bytes_per_sec: int) -> None:
        self.log = log
        self._rate = (lines_per_sec, bytes_per_sec)
        self._budgets: dict[str, LogBudget] = {}

    def budget(self, plugin_id: str) -> LogBudget:
        budget = self._budgets.get(plugin_id)
        if budget is None:
            budget = self._budgets[plugin_id] = LogBudget(*self._rate)
        return budget

    def write(self, plugin_id: str, level: str, event: str, msg: str, **fields: Any) -> None:
        if not self.log.enabled(level):
            return
        size = len(msg) + (len(repr(fields)) if fields else 0)
        if self.budget(plugin_id).allow(size):
            self.log.write(level, event, plugin_id, msg, **fields)
        self.report_drops(plugin_id)

    def report_drops(self, plugin_id: str, force: bool = False) -> None:
        """Log how many lines were dropped since the last report, if a report is due."""
        budget = self._budgets.get(plugin_id)
        count = 0 if budget is None else budget.report_due(force)
        if count:
            self.log.write(
                "warn",
                "plugin.log_dropped",
                plugin_id,
                f"{count} log lines over the budget dropped",
                dropped=count,
                total=budget.dropped if budget is not None else count,
            )


async def pump_lines(
    stream: asyncio.StreamReader, budget: LogBudget, write: Callable[[str], None]
) -> None:
    """Each line of ``stream``, up to its end, to ``write``, as many a second as ``budget``
    lets through (it counts the rest). Of a line without end only the last 8 KiB are kept;
    a last line without its newline is written whatever the budget."""
    pending = b""
    while True:
        data = await stream.read(65536)
        if not data:
            break
        lines = (pending + data).split(b"\n")
        pending = lines.pop()[-8192:]
        for raw in lines:
            if budget.allow(0):
                write(raw.decode("utf-8", "replace").rstrip("\r"))
    if pending:
        write(pending.decode("utf-8", "replace"))
