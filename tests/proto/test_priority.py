"""Priority is checked once, at the wire: the params' type refuses what is not 0..3."""

from __future__ import annotations

import msgspec
import pytest

from hangar.proto import api


@pytest.mark.parametrize("p", [0, 1, 2, 3])
def test_priority_ok(p: int) -> None:
    assert msgspec.convert({"title": "t", "priority": p}, api.IssueCreateParams).priority == p
    assert msgspec.convert({"issue_id": "i", "priority": p}, api.IssueUpdateParams).priority == p


@pytest.mark.parametrize("p", [-1, 4, True, False, "1", 1.5, None])
def test_priority_bad(p: object) -> None:
    with pytest.raises(msgspec.ValidationError, match="priority"):
        msgspec.convert({"title": "t", "priority": p}, api.IssueCreateParams)
