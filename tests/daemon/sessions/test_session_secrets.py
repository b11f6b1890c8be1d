"""A session's agent gets its provider's stored API key, over an ambient one, from the same
store and the same builder as a task's agent (docs/agents.md#secrets)."""

from __future__ import annotations

import os
from pathlib import Path

from hangar.adapters.secrets import MemoryStore
from hangar.core.env_policy import EnvPolicy
from hangar.daemon.environment import AgentEnvironment
from tests.sessions.helpers import read_dump, write_dumper

from .conftest import Harness


def _environment(tmp_path: Path) -> AgentEnvironment:
    parent = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path / "home"),
        "ANTHROPIC_API_KEY": "ambient-anthropic",
        "OPENAI_API_KEY": "ambient-openai",
    }
    stored = {"ANTHROPIC_API_KEY": "stored-anthropic", "OPENAI_API_KEY": "stored-openai"}
    return AgentEnvironment(
        parent_env=parent,
        policy=EnvPolicy.from_keys(["PATH", "HOME", "ANTHROPIC_API_KEY", "OPENAI_API_KEY"]),
        secrets=MemoryStore({("hangar", k): v for k, v in stored.items()}),
    )


async def test_a_sessions_agent_gets_its_providers_stored_key(
    harness: Harness, tmp_path: Path
) -> None:
    harness.with_service(
        parent_env={"PATH": os.environ["PATH"]}, environment=_environment(tmp_path)
    )

    claude = write_dumper(tmp_path / "bin" / "claude-like")
    await harness.create("with-claude", command=[str(claude)], agent="claude")
    env = (await read_dump(claude))["env"]
    assert env["ANTHROPIC_API_KEY"] == "stored-anthropic"
    assert env["OPENAI_API_KEY"] == "ambient-openai"  # not claude's: only the allowlist's

    unknown = write_dumper(tmp_path / "bin" / "mystery")
    await harness.create("with-mystery", command=[str(unknown)])
    env = (await read_dump(unknown))["env"]
    # an agent the session cannot name gets no stored key at all
    assert env["ANTHROPIC_API_KEY"] == "ambient-anthropic"
    assert env["OPENAI_API_KEY"] == "ambient-openai"
