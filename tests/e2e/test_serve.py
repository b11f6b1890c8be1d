"""``ainb serve``: the TUI in a real headless Chromium, behind the one-time token.

The terminal in the page is drawn on a canvas (xterm.js), so the test reads what the page
received over its websocket — the bytes xterm.js renders — through a hook installed before
the page's own scripts run, and keeps a screenshot for whoever debugs a failure.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import Hangar, wait_until

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"

# every websocket message the page receives, as text, in window.__received
_TEE = """
window.__received = [];
const Native = window.WebSocket;
function Teed(url, protocols) {
  const ws = protocols === undefined ? new Native(url) : new Native(url, protocols);
  ws.addEventListener('message', (ev) => {
    const d = ev.data;
    if (typeof d === 'string') window.__received.push(d);
    else if (d instanceof ArrayBuffer) window.__received.push(new TextDecoder().decode(d));
    else if (d instanceof Blob)
      d.arrayBuffer().then(b => window.__received.push(new TextDecoder().decode(b)));
  });
  return ws;
}
Teed.prototype = Native.prototype;
window.WebSocket = Teed;
"""
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """SQLite only: this tests the browser view, not the daemon's backends."""
    return f"sqlite+aiosqlite:///{tmp_path / 'hangar.db'}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _status(url: str, cookie: str | None = None) -> int:
    req = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(req, timeout=10) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return exc.code


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def _app_processes(home: Path) -> list[int]:
    """Pids of TUI app processes serving this home."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes()
            env = (entry / "environ").read_bytes()
        except OSError:
            continue
        if b"hangar.tui.run" in cmd and f"AINB_HANGAR_HOME={home}".encode() in env:
            found.append(int(entry.name))
    return found


@pytest.fixture
def served_ui(hangar: Hangar) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", "from hangar.cli.main import ainb_main; ainb_main()", "serve",
         "--port", str(port)],
        env=hangar.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        cwd=hangar.tmp,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        found = re.search(r"(http://127\.0\.0\.1:\d+/\?token=\S+)", line)
        assert found, f"no login link in {line!r}: {proc.stderr.read() if proc.stderr else ''}"
        yield found.group(1), proc
    finally:
        proc.terminate()
        proc.wait(15)


def test_the_browser_shows_the_issues_screen_behind_the_token(
    hangar: Hangar, served_ui: tuple[str, subprocess.Popen[str]]
) -> None:
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

    assert os.path.exists(CHROMIUM), "Chromium is missing: .ci/run installs chromium"
    hangar.run("issue", "create", "--title", "Visible in the browser", "--no-repo")
    login, _ = served_ui
    base = login.split("/?", 1)[0]

    # without the link's token nothing is served, not even the page's script
    assert _status(f"{base}/") == 403
    assert _status(f"{base}/static/js/textual.js") == 403
    assert _status(f"{base}/?token=wrong") == 403

    options = Options()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(arg)
    options.binary_location = CHROMIUM
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": _TEE})
        driver.get(login)
        assert "token=" not in driver.current_url  # traded for a cookie, gone from the bar

        def shown(needle: str) -> str:
            text = _ANSI.sub("", driver.execute_script("return window.__received.join('')"))
            return text if needle in text else ""

        try:
            wait_until(lambda: shown("Sessions"), timeout=30, interval=0.2)  # ainb's home
            # g opens Hangar's Issues: typed into the page's terminal as a user would
            driver.find_element(By.CSS_SELECTOR, ".xterm-helper-textarea").send_keys("g")
            wait_until(lambda: shown("Visible in the browser"), timeout=30, interval=0.2)
        finally:
            driver.save_screenshot(str(hangar.tmp / "serve.png"))
        assert "-first-byte" in driver.execute_script("return document.body.className")
        # everything the page loaded came from this server
        sources = driver.execute_script(
            "return performance.getEntriesByType('resource').map(e => e.name)"
        )
        assert sources and all(s.startswith(base) for s in sources), sources
        # the link worked once: a second use is refused
        assert _status(login) == 403
        assert _app_processes(hangar.home), "one app process runs for the open tab"
    finally:
        driver.quit()
    # the tab is gone: so is its app process
    wait_until(lambda: not _app_processes(hangar.home), timeout=30)


def test_serve_refuses_a_port_in_use(hangar: Hangar) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        started = time.monotonic()
        res = subprocess.run(
            [sys.executable, "-c", "from hangar.cli.main import ainb_main; ainb_main()",
             "serve", "--port", str(port)],
            env=hangar.env, capture_output=True, text=True, timeout=60, cwd=hangar.tmp,
        )  # fmt: skip
    assert res.returncode != 0, res.stdout
    assert f"127.0.0.1:{port}" in res.stderr, res.stderr
    assert time.monotonic() - started < 60
