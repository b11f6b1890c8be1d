"""The senders of notifications: the desktop, a webhook, a command (docs/notifications.md).

Each takes what to send and answers an :class:`Outcome`; none retries (the daemon's worker
does, by ``core.notify.RetryPolicy``) and none raises for a failed delivery.

- Desktop: ``notify-send`` on Linux, ``osascript`` on macOS, looked up on PATH. The title
  and text are argv items; osascript gets them through ``on run argv``, never spliced
  into the script's source.
- Webhook: a POST of the JSON body over ``httpx``, with the signature, delivery id and
  event headers.
- Command: the argv the user gave, no shell, in a process group of its own, the event's
  JSON on stdin, an allowlisted environment; the whole group is killed when it outlasts
  its timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import httpx

from hangar.core.notify import SIGNATURE_HEADER

__all__ = [
    "COMMAND_ENV",
    "DEFAULT_COMMAND_TIMEOUT_S",
    "DEFAULT_HTTP_TIMEOUT_S",
    "DesktopNotifier",
    "Outcome",
    "WebhookSender",
    "command_env",
    "run_command",
]

DEFAULT_COMMAND_TIMEOUT_S = 10.0
DEFAULT_HTTP_TIMEOUT_S = 10.0
#: the daemon's variables a command may see (its keys and tokens never)
COMMAND_ENV = (
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "SHELL",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TZ",
    "TMPDIR",
    "DISPLAY",
    "WAYLAND_DISPLAY",
    "DBUS_SESSION_BUS_ADDRESS",
    "XDG_RUNTIME_DIR",
)
#: how much of a failing command's stderr is kept in its delivery's error
_ERR_TAIL = 300


@dataclass(frozen=True)
class Outcome:
    """``ok``: delivered. ``status``: the HTTP answer, None when there was none (refused,
    timed out, a command). ``error``: why not, in words without secrets."""

    ok: bool
    status: int | None = None
    error: str | None = None


def _tail(data: bytes) -> str:
    text = data.decode(errors="replace").strip()
    return text[-_ERR_TAIL:]


async def run_command(
    argv: Sequence[str],
    *,
    stdin: bytes,
    env: Mapping[str, str],
    timeout_s: float = DEFAULT_COMMAND_TIMEOUT_S,
) -> Outcome:
    """Run ``argv`` with ``stdin`` until it exits or ``timeout_s`` passes; then its whole
    process group is killed. A zero exit is delivered."""
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            env=dict(env),
            start_new_session=True,
        )
    except OSError as exc:
        return Outcome(False, error=f"cannot run {argv[0]}: {exc.strerror or exc}")
    try:
        async with asyncio.timeout(timeout_s):  # not wait_for: it loses cancels on 3.11
            _, err = await proc.communicate(stdin)
    except TimeoutError:
        await _kill_group(proc)
        return Outcome(False, error=f"{argv[0]} ran past {timeout_s:g} s and was killed")
    except BaseException:  # cancelled (the daemon stops): take the group down too
        await _kill_group(proc)
        raise
    await _kill_group(proc, only_rest=True)  # what it left running in its group
    if proc.returncode == 0:
        return Outcome(True)
    said = _tail(err)
    return Outcome(
        False, error=f"{argv[0]} exited {proc.returncode}" + (f": {said}" if said else "")
    )


async def _kill_group(proc: asyncio.subprocess.Process, *, only_rest: bool = False) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    if only_rest:
        return
    with contextlib.suppress(asyncio.CancelledError, ProcessLookupError):
        await asyncio.shield(proc.wait())


def command_env(parent: Mapping[str, str], extra: Mapping[str, str]) -> dict[str, str]:
    """The allowlisted part of ``parent``, plus ``extra``."""
    env = {k: parent[k] for k in COMMAND_ENV if k in parent}
    env.setdefault("PATH", os.defpath)
    env.update(extra)
    return env


class DesktopNotifier:
    """A desktop notification through the platform's own tool."""

    def __init__(
        self,
        env: Mapping[str, str],
        *,
        platform: str = sys.platform,
        which: Callable[..., str | None] = shutil.which,
        timeout_s: float = DEFAULT_COMMAND_TIMEOUT_S,
    ) -> None:
        self.env = env
        self.platform = platform
        self.timeout_s = timeout_s
        self._which = which

    def _tool(self) -> tuple[str, str] | None:
        path = self.env.get("PATH", os.defpath)
        names = ("osascript", "notify-send") if self.platform == "darwin" else ("notify-send",)
        for name in names:
            found = self._which(name, path=path)
            if found:
                return name, found
        return None

    def unavailable(self) -> str | None:
        """None when a tool is there; else why desktop notifications cannot be shown."""
        if self._tool() is not None:
            return None
        want = "osascript" if self.platform == "darwin" else "notify-send (libnotify)"
        return f"unavailable: {want} is not on the daemon's PATH"

    def argv(self, title: str, text: str) -> list[str] | None:
        tool = self._tool()
        if tool is None:
            return None
        name, exe = tool
        if name == "osascript":
            return [
                exe,
                "-e",
                "on run argv",
                "-e",
                "display notification (item 2 of argv) with title (item 1 of argv)",
                "-e",
                "end run",
                title,
                text,
            ]
        return [exe, "--app-name=Hangar", "--", title, text]

    async def send(self, title: str, text: str) -> Outcome:
        argv = self.argv(title, text)
        if argv is None:
            return Outcome(False, error=self.unavailable())
        return await run_command(
            argv, stdin=b"", env=command_env(self.env, {}), timeout_s=self.timeout_s
        )


class WebhookSender:
    """POSTs bodies with one pooled ``httpx.AsyncClient`` (closed by :meth:`close`)."""

    def __init__(
        self,
        *,
        timeout_s: float = DEFAULT_HTTP_TIMEOUT_S,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        # httpx logs each request's full URL at INFO: a URL may hold credentials
        for name in ("httpx", "httpcore"):
            logging.getLogger(name).setLevel(logging.WARNING)
        self._client = httpx.AsyncClient(
            timeout=timeout_s,
            follow_redirects=False,
            transport=transport,
            headers={"User-Agent": "hangar-notify/1"},
        )

    async def post(
        self, url: str, body: bytes, *, delivery_id: str, event: str, signature: str | None
    ) -> Outcome:
        headers = {
            "Content-Type": "application/json",
            "X-Hangar-Delivery": delivery_id,
            "X-Hangar-Event": event,
        }
        if signature is not None:
            headers[SIGNATURE_HEADER] = signature
        try:
            res = await self._client.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            # the class says what went wrong; the message may carry the URL's credentials
            return Outcome(False, error=f"no answer: {type(exc).__name__}")
        if 200 <= res.status_code < 300:
            return Outcome(True, status=res.status_code)
        return Outcome(False, status=res.status_code, error=f"HTTP {res.status_code}")

    async def close(self) -> None:
        await self._client.aclose()
