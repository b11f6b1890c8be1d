"""Notifications as a user meets them: `hangar notify …` through the real CLI and socket,
a real daemon, a fake agent that fails, and a command channel that receives the JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.e2e.harness import Hangar, wait_until

NO_KEYCHAIN = {"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}


def _catcher(tmp: Path) -> tuple[Path, Path]:
    record = tmp / "events.jsonl"
    script = tmp / "catch.py"
    script.write_text(
        "import sys\n"
        f"with open({str(record)!r}, 'a') as f:\n"
        "    f.write(sys.stdin.read().strip() + '\\n')\n"
    )
    return script, record


def _events(record: Path) -> list[dict[str, Any]]:
    try:
        return [json.loads(ln) for ln in record.read_text().splitlines() if ln.strip()]
    except FileNotFoundError:
        return []


def test_a_failed_task_reaches_a_command_channel_through_the_cli(hangar: Hangar) -> None:
    hangar.env.update(NO_KEYCHAIN)
    script, record = _catcher(hangar.tmp)
    argv = f"{sys.executable} {script}"
    added = hangar.json("notify", "add", "command", argv, "--events", "task.failed,task.done")
    assert added["kind"] == "command" and added["events"] == ["task.failed", "task.done"]
    channel = added["id"]

    hangar.agent("err-bot", "claude", "is_error")
    task_id = hangar.assign("err-bot", "Break it")["task"]["id"]
    assert hangar.wait_done(task_id)["status"] == "failed"
    [event] = wait_until(lambda: _events(record), timeout=30)
    assert event["event"] == "task.failed" and event["task"]["id"] == task_id
    assert event["agent"]["name"] == "err-bot" and event["issue"]["title"] == "Break it"
    assert event["command"].startswith(f"hangar task show {task_id}")

    listed = hangar.json("notify", "list")
    [row] = listed["channels"]
    assert row["id"] == channel and row["target"] == argv
    wait_until(lambda: hangar.json("notify", "list")["channels"][0]["deliveries"], timeout=30)
    [delivery] = hangar.json("notify", "list")["channels"][0]["deliveries"]
    assert delivery["status"] == "delivered" and delivery["kind"] == "task.failed"
    text = hangar.run("notify", "list").out
    assert channel in text and "task.failed" in text and "delivered" in text

    tested = hangar.run("notify", "test", channel)
    assert tested.out.startswith("delivered (1 attempt)")
    assert _events(record)[-1]["test"] is True

    assert (
        hangar.run("notify", "remove", channel).out.strip() == f"removed command channel {channel}"
    )
    assert hangar.json("notify", "list")["channels"] == []


def test_a_webhook_secret_comes_from_stdin_and_never_back(hangar: Hangar) -> None:
    hangar.env.update(NO_KEYCHAIN)
    secret = "whsec-e2e-only-on-stdin"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "hangar.cli",
            "notify",
            "add",
            "webhook",
            "https://user:pw@hooks.example.com/h?key=1",
            "--secret-from-stdin",
            "--json",
        ],
        input=secret + "\n",
        env=hangar.env,
        cwd=hangar.tmp,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    row = json.loads(proc.stdout)
    assert row["signed"] and row["target"] == "https://hooks.example.com/h?…"
    listed = hangar.run("notify", "list")
    shown = listed.out + listed.err + hangar.run("notify", "list", "--json").out
    assert secret not in shown and "pw" not in shown and "(signed)" in listed.out


def test_bad_input_is_a_clear_error_and_nothing_is_added(hangar: Hangar) -> None:
    cases = [
        (("add", "webhook", "ftp://example.com/x"), "http:// or https://"),
        (("add", "desktop", "--events", "task.failed,task.exploded"), "'task.exploded'"),
        (("add", "command", ""), "the command is empty"),
    ]
    for args, says in cases:
        res = hangar.run("notify", *args, ok=False)
        assert res.code == 2, res
        assert says in res.err
    missing = hangar.run("notify", "remove", "nope", ok=False)
    assert missing.code == 4 and "notification channel not found: nope" in missing.err
    assert hangar.json("notify", "list")["channels"] == []
