"""The IO-free part of beads sync: who wins a pair, how times compare at second precision,
how priorities and references map."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hangar.core.beads import (
    Verdict,
    bd_newer,
    decide,
    external_ref,
    format_synced,
    from_bd_priority,
    hangar_id_of_ref,
    inbound_state,
    parse_time,
    to_bd_priority,
)

HANGAR_STATES = ["open", "in_progress", "done", "cancelled"]
BD_STATUSES = ["open", "in_progress", "blocked", "deferred", "closed"]


@pytest.mark.parametrize(
    ("hangar", "bd", "newer", "verdict"),
    [
        ("open", "open", False, Verdict.IN_SYNC),
        ("in_progress", "blocked", True, Verdict.IN_SYNC),  # both open
        ("done", "closed", True, Verdict.IN_SYNC),
        ("cancelled", "closed", False, Verdict.IN_SYNC),
        ("open", "closed", True, Verdict.BD_WINS),  # closed in bd since the last sync
        ("done", "open", True, Verdict.BD_WINS),  # reopened in bd
        ("done", "open", False, Verdict.HANGAR_WINS),  # bd is closed to match
        ("in_progress", "closed", False, Verdict.UNRECONCILABLE),  # bd has no reopen
    ],
)
def test_the_last_writer_wins(hangar: str, bd: str, newer: bool, verdict: Verdict) -> None:
    assert decide(hangar, bd, bd_is_newer=newer) is verdict


@given(st.sampled_from(HANGAR_STATES), st.sampled_from(BD_STATUSES), st.booleans())
def test_following_the_winner_brings_the_pair_together(hangar: str, bd: str, newer: bool) -> None:
    verdict = decide(hangar, bd, bd_is_newer=newer)
    if verdict is Verdict.BD_WINS:
        hangar = inbound_state(bd)
    elif verdict is Verdict.HANGAR_WINS:
        bd = "closed"
    if verdict is not Verdict.UNRECONCILABLE:
        assert decide(hangar, bd, bd_is_newer=False) is Verdict.IN_SYNC


def test_times_compare_in_utc_to_the_second() -> None:
    assert format_synced(parse_time("2026-01-01T01:00:01.999999999+01:00")) == (
        "2026-01-01T00:00:01Z"
    )
    assert format_synced(parse_time("2026-01-01 00:00:01")) == "2026-01-01T00:00:01Z"  # naive
    synced = "2026-01-01T00:00:01Z"
    assert not bd_newer("2026-01-01T00:00:01.9Z", synced)  # the same second
    assert bd_newer("2026-01-01T01:00:02+01:00", synced)
    assert not bd_newer("2025-12-31T23:59:59Z", synced)
    assert not bd_newer(None, synced) and not bd_newer("yesterday", synced)


@given(st.integers(min_value=0, max_value=3))
def test_priorities_round_trip(priority: int) -> None:
    assert from_bd_priority(to_bd_priority(priority)) == priority


def test_priorities_map_both_ways() -> None:
    assert [to_bd_priority(p) for p in range(4)] == [3, 2, 1, 0]
    assert [from_bd_priority(p) for p in (0, 1, 2, 3, 4, None)] == [3, 2, 1, 0, 0, 1]


def test_the_external_reference_names_the_issue() -> None:
    assert external_ref("01ABC") == "hangar:01ABC"
    assert hangar_id_of_ref("hangar:01ABC") == "01ABC"
    assert hangar_id_of_ref("gh-12") is None and hangar_id_of_ref("hangar:") is None
    assert hangar_id_of_ref(None) is None
