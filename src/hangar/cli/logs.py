"""hangar logs tail: reads the daemon's JSONL files directly (no daemon needed)."""

from __future__ import annotations

import json
import time
from collections import deque
from pathlib import Path
from typing import Any

import click

from hangar.cli.common import common_options
from hangar.core.logfiles import (
    LEVELS,
    format_fields,
    level_rank,
    newest_log_name,
    parse_record,
    record_level,
)

COLORS = {
    "trace": "bright_black",
    "debug": "bright_black",
    "info": None,
    "warn": "yellow",
    "error": "red",
}


def newest_log(logs_dir: Path) -> Path | None:
    name = newest_log_name(p.name for p in logs_dir.glob("daemon.*.jsonl"))
    return logs_dir / name if name else None


def format_record(rec: dict[str, Any]) -> str:
    level = record_level(rec)
    head = f"{rec.get('ts', '')} {level.upper():5} {rec.get('target', '-')} {rec.get('msg', '')}"
    line = f"{head} {format_fields(rec)}".rstrip()
    return click.style(line, fg=COLORS.get(level))


def _record(line: str, min_level: int) -> dict[str, Any] | None:
    """The line's record if it is one at ``min_level`` or above (unknown levels pass)."""
    rec = parse_record(line)
    return rec if rec is not None and level_rank(record_level(rec)) >= min_level else None


def _emit(rec: dict[str, Any], as_json: bool) -> None:
    click.echo(json.dumps(rec) if as_json else format_record(rec))


@click.group()
def logs() -> None:
    """The daemon's structured logs: <home>/logs/daemon.<date>.jsonl."""


@logs.command()
@click.option("-f", "--follow", is_flag=True, help="Keep printing new lines (Ctrl-C to stop).")
@click.option("--lines", "-n", type=click.IntRange(0), default=200, show_default=True)
@click.option("--level", type=click.Choice(LEVELS), default="trace", help="Minimum level.")
@common_options
def tail(follow: bool, lines: int, level: str, as_json: bool, workspace: str | None) -> None:
    """Print the last lines of the newest log file."""
    from hangar.core.paths import HangarPaths

    logs_dir = HangarPaths.from_env().logs
    min_level = level_rank(level)
    path = newest_log(logs_dir)
    pos = 0
    if path is not None:
        with path.open("r", encoding="utf-8", errors="replace") as fh:
            recent = deque(
                (rec for ln in fh if (rec := _record(ln, min_level)) is not None), maxlen=lines
            )
            pos = fh.tell()
        for rec in recent:
            _emit(rec, as_json)
    elif not follow:
        click.echo(f"no daemon logs yet in {logs_dir}", err=True)
        return
    try:
        while follow:
            time.sleep(0.5)
            newest = newest_log(logs_dir)
            if newest != path:  # a new day started a new file
                path, pos = newest, 0
            if path is None:
                continue
            with path.open("r", encoding="utf-8", errors="replace") as fh:
                fh.seek(pos)
                for ln in fh:
                    if (rec := _record(ln, min_level)) is not None:
                        _emit(rec, as_json)
                pos = fh.tell()
    except KeyboardInterrupt:
        pass
