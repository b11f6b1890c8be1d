"""Axes 4, 8, 9 and 10: what the host answers the plugin's calls (gate, actions, log, fs).

Each goes through ``Driver``: by probe when the plugin declares ``cts``, else by proxy. The
host's answer is always checked in the ``CtsHost`` tap, not only in the plugin's report.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import time
from typing import Any, Final

from hangar.plugins import protocol as p
from hangar.plugins.cts.drive import Driver
from hangar.plugins.cts.harness import Harness
from hangar.plugins.cts.result import AxisFailure
from hangar.plugins.manifest import Manifest
from hangar.plugins.runtime.gate import fs_roots

__all__ = ["action_timeout", "capability_denied", "fs_guard", "log_filtering"]

SLOW_ACTION: Final = "cts.slow"
FAST_ACTION: Final = "cts.fast"
SLOW_SECONDS: Final = 8.0
CALLER_TIMEOUT_MS: Final = 200
#: How long the suite waits for the -32002: the caller's timeout plus generous slack, and
#: well under SLOW_SECONDS, so a plugin that drops the timeout cannot pass by waiting.
INVOKE_WAIT: Final = 5.0
LOG_WAIT: Final = 6.0


async def capability_denied(h: Harness) -> str:
    """A host call the manifest does not grant comes back -32001 ``capability denied: <cap>``."""
    d = Driver(h)
    method, params, cap = ungranted_call(h.manifest)
    pid = await h.start()
    outcome = await d.call(method, params)
    if outcome.code != p.CAPABILITY_DENIED:
        raise AxisFailure(f"{method} without {cap} came back {outcome.describe()}, not -32001")
    _host_answered(h, method, p.CAPABILITY_DENIED)
    if not outcome.message.startswith("capability denied"):
        raise AxisFailure(f"-32001 with message {outcome.message!r}, not 'capability denied: …'")
    await h.still_works(pid, "after the denial")
    return f"{d.mode}: {method} without {cap} -> -32001 ({outcome.message}); still renders"


def ungranted_call(manifest: Manifest) -> tuple[str, Any, str]:
    """A host call this manifest cannot grant: (method, params, capability).

    ``secrets:read`` is the last resort because it always has one: only listed keys are
    granted, and a fresh random key is never listed.
    """
    if not manifest.granted("network"):
        return p.NETWORK_FETCH, p.NetworkFetchParams("http://cts.invalid/"), "network"
    if not manifest.granted("event_bus"):
        return p.SNAPSHOT_GET, p.SnapshotGetParams("cts.denied"), "event_bus"
    key = f"cts-never-granted-{secrets.token_hex(4)}"
    return p.SECRET_STORE_GET, p.SecretGetParams("cts", key), "secrets:read"


async def action_timeout(h: Harness) -> str:
    """A host action slower than the caller's ``timeout_ms`` answers -32002 in time."""

    async def slow(payload: bytes) -> bytes:
        await asyncio.sleep(SLOW_SECONDS)
        return b"too late"

    async def fast(payload: bytes) -> bytes:
        return b"cts-fast"

    h.host.register_action(SLOW_ACTION, slow)
    h.host.register_action(FAST_ACTION, fast)
    d = Driver(h)
    pid = await h.start()
    control = await d.invoke(FAST_ACTION, CALLER_TIMEOUT_MS, INVOKE_WAIT)
    if control.bytes_field("payload") != b"cts-fast":
        raise AxisFailure(f"a fast action came back {control.describe()}, not its payload")
    outcome = await d.invoke(SLOW_ACTION, CALLER_TIMEOUT_MS, INVOKE_WAIT)
    if outcome.code != p.ACTION_TIMEOUT:
        raise AxisFailure(
            f"an {SLOW_SECONDS:g} s action with timeout_ms={CALLER_TIMEOUT_MS} came back"
            f" {outcome.describe()} after {outcome.seconds:.1f} s, not -32002"
        )
    _host_answered(h, p.ACTION_INVOKE, p.ACTION_TIMEOUT)
    await h.still_works(pid, "after the timeout")
    return (
        f"{d.mode}: an {SLOW_SECONDS:g} s action with timeout_ms={CALLER_TIMEOUT_MS} -> -32002"
        f" after {outcome.seconds * 1000:.0f} ms (a fast one answers); still renders"
    )


async def log_filtering(h: Harness) -> str:
    """The plugin logs once at every level; a host at ``info`` keeps info, warn and error."""
    d = Driver(h)
    pid = await h.start()
    nonce = f"cts-log-{secrets.token_hex(4)}"
    await d.log(nonce)
    want = ["info", "warn", "error"]
    deadline = time.monotonic() + LOG_WAIT
    while True:  # host/log is a notification: the host writes it a moment later
        mine = [e for e in h.log_entries() if e.get("event") == "plugin.log"]
        levels = sorted(str(e.get("level")) for e in mine if e.get("msg") == nonce)
        if levels == sorted(want) or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.05)
    if levels != sorted(want):
        rejected = [
            str(e.get("msg"))
            for e in h.log_entries()
            if e.get("event") == "plugin.bad_notification" and p.LOG in str(e.get("msg"))
        ]
        why = f"; the host rejected {len(rejected)}: {rejected[0]}" if rejected else ""
        raise AxisFailure(
            f"host at level info wrote {', '.join(levels) or 'nothing'};"
            f" want {', '.join(want)} (trace and debug filtered){why}"
        )
    await h.still_works(pid, "after logging")
    return f"{d.mode}: 5 levels at host level info -> info, warn, error kept; still renders"


async def fs_guard(h: Harness) -> str:
    """Reads outside the granted roots fail, however the path gets there; granted ones work."""
    d = Driver(h)
    pid = await h.start()
    secret = h.tmp / "outside" / "secret.txt"
    secret.parent.mkdir()
    secret.write_bytes(b"cts-secret")
    roots = fs_roots(h.home, h.data_dir)
    open_roots = {r for cap, rs in roots.items() if h.manifest.granted(cap) for r in rs}
    denied: list[tuple[str, str]] = [("outside every root", str(secret))]
    closed = [(cap, r) for cap, rs in roots.items() for r in rs if r not in open_roots]
    if closed:
        cap, root = closed[0]
        root.mkdir(parents=True, exist_ok=True)
        (root / "cts-probe.txt").write_bytes(b"cts-closed")
        denied.append((f"under {root.name}/ without {cap}", str(root / "cts-probe.txt")))
    granted: str | None = None
    if open_roots:
        root = sorted(open_roots)[0]
        root.mkdir(parents=True, exist_ok=True)
        (root / "cts-ok.txt").write_bytes(b"cts-ok")
        granted = str(root / "cts-ok.txt")
        denied.append(("a .. escape", f"{root}/{os.path.relpath(secret, root)}"))
        (root / "cts-link").symlink_to(secret)
        denied.append(("a symlink escape", str(root / "cts-link")))
    for what, path in denied:
        seen = len(h.host.reverse)
        outcome = await d.read(path)
        asked = [r for r in h.host.reverse[seen:] if r.method == p.FS_READ_FILE]
        if outcome.ok:
            how = "" if asked else " (the plugin read it itself; the host never saw the call)"
            raise AxisFailure(f"reading {what} ({path}) succeeded{how}")
        if not asked or asked[-1].code is None:
            raise AxisFailure(f"reading {what} failed, but the host never refused it ({path})")
    if granted is not None:
        outcome = await d.read(granted)
        if outcome.bytes_field("bytes") != b"cts-ok":
            raise AxisFailure(f"a granted read ({granted}) came back {outcome.describe()}")
    await h.still_works(pid, "after the reads")
    control = "; a granted read works" if granted else ""
    return f"{d.mode}: {len(denied)} reads refused ({', '.join(w for w, _ in denied)}){control}"


def _host_answered(h: Harness, method: str, code: int) -> None:
    """The tap saw the host answer ``method`` with ``code`` (not just the plugin saying so)."""
    answers = [r.code for r in h.host.reverse if r.method == method]
    if not answers:
        raise AxisFailure(f"the plugin reported an answer, but never called {method}")
    if answers[-1] != code:
        raise AxisFailure(f"the host answered {method} with {answers[-1]}, not {code}")
