"""Busy / idle / waiting from pane snapshots: pure functions, the clock passed in.

The basic rule is a hash of the last 200 lines: changed means busy, unchanged for the
threshold means idle. Two fixes on top: a dead pane is ``exited`` (a crashed agent's
frozen screen is not finished work), and for Claude Code a question, permission or
selection prompt near the bottom of the screen is ``waiting_for_input`` (a pure hash
cannot tell an agent that waits for an answer from one that is done).

Which agent a pane runs is said by the session (its ``agent``), else by its command's first
word, else by the screen: a wrapped Claude (``env … claude``, ``npx …``, a script) draws
Claude's screens all the same (:func:`screen_agent`).
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

SAMPLE_LINES = 200
#: Prompts sit in the bottom part of the screen, just above and inside the prompt box.
BOTTOM_LINES = 25
#: A waiting prompt is reported after this much stillness (or the threshold, if shorter).
WAITING_DEBOUNCE_MS = 1000

#: Claude Code's question, permission and selection prompts. These UI strings ROT between
#: Claude releases: when a new release's prompt reads as busy or idle,
#: add its text here, with a screen fixture in tests/sessions/test_idle.py.
CLAUDE_WAITING_MARKERS: tuple[str, ...] = (
    "Do you want to proceed?",  # Bash and tool permission
    "Do you want to make this edit",  # Edit permission
    "Do you want to create",  # Write permission
    "Do you want to allow",  # WebFetch / MCP permission
    "Would you like to",  # plan approval and similar
    "Do you trust the files in this folder?",  # workspace trust, older releases
    "Quick safety check",  # workspace trust, newer releases
    "No, exit",  # bypass-permissions warning (its default answer quits)
    "Enter to confirm · Esc to cancel",
    "Enter to select",  # AskUserQuestion menus
    "Esc to cancel",
)
#: U+276F, Claude's prompt and selection cursor (escaped: it looks like ">" in source).
CHEVRON = "\u276f"
#: The selection cursor on a numbered option, e.g. "<chevron> 1. Yes".
_MENU_CURSOR = re.compile(CHEVRON + r"\s*\d+\.\s+\S")
_MENU_OPTION = re.compile(f"({CHEVRON}\\s*)?" + r"\d+\.\s+\S")
#: A horizontal rule or box edge: the composer sits between two of them.
_RULE = re.compile(r"^\s*[╭╰┌└├]?[─━]{3,}[╮╯┐┘┤]?\s*$")

#: The agent CLIs a session may say it runs (``SessionCreateParams.agent``).
AGENTS: tuple[str, ...] = ("claude", "codex", "gemini")
#: Text only Claude Code draws: its banners, trust and bypass dialogs, permission prompts and
#: the hints under its composer. Like the markers above, these ROT between releases.
CLAUDE_SIGNATURES: tuple[str, ...] = (
    "Claude Code",  # banners (v1 "Welcome to Claude Code!", v2 "Claude Code v2.…"), dialogs
    "tell Claude what to do differently",  # every permission prompt's last option
    "? for shortcuts",  # under the composer
    "esc to interrupt",  # the spinner line, older releases
    "shift+tab to cycle",  # the mode line under the composer
)

State = Literal["busy", "idle", "waiting_for_input", "exited"]


@dataclass(frozen=True)
class Observation:
    state: State
    idle: bool
    changed: bool
    hash: str
    last_changed_at: datetime
    elapsed_ms: int
    threshold_ms: int
    #: the agent the snapshot was judged as (declared, or recognised on the screen); None
    #: when nothing says, and only the hash decided
    agent: str | None = None


def content_hash(content: str) -> str:
    """SHA-256 (hex) of the last :data:`SAMPLE_LINES` lines."""
    tail = "\n".join(content.splitlines()[-SAMPLE_LINES:])
    return hashlib.sha256(tail.encode()).hexdigest()


def agent_from_argv(command: list[str]) -> str | None:
    """The agent an argv runs when its first word's basename names one (``claude``,
    ``/usr/local/bin/codex``); None for anything else, a wrapper (``env``, ``npx``, a
    script) included: what it runs shows on its screen."""
    return _known(os.path.basename(command[0])) if command else None


def screen_agent(content: str) -> str | None:
    """The agent whose UI ``content`` shows: ``claude`` when any of
    :data:`CLAUDE_SIGNATURES` is on it, else None (only Claude's screens are known)."""
    return "claude" if any(sig in content for sig in CLAUDE_SIGNATURES) else None


def _known(agent: str | None) -> str | None:
    """``agent`` (a name, path or command line) as one of :data:`AGENTS`, or None."""
    words = (agent or "").split()
    name = os.path.basename(words[0]) if words else ""
    return name if name in AGENTS else None


def judged_agent(agent: str | None, content: str) -> str | None:
    """The agent a snapshot is judged as: the declared one, else what the screen shows."""
    return _known(agent) or screen_agent(content)


def observe(
    content: str,
    *,
    prev_hash: str | None,
    last_changed_at: datetime,
    now: datetime,
    threshold_ms: int,
    agent: str | None,
    pane_dead: bool,
) -> Observation:
    """Classify one snapshot against the previous one. The first snapshot counts as a change.

    ``agent`` is the agent the pane runs, when known (a name or path; anything that is not
    one of :data:`AGENTS` counts as unknown, and the screen decides)."""
    judged = judged_agent(agent, content)
    digest = content_hash(content)
    changed = digest != prev_hash
    if changed:
        last_changed_at = now
    elapsed_ms = max(0, int((now - last_changed_at).total_seconds() * 1000))
    state: State
    if pane_dead:
        state = "exited"
    elif changed:
        state = "busy"
    elif (
        judged == "claude"
        and elapsed_ms >= min(threshold_ms, WAITING_DEBOUNCE_MS)
        and is_waiting(content)
    ):
        state = "waiting_for_input"
    elif elapsed_ms >= threshold_ms:
        state = "idle"
    else:
        state = "busy"
    return Observation(
        state=state,
        idle=state == "idle",
        changed=changed,
        hash=digest,
        last_changed_at=last_changed_at,
        elapsed_ms=elapsed_ms,
        threshold_ms=threshold_ms,
        agent=judged,
    )


def is_waiting(content: str) -> bool:
    """Claude Code shows a question, permission or selection prompt near the bottom.

    Claude draws these dialogs *instead of* its composer, so prompt-like text above a
    visible composer is conversation (e.g. the agent's own "Would you like to …?")."""
    bottom = _bottom(content)
    composer = _composer_index(bottom)
    region = bottom if composer is None else bottom[composer + 1 :]
    if any(marker in line for line in region for marker in CLAUDE_WAITING_MARKERS):
        return True
    # a cursor on an option plus another numbered option: a menu, not typed text
    has_cursor = any(_MENU_CURSOR.search(line) for line in region)
    options = sum(1 for line in region if _MENU_OPTION.match(_unbox(line)))
    return has_cursor and options >= 2


def is_ready(content: str, agent: str | None) -> bool:
    """Whether the agent can take a prompt.

    For Claude Code (declared, or recognised on the screen): its composer (a line starting
    with ``>`` or :data:`CHEVRON` between rules of box-drawing characters) is on screen and
    no dialog or prompt is waiting. Other agents are ready once they have drawn anything."""
    if judged_agent(agent, content) != "claude":
        return bool(content.strip())
    bottom = _bottom(content)
    return _composer_index(bottom) is not None and not is_waiting(content)


def _composer_index(lines: list[str]) -> int | None:
    """Index of the last composer input line: ``>``/chevron just below a rule, a rule below."""
    for i in range(len(lines) - 1, -1, -1):
        text = _unbox(lines[i])
        if not text.startswith((">", CHEVRON)) or _MENU_CURSOR.search(lines[i]):
            continue
        above = lines[max(0, i - 3) : i]
        if any(_RULE.match(edge) for edge in above) and any(
            _RULE.match(edge) for edge in lines[i + 1 :]
        ):
            return i
    return None


def _unbox(line: str) -> str:
    """The line without its side borders (``│``) and surrounding spaces."""
    return line.strip().strip("│").strip()


def _bottom(content: str) -> list[str]:
    return [line for line in content.splitlines() if line.strip()][-BOTTOM_LINES:]
