from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hangar.core.durations import MAX_MS, format_duration, parse_duration

S, M, H, D = 1_000, 60_000, 3_600_000, 86_400_000


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("30m", 30 * M),
        ("2.5h", 2 * H + 30 * M),
        ("90s", 90 * S),
        ("1h30m", H + 30 * M),
        ("1h 30m", H + 30 * M),
        ("500ms", 500),
        ("2d", 2 * D),
        ("1d2h3m4s5ms", D + 2 * H + 3 * M + 4 * S + 5),
        ("90", 90 * S),  # a bare number is seconds
        ("1.5", 1_500),
        ("  45s ", 45 * S),
        ("0.5s", 500),
        ("0h5m", 5 * M),
    ],
)
def test_parse(text: str, ms: int) -> None:
    assert parse_duration(text) == ms


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("0", "greater than zero"),
        ("0s", "greater than zero"),
        ("0h0m", "greater than zero"),
        ("-5m", "invalid"),
        ("abc", "invalid"),
        ("5x", "invalid"),
        ("5 m x", "invalid"),
        ("m", "invalid"),
        ("1.5.2h", "invalid"),
        ("5M", "invalid"),  # uppercase M could mean months; refuse rather than guess
        ("1e3s", "invalid"),
        ("0.0001s", "finer than a millisecond"),
        ("1.5ms", "finer than a millisecond"),
        ("36501d", "too long"),
        ("inf", "invalid"),
        ("nan", "invalid"),
    ],
)
def test_parse_rejects(text: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        parse_duration(text)


def test_non_string_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        parse_duration(5)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("ms", "text"),
    [
        (H + 30 * M, "1h 30m"),
        (45 * S, "45s"),
        (120, "120ms"),
        (2 * D + 5 * S, "2d 5s"),
        (1_500, "1s 500ms"),
        (0, "0s"),
    ],
)
def test_format(ms: int, text: str) -> None:
    assert format_duration(ms) == text


def test_format_negative() -> None:
    with pytest.raises(ValueError):
        format_duration(-1)


@given(st.integers(min_value=1, max_value=MAX_MS))
def test_format_parses_back(ms: int) -> None:
    assert parse_duration(format_duration(ms)) == ms
