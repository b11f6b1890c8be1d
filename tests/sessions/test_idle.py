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

    def __init__(self, agent: str | None = "claude", threshold_ms: int = 5000) -> None:
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


def test_agents_known_not_to_be_claude_are_never_waiting() -> None:
    for agent in ("codex", "gemini", "/usr/local/bin/codex"):
        pane = Pane(agent=agent, threshold_ms=2000)
        pane.at(0, screens.BASH_PERMISSION_V2)
        assert pane.at(2000, screens.BASH_PERMISSION_V2).state == "idle"


#: Claude screens that say whose they are, whatever command drew them
SIGNED_WAITING = ["bash permission", "edit permission", "trust v1", "trust v2", "bypass warning"]


@pytest.mark.parametrize("name", SIGNED_WAITING)
@pytest.mark.parametrize("agent", [None, "env", "npx", "/opt/claude-wrapper", "bash"])
def test_a_wrapped_claude_is_recognised_by_its_screen(name: str, agent: str | None) -> None:
    """`env FOO=1 claude`, `npx …`, a script: argv[0] says nothing, the screen does."""
    screen = screens.WAITING_SCREENS[name]
    pane = Pane(agent=agent, threshold_ms=5000)
    pane.at(0, screen)
    obs = pane.at(idle.WAITING_DEBOUNCE_MS, screen)
    assert (obs.state, obs.agent) == ("waiting_for_input", "claude")


def test_an_unknown_command_whose_screen_shows_no_claude_is_judged_by_the_hash() -> None:
    # the question's words alone say nothing of Claude: a shell printing them is not asked
    for screen in (screens.ASK_USER_QUESTION, screens.UNKNOWN_MENU, "$ ls\nREADME\n$"):
        pane = Pane(agent="bash", threshold_ms=2000)
        pane.at(0, screen)
        obs = pane.at(2000, screen)
        assert (obs.state, obs.agent) == ("idle", None)


def test_the_declared_agent_wins_over_the_screen() -> None:
    declared = Pane(agent="claude", threshold_ms=5000)
    declared.at(0, screens.ASK_USER_QUESTION)
    obs = declared.at(idle.WAITING_DEBOUNCE_MS, screens.ASK_USER_QUESTION)
    assert (obs.state, obs.agent) == ("waiting_for_input", "claude")
    codex = Pane(agent="codex", threshold_ms=2000)
    codex.at(0, screens.TRUST_V2)
    assert codex.at(2000, screens.TRUST_V2).state == "idle"


CLAUDE_SCREENS = {
    "ready v1": screens.READY_V1,
    "done v2": screens.DONE_V2,
    "busy v2": screens.BUSY_V2,
    "starting": screens.STARTING,
    **{name: screens.WAITING_SCREENS[name] for name in SIGNED_WAITING},
}
OTHER_SCREENS = {
    "empty": "",
    "shell": "$ make\nok\n$",
    "unsigned menu": screens.UNKNOWN_MENU,
    "numbered text": " 1. Run /init\n 2. Use Claude\n 3. Be specific",
    "bare box": f"{screens.RULE}\n> not a composer footer\n{screens.RULE}",
}


@pytest.mark.parametrize("name", sorted(CLAUDE_SCREENS))
def test_claude_screens_are_recognised(name: str) -> None:
    assert idle.screen_agent(CLAUDE_SCREENS[name]) == "claude"


@pytest.mark.parametrize("name", sorted(OTHER_SCREENS))
def test_other_screens_are_not_claudes(name: str) -> None:
    assert idle.screen_agent(OTHER_SCREENS[name]) is None


def test_readiness_of_an_unknown_command_follows_its_screen() -> None:
    # a wrapped Claude is ready only once its composer shows, like a declared one
    assert not is_ready(screens.STARTING, None)
    assert not is_ready(screens.TRUST_V2, "env")
    assert is_ready(screens.READY_V1, None)
    assert is_ready("$ ", None)


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


def test_the_agent_of_an_argv_is_its_first_words_basename() -> None:
    assert idle.agent_from_argv(["claude"]) == "claude"
    assert idle.agent_from_argv(["/home/me/.local/bin/claude", "--model", "x"]) == "claude"
    assert idle.agent_from_argv(["/usr/bin/codex"]) == "codex"
    assert idle.agent_from_argv(["gemini"]) == "gemini"
    # a wrapper says nothing by its argv: the screen (or an explicit agent) decides
    for argv in (["env", "FOO=1", "claude"], ["npx", "claude"], ["claude-squad"], []):
        assert idle.agent_from_argv(argv) is None
