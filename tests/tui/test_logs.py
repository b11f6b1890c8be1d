"""Screen L, Logs: the daemon's JSONL log, tailed from its file — colours by level, the level
chips, following, the moving keys, a new day's file, truncation, 100k lines, and lines that
are not records."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from rich.style import Style
from textual.app import App, ComposeResult
from textual.pilot import Pilot

from hangar.core.logfiles import (
    LEVELS,
    UNRANKED,
    format_fields,
    format_value,
    level_rank,
    newest_log_name,
    parse_record,
)
from hangar.testing import wait_for
from hangar.tui.app import HangarApp
from hangar.tui.screens.logs import LogsScreen
from hangar.tui.widgets.log_view import LEVEL_STYLES, LogView, line_rank, scan_lines
from tests.tui.helpers import Served, running, shown, wait_shown

#: a day after any the served daemon writes (it logs to today's file in the same
#: directory), so the screen shows the file a test writes
DAY = "2100-01-01"


# -- helpers ---------------------------------------------------------------------------------


def log_file(served: Served, day: str = DAY) -> Path:
    served.paths.logs.mkdir(parents=True, exist_ok=True)
    return served.paths.logs / f"daemon.{day}.jsonl"


def rec(level: str, msg: str, **fields: Any) -> str:
    """A line as the daemon writes it (structlog's JSON, head keys first)."""
    head = {"ts": f"{DAY}T12:34:56.789012Z", "level": level, "target": "hangar.daemon"}
    return json.dumps({**head, "msg": msg, **fields})


def append(path: Path, *lines: str, end: str = "\n") -> None:
    with path.open("a", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + end)


def app_of(pilot: Pilot[Any]) -> HangarApp:
    assert isinstance(pilot.app, HangarApp)
    return pilot.app


def view_of(app: App[Any]) -> LogView:
    view: LogView = app.screen.query_one(LogView)
    return view


def rows(view: LogView) -> list[str]:
    """The lines the view draws, top to bottom."""
    return [view.render_line(y).text.rstrip() for y in range(view.size.height)]


def drawn_style(view: LogView, needle: str) -> Style:
    """The style the view draws ``needle`` with (before the terminal's palette maps it)."""
    for y in range(view.size.height):
        for segment in view.render_line(y):
            if needle in segment.text and segment.style is not None:
                return segment.style
    raise AssertionError(f"{needle!r} is not drawn: {rows(view)}")


def shown_colour(app: Any, needle: str) -> str:
    """The colour ``needle`` has on the composed screen."""
    for line in app.screen._compositor.render_update(full=True).strips:
        for chop in line:
            for segment in chop:
                if needle in segment.text and segment.style and segment.style.color:
                    return str(segment.style.color.triplet)
    raise AssertionError(f"{needle!r} is not shown:\n{shown(app)}")


async def settle(pilot: Pilot[Any], predicate: Any, timeout: float = 10) -> None:
    async def ok() -> bool:
        await pilot.pause()
        return bool(predicate())

    await wait_for(ok, timeout=timeout, interval=0.05)


# -- the screen ------------------------------------------------------------------------------


async def test_the_logs_screen_tails_the_daemons_own_log(served: Served) -> None:
    async with running(served, start="logs") as pilot:
        text = await wait_shown(pilot, "daemon started", "INFO", "following")
        assert " debug   info   warn   error " in text
        daemons_file = newest_log_name(os.listdir(served.paths.logs))
        assert daemons_file is not None and daemons_file in text
        # the screen reads the file itself: nothing went to the daemon
        assert list(app_of(pilot).sent) == []


async def test_L_opens_the_logs_screen_from_another_screen(served: Served) -> None:
    append(log_file(served), rec("info", "seen from the issues screen"))
    async with running(served, start="issues") as pilot:
        await pilot.press("L")
        await wait_shown(pilot, "seen from the issues screen")
        assert pilot.app.current_mode == "logs"
        assert isinstance(pilot.app.screen, LogsScreen)


async def test_each_line_is_time_level_target_event_fields_coloured_by_level(
    served: Served,
) -> None:
    path = log_file(served)
    append(
        path,
        rec("debug", "claim loop woke"),
        rec("info", "task started", pid=4242, workdir="/tmp/a b"),
        rec("warn", "heartbeat failed", error="database is locked"),
        rec("error", "claimed a task that is already running", task_id="01JTASK"),
    )
    async with running(served, start="logs") as pilot:
        text = await wait_shown(pilot, "claimed a task that is already running")
        assert '12:34:56.789 INFO  hangar.daemon task started  pid=4242  workdir="/tmp/a b"' in (
            text
        )
        assert "task_id=01JTASK" in text
        view = view_of(pilot.app)
        for level, colour in LEVEL_STYLES.items():
            if level == "trace":
                continue
            label = drawn_style(view, level.upper())
            assert label.color is not None and label.color.name == colour, level
            assert label.bold
        # warn and error messages take their level's colour; the others stay plain
        assert drawn_style(view, "heartbeat failed").color.name == "yellow"  # type: ignore[union-attr]
        assert drawn_style(view, "already running").color.name == "red"  # type: ignore[union-attr]
        assert drawn_style(view, "task started").color == view.rich_style.color
        # and on screen the four levels are four colours
        colours = {shown_colour(pilot.app, label) for label in ("DEBUG", "INFO", "WARN", "ERROR")}
        assert len(colours) == 4


async def test_l_steps_the_lowest_level_shown_through_the_chips(served: Served) -> None:
    path = log_file(served)
    append(
        path,
        rec("trace", "a trace line"),
        rec("debug", "a debug line"),
        rec("info", "an info line"),
        rec("warn", "a warn line"),
        rec("error", "an error line"),
    )
    async with running(served, start="logs") as pilot:
        # debug, the lowest chip, shows everything
        await wait_shown(pilot, "a trace line", "an error line", "5 lines")
        await pilot.press("l")
        text = await wait_shown(pilot, "an info line", "3 of 5 lines")
        assert "a debug line" not in text and "a trace line" not in text
        assert view_of(pilot.app).min_level == "info"
        await pilot.press("l")
        text = await wait_shown(pilot, "a warn line", "2 of 5 lines")
        assert "an info line" not in text
        await pilot.press("l")
        text = await wait_shown(pilot, "an error line", "1 of 5 lines")
        assert "a warn line" not in text
        await pilot.press("l")  # and round again
        await wait_shown(pilot, "a trace line", "a debug line", "5 lines")
        # the filter is the view's: nothing went to the daemon
        assert list(app_of(pilot).sent) == []
        # a line that arrives under a filter is filtered too
        await pilot.press("l", "l", "l")
        await settle(pilot, lambda: view_of(pilot.app).min_level == "error")
        append(path, rec("info", "quiet newcomer"), rec("error", "loud newcomer"))
        text = await wait_shown(pilot, "loud newcomer", "2 of 7 lines")
        assert "quiet newcomer" not in text


async def test_a_line_appended_to_the_file_appears(served: Served) -> None:
    path = log_file(served)
    append(path, rec("info", "first line"))
    async with running(served, start="logs") as pilot:
        await wait_shown(pilot, "first line", "jsonl · 1 line")
        append(path, rec("warn", "written while watching", attempt=2))
        text = await wait_shown(pilot, "written while watching", "attempt=2", "2 lines")
        assert "following" in text


async def test_f_stops_following_and_end_follows_again(served: Served) -> None:
    path = log_file(served)
    append(path, *(rec("info", f"line {n:03}") for n in range(1, 101)))
    async with running(served, start="logs") as pilot:
        await wait_shown(pilot, "line 100", "following")
        await pilot.press("f")
        await wait_shown(pilot, "paused: End follows")
        append(path, rec("info", "line 101"))
        text = await wait_shown(pilot, "(1 new below)", "101 lines")
        assert "line 101" not in text  # the view stayed where it was
        await pilot.press("end")
        text = await wait_shown(pilot, "line 101", "following")
        assert "new below" not in text
        await pilot.press("f")
        await wait_shown(pilot, "paused")
        await pilot.press("f")
        await wait_shown(pilot, "following")
        append(path, rec("info", "line 102"))
        await wait_shown(pilot, "line 102")


async def test_the_moving_keys(served: Served) -> None:
    path = log_file(served)
    append(path, rec("info", "line 001", blob="x" * 300))
    append(path, *(rec("info", f"line {n:03}") for n in range(2, 201)))
    async with running(served, start="logs") as pilot:
        await wait_shown(pilot, "line 200")
        view = view_of(pilot.app)

        async def top_is(label: str) -> None:
            await settle(pilot, lambda: label in rows(view)[0])

        await pilot.press("home")
        await top_is("line 001")
        assert not view.follow
        await pilot.press("down")
        await top_is("line 002")
        page = view.scrollable_content_region.height
        await pilot.press("pagedown")
        await top_is(f"line {2 + page:03}")
        await pilot.press("pageup")
        await top_is("line 002")
        await pilot.press("up")
        await top_is("line 001")
        await pilot.press("right")
        await settle(pilot, lambda: view.scroll_offset.x > 0)
        assert not rows(view)[0].startswith("12:34:56")
        await pilot.press("left")
        await settle(pilot, lambda: view.scroll_offset.x == 0)
        assert rows(view)[0].startswith("12:34:56.789 INFO")
        await pilot.press("end")
        await settle(pilot, lambda: any("line 200" in row for row in rows(view)))
        assert view.follow


async def test_an_unknown_key_does_nothing(served: Served) -> None:
    append(log_file(served), rec("info", "still here"))
    async with running(served, start="logs") as pilot:
        before = await wait_shown(pilot, "still here", "following")
        await pilot.press("z", "y", "ctrl+y")
        await pilot.pause()
        assert shown(app_of(pilot)) == before
        assert pilot.app.current_mode == "logs"


async def test_every_logs_binding_can_be_remapped() -> None:
    ids = set(HangarApp.binding_ids())
    assert {"log.level", "log.follow", "log.top", "log.bottom", "go.logs"} <= ids
    assert {"log.up", "log.down", "log.page_up", "log.page_down", "log.left", "log.right"} <= ids


# -- the file's life: a new day, truncation --------------------------------------------------


async def test_a_new_day_moves_the_view_to_its_file(served: Served) -> None:
    append(log_file(served), rec("info", "yesterday's line"))
    async with running(served, start="logs") as pilot:
        await wait_shown(pilot, "yesterday's line", f"daemon.{DAY}.jsonl")
        append(log_file(served, "2100-01-02"), rec("info", "the new day's line"))
        text = await wait_shown(pilot, "the new day's line", "daemon.2100-01-02.jsonl")
        assert "yesterday's line" not in text


async def test_a_truncated_file_is_read_again_from_its_start(served: Served) -> None:
    path = log_file(served)
    append(path, *(rec("info", f"old line {n}") for n in range(20)))
    async with running(served, start="logs") as pilot:
        await wait_shown(pilot, "old line 19", "20 lines")
        path.write_text(rec("error", "after truncation") + "\n", encoding="utf-8")
        text = await wait_shown(pilot, "after truncation", "jsonl · 1 line")
        assert "old line" not in text
        # emptied and written again past its old size between two looks: the line
        # indexed last no longer ends where it did, so the index starts over too
        big = [rec("warn", f"rewritten {n}", pad="p" * 200) for n in range(30)]
        path.write_text("\n".join(big) + "\n", encoding="utf-8")
        text = await wait_shown(pilot, "rewritten 29", "30 lines")
        assert "after truncation" not in text
        path.write_text("", encoding="utf-8")
        text = await wait_shown(pilot, "jsonl · 0 lines")
        assert "rewritten" not in text


# -- scale -----------------------------------------------------------------------------------


async def test_100k_lines_paint_lazily_and_end_jumps_to_the_last(served: Served) -> None:
    path = log_file(served)
    levels = ("debug", "info", "warn", "error")
    with path.open("w", encoding="utf-8") as fh:
        for n in range(1, 100_001):
            fh.write(rec(levels[n % 4], f"line {n:06}", n=n) + "\n")
    async with running(served, start="logs") as pilot:
        # following: the first paint is the end of the file
        await wait_shown(pilot, "line 100000", "100,000 lines", timeout=60)
        view = view_of(pilot.app)
        assert view.line_count == 100_000
        await pilot.press("home")
        await wait_shown(pilot, "line 000001", "paused")
        await pilot.press("end")
        text = await wait_shown(pilot, "line 100000", "following")
        assert "line 000001" not in text
        # one widget for the lines, however many there are (the rest is header, chips
        # and footer); only what came on screen was read and drawn
        assert len(view.children) == 0 and len(list(pilot.app.screen.walk_children())) < 50
        assert view.cached_lines < 10 * view.size.height
        # the filter over 100k lines keeps the end in view
        await pilot.press("l", "l", "l")
        await wait_shown(pilot, "25,000 of 100,000 lines", "line 099999")


# -- lines that are not records ----------------------------------------------------------------


async def test_lines_that_are_not_records_are_shown_raw_and_dim(served: Served) -> None:
    path = log_file(served)
    append(
        path,
        rec("info", "a good line"),
        "not json at all",
        "[1, 2, 3]",
        "\x1b[31mpainted\x1b[0m",
        rec("error", "a bad thing"),
    )
    # and a last line still being written
    append(path, '{"ts": "2100-01-01T12:35:00Z", "level": "warn", "msg": "half', end="")
    async with running(served, start="logs") as pilot:
        text = await wait_shown(pilot, "not json at all", "[1, 2, 3]", '"msg": "half', "6 lines")
        view = view_of(pilot.app)
        for raw in ("not json at all", "[1, 2, 3]", '"msg": "half'):
            assert drawn_style(view, raw).dim, raw
        # a control sequence in the file is shown, never sent to the terminal
        assert "\\x1b[31mpainted\\x1b[0m" in text
        assert not drawn_style(view, "a bad thing").dim
        # the line is finished: now it is a record like the others
        append(path, ' written"}')
        text = await wait_shown(pilot, "WARN  half written", "6 lines")
        assert not drawn_style(view, "half written").dim
        # what is not a record is never hidden by the level filter
        await pilot.press("l", "l", "l")
        text = await wait_shown(pilot, "a bad thing", "not json at all", "[1, 2, 3]")
        assert "a good line" not in text and "half written" not in text
        assert pilot.app.is_running


class _JustTheView(App[None]):
    def __init__(self, logs_dir: Path) -> None:
        super().__init__()
        self.logs_dir = logs_dir

    def compose(self) -> ComposeResult:
        yield LogView(self.logs_dir, poll_s=0.05)


async def test_before_the_daemon_writes_a_log_the_view_says_so(tmp_path: Path) -> None:
    logs = tmp_path / "logs"  # not even the directory yet
    app = _JustTheView(logs)
    async with app.run_test(size=(100, 20)) as pilot:
        view = app.query_one(LogView)
        await settle(pilot, lambda: "no daemon logs yet" in view.status())
        logs.mkdir()
        (logs / "daemon.stderr.log").write_text("not the log\n")
        (logs / f"daemon.{DAY}.jsonl").write_text(rec("info", "the first line") + "\n")
        await settle(pilot, lambda: "the first line" in "\n".join(rows(view)))
        assert view.path == logs / f"daemon.{DAY}.jsonl"


# -- the reading both front ends share ---------------------------------------------------------


def test_a_line_is_a_record_only_when_it_is_a_json_object() -> None:
    assert parse_record(rec("warn", "x")) == json.loads(rec("warn", "x"))
    for bad in ("", "not json", "[1]", "3", '{"cut": ', b"\xff\xfe"):
        assert parse_record(bad) is None, bad
    assert level_rank("warn") == LEVELS.index("warn")
    assert level_rank("critical") == UNRANKED  # a level we do not know is never hidden


def test_the_index_ranks_lines_as_the_parser_reads_them() -> None:
    samples = [
        rec("debug", "d"),
        rec("error", "e"),
        json.dumps({"msg": "no level"}),  # a record without a level is info
        json.dumps({"level": 5, "msg": "odd level"}),
        '{"level": "warn", "x": NaN}',  # JSON the stdlib reads and msgspec does not
        "not json",
        "[1, 2]",
        "",
    ]
    for line in samples:
        record = parse_record(line)
        expected = UNRANKED if record is None else level_rank(str(record.get("level", "info")))
        assert line_rank(line.encode()) == expected, line


def test_scanning_indexes_complete_lines_and_leaves_the_partial_one(tmp_path: Path) -> None:
    path = tmp_path / f"daemon.{DAY}.jsonl"
    path.write_bytes(
        (rec("info", "a") + "\n" + rec("error", "b") + "\n" + '{"level": "warn", "ms').encode()
    )
    scan = scan_lines(path, 0)
    assert list(scan.ranks) == [LEVELS.index("info"), LEVELS.index("error")]
    assert scan.starts[1] == len(rec("info", "a")) + 1
    assert scan.end == scan.starts[1] + len(rec("error", "b")) + 1
    assert scan.tail == len('{"level": "warn", "ms')
    # a line longer than a chunk is one line, found whole, shown raw (never parsed)
    long = scan_lines(path, scan.starts[1], limit=8)
    assert list(long.starts) == [scan.starts[1]] and list(long.ranks) == [UNRANKED]
    assert long.end == scan.end and long.tail == 0


def test_fields_print_as_key_value_tokens() -> None:
    record = json.loads(rec("info", "m", pid=1, path="/a b", ok=True, none=None, nested={"k": 1}))
    assert format_fields(record) == 'pid=1 path="/a b" ok=true none=null nested={"k":1}'
    assert format_value("plain") == "plain"
    assert format_value("two\nlines") == '"two\\nlines"'
    assert format_value("") == '""'


def test_the_newest_log_is_the_latest_day() -> None:
    names = ["daemon.stderr.log", f"daemon.{DAY}.jsonl", "daemon.2099-12-31.jsonl", "x.jsonl"]
    assert newest_log_name(names) == f"daemon.{DAY}.jsonl"
    assert newest_log_name(["daemon.stderr.log", "daemon.backup.jsonl"]) is None
