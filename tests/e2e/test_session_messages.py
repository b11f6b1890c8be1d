"""What the session commands tell a person: a send says it landed."""

from __future__ import annotations

from tests.e2e.test_sessions import Sessions, sessions  # noqa: F401  (the fixture)


def test_send_says_what_it_sent(sessions: Sessions) -> None:  # noqa: F811
    h = sessions.h
    h.run("session", "create", "talk", "--repo", str(sessions.repo), "--command", "cat")
    out = h.run("session", "send", "talk", "hello there").out
    assert out.strip() == "sent 11 characters to talk and pressed Enter", out
    out = h.run("session", "send", "talk", "--no-enter", "x").out
    assert out.strip() == "sent 1 character to talk without Enter", out
    assert h.json("session", "send", "talk", "y") == {"sent": True}
