"""Secrets, the env allowlist, the full-access warnings and `config show`, as a user meets
them: the real CLI, a real daemon over its socket, real agents' processes.

The daemon runs with keyring's fail backend (``PYTHON_KEYRING_BACKEND``), as on a headless
box: the keys land in the 0600 file, and no test ever touches the machine's keychain."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.harness import Hangar, fake_agent, wait_until

SECRET = "sk-ant-e2e-never-on-argv"
NO_KEYCHAIN = {"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}

#: a claude-format agent reporting the key it was given
REPORTER = """
import json, os
seen = json.dumps({"key": os.environ.get("ANTHROPIC_API_KEY")})
print(json.dumps({"type": "result", "subtype": "success", "is_error": False, "result": seen}))
"""


@pytest.fixture
def h(hangar: Hangar) -> Hangar:
    hangar.env.update(NO_KEYCHAIN)
    hangar.env["ANTHROPIC_API_KEY"] = "ambient-key"  # the daemon's own: the store must win
    return hangar


def cmdlines() -> list[str]:
    """Every process's command line, as `ps` would show it."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                out.append((entry / "cmdline").read_bytes().replace(b"\0", b" ").decode())
            except OSError:
                continue
    return out


def secrets_set(h: Hangar, name: str, value: str) -> subprocess.CompletedProcess[str]:
    """`hangar secrets set NAME` with the value on stdin, checking that while the command
    waits for it no process's argv holds it."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "hangar.cli", "secrets", "set", name],
        env=h.env,
        cwd=h.tmp,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_until(lambda: any("secrets set" in c for c in cmdlines()))
    assert not [c for c in cmdlines() if value in c]
    out, err = proc.communicate(value + "\n", timeout=60)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def test_secrets_from_stdin_reach_the_agent_and_never_argv_or_output(h: Hangar) -> None:
    h.run("daemon", "start")
    done = secrets_set(h, "ANTHROPIC_API_KEY", SECRET)
    assert done.returncode == 0, done.stderr
    assert "stored ANTHROPIC_API_KEY in file:" in done.stdout
    assert "claude agents get it" in done.stdout
    assert not [c for c in cmdlines() if SECRET in c]

    # the file fallback: 0600, in the data home, and said so
    path = h.home / "secrets.toml"
    assert path.stat().st_mode & 0o777 == 0o600 and SECRET in path.read_text()
    listed = h.run("secrets", "list")
    assert "ANTHROPIC_API_KEY" in listed.out and "claude" in listed.out
    assert f"file: {path} (no keychain on this machine)" in listed.err
    assert SECRET not in listed.out + listed.err
    assert h.json("secrets", "list") == {
        "backend": f"file: {path} (no keychain on this machine)",
        "names": ["ANTHROPIC_API_KEY"],
    }

    script = h.tmp / "reporter.py"
    script.write_text(REPORTER)
    h.json(
        "agent", "create", "--name", "c", "--provider", "claude",
        "--command", f"{sys.executable} {script}",
    )  # fmt: skip
    task = h.assign("c")["task"]
    result = h.wait_done(task["id"])["result"]
    assert json.loads(result["content"])["key"] == SECRET  # the stored key beat the ambient one
    logs = "".join(p.read_text() for p in (h.home / "logs").glob("*.jsonl"))
    assert SECRET not in logs

    h.run("secrets", "delete", "ANTHROPIC_API_KEY")
    assert h.json("secrets", "list")["names"] == []
    again = h.run("secrets", "delete", "ANTHROPIC_API_KEY", ok=False)
    assert again.code == 4 and "not found" in again.err


def test_bad_secret_input_is_refused_and_never_echoed(h: Hangar) -> None:
    bad = h.run("secrets", "set", "1NOT-A-NAME", ok=False)
    assert bad.code == 2 and "environment variable name" in bad.err
    on_argv = h.run("secrets", "set", "ANTHROPIC_API_KEY", SECRET, ok=False)
    assert on_argv.code == 2 and "never taken from the command line" in on_argv.err
    assert SECRET not in on_argv.err + on_argv.out
    denied = h.run("secrets", "set", "LD_PRELOAD", ok=False)
    assert denied.code == 2 and "deny family" in denied.err
    empty = subprocess.run(
        [sys.executable, "-m", "hangar.cli", "secrets", "set", "OPENAI_API_KEY"],
        env=h.env,
        cwd=h.tmp,
        input="",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert empty.returncode == 2 and "no value given" in empty.stderr
    assert h.json("secrets", "list")["names"] == []


def test_env_allow_add_remove_list_and_the_deny_family(h: Hangar) -> None:
    listed = h.run("config", "env.allow", "list")
    lines = listed.out.splitlines()
    assert lines[:2] == ["HOME", "PATH"] and "LD_* [deny-locked]" in lines
    assert "from the defaults" in listed.err

    added = h.run("config", "env.allow", "add", "IS_SANDBOX")
    assert "IS_SANDBOX" in added.out.splitlines()
    assert "agents the daemon starts from now on get it" in added.err
    path = h.home / "env.allow.toml"
    assert path.stat().st_mode & 0o777 == 0o600 and '"IS_SANDBOX"' in path.read_text()

    refused = h.run("config", "env.allow", "add", "LD_PRELOAD", ok=False)
    assert refused.code == 1 and "dynamic loader" in refused.err
    assert len(refused.err.strip().splitlines()) == 1
    assert "LD_PRELOAD" not in path.read_text()

    h.run("config", "env.allow", "remove", "IS_SANDBOX")
    assert "IS_SANDBOX" not in h.json("config", "env.allow", "list")["allow"]
    gone = h.run("config", "env.allow", "remove", "IS_SANDBOX", ok=False)
    assert gone.code == 4
    h.run("issue", "list")  # the daemon serves on


def warned(res_err: str) -> bool:
    return "full access" in res_err


def test_the_full_access_warning_shows_once_per_provider_and_resets(h: Hangar) -> None:
    h.json("agent", "create", "--name", "c", "--provider", "claude",
           "--command", fake_agent("claude", "happy"))  # fmt: skip
    h.json("agent", "create", "--name", "x", "--provider", "codex",
           "--command", fake_agent("codex", "happy"))  # fmt: skip

    first = h.run("issue", "create", "--title", "one", "--assign", "c", "--json")
    assert warned(first.err) and "Agents run with full access: claude" in first.err
    assert json.loads(first.out)["task"]  # the JSON on stdout is untouched
    assert not warned(h.run("issue", "create", "--title", "two", "--assign", "c").err)
    assert not warned(h.run("issue", "create", "--title", "no agent").err)

    codex = h.run("issue", "create", "--title", "three", "--assign", "x")
    assert "First run of codex" in codex.err
    state = (h.home / "state.toml").read_text()
    assert "first_run" in state and '"provider:claude"' in state

    reset = h.run("config", "warnings", "reset", "--provider", "claude")
    assert "provider:claude" in reset.out
    assert "First run of claude" in h.run("issue", "create", "--title", "4", "--assign", "c").err
    assert not warned(h.run("issue", "create", "--title", "5", "--assign", "x").err)

    h.run("config", "warnings", "reset")
    assert (
        "Agents run with full access"
        in h.run("issue", "create", "--title", "6", "--assign", "x").err
    )


def test_config_show_says_where_each_value_came_from(h: Hangar, tmp_path: Path) -> None:
    h.env["HANGAR_MAX_SLOTS"] = "3"  # the daemon starts with it
    h.run("config", "env.allow", "add", "IS_SANDBOX")
    beads = tmp_path / "beads"
    beads.mkdir()
    # a relative path is made absolute where the user is
    set_ = h.run("config", "set", "beads.dir", "beads", cwd=tmp_path)
    assert str(beads) in set_.out and "file (" in set_.out

    rows = {r["key"]: r for r in h.json("config", "show")}
    assert (rows["slots"]["value"], rows["slots"]["source"]) == ("3", "environment")
    assert (rows["log.level"]["value"], rows["log.level"]["source"]) == ("info", "default")
    assert rows["env.allow"]["source"] == "file" and "IS_SANDBOX" in rows["env.allow"]["value"]
    assert (rows["beads.dir"]["value"], rows["beads.dir"]["source"]) == (str(beads), "file")
    assert rows["secrets.backend"]["value"].endswith("(no keychain on this machine)")
    assert rows["warnings.acked"]["source"] == "default"
    text = h.run("config", "show").out
    assert "environment (HANGAR_MAX_SLOTS)" in text and "KEY" in text.splitlines()[0]

    unknown = h.run("config", "set", "colour", "blue", ok=False)
    assert unknown.code == 1 and "unknown setting 'colour'; settable: beads.dir" in unknown.err
    missing = h.run("config", "set", "beads.dir", str(tmp_path / "absent"), ok=False)
    assert missing.code == 1 and "not a directory" in missing.err
    assert h.json("config", "unset", "beads.dir")["source"] == "default"
