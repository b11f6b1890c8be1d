"""The scripted agent behind ``hangar demo``: speaks Claude Code's stream-json, stdlib only.

Run as ``python3 -m hangar.demo_agent --scenario demo <claude flags…> -- PROMPT``. Every Claude
flag is accepted and ignored. In its cwd it writes ``hello.txt`` and, inside a git worktree,
commits it, streaming thinking, tool calls, tool results, a summary and a ``result`` line with
usage and cost, with short pauses so a watcher sees it stream.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

SESSION_ID = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
MODEL = "claude-sonnet-4-5"
PAUSE_S = 0.15
COMMIT_MESSAGE = "hangar: add hello.txt"
HELLO = "Hello from the Hangar demo agent!\n"


def _parse_args(argv: list[str]) -> tuple[str, str]:
    scenario = "demo"
    prompt = ""
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            prompt = " ".join(argv[i + 1 :])
            break
        if arg == "--scenario" and i + 1 < len(argv):
            scenario = argv[i + 1]
            i += 2
            continue
        if arg.startswith("--scenario="):
            scenario = arg.split("=", 1)[1]
        i += 1
    return scenario, prompt


def _emit(obj: dict[str, Any], pause: bool = True) -> None:
    obj.setdefault("session_id", SESSION_ID)
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()
    if pause:
        time.sleep(PAUSE_S)


def _assistant(block: dict[str, Any]) -> None:
    _emit(
        {
            "type": "assistant",
            "message": {
                "role": "assistant",
                "model": MODEL,
                "content": [block],
                "usage": {"input_tokens": 300, "output_tokens": 75},
            },
            "parent_tool_use_id": None,
        }
    )


def _tool_use(tool_id: str, name: str, tool_input: dict[str, Any]) -> None:
    _assistant({"type": "tool_use", "id": tool_id, "name": name, "input": tool_input})


def _tool_result(tool_id: str, content: str, is_error: bool = False) -> None:
    block = {
        "type": "tool_result",
        "tool_use_id": tool_id,
        "content": content,
        "is_error": is_error,
    }
    _emit({"type": "user", "message": {"role": "user", "content": [block]}})


def _git(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            "git",
            "-c",
            "user.name=Hangar Demo Agent",
            "-c",
            "user.email=demo-agent@hangar.invalid",
            "-c",
            "commit.gpgsign=false",
            *args,
        ],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )


def _in_worktree(cwd: Path) -> bool:
    try:
        probe = _git(cwd, "rev-parse", "--is-inside-work-tree")
    except OSError:
        return False
    return probe.returncode == 0 and probe.stdout.strip() == "true"


def run_demo(prompt: str) -> int:
    cwd = Path.cwd()
    _emit(
        {
            "type": "system",
            "subtype": "init",
            "cwd": str(cwd),
            "model": MODEL,
            "permissionMode": "bypassPermissions",
            "tools": ["Bash", "Read", "Write"],
            "skills": [],
            "mcp_servers": [],
        }
    )
    title = prompt.strip().splitlines()[0] if prompt.strip() else "the demo issue"
    _assistant({"type": "thinking", "thinking": f"Reading the issue… ({title})"})
    _assistant({"type": "text", "text": "I'll add a hello.txt and commit it."})

    target = cwd / "hello.txt"
    _tool_use("toolu_demo_1", "Write", {"file_path": str(target), "content": HELLO})
    try:
        target.write_text(HELLO, encoding="utf-8")
        _tool_result("toolu_demo_1", f"File created successfully at: {target}")
        wrote = True
    except OSError as exc:
        _tool_result("toolu_demo_1", f"could not write {target}: {exc}", is_error=True)
        wrote = False

    committed = False
    if wrote and _in_worktree(cwd):
        command = f'git add hello.txt && git commit -m "{COMMIT_MESSAGE}"'
        _tool_use("toolu_demo_2", "Bash", {"command": command, "description": "Commit hello.txt"})
        add = _git(cwd, "add", "hello.txt")
        commit = _git(cwd, "commit", "-m", COMMIT_MESSAGE) if add.returncode == 0 else add
        output = (add.stdout + add.stderr + commit.stdout + commit.stderr).strip()
        committed = add.returncode == 0 and commit.returncode == 0
        _tool_result("toolu_demo_2", output or "(no output)", is_error=not committed)

    if committed:
        summary = f"Added hello.txt and committed it as “{COMMIT_MESSAGE}”."
    elif wrote:
        summary = "Added hello.txt (not committed: no git worktree here or the commit failed)."
    else:
        summary = "I could not write hello.txt."
    _assistant({"type": "text", "text": summary})
    _emit(
        {
            "type": "result",
            "subtype": "success",
            "is_error": not wrote,
            "num_turns": 3,
            "duration_ms": 1800,
            "result": summary,
            "total_cost_usd": 0.0042,
            "usage": {
                "input_tokens": 1200,
                "output_tokens": 300,
                "cache_read_input_tokens": 0,
                "cache_creation_input_tokens": 0,
            },
            "modelUsage": {
                MODEL: {
                    "inputTokens": 1200,
                    "outputTokens": 300,
                    "cacheReadInputTokens": 0,
                    "cacheCreationInputTokens": 0,
                    "costUSD": 0.0042,
                }
            },
            "terminal_reason": "completed",
        },
        pause=False,
    )
    return 0 if wrote else 1


def main(argv: list[str] | None = None) -> int:
    scenario, prompt = _parse_args(sys.argv[1:] if argv is None else argv)
    if scenario != "demo":
        sys.stderr.write(f"demo_agent: unknown scenario {scenario!r} (only 'demo')\n")
        return 2
    return run_demo(prompt)


if __name__ == "__main__":
    sys.exit(main())
