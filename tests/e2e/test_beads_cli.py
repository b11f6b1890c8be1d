"""Beads sync as a user meets it: the real CLI, a real daemon over its socket, the fake bd
(tests/fixtures/fake_bd.py) first on the daemon's PATH.

Off, ``hangar beads reconcile`` says how to turn it on; after ``hangar config set beads.dir``
(no restart) a new issue appears in bd, one closed in bd comes back as done through
``beads reconcile --json``, a tagged orphan is adopted, and a dry run writes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.beadskit import FakeBeads, fake_beads, path_with
from tests.e2e.harness import Hangar, wait_until


@pytest.fixture
def fake(tmp_path: Path) -> FakeBeads:
    return fake_beads(tmp_path / "bd")


@pytest.fixture
def h(hangar: Hangar, fake: FakeBeads) -> Hangar:
    hangar.env["PATH"] = path_with(fake.bin.parent, hangar.env.get("PATH"))
    # the poll stays out of the way: what changes here, reconcile changes
    (hangar.home / "config.toml").write_text('[beads]\npoll = "1h"\n')
    return hangar


def test_reconcile_without_beads_says_how_to_set_it_up(h: Hangar) -> None:
    res = h.run("beads", "reconcile", "--json", ok=False)
    assert res.code == 1 and res.out == ""
    assert "hangar: error: beads sync is not configured" in res.err
    assert "`hangar config set beads.dir PATH`" in res.err
    bad = h.run("beads", "reconcile", "--label", "a,b", ok=False)
    assert bad.code == 2 and "--label 'a,b': a bd label is one word, without commas" in bad.err


def test_issues_are_mirrored_and_reconciled(h: Hangar, fake: FakeBeads, tmp_path: Path) -> None:
    h.run("config", "set", "beads.dir", str(fake.root))
    made = h.json("issue", "create", "--title", "mirror me", "--no-repo")["issue"]
    item = wait_until(lambda: fake.by_ref(made["id"]))
    assert item["labels"] == ["hangar-v1"] and item["status"] == "open"

    fake.bd("close", item["id"], "-r", "done upstream")  # a person closes it in bd
    fake.put("bd-70", title="filed in bd", labels=["hangar-v1"])
    state = fake.state()

    dry = h.run("beads", "reconcile", "--dry-run")
    assert "dry run: nothing was written" in dry.out
    assert "scanned 2  updated 1  adopted 1  deleted 0  in sync 0  skipped 0  errors 0" in dry.out
    assert fake.state() == state
    assert h.json("issue", "show", made["id"])["issue"]["state"] == "open"

    report = h.json("beads", "reconcile")
    assert report["stats"] == {
        "scanned": 2, "updated": 1, "adopted": 1, "deleted": 0, "in_sync": 0, "skipped": 0,
        "errors": 0,
    }  # fmt: skip
    assert report["beads_dir"] == str(fake.root) and report["bd_version"] == "0.49.0"
    [conflict] = report["conflicts"]
    assert (conflict["hangar_id"], conflict["winner"], conflict["bd_status"]) == (
        made["id"], "bd", "closed",
    )  # fmt: skip
    [adopted] = report["adopted"]
    assert adopted["bd_id"] == "bd-70" and adopted["title"] == "filed in bd"
    assert h.json("issue", "show", made["id"])["issue"]["state"] == "done"
    assert h.json("issue", "show", adopted["hangar_id"])["issue"]["title"] == "filed in bd"

    # reopened in Hangar: bd cannot follow, so reconcile reports it and exits 1
    h.run("issue", "update", made["id"], "--state", "open")
    stuck = h.run("beads", "reconcile", "--json", ok=False)
    assert stuck.code == 1
    body = json.loads(stuck.out)
    assert body["stats"]["errors"] == 1
    assert body["conflicts"][0]["error"].startswith("bd cannot reopen an issue")
    text = h.run("beads", "reconcile", ok=False).out
    assert "bd cannot reopen an issue" in text and "WINNER" in text
