"""Axes 1, 2, 3 and 5: the manifest, the render frame, dispatch, determinism."""

from __future__ import annotations

from typing import Any, Final

import msgspec

from hangar.plugins import protocol as p
from hangar.plugins.cts.frames import buffer_problems, decode_buffer
from hangar.plugins.cts.harness import FULL, LARGE, SMALL, Harness, describe
from hangar.plugins.cts.result import AxisFailure
from hangar.plugins.manifest import ManifestError, dump_manifest, load_manifest, parse_manifest
from hangar.plugins.runtime.errors import PluginError
from hangar.proto.jsonrpc import RpcError

__all__ = ["framing", "manifest_roundtrip", "method_dispatch", "render_determinism"]

UNKNOWN_METHOD: Final = "plugin/cts.no_such_method"
UNKNOWN_NOTIFICATION: Final = "plugin/cts.no_such_notification"
RENDERS: Final = 10


async def manifest_roundtrip(h: Harness) -> str:
    """Parse → re-encode → parse is equal; init answers the manifest's name; it renders."""
    try:
        first = load_manifest(h.spec.manifest_path)
        text = dump_manifest(first)
        again = parse_manifest(text, source="the re-encoded manifest")
    except ManifestError as exc:
        raise AxisFailure(exc.message) from None
    except (TypeError, ValueError) as exc:  # tomli_w refusing a value
        raise AxisFailure(f"cannot re-encode the manifest: {exc}") from None
    if again != first:
        where = _first_difference(msgspec.to_builtins(first), msgspec.to_builtins(again))
        raise AxisFailure(f"the re-encoded manifest parses to a different value at {where}")
    await h.render(SMALL)
    # the supervisor logs (only) a name mismatch in init's answer: a manifest for another binary
    for entry in h.log_entries():
        if entry.get("event") == "plugin.init":
            raise AxisFailure(f"{entry.get('msg')}, but the manifest says {h.id!r}")
    return (
        f"parse -> re-encode -> parse equal ({len(text)} bytes of TOML); init name matches; renders"
    )


async def framing(h: Harness) -> str:
    """An 80x24 render arrives as an intact 80x24 grid.

    Rule: the raw answer (before the host clips it) is a ``WireBuffer`` declared 80x24 whose
    cells are all inside, each painted at most once and well-formed, so all 1920 positions
    are accounted for. A plugin that declares a screen must paint something; one without
    screens passes with any well-formed buffer of the viewport size (typically empty).
    """
    raw = await h.render_raw(FULL)
    try:
        buf = decode_buffer(raw)
    except ValueError as exc:
        raise AxisFailure(f"the 80x24 answer is not a WireBuffer: {exc}") from None
    problems = buffer_problems(buf, FULL)
    if problems:
        raise AxisFailure("80x24: " + "; ".join(problems))
    total = FULL.width * FULL.height
    painted = len(buf.cells)
    screens = h.manifest.provides.screens
    if screens and not painted:
        raise AxisFailure(f"declares screen(s) {', '.join(screens)} but paints nothing at 80x24")
    kind = "screen" if screens else "no screen"
    return (
        f"80x24 intact: all {total} cells accounted for ({painted} painted,"
        f" {total - painted} default; {kind})"
    )


async def method_dispatch(h: Harness) -> str:
    """An unknown request gets -32601; an unknown notification is ignored; it keeps working."""
    pid = await h.start()
    try:
        await h.host.request(h.id, UNKNOWN_METHOD, {"cts": True})
    except RpcError as exc:
        if exc.code != p.METHOD_NOT_FOUND:
            raise AxisFailure(f"{UNKNOWN_METHOD} answered {describe(exc)}, not -32601") from None
    except PluginError as exc:
        raise AxisFailure(f"{UNKNOWN_METHOD}: {describe(exc)}") from None
    else:
        raise AxisFailure(f"{UNKNOWN_METHOD} answered a result, not -32601")
    await h.host.notify(h.id, UNKNOWN_NOTIFICATION, {"cts": True})
    await h.still_works(pid, "after the unknown method")
    return f"{UNKNOWN_METHOD} -> -32601; an unknown notification is ignored; same pid renders"


async def render_determinism(h: Harness) -> str:
    """10 renders of one viewport (same generation) give identical JSON.

    The host decodes each answer; re-encoding the decoded value keeps the plugin's key
    order, so equal encodings mean byte-identical bodies up to JSON whitespace.
    """
    bodies: list[bytes] = []
    for _ in range(RENDERS):
        bodies.append(msgspec.json.encode(await h.render_raw(LARGE)))
    for i, body in enumerate(bodies[1:], start=2):
        if body != bodies[0]:
            at = next(
                (k for k, (a, b) in enumerate(zip(body, bodies[0], strict=False)) if a != b),
                min(len(body), len(bodies[0])),
            )
            distinct = len(set(bodies))
            raise AxisFailure(
                f"{RENDERS} renders of 100x30 gave {distinct} different answers"
                f" (render {i} differs from render 1 at byte {at})"
            )
    return f"{RENDERS} renders of 100x30: identical JSON ({len(bodies[0])} bytes each)"


def _first_difference(a: Any, b: Any, path: str = "") -> str:
    """Where two decoded manifests first differ, e.g. ``lifecycle.idle_reap_secs (nan != nan)``."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in [*a, *(k for k in b if k not in a)]:
            if key not in a or key not in b or a[key] != b[key]:
                return _first_difference(a.get(key), b.get(key), f"{path}.{key}" if path else key)
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            if x != y:
                return _first_difference(x, y, f"{path}[{i}]")
    return f"{path or 'the top'} ({a!r} != {b!r})"
