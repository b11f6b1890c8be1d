"""Human durations for timeouts and TTLs: ``"30m"``, ``"2.5h"``, ``"1h30m"``, ``"500ms"``."""

from __future__ import annotations

import re
from fractions import Fraction

from hangar.core.vocab import MAX_DURATION_MS

_UNIT_MS = {"ms": 1, "s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
_ORDER = ("d", "h", "m", "s", "ms")
MAX_MS = MAX_DURATION_MS  # a century: anything longer is a typo

_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?)\s*(ms|s|m|h|d)\s*")
_PLAIN = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_HELP = "use a positive number with a unit: ms, s, m, h, d (e.g. 90s, 30m, 2.5h, 1h30m)"


def parse_duration(text: str) -> int:
    """Milliseconds from a duration string; a bare number means seconds."""
    if not isinstance(text, str):
        raise ValueError(f"duration must be a string, got {type(text).__name__}")
    s = text.strip()
    if not s:
        raise ValueError(f"empty duration; {_HELP}")
    if _PLAIN.fullmatch(s):
        total = Fraction(s) * _UNIT_MS["s"]
    else:
        total = Fraction(0)
        pos = 0
        while pos < len(s):
            m = _PART.match(s, pos)
            if m is None:
                raise ValueError(f"invalid duration {text!r}; {_HELP}")
            total += Fraction(m[1]) * _UNIT_MS[m[2]]
            pos = m.end()
    if total.denominator != 1:
        raise ValueError(f"duration {text!r} is finer than a millisecond")
    if total <= 0:
        raise ValueError(f"duration {text!r} must be greater than zero")
    if total > MAX_MS:
        raise ValueError(f"duration {text!r} is too long (max 36500d)")
    return int(total)


def format_duration(ms: int) -> str:
    """``5_400_000`` → ``"1h 30m"``; ``parse_duration`` reads the output back."""
    if ms < 0:
        raise ValueError(f"duration must be >= 0 ms, got {ms}")
    if ms == 0:
        return "0s"
    parts = []
    rest = ms
    for unit in _ORDER:
        count, rest = divmod(rest, _UNIT_MS[unit])
        if count:
            parts.append(f"{count}{unit}")
    return " ".join(parts)
