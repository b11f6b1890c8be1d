"""Axes 11, 12 and 13: shutdown, crash recovery and quarantine (docs/plugins.md#lifecycle)."""

from __future__ import annotations

import asyncio
import signal
import time
from typing import Any, Final

from hangar.plugins import protocol as p
from hangar.plugins.cts.harness import SMALL, Harness, describe, step
from hangar.plugins.cts.result import AxisFailure
from hangar.plugins.runtime import process
from hangar.plugins.runtime.errors import PluginError, PluginQuarantined
from hangar.plugins.runtime.supervisor import PluginState

__all__ = ["SHUTDOWN_GRACE", "crash_recovery", "graceful_shutdown", "quarantine"]

#: Axis 11's grace (the production one is 5 s): a clean exit takes milliseconds.
SHUTDOWN_GRACE: Final = 4.0
SETTLE: Final = 2.0


async def graceful_shutdown(h: Harness) -> str:
    """``plugin/shutdown`` is acked, the process exits 0, inside the grace."""
    pid = await h.start()
    conn = h.supervisor.conn
    if conn is None:
        raise AxisFailure("running, but no connection")
    acks: list[str] = []
    request = conn.request

    # Supervisor.stop() swallows the shutdown answer; tap this connection to see it
    async def tapped(method: str, params: Any = None, timeout: float | None = None) -> Any:
        if method != p.SHUTDOWN:
            return await request(method, params, timeout)
        try:
            result = await request(method, params, timeout)
        except BaseException as exc:
            acks.append(describe(exc))
            raise
        acks.append("ok")
        return result

    conn.request = tapped  # type: ignore[method-assign]
    started = time.monotonic()
    await step("stop", asyncio.wait_for(h.host.stop(h.id), SHUTDOWN_GRACE + 5))
    took = time.monotonic() - started
    status = h.host.status(h.id)
    problems = []
    if acks != ["ok"]:
        problems.append(f"shutdown not acked ({acks[0] if acks else 'never sent'})")
    if status.last_exit != 0:
        problems.append(f"exit {_exit_text(status.last_exit)}, not 0")
    if took > SHUTDOWN_GRACE:
        problems.append(f"took {took:.1f} s (grace {SHUTDOWN_GRACE:g} s)")
    if process.pid_alive(pid):
        problems.append(f"pid {pid} still running")
    if problems:
        raise AxisFailure("; ".join(problems))
    return f"shutdown acked, exit 0 after {took * 1000:.0f} ms (grace {SHUTDOWN_GRACE:g} s)"


async def crash_recovery(h: Harness) -> str:
    """After one SIGKILL, the plugin is back on the first respawn and renders.

    "First respawn" matters: each failed start is another crash in the window, so a plugin
    that needs two starts to recover from one kill is two kills away from quarantine.
    """
    pid = await h.start()
    await h.render(SMALL, "before the kill: render")
    await step("kill", h.host.kill(h.id))
    await h.render(SMALL, "after the kill: render")
    status = h.host.status(h.id)
    if status.pid == pid:
        raise AxisFailure(f"still pid {pid} after SIGKILL")
    if status.crashes != 1:
        raise AxisFailure(
            f"back only after {status.crashes} crashes: the first respawn failed"
            f" ({status.last_error})"
        )
    return f"SIGKILL pid {pid} -> respawned as pid {status.pid} after 1 crash; renders"


async def quarantine(h: Harness) -> str:
    """Kills inside the window quarantine it at the limit; Reload → Idle, and it runs again.

    Kills are injected while it runs, up to the limit; crashes of its own in between count
    too (quarantine is the runtime's bookkeeping of every crash, injected or not).
    """
    limit = h.host.policy.max_crashes
    kills = 0
    for _ in range(limit):
        try:
            await h.host.ensure_running(h.id)
        except PluginQuarantined:
            break
        except PluginError as exc:
            raise AxisFailure(f"before kill {kills + 1}: {describe(exc)}") from None
        await step(f"kill {kills + 1}", h.host.kill(h.id, signal.SIGKILL))
        kills += 1
    await _settle(h, PluginState.QUARANTINED)
    status = h.host.status(h.id)
    if status.state is not PluginState.QUARANTINED:
        raise AxisFailure(
            f"after {kills} kills: {status.state} with {status.crashes} crashes, not quarantined"
        )
    if status.crashes != limit:
        raise AxisFailure(f"quarantined after {status.crashes} crashes, not {limit}")
    if h.host.store.get(h.id) is None:
        raise AxisFailure("quarantined, but not recorded in plugins/state.json")
    try:
        await h.host.render(h.id, SMALL)
    except PluginQuarantined:
        pass
    except PluginError as exc:
        raise AxisFailure(f"while quarantined, render failed oddly: {describe(exc)}") from None
    else:
        raise AxisFailure("a quarantined plugin still answered render")
    await step("reload", h.host.reload(h.id))
    state = h.host.state(h.id)
    if state is not PluginState.IDLE:
        raise AxisFailure(f"after reload: {state}, not idle")
    if h.host.store.get(h.id) is not None:
        raise AxisFailure("reload did not lift the recorded quarantine")
    await h.render(SMALL, "after reload: render")
    return (
        f"{kills} kills -> quarantined at {limit} crashes (requests refused, recorded);"
        " reload -> idle -> renders again"
    )


async def _settle(h: Harness, state: PluginState) -> None:
    """The last crash is booked asynchronously: give the lifecycle a moment to land."""
    deadline = time.monotonic() + SETTLE
    while h.host.state(h.id) is not state and time.monotonic() < deadline:
        await asyncio.sleep(0.02)


def _exit_text(code: int | None) -> str:
    if code is None:
        return "unknown"
    if code < 0:
        try:
            return signal.Signals(-code).name
        except ValueError:
            return f"signal {-code}"
    return str(code)
