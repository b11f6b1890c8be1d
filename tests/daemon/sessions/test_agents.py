"""Which agent a session runs: said by the session (``agent``), by its command's first word,
or, for a wrapped command (`env … claude`, `npx …`, a script), by what its screen shows."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from hangar.proto import api
from hangar.proto.rows import SessionRow
from tests.sessions import claude_screens as screens
from tests.sessions.helpers import wait_until

from .conftest import Harness

#: debounce of a waiting prompt (idle.WAITING_DEBOUNCE_MS), moved on the harness's clock
DEBOUNCE_MS = 1000


def screen_printer(path: Path, *screens_in_order: str, go: Path | None = None) -> Path:
    """An agent that draws ``screens_in_order`` (the next one once ``go`` exists), then
    waits to be ended. Its name says nothing of Claude."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f"#!{sys.executable}\n"
        "import os, sys, time\n"
        f"screens = {list(screens_in_order)!r}\n"
        f"go = {str(go) if go else None!r}\n"
        "for i, screen in enumerate(screens):\n"
        "    while i and go and not os.path.exists(go):\n"
        "        time.sleep(0.02)\n"
        "    print(screen, flush=True)\n"
        "time.sleep(3600)\n"
    )
    path.chmod(0o755)
    return path


async def _screen(harness: Harness, row: SessionRow) -> str:
    p = api.SessionReadParams(id=row.id)
    return (await harness.service.read(harness.workspace_id, p)).content


async def _shown(harness: Harness, row: SessionRow, text: str) -> None:
    """Until ``text`` is on the session's screen (a loaded machine starts Python slowly)."""
    await wait_until(lambda: _screen(harness, row), lambda s: text in s, timeout=20)


async def _state_once_still(harness: Harness, row: SessionRow, quiet_ms: int) -> str:
    """The state after the screen has been still for ``quiet_ms`` on the harness clock."""
    await harness.service.idle(harness.workspace_id, row.id, None)
    harness.clock.advance(quiet_ms)
    return (await harness.service.idle(harness.workspace_id, row.id, None)).state


async def test_a_wrapped_claude_waiting_for_an_answer_is_waiting_for_input(
    harness: Harness, tmp_path: Path
) -> None:
    agent = screen_printer(tmp_path / "bin" / "agent", screens.BASH_PERMISSION_V2)
    row = await harness.create("wrapped", command=["env", "FOO=1", str(agent)])
    assert row.agent is None  # `env` names no agent: the screen will tell
    await _shown(harness, row, "what to do differently")

    assert await _state_once_still(harness, row, DEBOUNCE_MS) == "waiting_for_input"


async def test_once_a_screen_showed_claude_the_session_stays_claudes(
    harness: Harness, tmp_path: Path
) -> None:
    """The banner scrolls away; a later question whose words name nobody is still Claude's."""
    go = tmp_path / "go"
    filler = "\n".join(f"output line {i}" for i in range(250))
    agent = screen_printer(
        tmp_path / "bin" / "agent",
        screens.STARTING,
        f"{filler}\n{screens.ASK_USER_QUESTION}",
        go=go,
    )
    row = await harness.create("sticky", command=["env", str(agent)])
    await _shown(harness, row, "Claude Code v2")
    await harness.service.idle(harness.workspace_id, row.id, None)  # a look at the banner

    go.touch()
    await _shown(harness, row, "Enter to select")

    assert await _state_once_still(harness, row, DEBOUNCE_MS) == "waiting_for_input"


async def test_an_explicit_agent_wins_over_the_command(
    harness: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "claude-config"
    config.mkdir()
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(config))  # where Claude's trust is written
    question = screens.ASK_USER_QUESTION  # nothing on it says Claude
    declared = await harness.create(
        "declared",
        command=[str(screen_printer(tmp_path / "bin" / "a", question))],
        agent="claude",
        idle_threshold_ms=2000,
    )
    plain = await harness.create(
        "plain",
        command=[str(screen_printer(tmp_path / "bin" / "b", question))],
        idle_threshold_ms=2000,
    )
    # declared Claude: treated as Claude from the start (its own conversation id, trust)
    assert (declared.agent, plain.agent) == ("claude", None)
    assert declared.agent_session_id is not None and plain.agent_session_id is None
    assert declared.worktree_path in (config / ".claude.json").read_text()
    for row in (declared, plain):
        await _shown(harness, row, "Enter to select")
        await harness.service.idle(harness.workspace_id, row.id, None)

    harness.clock.advance(2000)
    states = [
        (await harness.service.idle(harness.workspace_id, row.id, None)).state
        for row in (declared, plain)
    ]
    assert states == ["waiting_for_input", "idle"]


async def test_a_command_named_after_an_agent_records_it(harness: Harness, tmp_path: Path) -> None:
    codex = screen_printer(tmp_path / "bin" / "codex", screens.TRUST_V2)
    row = await harness.create("cx", command=[str(codex)], idle_threshold_ms=2000)
    assert row.agent == "codex"
    await _shown(harness, row, "Enter to confirm")
    # Codex declared by its name: Claude's dialogs on its screen do not make it Claude
    assert await _state_once_still(harness, row, 2000) == "idle"


async def test_archive_asks_a_wrapped_claude_to_exit_as_claude(
    harness: Harness, tmp_path: Path
) -> None:
    """`/exit` for what the screen shows is Claude, not the Ctrl-D a shell would get."""
    heard = tmp_path / "heard"
    agent = tmp_path / "bin" / "agent"
    agent.parent.mkdir(parents=True)
    agent.write_text(
        f"#!{sys.executable}\n"
        "import sys\n"
        f"print({screens.STARTING!r}, flush=True)\n"
        f"open({str(heard)!r}, 'w').write(repr(sys.stdin.readline()))\n"
    )
    agent.chmod(0o755)
    row = await harness.create("leaving", command=["env", str(agent)])
    await _shown(harness, row, "Claude Code v2")

    archived = await harness.service.archive(harness.workspace_id, row.id, force=False)

    assert archived.status == "archived"
    assert heard.read_text() == repr("/exit\n")  # a Ctrl-D would have been an empty read
