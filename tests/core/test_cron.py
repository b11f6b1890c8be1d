from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest

from hangar.core.cron import (
    CronError,
    FieldOutOfRange,
    Malformed,
    Schedule,
    UnknownZone,
    next_tick_after,
    normalise_cron,
)


def ms(*args: int) -> int:
    return int(datetime(*args, tzinfo=UTC).timestamp()) * 1000


def weekdays(expr: str) -> set[int]:
    """POSIX weekday numbers (0 = Sunday) the expression fires on over three weeks."""
    start = ms(2026, 1, 1)  # a Thursday
    seen: set[int] = set()
    t = start
    while True:
        t = next_tick_after(expr, t)
        if t - start > 21 * 86_400_000:
            return seen
        seen.add(datetime.fromtimestamp(t / 1000, UTC).isoweekday() % 7)


class TestNormalise:
    def test_five_fields_are_kept_as_written(self) -> None:
        # a seconds field is not prepended: that would switch off Debian's DST handling
        assert normalise_cron("0 */6 * * *") == "0 */6 * * *"

    @pytest.mark.parametrize(
        ("expr", "want"),
        [
            ("  30 0 */6 * * *  ", "30 0 */6 * * *"),
            ("*/5\t*  * * *", "*/5 * * * *"),
        ],
    )
    def test_whitespace_is_squeezed(self, expr: str, want: str) -> None:
        assert normalise_cron(expr) == want

    @pytest.mark.parametrize(
        "expr",
        ["", "   ", "* * * *", "0 0 12 1 1 * 2030", "@daily", "a b c d e", "*/0 * * * *"],
    )
    def test_malformed(self, expr: str) -> None:
        with pytest.raises(Malformed) as info:
            normalise_cron(expr)
        assert info.value.reason
        assert isinstance(info.value, CronError)
        assert isinstance(info.value, ValueError)

    def test_wrong_field_count_says_what_is_expected(self) -> None:
        with pytest.raises(Malformed, match=r"expected 5 fields .* or 6 with seconds first"):
            normalise_cron("* * * *")

    @pytest.mark.parametrize(
        ("expr", "field", "value"),
        [
            ("60 * * * * *", "sec", 60),
            ("60 * * * *", "min", 60),
            ("0 24 * * *", "hour", 24),
            ("0 0 0 * *", "dom", 0),
            ("0 0 32 * *", "dom", 32),
            ("0 0 * 0 *", "month", 0),
            ("0 0 * 13 *", "month", 13),
            ("0 0 * * 8", "dow", 8),
            ("0 0 * * 1-8", "dow", 8),
            ("5,61 * * * *", "min", 61),
        ],
    )
    def test_field_out_of_range(self, expr: str, field: str, value: int) -> None:
        with pytest.raises(FieldOutOfRange) as info:
            normalise_cron(expr)
        assert (info.value.field, info.value.value) == (field, value)
        assert field in str(info.value)

    @pytest.mark.parametrize(
        "expr",
        ["0 0 * * 7", "0 0 * * 0-7", "0 0 1 jan,Dec mon-FRI", "0 0 L * *", "*/15 * * * *"],
    )
    def test_accepted(self, expr: str) -> None:
        normalise_cron(expr)


class TestZones:
    def test_default_zone_is_utc(self) -> None:
        assert Schedule.parse("0 3 * * *").zone == "UTC"

    @pytest.mark.parametrize("zone", ["Mars/Olympus", "../../etc/passwd", "not a zone", "UTC+1"])
    def test_unknown_zone_is_refused(self, zone: str) -> None:
        with pytest.raises(UnknownZone, match="unknown time zone"):
            Schedule.parse("0 3 * * *", zone)

    def test_a_zone_shifts_the_fire_time(self) -> None:
        berlin = Schedule.parse("0 3 * * *", "Europe/Berlin")
        assert berlin.next_after(ms(2026, 1, 1)) == ms(2026, 1, 1, 2)  # 03:00 CET = 02:00 UTC
        assert berlin.next_after(ms(2026, 7, 1)) == ms(2026, 7, 1, 1)  # 03:00 CEST

    def test_spring_forward_runs_a_skipped_time_at_once(self) -> None:
        # 2026-03-29 in Berlin: 02:00 CET jumps to 03:00 CEST; 02:30 does not exist
        s = Schedule.parse("30 2 * * *", "Europe/Berlin")
        ticks = s.upcoming(ms(2026, 3, 28, 12), 3)
        assert ticks == [ms(2026, 3, 29, 1), ms(2026, 3, 30, 0, 30), ms(2026, 3, 31, 0, 30)]

    def test_fall_back_does_not_run_a_repeated_time_twice(self) -> None:
        # 2026-10-25 in Berlin: 03:00 CEST falls back to 02:00 CET; 02:30 happens twice
        s = Schedule.parse("30 2 * * *", "Europe/Berlin")
        ticks = s.upcoming(ms(2026, 10, 24, 12), 3)
        assert ticks == [ms(2026, 10, 25, 0, 30), ms(2026, 10, 26, 1, 30), ms(2026, 10, 27, 1, 30)]

    def test_an_interval_keeps_its_cadence_through_fall_back(self) -> None:
        s = Schedule.parse("*/30 * * * *", "Europe/Berlin")
        ticks = s.upcoming(ms(2026, 10, 24, 23, 50), 5)  # 01:50 CEST
        assert [b - a for a, b in itertools.pairwise(ticks)] == [1_800_000] * 4


class TestLatest:
    def test_latest_at_or_before(self) -> None:
        s = Schedule.parse("*/5 * * * *")
        assert s.latest_at_or_before(ms(2026, 1, 1, 0, 7)) == ms(2026, 1, 1, 0, 5)
        assert s.latest_at_or_before(ms(2026, 1, 1, 0, 5)) == ms(2026, 1, 1, 0, 5)
        assert s.latest_at_or_before(ms(2026, 1, 1, 0, 5) + 999) == ms(2026, 1, 1, 0, 5)

    def test_latest_of_a_seconds_schedule(self) -> None:
        s = Schedule.parse("*/10 * * * * *")
        assert s.latest_at_or_before(ms(2026, 1, 1, 0, 0, 25)) == ms(2026, 1, 1, 0, 0, 20)

    def test_upcoming(self) -> None:
        s = Schedule.parse("0 0 * * *")
        assert s.upcoming(ms(2026, 1, 1), 2) == [ms(2026, 1, 2), ms(2026, 1, 3)]


class TestNextTick:
    def test_every_five_minutes(self) -> None:
        assert next_tick_after("*/5 * * * *", ms(2026, 1, 1, 0, 0, 30)) == ms(2026, 1, 1, 0, 5)

    def test_strictly_after(self) -> None:
        on_tick = ms(2026, 1, 1, 0, 5)
        assert next_tick_after("*/5 * * * *", on_tick) == ms(2026, 1, 1, 0, 10)
        assert next_tick_after("*/5 * * * *", on_tick - 1) == on_tick
        assert next_tick_after("* * * * * *", on_tick + 999) == on_tick + 1000

    def test_seconds_field_comes_first(self) -> None:
        got = next_tick_after("15 30 * * * *", ms(2026, 1, 1))
        assert got == ms(2026, 1, 1, 0, 30, 15)

    def test_year_roll(self) -> None:
        got = next_tick_after("0 0 * * *", ms(2026, 12, 31, 0, 0, 1))
        assert got == ms(2027, 1, 1)
        assert next_tick_after("0 0 1 1 *", ms(2026, 12, 31, 23, 59, 59)) == ms(2027, 1, 1)

    def test_a_date_that_never_comes_is_refused(self) -> None:
        with pytest.raises(CronError, match="day-of-month"):
            next_tick_after("0 0 30 2 *", ms(2026, 1, 1))

    def test_leap_day(self) -> None:
        assert next_tick_after("0 0 29 2 *", ms(2026, 1, 1)) == ms(2028, 2, 29)

    def test_posix_dom_or_dow(self) -> None:
        # Both restricted: the 13th OR any Friday (POSIX), not "Friday the 13th".
        t = next_tick_after("0 0 13 * 5", ms(2026, 1, 1))
        assert t == ms(2026, 1, 2)  # Friday 2 Jan
        assert next_tick_after("0 0 13 * 5", ms(2026, 1, 9)) == ms(2026, 1, 13)  # a Tuesday

    def test_invalid_expression_raises_on_next_tick_too(self) -> None:
        with pytest.raises(FieldOutOfRange):
            next_tick_after("0 25 * * *", ms(2026, 1, 1))


class TestPosixWeekdays:
    @pytest.mark.parametrize(
        ("dow", "want"),
        [
            ("0", {0}),
            ("7", {0}),  # 7 is Sunday too
            ("1", {1}),  # 1 is Monday (upstream's cron crate would say Sunday)
            ("6", {6}),
            ("sun", {0}),
            ("MON-FRI", {1, 2, 3, 4, 5}),
            ("1-5", {1, 2, 3, 4, 5}),
            ("FRI-SAT,SUN", {5, 6, 0}),
            ("5-7", {5, 6, 0}),
            ("0-7", {0, 1, 2, 3, 4, 5, 6}),
            ("7-7", {0}),
            ("0-0", {0}),
            ("1-7/2", {1, 3, 5, 0}),
            ("1/2", {1, 3, 5, 0}),
            ("7/2", {0}),
            ("*/2", {0, 2, 4, 6}),
            ("7,1", {0, 1}),
        ],
    )
    def test_weekday_semantics(self, dow: str, want: set[int]) -> None:
        assert weekdays(f"0 0 * * {dow}") == want

    def test_monday_is_monday(self) -> None:
        # 2026-01-01 is a Thursday: the next Monday is the 5th, the next Sunday the 4th.
        assert next_tick_after("0 9 * * 1", ms(2026, 1, 1)) == ms(2026, 1, 5, 9)
        assert next_tick_after("0 9 * * 0", ms(2026, 1, 1)) == ms(2026, 1, 4, 9)
        assert next_tick_after("0 9 * * 7", ms(2026, 1, 1)) == ms(2026, 1, 4, 9)

    def test_nth_weekday(self) -> None:
        assert next_tick_after("0 0 * * 1#2", ms(2026, 1, 1)) == ms(2026, 1, 12)
        assert next_tick_after("0 0 * * 7#1", ms(2026, 1, 1)) == ms(2026, 1, 4)
