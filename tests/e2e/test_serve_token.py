"""``ainb serve --token``: the token is checked once at start, and every browser tab's app
process says hello with it (through its environment, never its argv). No browser: a
websocket opens the tab, as the page's script would."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import Hangar, wait_until
from tests.e2e.test_serve import _app_processes, _free_port


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """SQLite only: what is tested here is the hand-over of the token, not the backends."""
    return f"sqlite+aiosqlite:///{tmp_path / 'hangar.db'}"


def _serve(hangar: Hangar, *args: str, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", "from hangar.cli.main import ainb_main; ainb_main()", "serve",
         "--port", str(_free_port()), *args],
        env={**hangar.env, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        cwd=hangar.tmp,
    )  # fmt: skip


@pytest.fixture
def read_token(hangar: Hangar) -> str:
    plaintext = hangar.json("auth", "token", "create", "--name", "browser")["plaintext"]
    assert isinstance(plaintext, str)
    return plaintext


@pytest.fixture
def served(hangar: Hangar, read_token: str) -> Iterator[tuple[str, list[str]]]:
    proc = _serve(hangar, "--token", read_token)
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(3)]
        found = re.search(r"(http://127\.0\.0\.1:\d+/\?token=\S+)", lines[0])
        assert found, f"no login link in {lines!r}: {proc.stderr.read() if proc.stderr else ''}"
        yield found.group(1), lines
    finally:
        proc.terminate()
        proc.wait(15)


def test_serve_checks_the_token_and_every_tab_says_hello_with_it(
    hangar: Hangar, read_token: str, served: tuple[str, list[str]]
) -> None:
    login, lines = served
    assert lines[2].strip() == "every tab acts with this token's scope: read"

    async def open_tab() -> None:
        import aiohttp

        base = login.split("/?", 1)[0]
        # unsafe: the jar keeps cookies of a bare IP address (127.0.0.1) only when told to
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            async with http.get(login, allow_redirects=False) as resp:
                assert resp.status == 302  # the link traded for the session cookie
            async with http.ws_connect(f"{base}/ws"):
                # the tab's app process: its environment carries the token, its argv does not
                deadline = time.monotonic() + 30
                while not (pids := _app_processes(hangar.home)):
                    assert time.monotonic() < deadline, "no app process for the tab"
                    await asyncio.sleep(0.05)
                environ = Path(f"/proc/{pids[0]}/environ").read_bytes().split(b"\0")
                assert f"HANGAR_TOKEN={read_token}".encode() in environ
                assert read_token.encode() not in Path(f"/proc/{pids[0]}/cmdline").read_bytes()

    asyncio.run(open_tab())
    wait_until(lambda: not _app_processes(hangar.home), timeout=30)


def test_serve_refuses_a_token_the_daemon_refuses(hangar: Hangar) -> None:
    proc = _serve(hangar, "--token", "ainb_" + "A" * 52)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, out
    assert "refused the token given: unauthorized" in err
    assert "Hangar in the browser" not in out
    # the same from the environment, which is where a token should come from
    proc = _serve(hangar, HANGAR_TOKEN="ainb_" + "B" * 52)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, out
    assert "refused $HANGAR_TOKEN: unauthorized" in err
