"""Where the plugins under test live, and how a suite run is judged."""

from __future__ import annotations

from pathlib import Path
from typing import Final

from hangar.plugins.cts import AxisResult

REPO: Final = Path(__file__).resolve().parents[3]
REFERENCE: Final = REPO / "plugins"
CANARIES: Final = REPO / "tests" / "fixtures" / "plugins" / "canaries"

#: Each broken canary and the one axis it must fail, in axis order.
BROKEN: Final[dict[str, int]] = {
    "canary-manifest": 1,
    "canary-framing": 2,
    "canary-dispatch": 3,
    "canary-capability": 4,
    "canary-determinism": 5,
    "canary-snapshot": 6,
    "canary-subscribe": 7,
    "canary-action": 8,
    "canary-log": 9,
    "canary-fs": 10,
    "canary-shutdown": 11,
    "canary-crash": 12,
    "canary-quarantine": 13,
    "canary-cli": 14,
}


def table(results: list[AxisResult]) -> str:
    return "\n".join(
        f"{r.axis:>2} {'ok  ' if r.ok else 'FAIL'} {r.name}: {r.detail}" for r in results
    )


def assert_failing(results: list[AxisResult], expected: set[int]) -> None:
    """Exactly the ``expected`` axes fail (all 14 ran, in order)."""
    assert [r.axis for r in results] == list(range(1, 15)), table(results)
    assert {r.axis for r in results if not r.ok} == expected, table(results)
