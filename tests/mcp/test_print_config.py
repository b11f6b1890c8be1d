"""`hangar mcp --print-config`: a registration that works as pasted."""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
from pathlib import Path

from mcp.client.stdio import stdio_client

from hangar.mcp.tools import TOOL_NAMES
from mcp import ClientSession, StdioServerParameters
from tests.mcp.harness import Sandbox


def test_the_printed_entry_starts_a_working_server() -> None:
    box = Sandbox(Path(tempfile.mkdtemp(prefix="hg", dir="/tmp")))
    box.make_repo()
    (box.repo / "deep").mkdir()
    try:
        res = box.hangar("mcp", "--print-config", "--repo", str(box.repo / "deep"))
        assert res.returncode == 0, res.stderr
        entry = json.loads(res.stdout)["mcpServers"]["hangar"]
        assert Path(entry["command"]).is_absolute()
        assert entry["env"]["HANGAR_REPO_PATH"] == str(box.repo.resolve())
        assert entry["env"]["AINB_HANGAR_HOME"] == str(box.home)

        async def tools() -> list[str]:
            # what an orchestrator does with it: its own environment plus the entry's
            env = {**box.env(), **entry["env"]}
            params = StdioServerParameters(command=entry["command"], args=entry["args"], env=env)
            with tempfile.TemporaryFile(mode="w+") as errlog:
                async with (
                    stdio_client(params, errlog=errlog) as (read, write),
                    ClientSession(read, write) as session,
                ):
                    await session.initialize()
                    return [t.name for t in (await session.list_tools()).tools]

        assert sorted(asyncio.run(asyncio.wait_for(tools(), 60))) == sorted(TOOL_NAMES)
        outside = box.hangar("mcp", "--print-config", "--repo", str(box.root))
        assert outside.returncode != 0 and "--repo" in outside.stderr
    finally:
        box.teardown()
        shutil.rmtree(box.root, ignore_errors=True)
