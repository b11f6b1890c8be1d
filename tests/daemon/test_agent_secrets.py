"""Stored API keys reach each provider's agent at spawn, over ambient ones; the allowlist is
changed over RPC and applied to the next spawn; secrets and settings are managed over RPC,
and bad input is refused with a clear error. All through the in-process daemon's real
routes, runners and agent processes."""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from hangar.adapters.secrets import FileStore
from hangar.proto.jsonrpc import INVALID_PARAMS, NOT_FOUND, SECRET_BACKEND_LOCKED, RpcError
from hangar.testing import InProcessDaemon, MemorySecretStore, daemon_in_process
from tests.daemon.helpers import make_agent, seed_home, task_row

KEYS = ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "CODEX_API_KEY", "GEMINI_API_KEY", "MY_SETTING")

#: an agent that reports the keys it sees, in its provider's own output format
REPORTER = """
import json, os, sys
provider = sys.argv[1]
seen = json.dumps({k: os.environ.get(k) for k in KEYS})
def emit(obj):
    print(json.dumps(obj), flush=True)
if provider == "claude":
    emit({"type": "result", "subtype": "success", "is_error": False, "result": seen})
elif provider == "codex":
    emit({"type": "thread.started", "thread_id": "t"})
    emit({"type": "turn.started"})
    emit({"type": "item.completed", "item": {"id": "i", "type": "agent_message", "text": seen}})
    emit({"type": "turn.completed", "usage": {"input_tokens": 1, "output_tokens": 1}})
elif provider == "gemini":
    emit({"type": "init", "session_id": "s", "model": "m"})
    emit({"type": "message", "role": "assistant", "content": seen, "delta": True})
    emit({"type": "result", "status": "success", "stats": {}})
else:
    print(seen, flush=True)
""".replace("KEYS", repr(KEYS))

AMBIENT = {
    "ANTHROPIC_API_KEY": "ambient-anthropic",
    "OPENAI_API_KEY": "ambient-openai",
    "GEMINI_API_KEY": "ambient-gemini",
    "MY_SETTING": "mine",
}
STORED = {
    "ANTHROPIC_API_KEY": "stored-anthropic",
    "OPENAI_API_KEY": "stored-openai",
    "CODEX_API_KEY": "stored-codex",
    "GEMINI_API_KEY": "stored-gemini",
}


@pytest.fixture
def home(tmp_path: Path, migrated_db: Path) -> Path:
    return seed_home(tmp_path / "h", migrated_db)


@pytest.fixture
def reporter(tmp_path: Path) -> Path:
    path = tmp_path / "reporter.py"
    path.write_text(REPORTER)
    return path


@pytest.fixture
async def hangar(home: Path) -> AsyncIterator[InProcessDaemon]:
    # the ambient keys pass the allowlist, so it is the store that must win over them
    (home / "env.allow.toml").write_text(
        '[env]\nallow = ["PATH", "HOME", "ANTHROPIC_API_KEY", "OPENAI_API_KEY", "GEMINI_API_KEY"]\n'
    )
    store = MemorySecretStore({("hangar", k): v for k, v in STORED.items()})
    async with daemon_in_process(
        home, env={**AMBIENT, "HANGAR_MAX_SLOTS": "3"}, secrets=store
    ) as d:
        yield d


async def run_seen(hangar: InProcessDaemon, agent: str) -> dict[str, Any]:
    """Run one task of ``agent`` and return the keys its process saw."""
    made = await hangar.call("hangar/issue_create", {"title": "t", "assign": agent})
    await hangar.dispatch()
    task = await task_row(hangar, made["task"]["id"])
    assert task["status"] == "done", task
    return dict(json.loads(task["result"]["content"].strip().splitlines()[-1]))


async def reporter_agent(hangar: InProcessDaemon, reporter: Path, provider: str) -> str:
    await make_agent(hangar, provider, [sys.executable, str(reporter), provider], provider=provider)
    return provider


async def test_each_provider_gets_its_stored_key_over_the_ambient_one(
    hangar: InProcessDaemon, reporter: Path
) -> None:
    claude = await run_seen(hangar, await reporter_agent(hangar, reporter, "claude"))
    assert claude["ANTHROPIC_API_KEY"] == "stored-anthropic"
    # other providers' keys are not injected: only what the allowlist passes
    assert claude["OPENAI_API_KEY"] == "ambient-openai"
    assert claude["CODEX_API_KEY"] is None

    codex = await run_seen(hangar, await reporter_agent(hangar, reporter, "codex"))
    assert (codex["OPENAI_API_KEY"], codex["CODEX_API_KEY"]) == ("stored-openai", "stored-codex")
    assert codex["ANTHROPIC_API_KEY"] == "ambient-anthropic"

    gemini = await run_seen(hangar, await reporter_agent(hangar, reporter, "gemini"))
    assert gemini["GEMINI_API_KEY"] == "stored-gemini"

    command = await run_seen(hangar, await reporter_agent(hangar, reporter, "command"))
    assert command["ANTHROPIC_API_KEY"] == "ambient-anthropic"
    assert command["CODEX_API_KEY"] is None and command["MY_SETTING"] is None


async def test_the_daemon_logs_the_full_access_warning_once_per_provider(
    hangar: InProcessDaemon, reporter: Path, home: Path
) -> None:
    agent = await reporter_agent(hangar, reporter, "claude")
    await run_seen(hangar, agent)
    await run_seen(hangar, agent)
    await run_seen(hangar, await reporter_agent(hangar, reporter, "command"))
    logs = "".join(p.read_text() for p in (home / "logs").glob("*.jsonl"))
    warned = [
        json.loads(line)["provider"]
        for line in logs.splitlines()
        if "agents run with full access" in line
    ]
    assert sorted(warned) == ["claude", "command"]
    assert not [v for v in STORED.values() if v in logs]  # no secret ever reaches a log


async def test_env_allow_changes_apply_to_the_next_spawn(
    hangar: InProcessDaemon, reporter: Path, home: Path
) -> None:
    agent = await reporter_agent(hangar, reporter, "command")
    assert (await run_seen(hangar, agent))["MY_SETTING"] is None

    added = await hangar.call("hangar/env_allow_add", {"key": "MY_*"})
    assert added["allow"][-1] == "MY_*" and added["source"] == "file"
    assert "LD_*" in added["deny"]
    assert (await run_seen(hangar, agent))["MY_SETTING"] == "mine"
    text = (home / "env.allow.toml").read_text()
    assert '"MY_*"' in text and oct((home / "env.allow.toml").stat().st_mode & 0o777) == "0o600"

    again = await hangar.call("hangar/env_allow_add", {"key": "MY_*"})
    assert again["allow"].count("MY_*") == 1 and "already" in again["changed"]
    await hangar.call("hangar/env_allow_remove", {"key": "MY_*"})
    assert (await run_seen(hangar, agent))["MY_SETTING"] is None


@pytest.mark.parametrize(
    ("key", "needle"),
    [
        ("LD_PRELOAD", "dynamic loader"),
        ("LD_*", "dynamic loader"),
        ("PYTHONPATH", "Python start-up"),
        ("BASH_FUNC_x%%", "invalid allowlist entry"),
        ("A B", "invalid allowlist entry"),
    ],
)
async def test_deny_family_and_malformed_entries_are_refused(
    hangar: InProcessDaemon, home: Path, key: str, needle: str
) -> None:
    before = (home / "env.allow.toml").read_text()
    with pytest.raises(RpcError) as err:
        await hangar.call("hangar/env_allow_add", {"key": key})
    assert err.value.code == INVALID_PARAMS and needle in err.value.message
    assert (home / "env.allow.toml").read_text() == before  # nothing half-written
    assert (await hangar.call("hangar/env_allow_list"))["allow"][0] == "PATH"


async def test_removing_an_absent_entry_is_not_found(hangar: InProcessDaemon) -> None:
    with pytest.raises(RpcError) as err:
        await hangar.call("hangar/env_allow_remove", {"key": "NOPE"})
    assert err.value.code == NOT_FOUND


async def test_an_allow_file_edited_into_the_deny_family_fails_the_run_saying_why(
    hangar: InProcessDaemon, reporter: Path, home: Path
) -> None:
    agent = await reporter_agent(hangar, reporter, "command")
    (home / "env.allow.toml").write_text('[env]\nallow = ["PATH", "LD_PRELOAD"]\n')
    made = await hangar.call("hangar/issue_create", {"title": "t", "assign": agent})
    await hangar.dispatch()
    task = await task_row(hangar, made["task"]["id"])
    assert (task["status"], task["failure_reason"]) == ("failed", "spawn_error")
    assert "LD_PRELOAD" in task["result"]["error"] and "dynamic loader" in task["result"]["error"]


# -- secrets over RPC ------------------------------------------------------------------------


async def test_secrets_are_set_listed_by_name_and_deleted(hangar: InProcessDaemon) -> None:
    listed = await hangar.call("hangar/secrets_list")
    assert listed == {"backend": "memory (tests)", "names": sorted(STORED)}

    made = await hangar.call("hangar/secret_set", {"name": "GITHUB_TOKEN", "value": "ghp_x"})
    assert made == {
        "name": "GITHUB_TOKEN",
        "backend": "memory (tests)",
        "replaced": False,
        "providers": [],
    }
    again = await hangar.call("hangar/secret_set", {"name": "CODEX_API_KEY", "value": "new"})
    assert again["replaced"] and again["providers"] == ["codex"]
    assert "ghp_x" not in json.dumps(await hangar.call("hangar/secrets_list"))

    gone = await hangar.call("hangar/secret_delete", {"name": "GITHUB_TOKEN"})
    assert gone["name"] == "GITHUB_TOKEN"
    with pytest.raises(RpcError) as err:
        await hangar.call("hangar/secret_delete", {"name": "GITHUB_TOKEN"})
    assert err.value.code == NOT_FOUND


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"name": "1BAD", "value": "sk-test-value"}, "environment variable name"),
        ({"name": "MY-KEY", "value": "sk-test-value"}, "environment variable name"),
        ({"name": "LD_PRELOAD", "value": "sk-test-value"}, "deny family"),
        ({"name": "OK", "value": ""}, "value"),
        ({"name": "OK", "value": "sk-test\x00value"}, "NUL"),
        ({"name": "OK"}, "value"),
    ],
)
async def test_bad_secrets_are_refused_and_nothing_is_stored(
    hangar: InProcessDaemon, params: dict[str, str], needle: str
) -> None:
    with pytest.raises(RpcError) as err:
        await hangar.call("hangar/secret_set", params)
    assert err.value.code == INVALID_PARAMS and needle in err.value.message
    assert "sk-test" not in err.value.message
    assert (await hangar.call("hangar/secrets_list"))["names"] == sorted(STORED)


async def test_a_secrets_file_others_can_read_is_refused_at_spawn_and_over_rpc(
    home: Path, reporter: Path
) -> None:
    store = FileStore(home / "secrets.toml")
    store.set("ANTHROPIC_API_KEY", "sk-file")
    (home / "secrets.toml").chmod(0o644)
    async with daemon_in_process(home, secrets=store) as hangar:
        with pytest.raises(RpcError) as err:
            await hangar.call("hangar/secrets_list")
        assert err.value.code == SECRET_BACKEND_LOCKED and "chmod 600" in err.value.message

        claude = await reporter_agent(hangar, reporter, "claude")
        made = await hangar.call("hangar/issue_create", {"title": "t", "assign": claude})
        await hangar.dispatch()
        task = await task_row(hangar, made["task"]["id"])
        assert (task["status"], task["failure_reason"]) == ("failed", "spawn_error")
        assert "0644" in task["result"]["error"] and "sk-file" not in task["result"]["error"]
        # an agent given no key does not read the store, and runs
        assert (await run_seen(hangar, await reporter_agent(hangar, reporter, "command"))) != {}


# -- config ---------------------------------------------------------------------------------


async def test_config_show_says_each_settings_value_and_source(
    hangar: InProcessDaemon, home: Path, tmp_path: Path
) -> None:
    beads = tmp_path / "beads"
    beads.mkdir()
    await hangar.call("hangar/config_set", {"key": "beads.dir", "value": str(beads)})
    rows = {s["key"]: s for s in (await hangar.call("hangar/config_show"))["settings"]}

    assert (rows["slots"]["value"], rows["slots"]["source"]) == ("3", "environment")
    assert rows["slots"]["origin"] == "HANGAR_MAX_SLOTS"
    assert (rows["log.level"]["value"], rows["log.level"]["source"]) == ("info", "default")
    assert rows["timeouts.inactivity"]["value"] == "30m"
    assert (
        rows["env.allow"]["source"] == "file" and "ANTHROPIC_API_KEY" in rows["env.allow"]["value"]
    )
    assert (rows["beads.dir"]["value"], rows["beads.dir"]["source"]) == (str(beads), "file")
    assert rows["secrets.backend"]["value"] == "memory (tests)"
    assert rows["database.url"]["value"].startswith("sqlite+aiosqlite:///")
    assert {"home", "tmux.socket", "sessions.prefix", "timeouts.max_runtime"} <= set(rows)
    assert not [v for v in (*STORED.values(), *AMBIENT.values()) if v in json.dumps(rows)]


async def test_a_database_password_is_masked(home: Path) -> None:
    from hangar.daemon.settings import mask_url

    assert mask_url("postgresql+asyncpg://hangar:s3cr%40t@db:5432/h") == (
        "postgresql+asyncpg://hangar:***@db:5432/h"
    )
    assert mask_url("sqlite+aiosqlite:////x/hangar.db") == "sqlite+aiosqlite:////x/hangar.db"


async def test_config_set_refuses_unknown_keys_and_bad_values(
    hangar: InProcessDaemon, home: Path, tmp_path: Path
) -> None:
    for params, needle in (
        ({"key": "slots", "value": "3"}, "settable: beads.dir"),
        ({"key": "beads.dir", "value": "relative/dir"}, "not an absolute path"),
        ({"key": "beads.dir", "value": str(tmp_path / "absent")}, "not a directory"),
    ):
        with pytest.raises(RpcError) as err:
            await hangar.call("hangar/config_set", params)
        assert err.value.code == INVALID_PARAMS and needle in err.value.message
    assert not (home / "config.toml").exists()

    (home / "config.toml").write_text('# keys\n[keymap]\n"go.issues" = "i"\n')
    await hangar.call("hangar/config_set", {"key": "beads.dir", "value": str(tmp_path)})
    unset = await hangar.call("hangar/config_set", {"key": "beads.dir", "value": ""})
    assert (unset["value"], unset["source"]) == ("(off)", "default")
    assert (home / "config.toml").read_text().startswith('# keys\n[keymap]\n"go.issues" = "i"\n')
