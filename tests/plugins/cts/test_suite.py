"""The conformance suite against the reference plugins and the canaries (real processes)."""

from __future__ import annotations

import dataclasses

import pytest

from hangar.plugins.cts import AXES, AxisResult, run_suite

from .expect import BROKEN, CANARIES, REFERENCE, assert_failing, table


def test_result_shape_matches_the_cli() -> None:
    # `ainb plugins check` reads exactly these four fields
    assert [f.name for f in dataclasses.fields(AxisResult)] == ["axis", "name", "ok", "detail"]
    assert [a.number for a in AXES] == list(range(1, 15))


def test_every_axis_has_its_broken_canary() -> None:
    assert sorted(BROKEN.values()) == list(range(1, 15))
    on_disk = {d.name for d in CANARIES.iterdir() if (d / "manifest.toml").is_file()}
    assert on_disk == {*BROKEN, "canary-ok"}


@pytest.mark.parametrize("plugin", ["session-reader", "burndown", "witr"])
def test_reference_plugin_passes_every_axis(plugin: str) -> None:
    assert_failing(run_suite(REFERENCE / plugin), set())


def test_canary_ok_passes_every_axis() -> None:
    results = run_suite(CANARIES / "canary-ok")
    assert all("probe" in r.detail for r in results if r.axis in (4, 6, 7, 8, 9, 10)), table(
        results
    )
    assert_failing(results, set())


@pytest.mark.parametrize(("canary", "axis"), list(BROKEN.items()))
def test_broken_canary_fails_exactly_its_axis(canary: str, axis: int) -> None:
    assert_failing(run_suite(CANARIES / canary), {axis})


async def test_run_suite_works_inside_an_event_loop() -> None:
    # the sync entry point moves to a worker thread when a loop is already running
    [result] = run_suite(CANARIES / "canary-ok", axes=[1])
    assert (result.axis, result.ok) == (1, True), result.detail
