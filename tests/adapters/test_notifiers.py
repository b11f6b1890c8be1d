"""The senders: the desktop tool's argv on each platform, a webhook's headers, a command's
stdin, exit status and timeout (docs/notifications.md#channels)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import httpx

from hangar.adapters.notifiers import DesktopNotifier, WebhookSender, command_env, run_command


def _which(found: dict[str, str]):  # type: ignore[no-untyped-def]
    def which(name: str, path: str | None = None) -> str | None:
        return found.get(name)

    return which


def test_linux_uses_notify_send_with_the_words_after_a_double_dash() -> None:
    d = DesktopNotifier({"PATH": "/x"}, platform="linux", which=_which({"notify-send": "/x/ns"}))
    assert d.unavailable() is None
    assert d.argv("-t evil", "text") == ["/x/ns", "--app-name=Hangar", "--", "-t evil", "text"]


def test_macos_passes_the_words_to_osascript_as_arguments_never_as_source() -> None:
    d = DesktopNotifier({}, platform="darwin", which=_which({"osascript": "/usr/bin/osascript"}))
    title = 'x" & (do shell script "touch /tmp/pwned") & "'
    argv = d.argv(title, "text")
    assert argv is not None
    assert argv[-2:] == [title, "text"]
    source = " ".join(argv[1:-2])
    assert "on run argv" in source and "item 1 of argv" in source
    assert title not in source


def test_without_a_tool_desktop_is_unavailable_and_says_why() -> None:
    d = DesktopNotifier({}, platform="linux", which=_which({}))
    assert d.argv("t", "x") is None
    assert d.unavailable() == "unavailable: notify-send (libnotify) is not on the daemon's PATH"
    mac = DesktopNotifier({}, platform="darwin", which=_which({}))
    assert (mac.unavailable() or "").startswith("unavailable: osascript")


async def test_a_webhook_post_carries_the_body_and_the_headers() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204 if len(seen) == 1 else 502)

    sender = WebhookSender(transport=httpx.MockTransport(answer))
    try:
        ok = await sender.post(
            "https://h.example/x",
            b'{"a":1}',
            delivery_id="D1",
            event="task.failed",
            signature="sha256=ab",
        )
        bad = await sender.post(
            "https://h.example/x", b"{}", delivery_id="D2", event="test", signature=None
        )
    finally:
        await sender.close()
    assert (ok.ok, ok.status) == (True, 204)
    assert (bad.ok, bad.status, bad.error) == (False, 502, "HTTP 502")
    first = seen[0]
    assert first.content == b'{"a":1}'
    assert first.headers["x-hangar-delivery"] == "D1"
    assert first.headers["x-hangar-event"] == "task.failed"
    assert first.headers["x-hangar-signature"] == "sha256=ab"
    assert "x-hangar-signature" not in seen[1].headers


async def test_a_webhook_without_an_answer_never_echoes_the_url() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("cannot reach https://u:secret@h.example", request=request)

    sender = WebhookSender(transport=httpx.MockTransport(refuse))
    try:
        out = await sender.post(
            "https://u:secret@h.example/", b"{}", delivery_id="D", event="test", signature=None
        )
    finally:
        await sender.close()
    assert (out.ok, out.status, out.error) == (False, None, "no answer: ConnectError")


async def test_a_command_reads_stdin_and_its_exit_status_decides(tmp_path: Path) -> None:
    out = tmp_path / "got"
    code = f"import sys; open({str(out)!r}, 'wb').write(sys.stdin.buffer.read())"
    ok = await run_command([sys.executable, "-c", code], stdin=b'{"x":1}', env=command_env({}, {}))
    assert ok.ok and json.loads(out.read_text()) == {"x": 1}
    failed = await run_command(
        [sys.executable, "-c", "import sys; sys.stderr.write('boom'); sys.exit(3)"],
        stdin=b"",
        env=command_env({}, {}),
    )
    assert not failed.ok and failed.error is not None
    assert failed.error.endswith("exited 3: boom")
    missing = await run_command([str(tmp_path / "nope")], stdin=b"", env=command_env({}, {}))
    assert not missing.ok and "cannot run" in (missing.error or "")


async def test_a_command_past_its_timeout_is_killed() -> None:
    out = await run_command(
        [sys.executable, "-c", "import time; time.sleep(60)"],
        stdin=b"",
        env=command_env({}, {}),
        timeout_s=0.5,
    )
    assert not out.ok and "ran past 0.5 s and was killed" in (out.error or "")


def test_a_command_sees_only_the_allowlisted_environment() -> None:
    env = command_env(
        {"PATH": "/bin", "HOME": "/h", "ANTHROPIC_API_KEY": "k", "HANGAR_TOKEN": "t"},
        {"HANGAR_NOTIFY_EVENT": "test"},
    )
    assert env == {"PATH": "/bin", "HOME": "/h", "HANGAR_NOTIFY_EVENT": "test"}
