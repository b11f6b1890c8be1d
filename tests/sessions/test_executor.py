"""The subprocess executor (real processes) and the recording fake."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest

from hangar.adapters.executor import CommandResult, CommandTimeout, SubprocessExecutor
from hangar.testing.executor import RecordingExecutor


async def test_runs_argv_without_a_shell() -> None:
    res = await SubprocessExecutor().run(["printf", "%s|", "$HOME", "a b;"])
    assert res == CommandResult(0, "$HOME|a b;|", "")


async def test_stdin_is_devnull_unless_input_is_given() -> None:
    ex = SubprocessExecutor()
    assert (await ex.run(["cat"])).stdout == ""  # would hang on an inherited stdin
    assert (await ex.run(["cat"], input=b"one\ntwo")).stdout == "one\ntwo"


async def test_exit_status_and_stderr() -> None:
    res = await SubprocessExecutor().run(["sh", "-c", "echo oops >&2; exit 4"])
    assert (res.returncode, res.stderr) == (4, "oops\n")


async def test_timeout_kills_the_process(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    start = time.monotonic()
    # 5 s: ample for sh to write its pid first, even on a busy machine
    task = asyncio.create_task(
        SubprocessExecutor().run(["sh", "-c", f"echo $$ > {pid_file}; exec sleep 30"], timeout=5)
    )
    while not task.done() and not (pid_file.exists() and pid_file.read_text().strip()):
        await asyncio.sleep(0.01)
    assert pid_file.exists() and pid_file.read_text().strip(), "sh never wrote its pid"
    with pytest.raises(CommandTimeout, match=r"timed out after 5s"):
        await task
    assert time.monotonic() - start < 20  # killed at the timeout, not after sleep's 30 s
    pid = int(pid_file.read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # killed and reaped


async def test_cancellation_kills_the_process(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    task = asyncio.create_task(
        SubprocessExecutor().run(["sh", "-c", f"echo $$ > {pid_file}; exec sleep 30"])
    )
    while not pid_file.exists() or not pid_file.read_text().strip():
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    with pytest.raises(ProcessLookupError):
        os.kill(int(pid_file.read_text()), 0)


async def test_missing_program_raises_oserror() -> None:
    with pytest.raises(FileNotFoundError):
        await SubprocessExecutor().run(["hangar-no-such-program-xyz"])
    with pytest.raises(ValueError):
        await SubprocessExecutor().run([])


async def test_recording_executor_scripts_by_longest_prefix() -> None:
    ex = RecordingExecutor(default=CommandResult(9, "", "default"))
    ex.script(["git"], CommandResult(0, "git", ""))
    ex.script(["git", "status"], CommandResult(0, "first", ""), CommandResult(0, "then", ""))
    assert (await ex.run(["git", "status", "-s"])).stdout == "first"
    assert (await ex.run(["git", "status"])).stdout == "then"
    assert (await ex.run(["git", "status"])).stdout == "then"  # the last one repeats
    assert (await ex.run(["git", "log"])).stdout == "git"
    assert (await ex.run(["tmux"], input=b"x", timeout=3)).returncode == 9
    ex.script(["git"], CommandResult(0, "newer", ""))
    assert (await ex.run(["git", "log"])).stdout == "newer"  # latest among equals
    ex.script(["boom"], OSError("nope"))
    with pytest.raises(OSError, match="nope"):
        await ex.run(["boom"])
    assert ex.argvs[:2] == [["git", "status", "-s"], ["git", "status"]]
    assert (ex.calls[4].input, ex.calls[4].timeout) == (b"x", 3)
