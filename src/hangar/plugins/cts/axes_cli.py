"""Axis 14: ``plugin/cli_dispatch`` hands back stdout, stderr and the exit code as they were."""

from __future__ import annotations

from hangar.plugins.cts.harness import Harness, step
from hangar.plugins.cts.probe import CANARY_STDOUT, NAMESPACE
from hangar.plugins.cts.result import AxisFailure

__all__ = ["cli_capture"]


async def cli_capture(h: Harness) -> str:
    """The canonical canary, or ``--help`` for plugins without the ``cts`` namespace.

    Rule: with ``cts``, ``echo test`` must give stdout ``hello\\n``, empty stderr, exit 0,
    and an unknown probe exit 2 with only stderr (both streams and a non-zero code pass
    through). Without it, every namespace the plugin owns must answer ``--help`` with
    exit 0 and some stdout. No namespaces: nothing to dispatch (passes trivially).
    """
    namespaces = [
        ns for ns in h.manifest.provides.cli_namespaces if h.host.discovery.owners.get(ns) == h.id
    ]
    if not namespaces:
        return "no CLI namespaces: nothing to dispatch (passes trivially)"
    if NAMESPACE in namespaces:
        out = await step("cts echo test", h.host.cli_dispatch(NAMESPACE, ["echo", "test"]))
        if (out.stdout, out.stderr, out.exit_code) != (CANARY_STDOUT, b"", 0):
            raise AxisFailure(
                f"`cts echo test` gave stdout {out.stdout!r}, stderr {out.stderr!r},"
                f" exit {out.exit_code}; want stdout {CANARY_STDOUT!r}, no stderr, exit 0"
            )
        bad = await step("cts probe usage", h.host.cli_dispatch(NAMESPACE, ["cts-no-such-probe"]))
        if bad.exit_code != 2 or bad.stdout or not bad.stderr:
            raise AxisFailure(
                f"an unknown probe gave stdout {bad.stdout!r}, stderr {bad.stderr!r},"
                f" exit {bad.exit_code}; want exit 2 with only stderr"
            )
        return "`cts echo test` -> stdout 'hello\\n', no stderr, exit 0; a bad probe -> exit 2"
    for ns in namespaces:
        out = await step(f"{ns} --help", h.host.cli_dispatch(ns, ["--help"]))
        if out.exit_code != 0 or not out.stdout.strip():
            raise AxisFailure(
                f"`{ns} --help` gave exit {out.exit_code} with {len(out.stdout)} bytes of stdout"
                f" ({out.stderr[:80]!r} on stderr); want exit 0 and some help"
            )
    shown = ", ".join(f"`{ns} --help`" for ns in namespaces)
    return f"{shown} -> exit 0 with help on stdout"
