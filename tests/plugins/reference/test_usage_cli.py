"""``ainb usage``: views, text and JSON output, argument errors."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from hangar.plugins.protocol import CliOutput
from hangar.plugins.reference.usage_cli import (
    EXIT_INCOMPLETE,
    NO_SESSIONS,
    NOT_PUBLISHED,
    UsageDataUnavailable,
    usage_command,
)
from hangar.plugins.reference.usage_data import UsageData
from hangar.plugins.reference.usage_views import group, money, total, week_start

TODAY = date(2025, 5, 28)


class FakeClock:
    """``clock`` and ``sleep`` for ``usage_command``: waiting takes no real time."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def run(argv: list[str], data: UsageData | None, clock: FakeClock | None = None) -> CliOutput:
    clock = clock or FakeClock()
    return usage_command(
        argv, lambda: data, today=TODAY, home=Path("/home/dev"), sleep=clock.sleep, clock=clock
    )


def test_views_sum_exactly(fixture_data: UsageData) -> None:
    rows = fixture_data.rows
    daily = group(rows, "daily")
    assert [(v.key, v.total_tokens, v.cost_usd, v.unpriced_tokens) for v in daily] == [
        ("2025-05-26", 2814, 0.010467, 0),
        ("2025-05-27", 16370, 0.04305, 0),
        ("2025-05-28", 10773, 0.036509, 110),
    ]
    assert [(v.key, v.total_tokens) for v in group(rows, "weekly")] == [("2025-05-26", 29957)]
    assert [(v.key, v.total_tokens) for v in group(rows, "models")] == [
        ("gpt-5-codex", 13000),
        ("claude-sonnet-4-5-20250929", 7167),
        ("gpt-5", 3200),
        ("claude-opus-4-5-20251101", 3110),
        ("claude-opus-4-1-20250805", 2320),
        ("claude-haiku-4-5-20251001", 1050),
        ("some-local-model", 110),
    ]
    assert [(v.key, v.total_tokens, v.requests) for v in group(rows, "projects")] == [
        ("/home/dev/src/app", 22384, 7),
        ("/home/dev/src/api", 7573, 3),
    ]
    overall = total(rows)
    assert (overall.total_tokens, overall.cost_usd, overall.requests) == (29957, 0.090026, 10)


def test_weeks_start_on_monday() -> None:
    assert week_start("2025-05-26") == "2025-05-26"  # a Monday
    assert week_start("2025-06-01") == "2025-05-26"  # the Sunday after
    assert week_start("2025-06-02") == "2025-06-02"


def test_daily_text_is_an_aligned_table(fixture_data: UsageData) -> None:
    out = run([], fixture_data)
    assert out.exit_code == 0
    assert out.stderr == b""
    assert out.stdout.decode() == (
        "Token usage by day\n"
        "\n"
        "date        input  cache write  cache read  output   total    cost\n"
        "----------  -----  -----------  ----------  ------  ------  ------\n"
        "2025-05-26     14        1,500       1,000     300   2,814   $0.01\n"
        "2025-05-27  5,020            0      10,000   1,350  16,370   $0.04\n"
        "2025-05-28  1,113        3,200       6,000     460  10,773  $0.04*\n"
        "----------  -----  -----------  ----------  ------  ------  ------\n"
        "total       6,147        4,700      17,000   2,110  29,957  $0.09*\n"
        "\n"
        "* cost leaves out 110 tokens of models without a known price\n"
    )


def test_costs_below_a_cent_are_not_shown_as_zero() -> None:
    assert money(0.0035) == "<$0.01"
    assert money(0.0) == "$0.00"
    assert money(0.007709) == "$0.01"
    assert money(1234.5) == "$1,234.50"
    assert money(None) == "-"


def test_projects_text_shortens_the_home_directory(fixture_data: UsageData) -> None:
    text = run(["projects"], fixture_data).stdout.decode()
    assert "~/src/app" in text and "~/src/api" in text
    assert "/home/dev/src" not in text
    lines = text.splitlines()
    assert lines[4].startswith("~/src/app")  # largest first


def test_json_is_machine_readable(fixture_data: UsageData) -> None:
    out = run(["models", "--json"], fixture_data)
    assert out.exit_code == 0
    doc = json.loads(out.stdout)
    assert doc["view"] == "models"
    assert doc["since"] is None
    assert doc["rows"][0] == {
        "model": "gpt-5-codex",
        "input_tokens": 4000,
        "cache_creation_tokens": 0,
        "cache_read_tokens": 8000,
        "output_tokens": 1000,
        "reasoning_tokens": 300,
        "total_tokens": 13000,
        "requests": 2,
        "cost_usd": 0.016,
        "unpriced_tokens": 0,
    }
    assert doc["rows"][-1]["cost_usd"] is None
    assert doc["total"]["total_tokens"] == 29957
    assert (doc["files"], doc["malformed_lines"]) == (3, 1)


def test_since_and_days_filter_by_day(fixture_data: UsageData) -> None:
    doc = json.loads(run(["--json", "--since", "2025-05-27"], fixture_data).stdout)
    assert [r["date"] for r in doc["rows"]] == ["2025-05-27", "2025-05-28"]
    assert doc["since"] == "2025-05-27"
    doc = json.loads(run(["daily", "--json", "--days", "1"], fixture_data).stdout)
    assert [r["date"] for r in doc["rows"]] == ["2025-05-28"]  # today only
    assert doc["total"]["total_tokens"] == 10773
    out = run(["--since", "2025-06-01"], fixture_data)
    assert (out.exit_code, out.stdout) == (0, b"No usage since 2025-06-01.\n")


def test_weekly_text(fixture_data: UsageData) -> None:
    text = run(["weekly"], fixture_data).stdout.decode()
    assert "week" in text.splitlines()[2]
    assert "2025-05-26" in text and "29,957" in text


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["hourly"],
            "argument view: invalid choice: 'hourly'"
            " (choose from 'daily', 'weekly', 'models', 'projects')",
        ),
        (
            ["--since", "yesterday"],
            "argument --since: expected a date as YYYY-MM-DD, got 'yesterday'",
        ),
        (["--days", "0"], "argument --days: expected a whole number of days >= 1, got '0'"),
        (["--days", "x"], "argument --days: expected a whole number of days >= 1, got 'x'"),
        (["--since", "2025-05-01", "--days", "3"], "--since and --days cannot be used together"),
        (["--bogus"], "unrecognized arguments: --bogus"),
        (["--wait", "-1"], "argument --wait: expected seconds from 0 to 3600, got '-1'"),
    ],
)
def test_bad_arguments_exit_2_with_one_clear_error_line(argv: list[str], message: str) -> None:
    loaded: list[bool] = []

    def load() -> UsageData | None:
        loaded.append(True)
        return None

    out = usage_command(argv, load, today=TODAY)
    assert out.exit_code == 2
    assert out.stdout == b""
    err = out.stderr.decode()
    assert err.startswith("usage: ainb usage")
    assert err.splitlines()[-1] == f"ainb usage: error: {message}"
    assert loaded == []  # no snapshot fetched for a command that cannot run


def test_help_explains_the_views() -> None:
    out = usage_command(["--help"], lambda: None, today=TODAY)
    assert out.exit_code == 0
    text = out.stdout.decode()
    for word in ("daily", "weekly", "models", "projects", "--json", "--since", "--days", "--wait"):
        assert word in text
    assert "exit status:" in text and "3  incomplete" in text


def test_no_sessions_is_friendly_and_exit_0_after_a_complete_scan() -> None:
    empty = UsageData(rows=[], files=0, files_total=0, complete=True)
    out = run([], empty)
    assert (out.exit_code, out.stdout.decode()) == (0, NO_SESSIONS)
    out = run(["--json"], empty)
    assert out.exit_code == 0
    doc = json.loads(out.stdout)
    assert (doc["rows"], doc["total"], doc["complete"]) == ([], None, True)
    assert out.stderr.decode() == NO_SESSIONS


def test_no_snapshot_is_not_no_sessions_it_waits_then_exits_3() -> None:
    clock = FakeClock()
    out = run(["--wait", "2"], None, clock)
    assert (out.exit_code, out.stdout) == (EXIT_INCOMPLETE, b"")
    assert out.stderr.decode() == "ainb usage: " + NOT_PUBLISHED
    assert clock.now == 2.0 and max(clock.slept) <= 0.25  # polled until --wait ran out
    out = run(["--json", "--wait", "0"], None)
    assert out.exit_code == EXIT_INCOMPLETE
    doc = json.loads(out.stdout)
    assert (doc["rows"], doc["complete"], doc["files_total"]) == ([], False, 0)
    assert NO_SESSIONS.encode() not in out.stderr


def test_incomplete_scan_shows_the_totals_so_far_and_exits_3(fixture_data: UsageData) -> None:
    partial = UsageData(rows=fixture_data.rows[:2], files=1, files_total=3, complete=False)
    clock = FakeClock()
    out = run([], partial, clock)
    assert out.exit_code == EXIT_INCOMPLETE
    text = out.stdout.decode()
    assert text.startswith(
        "session-reader is still scanning: 1 of 3 files; totals so far:\n\nToken usage by day\n"
    )
    assert "2,814" in text and "3,864" in text  # the two rows and their total
    assert clock.now == 10.0  # waited the default --wait for the scan to finish
    nothing_yet = UsageData(rows=[], files=0, files_total=1200, complete=False)
    out = run(["--wait", "0"], nothing_yet)
    assert out.exit_code == EXIT_INCOMPLETE
    assert out.stdout.decode() == (
        "session-reader is still scanning: 0 of 1,200 files; totals so far:\n\n(none yet)\n"
    )
    out = run(["--json", "--wait", "0"], partial)
    assert out.exit_code == EXIT_INCOMPLETE
    doc = json.loads(out.stdout)
    assert (doc["complete"], doc["files"], doc["files_total"]) == (False, 1, 3)
    assert doc["total"]["total_tokens"] == 3864
    assert out.stderr.decode().startswith("session-reader is still scanning: 1 of 3 files")


def test_waits_for_the_scan_to_complete(fixture_data: UsageData) -> None:
    partial = UsageData(rows=fixture_data.rows[:1], files=1, files_total=3, complete=False)
    loads = iter([None, partial, partial, fixture_data])
    clock = FakeClock()
    out = usage_command(
        ["--json"], lambda: next(loads), today=TODAY, sleep=clock.sleep, clock=clock
    )
    assert out.exit_code == 0 and out.stderr == b""
    doc = json.loads(out.stdout)
    assert (doc["complete"], doc["total"]["total_tokens"]) == (True, 29957)
    assert clock.slept == [0.25, 0.25, 0.25]


def test_unavailable_data_is_an_error_exit_1() -> None:
    def load() -> UsageData | None:
        raise UsageDataUnavailable("could not get usage from session-reader: quarantined")

    out = usage_command([], load, today=TODAY)
    assert out.exit_code == 1
    assert out.stderr == b"ainb usage: could not get usage from session-reader: quarantined\n"
