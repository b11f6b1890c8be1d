"""The 14 axes (docs/plugins.md#conformance-suite), ``run_suite``: one fresh host each."""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Final

from hangar.plugins.cts.axes_bus import snapshot_get, subscribe_delivery
from hangar.plugins.cts.axes_calls import (
    action_timeout,
    capability_denied,
    fs_guard,
    log_filtering,
)
from hangar.plugins.cts.axes_cli import cli_capture
from hangar.plugins.cts.axes_lifecycle import (
    SHUTDOWN_GRACE,
    crash_recovery,
    graceful_shutdown,
    quarantine,
)
from hangar.plugins.cts.axes_render import (
    framing,
    manifest_roundtrip,
    method_dispatch,
    render_determinism,
)
from hangar.plugins.cts.harness import CTS_POLICY, Harness, describe, first_line
from hangar.plugins.cts.result import AxisFailure, AxisResult
from hangar.plugins.manifest import ManifestError
from hangar.plugins.runtime.supervisor import Policy

__all__ = ["AXES", "Axis", "run_axis", "run_suite", "run_suite_async"]

#: A hung axis fails instead of hanging the suite.
AXIS_LIMIT: Final = 30.0
#: Axes in flight at once.
AXES_AT_ONCE: Final = 4


@dataclass(frozen=True)
class Axis:
    number: int
    name: str
    run: Callable[[Harness], Awaitable[str]]
    """Returns the pass detail; raises ``AxisFailure`` with the failure detail."""
    policy: Policy = CTS_POLICY


AXES: Final = (
    Axis(1, "manifest round-trip", manifest_roundtrip),
    Axis(2, "framing", framing),
    Axis(3, "method dispatch", method_dispatch),
    Axis(4, "capability denied", capability_denied),
    Axis(5, "render determinism", render_determinism),
    Axis(6, "snapshot get after publish", snapshot_get),
    Axis(7, "subscribe and delivery", subscribe_delivery),
    Axis(8, "action invoke timeout", action_timeout),
    Axis(9, "log level filtering", log_filtering),
    Axis(10, "fs path guard", fs_guard),
    Axis(
        11,
        "graceful shutdown",
        graceful_shutdown,
        replace(CTS_POLICY, shutdown_grace=SHUTDOWN_GRACE),
    ),
    Axis(12, "crash recovery", crash_recovery),
    Axis(13, "quarantine", quarantine),
    Axis(14, "CLI dispatch capture", cli_capture),
)


async def run_axis(axis: Axis, plugin_dir: Path) -> AxisResult:
    """One axis in its own host; any failure becomes a one-line detail."""
    ok, detail = False, ""
    leaked: list[int] = []
    try:
        harness = Harness(plugin_dir, axis.policy)
        try:
            async with harness as h:
                detail = await asyncio.wait_for(axis.run(h), AXIS_LIMIT)
                ok = True
        finally:
            leaked = harness.leaked
    except AxisFailure as exc:
        detail = exc.detail
    except ManifestError as exc:
        detail = f"cannot load the plugin: {exc.message}"
    except TimeoutError:
        detail = f"no verdict within {AXIS_LIMIT:g} s"
    except Exception as exc:  # a suite or runtime bug: report it on the axis, keep going
        detail = f"suite error: {describe(exc)}"
    if leaked:
        ok = False
        detail = f"{detail}; left processes behind (groups {', '.join(map(str, leaked))})"
    return AxisResult(axis.number, axis.name, ok, first_line(detail))


async def run_suite_async(
    plugin_dir: Path | str, axes: Iterable[int] | None = None
) -> list[AxisResult]:
    """Every axis (or those numbered in ``axes``), in axis order. Axes share nothing (each
    has its own host, home and plugin process), so a few run at once: most of an axis is
    waiting on a subprocess, and the suite is meant to be run often."""
    wanted = None if axes is None else set(axes)
    chosen = [a for a in AXES if wanted is None or a.number in wanted]
    gate = asyncio.Semaphore(AXES_AT_ONCE)

    async def one(axis: Axis) -> AxisResult:
        async with gate:
            return await run_axis(axis, Path(plugin_dir))

    return list(await asyncio.gather(*(one(a) for a in chosen)))


def run_suite(plugin_dir: Path | str, axes: Iterable[int] | None = None) -> list[AxisResult]:
    """The synchronous entry point (``ainb plugins check``).

    Inside a running event loop it runs on a private loop in a worker thread; plugins are
    tied to the thread that spawned them, and every axis stops its plugins before it ends.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(run_suite_async(plugin_dir, axes))
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="cts") as pool:
        return pool.submit(asyncio.run, run_suite_async(plugin_dir, axes)).result()
