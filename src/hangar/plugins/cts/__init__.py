"""The ABI 2 conformance suite (docs/plugins.md#conformance-suite): 14 axes, real runtime.

``run_suite(plugin_dir)`` runs every axis against one plugin directory and returns one
``AxisResult(axis, name, ok, detail)`` per axis; ``ainb plugins check PATH`` prints them.
Each axis gets a fresh ``PluginHost`` over a private data home and HOME (``harness``), with
fast tunables (50 ms backoff, 1.5 s shutdown grace; the production 60 s crash window and
3-crash limit), and tears it down, checking that no process of the plugin's group is left.

A plugin may opt in to end-to-end probing by declaring the ``cts`` CLI namespace (see
``hangar.plugins.cts.probe``, which a Python plugin can subclass). Without it, the axes that
need the plugin to call the host (4, 6, 8, 9, 10) issue those calls on its behalf through
the runtime's plugin-request path, its capability gate included (``drive``), and check that
the plugin keeps working; axis 7 then checks routing and survival instead of receipt.

The rules, briefly (each axis's docstring has the details):

1. the manifest parses, re-encodes and re-parses equal; init names it; it renders;
2. the raw 80x24 answer is an intact 80x24 ``WireBuffer`` (a screen must paint something);
3. an unknown request gets -32601, the same process keeps rendering;
4. a call the manifest does not grant gets -32001 ``capability denied: <cap>``;
5. 10 renders of 100x30 are identical JSON;
6. get after publish returns the payload, and a newer one after a republish;
7. a publish on each ``[subscribes]`` topic reaches ``handle_event`` (none: trivial pass);
8. an 8 s host action invoked with ``timeout_ms=200`` answers -32002 in time;
9. one log per level at host level info: info, warn and error written, trace and debug not;
10. reads outside the granted roots fail (outside, ungranted root, ``..``, symlink);
11. shutdown is acked and the process exits 0 within a 4 s grace;
12. one SIGKILL: back on the first respawn (one crash booked), renders;
13. kills until quarantined at 3 crashes; refused while quarantined; reload → idle → runs;
14. ``cts echo test`` → ``hello\n`` exit 0, or ``<ns> --help`` → exit 0 (no CLI: trivial).

Names load on first use: a plugin importing ``hangar.plugins.cts.probe`` must not pay for
asyncio and the runtime.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hangar.core.lazy import lazy_getattr

if TYPE_CHECKING:
    from hangar.plugins.cts.result import AxisResult
    from hangar.plugins.cts.suite import AXES, run_suite, run_suite_async

_WHERE = {
    "AXES": "hangar.plugins.cts.suite",
    "AxisResult": "hangar.plugins.cts.result",
    "run_suite": "hangar.plugins.cts.suite",
    "run_suite_async": "hangar.plugins.cts.suite",
}


__getattr__ = lazy_getattr(__name__, _WHERE)


__all__ = ["AXES", "AxisResult", "run_suite", "run_suite_async"]
