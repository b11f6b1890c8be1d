"""Autopilot schedules: seconds-first cron, UTC only, POSIX weekdays (docs/lifecycle.md#autopilots).

Stored form is 6 fields ``sec min hour dom month dow`` or 7 with a trailing ``year``.
A POSIX 5-field expression gets ``"0 "`` prepended. The dialect accepted per field:
``*``, ``?`` (dom/dow), numbers, ``a-b`` ranges, ``/step``, ``,`` lists, month and weekday
names, ``L`` in dom and ``d#n`` in dow. Anything else (``W``, ``H``, ``R``, macros) is
``Malformed``, so a schedule means the same thing whichever library evaluates it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from croniter import CroniterBadDateError, CroniterError, croniter


class CronError(ValueError):
    """Base of the schedule errors."""


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
        super().__init__(f"cron expression {expr!r} never fires again")
        self.expr = expr


@dataclass(frozen=True)
class _Field:
    name: str
    lo: int
    hi: int
    names: tuple[str, ...] = ()  # names[i] means lo + i


_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")

_FIELDS = (
    _Field("sec", 0, 59),
    _Field("min", 0, 59),
    _Field("hour", 0, 23),
    _Field("dom", 1, 31),
    _Field("month", 1, 12, _MONTHS),
    _Field("dow", 0, 7, _DAYS),  # 0 and 7 are both Sunday
    _Field("year", 1970, 2099),  # croniter's supported span
)
_RANGES = {f.name: (f.lo, f.hi) for f in _FIELDS}
_DOM, _DOW = _FIELDS[3], _FIELDS[5]

_ITEM = re.compile(r"(?P<base>[^/]+)(?:/(?P<step>[^/]*))?")
_NTH = re.compile(r"(?P<day>[A-Z0-9]+)#(?P<n>[0-9]+)")


def _split(expr: str) -> list[str]:
    fields = expr.split()
    if len(fields) == 5:
        fields.insert(0, "0")
    elif len(fields) not in (6, 7):
        raise Malformed(f"expected 5, 6 or 7 fields, got {len(fields)}")
    return fields


def _value(field: _Field, token: str) -> int:
    if token.isdigit() and token.isascii():
        value = int(token)
    elif token in field.names:
        value = field.lo + field.names.index(token)
    else:
        raise Malformed(f"{field.name}: unsupported token {token!r}")
    if not field.lo <= value <= field.hi:
        raise FieldOutOfRange(field.name, value)
    return value


def _item(field: _Field, item: str) -> str:
    """One list item, rewritten as plain numbers that croniter reads the POSIX way."""
    m = _ITEM.fullmatch(item)
    if m is None:
        raise Malformed(f"{field.name}: bad item {item!r}")
    base, step_text = m["base"], m["step"]
    step = None
    if step_text is not None:
        if not (step_text.isdigit() and step_text.isascii()) or int(step_text) == 0:
            raise Malformed(f"{field.name}: step must be a positive integer, got {step_text!r}")
        step = int(step_text)
    suffix = f"/{step}" if step is not None else ""
    if base in ("*", "?"):
        if base == "?" and (field not in (_DOM, _DOW) or step is not None):
            raise Malformed(f"{field.name}: '?' stands alone, and only in dom or dow")
        return "*" + suffix
    if step is None and field is _DOM and base == "L":
        return "L"
    nth = _NTH.fullmatch(base) if field is _DOW else None
    if nth is not None and step is None:
        n = int(nth["n"])
        if not 1 <= n <= 5:
            raise Malformed(f"dow: '#{n}' must be #1 to #5")
        return f"{_value(field, nth['day'])}#{n}"
    lo_text, dash, hi_text = base.partition("-")
    lo = _value(field, lo_text)
    if dash:
        hi = _value(field, hi_text)
        if field is _DOW and hi == 0 and hi_text == "SUN":
            hi = 7  # FRI-SUN reads as Friday to Sunday
    else:
        hi = field.hi if step is not None else lo  # POSIX: a/n means a-max/n
    if lo > hi:
        raise Malformed(f"{field.name}: range {base!r} runs backwards")
    # croniter reads an a-a range as the whole field, so emit a single value instead.
    if lo == hi:
        return str(lo)
    return f"{lo}-{hi}{suffix}"


def _to_library(fields: list[str]) -> str:
    """Validate each field and convert to croniter's order: seconds after dow, then year."""
    out = []
    for field, text in zip(_FIELDS, fields, strict=False):
        items = text.upper().split(",")
        if any(not item for item in items):
            raise Malformed(f"{field.name}: empty list item in {text!r}")
        out.append(",".join(_item(field, item) for item in items))
    lib = [*out[1:6], out[0], *out[6:]]
    expr = " ".join(lib)
    if not croniter.is_valid(expr):
        raise Malformed(f"rejected by the cron library: {' '.join(fields)!r}")
    return expr


def normalise_cron(expr: str) -> str:
    """Validate ``expr`` and return its seconds-first 6- or 7-field form."""
    fields = _split(expr)
    _to_library(fields)
    return " ".join(fields)


def next_tick_after(expr: str, after_ms: int) -> int:
    """The first fire time strictly after ``after_ms`` (epoch ms, UTC), in epoch ms."""
    lib = _to_library(_split(expr))
    # Whole seconds: the library's next match is > this second, hence > after_ms too.
    start = datetime.fromtimestamp(after_ms // 1000, tz=UTC)
    try:
        nxt: datetime = croniter(lib, start).get_next(datetime)
    except CroniterBadDateError:
        raise NoFutureMatch(expr) from None
    except CroniterError as exc:
        raise Malformed(str(exc)) from None
    tick_ms = int(nxt.timestamp()) * 1000
    if tick_ms <= after_ms:  # guard the strictly-after promise against library drift
        raise NoFutureMatch(expr)
    return tick_ms
