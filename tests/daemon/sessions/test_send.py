"""What a send may carry: a line break without Enter is refused, because a program that
never turned on bracketed paste (a shell) runs the line anyway."""

from __future__ import annotations

from pathlib import Path

import pytest

from hangar.daemon.sessions.errors import SessionError
from hangar.proto import api
from tests.sessions.helpers import wait_until

from .conftest import Harness


async def test_a_line_break_without_enter_is_refused_and_never_runs(
    harness: Harness, tmp_path: Path
) -> None:
    marker = tmp_path / "ran"
    row = await harness.create("shell", command=["sh"])  # dash: no bracketed paste

    for text in (f"touch {marker}\n", f"touch {marker}\nmore", f"touch {marker}\r"):
        with pytest.raises(SessionError) as refused:
            await harness.service.send(harness.workspace_id, row.id, text, press_enter=False)
        assert refused.value.kind == "invalid_text"
        message = refused.value.message
        assert message.startswith("text:") and "press_enter=false" in message, message

    # the shell still takes input, and what it would have run by now it has not
    await harness.service.send(
        harness.workspace_id, row.id, "echo alive-$((40+2))", press_enter=True
    )

    async def screen() -> str:
        p = api.SessionReadParams(id=row.id)
        return (await harness.service.read(harness.workspace_id, p)).content

    await wait_until(screen, lambda text: "alive-42" in text, timeout=20)
    assert not marker.exists()


async def test_a_line_break_with_enter_is_still_sent(harness: Harness) -> None:
    row = await harness.create("lines")
    await harness.service.send(harness.workspace_id, row.id, "one\ntwo", press_enter=True)

    async def screen() -> str:
        p = api.SessionReadParams(id=row.id)
        return (await harness.service.read(harness.workspace_id, p)).content

    await wait_until(screen, lambda text: text.count("two") == 2, timeout=20)
