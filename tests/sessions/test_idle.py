"""Busy / idle / waiting / exited from snapshots, with a hand-moved clock (no sleeps)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hangar.daemon.sessions import idle
from hangar.daemon.sessions.idle import Observation, content_hash, is_ready, is_waiting

from . import claude_screens as screens

T0 = datetime(2026, 6, 5, 11, 30, tzinfo=UTC)


class Pane:
    """Feeds snapshots to ``observe`` the way the service does, on a fake clock."""

    def __init__(self, agent: str = "claude", threshold_ms: int = 5000) -> None:
        self.agent, self.threshold_ms = agent, threshold_ms
        self.now = T0
        self.hash: str | None = None
        self.changed_at = T0

    def at(self, ms: int, content: str, *, dead: bool = False) -> Observation:
        self.now = T0 + timedelta(milliseconds=ms)
        obs = idle.observe(
            content,
            prev_hash=self.hash,
            last_changed_at=self.changed_at,
            now=self.now,
            threshold_ms=self.threshold_ms,
            agent=self.agent,
            pane_dead=dead,
        )
        self.hash, self.changed_at = obs.hash, obs.last_changed_at
        return obs


def test_hash_covers_the_last_200_lines() -> None:
    body = [f"line {i}" for i in range(250)]
    changed_top = ["other", *body[1:]]
    assert content_hash("\n".join(body)) == content_hash("\n".join(changed_top))
    assert content_hash("\n".join(body)) != content_hash("\n".join([*body[:-1], "x"]))
    assert len(content_hash("")) == 64


def test_busy_until_the_threshold_then_idle() -> None:
    pane = Pane(agent="bash", threshold_ms=5000)
    first = pane.at(0, "$ make")
    assert (first.state, first.changed, first.elapsed_ms, first.idle) == ("busy", True, 0, False)
    assert first.last_changed_at == T0 and first.threshold_ms == 5000
    assert pane.at(4999, "$ make").state == "busy"
    done = pane.at(5000, "$ make")
    assert (done.state, done.idle, done.changed, done.elapsed_ms) == ("idle", True, False, 5000)
    again = pane.at(6000, "$ make\nok")
    assert (again.state, again.changed, again.elapsed_ms) == ("busy", True, 0)
    assert again.last_changed_at == T0 + timedelta(milliseconds=6000)
    assert pane.at(11000, "$ make\nok").idle


def test_a_dead_pane_is_exited_never_idle() -> None:
    pane = Pane(agent="claude", threshold_ms=1000)
    pane.at(0, "crashed")
    for ms in (10, 5000, 60_000):
        obs = pane.at(ms, "crashed", dead=True)
        assert (obs.state, obs.idle) == ("exited", False)
    assert pane.at(60_001, screens.TRUST_V1, dead=True).state == "exited"


@pytest.mark.parametrize("name", sorted(screens.WAITING_SCREENS))
def test_claude_prompts_are_waiting_after_a_short_debounce(name: str) -> None:
    screen = screens.WAITING_SCREENS[name]
    assert is_waiting(screen)
    pane = Pane(agent="/usr/local/bin/claude", threshold_ms=5000)
    assert pane.at(0, screen).state == "busy"  # just drawn: maybe still drawing
    assert pane.at(999, screen).state == "busy"
    obs = pane.at(idle.WAITING_DEBOUNCE_MS, screen)
    assert (obs.state, obs.idle) == ("waiting_for_input", False)
    assert pane.at(60_000, screen).state == "waiting_for_input"  # never becomes idle
    assert not is_ready(screen, "claude")


def test_the_debounce_never_exceeds_a_short_threshold() -> None:
    pane = Pane(threshold_ms=300)
    pane.at(0, screens.BASH_PERMISSION_V2)
    assert pane.at(300, screens.BASH_PERMISSION_V2).state == "waiting_for_input"


def test_other_agents_are_never_waiting() -> None:
    for agent in ("bash", "cat", "claude-squad", "/opt/claude-wrapper"):
        pane = Pane(agent=agent, threshold_ms=2000)
        pane.at(0, screens.BASH_PERMISSION_V2)
        assert pane.at(2000, screens.BASH_PERMISSION_V2).state == "idle"


def test_a_finished_turn_asking_a_question_is_idle_not_waiting() -> None:
    pane = Pane(threshold_ms=2000)
    pane.at(0, screens.DONE_V2)
    assert pane.at(1500, screens.DONE_V2).state == "busy"
    assert pane.at(2000, screens.DONE_V2).state == "idle"
    assert is_ready(screens.DONE_V2, "claude")


def test_an_old_prompt_scrolled_up_is_not_waiting() -> None:
    filler = "\n".join(f"  line {i} of output" for i in range(30))
    content = f"{screens.BASH_PERMISSION_V2}\n{filler}\n\n{screens.READY_V1}"
    assert not is_waiting(content)
    # the same prompt far up, but nothing at the bottom that is a composer
    assert not is_waiting(f"{screens.BASH_PERMISSION_V2}\n{filler}")


@pytest.mark.parametrize(
    ("screen", "ready"),
    [
        (screens.READY_V1, True),
        (screens.DONE_V2, True),
        (screens.STARTING, False),
        ("", False),
        ("> just a quoted line\nno box around it", False),
    ],
)
def test_claude_readiness_needs_the_composer(screen: str, ready: bool) -> None:
    assert is_ready(screen, "claude") is ready


def test_other_agents_are_ready_once_they_draw() -> None:
    assert is_ready("$ ", "bash")
    assert not is_ready("\n  \n", "bash")
    assert is_ready(screens.TRUST_V1, "codex")


def test_numbered_text_without_a_cursor_is_not_a_menu() -> None:
    assert not is_waiting(" 1. Run /init\n 2. Use Claude\n 3. Be specific")
    assert not is_waiting(" \u276f 1. only one option")


def test_is_claude_compares_the_basename() -> None:
    assert idle.is_claude("claude")
    assert idle.is_claude("/home/me/.local/bin/claude --dangerously-skip-permissions")
    assert not idle.is_claude("claude-squad")
    assert not idle.is_claude("")
