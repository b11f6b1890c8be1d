"""Autopilot schedules: cron expressions in an IANA time zone (docs/autopilots.md).

An expression is standard 5-field cron (``min hour dom month dow``) or the 6-field form with
seconds first (``sec min hour dom month dow``). It is evaluated by ``cronsim`` the way Debian
cron does, DST included: a fire in an hour that a spring-forward skips runs at once after
the jump, and a fire in an hour that a fall-back repeats runs once. Weekdays are POSIX
(0 and 7 are Sunday). Times in and out are epoch milliseconds, UTC.

The expression is kept as the user wrote it (whitespace squeezed): prepending a seconds
field to a 5-field one would switch off cronsim's Debian DST handling, which it applies to
5-field expressions only.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

__all__ = [
    "DEFAULT_ZONE",
    "CronError",
    "FieldOutOfRange",
    "Malformed",
    "NoFutureMatch",
    "Schedule",
    "UnknownZone",
    "next_tick_after",
    "normalise_cron",
]

DEFAULT_ZONE = "UTC"


class CronError(ValueError):
    """Base of the schedule errors; the message says what is wrong."""


class Malformed(CronError):
    def __init__(self, reason: str) -> None:
        super().__init__(f"malformed cron expression: {reason}")
        self.reason = reason


class FieldOutOfRange(CronError):
    def __init__(self, field: str, value: int) -> None:
        lo, hi = _RANGES[field]
        super().__init__(f"cron field {field} value {value} is out of range {lo}-{hi}")
        self.field = field
        self.value = value


class NoFutureMatch(CronError):
    def __init__(self, expr: str = "") -> None:
        super().__init__(f"cron expression {expr!r} never fires")
        self.expr = expr


class UnknownZone(CronError):
    def __init__(self, zone: str) -> None:
        super().__init__(
            f"unknown time zone {zone!r}: use an IANA name such as UTC or Europe/Berlin"
        )
        self.zone = zone


_NAMES_5 = ("min", "hour", "dom", "month", "dow")
_NAMES_6 = ("sec", *_NAMES_5)
_RANGES = {
    "sec": (0, 59),
    "min": (0, 59),
    "hour": (0, 23),
    "dom": (1, 31),
    "month": (1, 12),
    "dow": (0, 7),
}
#: the numbers of a field's items, but not a step (``/15``) or an nth weekday (``#2``)
_NUMBER = re.compile(r"(?<![/#\d])\d+")


def normalise_cron(expr: str) -> str:
    """``expr`` with its whitespace squeezed, after checking it; raises :class:`CronError`."""
    fields = expr.split()
    if len(fields) not in (5, 6):
        raise Malformed(
            f"expected 5 fields (min hour dom month dow) or 6 with seconds first, got {len(fields)}"
        )
    names = _NAMES_5 if len(fields) == 5 else _NAMES_6
    for name, text in zip(names, fields, strict=True):
        for number in _NUMBER.findall(text):
            lo, hi = _RANGES[name]
            if not lo <= int(number) <= hi:
                raise FieldOutOfRange(name, int(number))
    normal = " ".join(fields)
    try:
        CronSim(normal, datetime(2000, 1, 1, tzinfo=UTC))
    except CronSimError as exc:
        raise Malformed(str(exc).lower()) from None
    return normal


def _zone(name: str) -> tzinfo:
    if name == "UTC":
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise UnknownZone(name) from None


@dataclass(frozen=True)
class Schedule:
    """A checked expression in a zone. Build with :meth:`parse`."""

    expr: str
    zone: str = DEFAULT_ZONE
    _tz: tzinfo = field(default=UTC, repr=False, compare=False)

    @classmethod
    def parse(cls, expr: str, zone: str = DEFAULT_ZONE) -> Schedule:
        """Raises :class:`CronError` (a subclass per cause) with the reason."""
        normal = normalise_cron(expr)
        tz = _zone(zone.strip() or DEFAULT_ZONE)
        schedule = cls(normal, zone.strip() or DEFAULT_ZONE, tz)
        schedule.next_after(0)  # an expression that never fires (31 February) is refused here
        return schedule

    def next_after(self, after_ms: int) -> int:
        """The first fire time strictly after ``after_ms``."""
        return next(self._forward(after_ms))

    def upcoming(self, after_ms: int, count: int) -> list[int]:
        """The next ``count`` fire times strictly after ``after_ms``."""
        ticks = self._forward(after_ms)
        return [next(ticks) for _ in range(count)]

    def latest_at_or_before(self, at_ms: int) -> int | None:
        """The last fire time at or before ``at_ms`` (missed fires collapse to it)."""
        # cronsim's reverse walk starts strictly before a whole-second start
        start = datetime.fromtimestamp(at_ms // 1000 + 1, tz=self._tz)
        try:
            return _ms(next(CronSim(self.expr, start, reverse=True)))
        except StopIteration:
            return None

    def _forward(self, after_ms: int) -> Iterator[int]:
        # whole seconds: the next match after this second is after ``after_ms`` too
        start = datetime.fromtimestamp(after_ms // 1000, tz=self._tz)
        it = CronSim(self.expr, start)
        while True:
            try:
                tick = _ms(next(it))
            except StopIteration:
                raise NoFutureMatch(self.expr) from None
            if tick > after_ms:
                yield tick


def _ms(dt: datetime) -> int:
    return int(dt.timestamp()) * 1000


def next_tick_after(expr: str, after_ms: int, zone: str = DEFAULT_ZONE) -> int:
    """The first fire time of ``expr`` in ``zone`` strictly after ``after_ms``."""
    return Schedule.parse(expr, zone).next_after(after_ms)
