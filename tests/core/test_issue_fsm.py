"""The moves a person may make an issue take, and what a comment's body may be."""

from __future__ import annotations

import pytest

from hangar.core.comments import COMMENT_MAX_BYTES, CommentTooLarge, check_body, fit_body
from hangar.core.issue_fsm import (
    CLOSED,
    MOVES,
    IssueMoveRefused,
    check_move,
    parse_state,
    sources_of,
)
from hangar.core.vocab import IssueState

OPEN, WIP, DONE, CANCELLED = (
    IssueState.OPEN,
    IssueState.IN_PROGRESS,
    IssueState.DONE,
    IssueState.CANCELLED,
)


def test_every_state_has_its_moves_and_closed_ones_only_reopen() -> None:
    assert set(MOVES) == set(IssueState)
    assert {DONE, CANCELLED} == CLOSED
    for state in CLOSED:
        assert MOVES[state] == {OPEN}
    assert MOVES[OPEN] == {WIP, DONE, CANCELLED}
    assert MOVES[WIP] == {OPEN, DONE, CANCELLED}
    assert sources_of(OPEN) == {WIP, DONE, CANCELLED}
    assert sources_of(CANCELLED) == {OPEN, WIP}


@pytest.mark.parametrize(
    ("found", "target"), [(s, t) for s in IssueState for t in IssueState if t in MOVES[s]]
)
def test_an_allowed_move_passes(found: IssueState, target: IssueState) -> None:
    check_move("i1", found, target)


def test_staying_put_is_no_move_and_passes() -> None:
    for state in IssueState:
        check_move("i1", state, state)


def test_a_refused_move_names_the_allowed_ones() -> None:
    with pytest.raises(IssueMoveRefused) as caught:
        check_move("i1", DONE, CANCELLED)
    message = str(caught.value)
    assert "i1" in message and "done" in message and "cancelled" in message
    assert "open" in message and "reopen" in message
    assert caught.value.allowed == (OPEN,)
    assert isinstance(caught.value, ValueError)  # the RPC edge answers -32602


def test_an_unknown_state_names_the_states() -> None:
    with pytest.raises(ValueError, match="open, in_progress, done, cancelled"):
        parse_state("closed")
    assert parse_state("done") is DONE


def test_a_body_is_kept_as_written_but_for_surrounding_blank_space() -> None:
    assert check_body("\n  indented code\nline two  \n\n") == "  indented code\nline two"
    assert check_body("é" * (COMMENT_MAX_BYTES // 2)) == "é" * (COMMENT_MAX_BYTES // 2)


@pytest.mark.parametrize("body", ["", "   ", "\n\t\n"])
def test_an_empty_body_is_refused(body: str) -> None:
    with pytest.raises(ValueError, match="empty"):
        check_body(body)


def test_a_nul_byte_is_refused() -> None:
    with pytest.raises(ValueError, match="NUL"):
        check_body("a\x00b")


def test_a_body_over_the_limit_is_refused_with_the_limit() -> None:
    with pytest.raises(CommentTooLarge) as caught:
        check_body("x" * (10 * 1024 * 1024))
    assert "64 KiB" in str(caught.value) and "10.0 MiB" in str(caught.value)
    # counted in UTF-8 bytes, not characters
    with pytest.raises(CommentTooLarge):
        check_body("é" * (COMMENT_MAX_BYTES // 2 + 1))


def test_fit_body_clips_a_long_text_to_the_limit_keeping_its_end() -> None:
    text = "start " + "é" * COMMENT_MAX_BYTES + " the end"
    fitted = fit_body(text)
    assert fitted is not None
    assert len(fitted.encode()) <= COMMENT_MAX_BYTES
    assert fitted.endswith(" the end") and fitted.startswith("…")
    check_body(fitted)
    assert fit_body("  \n") is None
    assert fit_body("a\x00b") == "a\ufffdb"
    assert fit_body("\n short \n") == " short"
