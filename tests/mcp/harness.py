"""Drive a real ``hangar mcp`` process through the SDK's own stdio client, from plain sync tests.

The client lives on a private event loop in a thread (anyio task groups must be entered and
left in one task, which module-scoped async fixtures don't promise); tests call through it.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mcp.client.stdio import stdio_client

from mcp import ClientSession, StdioServerParameters
from tests.e2e.harness import make_repo

HANGAR = str(Path(sys.executable).parent / "hangar")


@dataclass
class Reply:
    is_error: bool
    text: str
    elapsed: float

    @property
    def value(self) -> Any:
        assert not self.is_error, self.text
        return json.loads(self.text)


class McpProcess:
    def __init__(self, env: dict[str, str], args: list[str], cwd: Path) -> None:
        self.params = StdioServerParameters(command=HANGAR, args=["mcp", *args], env=env, cwd=cwd)
        self.stderr = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 (closed in close())
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self.session: ClientSession | None = None
        self._thread = threading.Thread(target=self._main, name="mcp-client", daemon=True)
        self._thread.start()
        if not self._ready.wait(30):
            raise AssertionError(f"hangar mcp did not initialize: {self.stderr_text()}")
        if self._failure is not None:
            raise AssertionError(f"hangar mcp failed: {self._failure!r}: {self.stderr_text()}")

    def _main(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:
            self._failure = exc
        finally:
            self._ready.set()

    async def _serve(self) -> None:
        async with (
            stdio_client(self.params, errlog=self.stderr) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            self.session = session
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            self._ready.set()
            await self._stop.wait()

    def _run(self, coro: Any, timeout: float) -> Any:
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def call(self, tool: str, args: dict[str, Any] | None = None, timeout: float = 60) -> Reply:
        assert self.session is not None
        start = time.monotonic()
        res = self._run(self.session.call_tool(tool, args or {}), timeout)
        elapsed = time.monotonic() - start
        assert len(res.content) == 1, res.content
        return Reply(bool(res.is_error), res.content[0].text, elapsed)

    def ok(self, tool: str, args: dict[str, Any] | None = None, timeout: float = 60) -> Any:
        return self.call(tool, args, timeout).value

    def error(self, tool: str, args: dict[str, Any] | None = None) -> str:
        reply = self.call(tool, args)
        assert reply.is_error, f"{tool} succeeded: {reply.text}"
        assert "\n" not in reply.text
        return reply.text

    def tool_names(self) -> list[str]:
        assert self.session is not None
        return [t.name for t in self._run(self.session.list_tools(), 30).tools]

    def stderr_text(self) -> str:
        self.stderr.seek(0)
        return self.stderr.read()

    def close(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(15)
        self.stderr.close()


@dataclass
class Sandbox:
    """A private Hangar home, HOME, tmux server and git repo under one short /tmp directory."""

    root: Path

    @property
    def home(self) -> Path:
        return self.root / "h"

    @property
    def repo(self) -> Path:
        return self.root / "repo"

    def env(self, **extra: str) -> dict[str, str]:
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.root),
            "AINB_HANGAR_HOME": str(self.home),
            "TMUX_TMPDIR": str(self.root),
            "HANGAR_KILL_GRACE": "1s",
            **extra,
        }

    def config(self, name: str, **values: Any) -> Path:
        path = self.root / f"{name}.json"
        path.write_text(json.dumps({"repoPath": str(self.repo), **values}))
        return path

    def server(self, config: Path | None = None, **env: str) -> McpProcess:
        args = ["--config", str(config)] if config is not None else []
        return McpProcess(self.env(**env), args, cwd=self.root)

    def git(self, cwd: Path | str, *args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(cwd), "-c", "user.name=t", "-c", "user.email=t@t", *args],
            check=True,
            capture_output=True,
            text=True,
        ).stdout

    def make_repo(self) -> None:
        make_repo(self.repo)

    def hangar(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [HANGAR, *args], env=self.env(), capture_output=True, text=True, timeout=60
        )

    def teardown(self) -> None:
        self.hangar("daemon", "stop")
        # only the private tmux server: TMUX_TMPDIR points at our root, $TMUX is not set
        subprocess.run(
            ["tmux", "kill-server"], env=self.env(), capture_output=True, timeout=10, check=False
        )
