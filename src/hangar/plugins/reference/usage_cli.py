"""``ainb usage [daily|weekly|models|projects] [--json] [--since YYYY-MM-DD] [--days N]
[--wait SECONDS]``.

Takes a loader of the decoded snapshot (``None`` when there is none), today's date and the
home directory (to shorten project paths), and returns the ``CliOutput``. While the
snapshot is missing or incomplete (session-reader still scanning) it loads again, up to
``--wait`` seconds; ``sleep`` and ``clock`` are injectable so tests need not wait.

Exit codes: 0 complete usage shown (including "no sessions", which only a complete scan
can say); 1 the usage could not be fetched or read; 2 bad arguments; 3 incomplete: the
scan is still running (the totals so far are shown) or nothing was published yet.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import msgspec

from hangar.plugins.protocol import CliOutput
from hangar.plugins.reference.cli_support import CliParser, parse_or_output, text_output
from hangar.plugins.reference.usage_data import UsageData, UsageRow
from hangar.plugins.reference.usage_views import (
    VIEWS,
    ViewName,
    ViewRow,
    filter_since,
    group,
    money,
    total,
)

__all__ = [
    "EXIT_INCOMPLETE",
    "EXIT_OK",
    "EXIT_UNAVAILABLE",
    "EXIT_USAGE",
    "NOT_PUBLISHED",
    "NO_SESSIONS",
    "UsageDataUnavailable",
    "scanning_notice",
    "usage_command",
]

EXIT_OK = 0
EXIT_UNAVAILABLE = 1
EXIT_USAGE = 2
EXIT_INCOMPLETE = 3

NO_SESSIONS = (
    "No Claude Code or Codex sessions found under ~/.claude/projects or ~/.codex/sessions.\n"
)
NOT_PUBLISHED = (
    "session-reader has not published any usage yet; try again in a moment "
    "(`ainb plugins` shows whether it is running).\n"
)
#: Seconds between loads while waiting for a complete snapshot.
POLL_INTERVAL = 0.25
DEFAULT_WAIT = 10.0


def scanning_notice(data: UsageData) -> str:
    return (
        f"session-reader is still scanning: {data.files:,} of {data.files_total:,} files; "
        "totals so far:\n"
    )


class UsageDataUnavailable(Exception):
    """The snapshot could not be fetched or read (the message says why)."""


_KEY_NAMES: dict[ViewName, str] = {
    "daily": "date",
    "weekly": "week",
    "models": "model",
    "projects": "project",
}
_TITLES: dict[ViewName, str] = {
    "daily": "Token usage by day",
    "weekly": "Token usage by week (weeks start on Monday)",
    "models": "Token usage by model",
    "projects": "Token usage by project",
}

_HELP = """\
Token usage and estimated cost of your Claude Code and Codex sessions, read from
~/.claude/projects and ~/.codex/sessions by the session-reader plugin.

views:
  daily      one row per day (the default)
  weekly     one row per week, keyed by its Monday
  models     one row per model, largest first
  projects   one row per project (the session's working directory), largest first

Tokens: input (uncached), cache write, cache read and output never overlap; total is
their sum. Cost is an estimate at list price; models without a known price show "-" and
a footnote says how many tokens the total leaves out.

While session-reader is still scanning (a large history, the first time), this waits up
to --wait seconds for the scan to finish, then shows the totals so far.

exit status:
  0  complete usage shown ("no sessions" only when a complete scan found none)
  1  the usage could not be fetched from session-reader or read
  2  bad arguments
  3  incomplete: session-reader is still scanning (the totals so far are shown)
     or has not published yet; try again shortly
"""


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {text!r}") from None


def _positive(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of days >= 1, got {text!r}")
    return n


def _seconds(text: str) -> float:
    try:
        n = float(text)
    except ValueError:
        n = -1.0
    if not 0 <= n <= 3600:
        raise argparse.ArgumentTypeError(f"expected seconds from 0 to 3600, got {text!r}")
    return n


def _parser() -> CliParser:
    p = CliParser(
        prog="ainb usage",
        description=_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("view", nargs="?", default="daily", choices=VIEWS, help="what to group by")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")
    p.add_argument("--since", type=_day, metavar="YYYY-MM-DD", help="only days from this date")
    p.add_argument(
        "--days", type=_positive, metavar="N", help="only the last N days, today included"
    )
    p.add_argument(
        "--wait",
        type=_seconds,
        default=DEFAULT_WAIT,
        metavar="SECONDS",
        help=f"wait this long for an unfinished scan (default {DEFAULT_WAIT:g}; 0: don't)",
    )
    return p


def usage_command(
    argv: list[str],
    load: Callable[[], UsageData | None],
    *,
    today: date,
    home: Path | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> CliOutput:
    """Run ``ainb usage``; ``load`` fetches the snapshot, only once the arguments are good.

    ``load`` may raise ``UsageDataUnavailable`` (shown, exit 1); ``None`` means no data yet.
    It is called again every ``POLL_INTERVAL`` while the data is missing or incomplete,
    until ``--wait`` runs out.
    """
    parser = _parser()
    args = parse_or_output(parser, argv)
    if isinstance(args, CliOutput):
        return args
    if args.since is not None and args.days is not None:
        return parser.error_output("--since and --days cannot be used together")
    since: date | None = args.since
    if args.days is not None:
        since = today - timedelta(days=args.days - 1)
    try:
        data = _load_until_complete(load, args.wait, sleep, clock)
    except UsageDataUnavailable as exc:
        return text_output(stderr=f"ainb usage: {exc}\n", exit_code=EXIT_UNAVAILABLE)
    view: ViewName = args.view
    rows = filter_since(data.rows if data is not None else [], since)
    if args.json:
        return _json(view, since, rows, data)
    if data is None:
        return text_output(stderr=f"ainb usage: {NOT_PUBLISHED}", exit_code=EXIT_INCOMPLETE)
    if not data.complete:
        body = _table(view, group(rows, view), total(rows), home) if rows else "(none yet)\n"
        return text_output(scanning_notice(data) + "\n" + body, exit_code=EXIT_INCOMPLETE)
    if not data.rows:
        return text_output(NO_SESSIONS)
    if not rows:
        return text_output(f"No usage since {since}.\n")
    return text_output(_table(view, group(rows, view), total(rows), home))


def _load_until_complete(
    load: Callable[[], UsageData | None],
    wait: float,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
) -> UsageData | None:
    deadline = clock() + wait
    data = load()
    while data is None or not data.complete:
        left = deadline - clock()
        if left <= 0:
            break
        sleep(min(POLL_INTERVAL, left))
        data = load()
    return data


# -- JSON -------------------------------------------------------------------------------------


def _view_json(row: ViewRow, key_name: str | None) -> dict[str, Any]:
    fields = dataclasses.asdict(row)
    key = fields.pop("key")
    return {key_name: key, **fields} if key_name else fields


def _json(
    view: ViewName, since: date | None, rows: list[UsageRow], data: UsageData | None
) -> CliOutput:
    doc = {
        "view": view,
        "since": since.isoformat() if since else None,
        "rows": [_view_json(r, _KEY_NAMES[view]) for r in group(rows, view)],
        "total": _view_json(total(rows), None) if rows else None,
        "files": data.files if data else 0,
        "malformed_lines": data.malformed_lines if data else 0,
        "complete": data.complete if data else False,
        "files_total": data.files_total if data else 0,
    }
    if data is None:
        stderr, code = NOT_PUBLISHED, EXIT_INCOMPLETE
    elif not data.complete:
        stderr, code = scanning_notice(data), EXIT_INCOMPLETE
    else:
        stderr, code = (NO_SESSIONS if not data.rows else ""), EXIT_OK
    return CliOutput(
        stdout=msgspec.json.format(msgspec.json.encode(doc)) + b"\n",
        stderr=stderr.encode(),
        exit_code=code,
    )


# -- text -------------------------------------------------------------------------------------


def _cost(row: ViewRow) -> str:
    if row.cost_usd is None:
        return "-"
    return money(row.cost_usd) + ("*" if row.unpriced_tokens else "")


def _label(view: ViewName, key: str, home: Path | None) -> str:
    if view == "projects" and home is not None:
        h = str(home)
        if key == h or key.startswith(h.rstrip("/") + "/"):
            return "~" + key[len(h.rstrip("/")) :]
    return key


def _table(view: ViewName, rows: list[ViewRow], overall: ViewRow, home: Path | None) -> str:
    header = [_KEY_NAMES[view], "input", "cache write", "cache read", "output", "total", "cost"]
    body = [
        [
            _label(view, r.key, home),
            f"{r.input_tokens:,}",
            f"{r.cache_creation_tokens:,}",
            f"{r.cache_read_tokens:,}",
            f"{r.output_tokens:,}",
            f"{r.total_tokens:,}",
            _cost(r),
        ]
        for r in [*rows, overall]
    ]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]

    def fmt(cells: list[str]) -> str:
        first = cells[0].ljust(widths[0])
        rest = [c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True)]
        return "  ".join([first, *rest]).rstrip()

    lines = [_TITLES[view], "", fmt(header), fmt(["-" * w for w in widths])]
    lines += [fmt(cells) for cells in body[:-1]]
    lines += [fmt(["-" * w for w in widths]), fmt(body[-1])]
    if overall.unpriced_tokens:
        lines += [
            "",
            f"* cost leaves out {overall.unpriced_tokens:,} tokens of models without a known price",
        ]
    return "\n".join(lines) + "\n"
