"""Beads sync in the daemon, against the fake bd (tests/fixtures/fake_bd.py) on PATH.

Outbound: a new issue is created in bd with the label and its reference, a closed one is
closed there; bd failing or hanging leaves the issue as it was made, a warning in the log
and no pair. Inbound: an issue closed in bd becomes done, without an echo back to bd.
Reconcile: each rule of docs/beads.md#reconcile, and a dry run that writes nothing.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from hangar.core.clock import FixedClock
from hangar.daemon.beads import BeadsSync
from hangar.daemon.config import BeadsSettings
from hangar.proto import jsonrpc as rpc
from hangar.proto import methods
from hangar.proto.events import IssueUpdated
from hangar.testing import InProcessDaemon, daemon_in_process, wait_for
from tests.beadskit import FakeBeads, fake_beads, path_with
from tests.daemon.helpers import RecordingLog, seed_home

MIRRORED = "hangar-v1"


@pytest.fixture
def fake(tmp_path: Path) -> FakeBeads:
    return fake_beads(tmp_path / "bd")


@pytest.fixture
async def hangar(
    tmp_path: Path, migrated_db: Path, fake: FakeBeads
) -> AsyncIterator[InProcessDaemon]:
    """A daemon with beads sync on: ``HANGAR_BEADS_DIR`` and the fake first on its PATH."""
    home = seed_home(tmp_path / "h", migrated_db)
    env = {"HANGAR_BEADS_DIR": str(fake.root), "PATH": path_with(fake.bin.parent)}
    async with daemon_in_process(home, env=env, clock=FixedClock()) as daemon:
        daemon.daemon.beads.log = RecordingLog()
        yield daemon


def log_of(hangar: InProcessDaemon) -> RecordingLog:
    log = hangar.daemon.beads.log
    assert isinstance(log, RecordingLog)
    return log


async def create(hangar: InProcessDaemon, title: str = "t", **more: Any) -> dict[str, Any]:
    made = await hangar.call(methods.ISSUE_CREATE, {"title": title, **more})
    await hangar.daemon.beads.drain()
    issue: dict[str, Any] = made["issue"]
    return issue


async def set_state(hangar: InProcessDaemon, issue_id: str, state: str) -> dict[str, Any]:
    row: dict[str, Any] = await hangar.call(
        methods.ISSUE_UPDATE, {"issue_id": issue_id, "state": state}
    )
    await hangar.daemon.beads.drain()
    return row


async def state_of(hangar: InProcessDaemon, issue_id: str) -> str:
    detail = await hangar.call(methods.ISSUE_GET, {"issue_id": issue_id})
    return str(detail["issue"]["state"])


async def pair_of(hangar: InProcessDaemon, issue_id: str) -> str:
    pair = await hangar.store.beads.get(issue_id)
    assert pair is not None, issue_id
    return pair.bd_id


# -- outbound --------------------------------------------------------------------------------


async def test_a_new_issue_is_created_in_bd_with_the_label_and_its_reference(
    hangar: InProcessDaemon, fake: FakeBeads
) -> None:
    issue = await create(hangar, "Fix the flaky test", description="it flakes", priority=3)
    item = fake.by_ref(issue["id"])
    assert item is not None
    assert (item["title"], item["description"], item["status"]) == (
        "Fix the flaky test", "it flakes", "open",
    )  # fmt: skip
    assert item["labels"] == [MIRRORED] and item["priority"] == 0  # Hangar P0 is bd's 0
    pair = await hangar.store.beads.get(issue["id"])
    assert pair is not None and pair.bd_id == item["id"]
    # bd's time, in UTC to the second (the fake answers in UTC+1, half a second past)
    assert pair.last_synced == "2026-01-01T00:00:01Z"
    assert item["updated_at"] == "2026-01-01T01:00:01.500000000+01:00"
    assert fake.verbs() == ["version", "create"]
    assert log_of(hangar).fields("issue mirrored to bd")[0]["bd_id"] == item["id"]


@pytest.mark.parametrize("state", ["done", "cancelled"])
async def test_a_closed_issue_is_closed_in_bd(
    hangar: InProcessDaemon, fake: FakeBeads, state: str
) -> None:
    issue = await create(hangar)
    bd_id = await pair_of(hangar, issue["id"])
    await set_state(hangar, issue["id"], "in_progress")  # still open in bd: nothing to do
    assert fake.verbs() == ["version", "create"]

    await set_state(hangar, issue["id"], state)
    item = fake.issue(bd_id)
    assert (item["status"], item["close_reason"]) == ("closed", f"{state} in Hangar")
    assert fake.verbs() == ["version", "create", "show", "close"]
    pair = await hangar.store.beads.get(issue["id"])
    assert pair is not None and pair.last_synced == "2026-01-01T00:00:02Z"  # the close's time

    await set_state(hangar, issue["id"], "open")  # bd has no reopen: left alone
    assert fake.issue(bd_id)["status"] == "closed"
    assert fake.verbs() == ["version", "create", "show", "close"]


@pytest.mark.parametrize("kind", ["fail", "fail-json", "garbage"])
async def test_a_failing_bd_never_fails_the_issue_and_writes_no_pair(
    hangar: InProcessDaemon, fake: FakeBeads, kind: str
) -> None:
    fake.misbehave(kind, "create")
    issue = await create(hangar, "still filed")
    assert await state_of(hangar, issue["id"]) == "open"
    assert await hangar.store.beads.get(issue["id"]) is None
    assert fake.issues() == []
    [warned] = log_of(hangar).fields("beads mirror failed")
    assert warned["issue_id"] == issue["id"] and warned["error"].startswith("bd create")

    fake.misbehave(None)  # the next change of the issue mirrors it
    await set_state(hangar, issue["id"], "in_progress")
    assert fake.by_ref(issue["id"]) is not None
    assert await hangar.store.beads.get(issue["id"]) is not None


async def test_a_hanging_bd_never_holds_up_the_lifecycle(
    hangar: InProcessDaemon, fake: FakeBeads
) -> None:
    fake.misbehave("hang", "create")
    made = await hangar.call(methods.ISSUE_CREATE, {"title": "answered at once"})
    # the answer came while bd hangs: mirroring waits in the background
    pid_file = fake.root / "fake-bd.pid"
    await wait_for(pid_file.exists)
    pid = int(pid_file.read_text())
    os.kill(pid, 0)  # still hanging
    assert await state_of(hangar, made["issue"]["id"]) == "open"
    await hangar.daemon.beads.close()  # stopping kills it, and writes no pair
    await wait_for(lambda: not _alive(pid))
    assert await hangar.store.beads.get(made["issue"]["id"]) is None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (ProcessLookupError, OSError, IndexError):
        return False
    return state != "Z"


async def test_changes_of_one_issue_queue_once_and_the_queue_is_bounded(
    hangar: InProcessDaemon,
) -> None:
    d = hangar.daemon
    log = RecordingLog()
    sync = BeadsSync(
        store=d.store,
        lifecycle=d.lifecycle,
        settings=BeadsSettings(d.paths.config, d.parent_env),
        parent_env=d.parent_env,
        clock=d.clock,
        log=log,
        queue_size=1,
    )
    ws = (await d.store.workspace_default()).id
    a, _ = await d.store.issue_create(ws, title="a", creator="member:x")
    b, _ = await d.store.issue_create(ws, title="b", creator="member:x")
    sync.issue_written(a)
    sync.issue_written(a)  # already queued: once
    sync.issue_written(b)  # the queue is full: left for the next change, said in the log
    full = log.fields("beads mirror queue full: issue left for the next change or a reconcile")
    assert [f["issue_id"] for f in full] == [b.id]
    await sync.drain()
    await sync.close()
    assert await d.store.beads.get(a.id) is not None
    assert await d.store.beads.get(b.id) is None


async def test_nothing_reaches_bd_while_beads_is_off(
    tmp_path: Path, migrated_db: Path, fake: FakeBeads
) -> None:
    home = seed_home(tmp_path / "off", migrated_db)
    env = {"PATH": path_with(fake.bin.parent)}
    async with daemon_in_process(home, env=env) as d:
        assert d.daemon.beads.configured() is None
        issue = await create(d)
        await set_state(d, issue["id"], "done")
        # `config set beads.dir` turns it on at once, no restart
        await d.call("hangar/config_set", {"key": "beads.dir", "value": str(fake.root)})
        assert fake.calls() == []
        later = await create(d, "after config set")
        assert fake.by_ref(later["id"]) is not None
        assert fake.by_ref(issue["id"]) is None  # an earlier issue waits for its next change


# -- inbound ---------------------------------------------------------------------------------


async def test_an_issue_closed_in_bd_becomes_done_without_an_echo(
    hangar: InProcessDaemon, fake: FakeBeads
) -> None:
    issue = await create(hangar)
    bd_id = await pair_of(hangar, issue["id"])
    events = await hangar.subscribe()
    assert await hangar.daemon.beads.poll_once() == 0  # nothing new in bd

    fake.bd("close", bd_id, "-r", "fixed upstream")  # a person, in bd
    assert await hangar.daemon.beads.poll_once() == 1
    await hangar.daemon.beads.drain()
    assert await state_of(hangar, issue["id"]) == "done"
    assert [type(e) for e in events.drain()] == [IssueUpdated]
    assert fake.verbs().count("close") == 1  # the person's: no close sent back
    pair = await hangar.store.beads.get(issue["id"])
    assert pair is not None and pair.last_synced == "2026-01-01T00:00:02Z"
    assert await hangar.daemon.beads.poll_once() == 0  # seen: not again

    fake.bd("update", bd_id, "--status", "open")  # reopened in bd
    assert await hangar.daemon.beads.poll_once() == 1
    assert await state_of(hangar, issue["id"]) == "open"


async def test_a_reopen_in_hangar_is_not_undone_by_the_poll(
    hangar: InProcessDaemon, fake: FakeBeads
) -> None:
    issue = await create(hangar)
    await set_state(hangar, issue["id"], "done")  # bd closed too
    await set_state(hangar, issue["id"], "open")  # bd cannot follow
    assert await hangar.daemon.beads.poll_once() == 0
    assert await state_of(hangar, issue["id"]) == "open"


async def test_the_poll_backs_off_while_bd_fails_and_recovers(
    hangar: InProcessDaemon, fake: FakeBeads
) -> None:
    d = hangar.daemon
    fake.misbehave("fail", "list")
    sleeps: list[float] = []
    gate = asyncio.Event()

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) == 8:
            fake.misbehave(None)
        elif len(sleeps) == 9:
            fake.misbehave("fail", "list")
        elif len(sleeps) == 10:
            await gate.wait()  # parked: the test has seen enough
        await asyncio.sleep(0)

    log = RecordingLog()
    sync = BeadsSync(
        store=d.store,
        lifecycle=d.lifecycle,
        settings=BeadsSettings(d.paths.config, d.parent_env),
        parent_env=d.parent_env,
        clock=d.clock,
        log=log,
        sleep=sleep,
    )
    loop = asyncio.create_task(sync.poll_loop())
    try:
        await wait_for(lambda: len(sleeps) >= 10, timeout=60)
    finally:
        loop.cancel()
        await asyncio.gather(loop, return_exceptions=True)
    assert sleeps == [5, 10, 20, 40, 80, 160, 300, 300, 30, 5]
    failed = log.fields("beads poll failed")
    assert len(failed) == 9 and "database is locked" in failed[0]["error"]


# -- reconcile -------------------------------------------------------------------------------


async def reconcile(hangar: InProcessDaemon, **params: Any) -> dict[str, Any]:
    res: dict[str, Any] = await hangar.call(methods.BEADS_RECONCILE, params)
    stats = res["stats"]
    outcomes = ("updated", "adopted", "deleted", "in_sync", "skipped", "errors")
    assert stats["scanned"] == sum(stats[k] for k in outcomes), stats
    return res


async def snapshot(hangar: InProcessDaemon, fake: FakeBeads) -> tuple[Any, ...]:
    issues = await hangar.call(methods.ISSUES_LIST, {})
    pairs = await hangar.store.beads.list()
    return issues, pairs, fake.state()


async def test_reconcile_applies_each_rule_and_a_dry_run_writes_nothing(
    hangar: InProcessDaemon, fake: FakeBeads
) -> None:
    beads = hangar.daemon.beads
    in_sync = await create(hangar, "in sync")

    bd_won = await create(hangar, "closed in bd")
    fake.bd("close", await pair_of(hangar, bd_won["id"]))  # the poll has not run

    hangar_won = await create(hangar, "closed in Hangar, bd down")
    fake.misbehave("fail", "close")
    await set_state(hangar, hangar_won["id"], "done")
    fake.misbehave(None)

    stuck = await create(hangar, "reopened in Hangar")
    await set_state(hangar, stuck["id"], "done")
    await set_state(hangar, stuck["id"], "open")

    lost = await create(hangar, "pair lost")
    lost_bd = await pair_of(hangar, lost["id"])
    await hangar.store.beads.delete(lost["id"])  # a crash between bd's answer and the store

    bd_gone = await create(hangar, "deleted in bd")
    fake.forget(await pair_of(hangar, bd_gone["id"]))
    ghost = "01GONEGONEGONEGONEGONEGONE"  # both sides gone
    await hangar.store.beads.insert(ghost, "bd-ghost", "2026-01-01T00:00:00Z")

    fake.put("bd-90", title="filed in bd", labels=[MIRRORED], priority=0, description="d")
    fake.put("bd-91", title="done in bd", labels=[MIRRORED], status="closed")
    fake.put("bd-92", title="not ours", labels=["other"])

    before = await snapshot(hangar, fake)
    calls = len(fake.calls())
    dry = await reconcile(hangar, dry_run=True)
    assert await snapshot(hangar, fake) == before  # neither Hangar nor bd was written
    assert {c["argv"][0] for c in fake.calls()[calls:]} <= {"version", "list", "show"}

    expected = {
        "scanned": 9, "updated": 2, "adopted": 3, "deleted": 1, "in_sync": 1,
        "skipped": 1, "errors": 1,
    }  # fmt: skip
    assert dry["dry_run"] and dry["stats"] == expected
    assert dry["beads_dir"] == str(fake.root) and dry["bd_version"] == "0.49.0"
    by_issue = {c["hangar_id"]: c for c in dry["conflicts"]}
    assert (by_issue[bd_won["id"]]["winner"], by_issue[bd_won["id"]]["action"]) == (
        "bd", "Hangar issue set to done",
    )  # fmt: skip
    assert (by_issue[hangar_won["id"]]["winner"], by_issue[hangar_won["id"]]["action"]) == (
        "hangar", "bd issue closed",
    )  # fmt: skip
    assert by_issue[stuck["id"]]["winner"] == "hangar"
    assert by_issue[stuck["id"]]["error"].startswith("bd cannot reopen an issue")
    assert by_issue[bd_gone["id"]]["action"] == "skipped: the bd issue is gone; the pair is kept"
    assert in_sync["id"] not in by_issue
    adopted = {a["bd_id"]: a for a in dry["adopted"]}
    assert set(adopted) == {"bd-90", "bd-91", lost_bd}
    assert adopted["bd-90"]["hangar_id"] is None  # a dry run makes no issue
    assert adopted[lost_bd] == {
        "bd_id": lost_bd, "hangar_id": lost["id"], "title": "pair lost", "relinked": True,
    }  # fmt: skip

    done = await reconcile(hangar)
    assert not done["dry_run"] and done["stats"] == expected
    await beads.drain()
    assert await state_of(hangar, bd_won["id"]) == "done"
    assert fake.issue(await pair_of(hangar, hangar_won["id"]))["status"] == "closed"
    assert await state_of(hangar, stuck["id"]) == "open"  # left for a person
    assert await pair_of(hangar, lost["id"]) == lost_bd
    assert await hangar.store.beads.get(ghost) is None
    made = {a["bd_id"]: a["hangar_id"] for a in done["adopted"]}
    filed = (await hangar.call(methods.ISSUE_GET, {"issue_id": made["bd-90"]}))["issue"]
    assert (filed["title"], filed["description"], filed["priority"], filed["state"]) == (
        "filed in bd", "d", 3, "open",
    )  # fmt: skip
    assert await state_of(hangar, made["bd-91"]) == "done"
    assert await pair_of(hangar, made["bd-90"]) == "bd-90"
    assert fake.by_ref(made["bd-90"]) is None  # adopted issues are not mirrored back
    assert len(fake.issues()) == 8  # nothing was created in bd

    again = await reconcile(hangar)
    assert again["stats"] == {
        "scanned": 8, "updated": 0, "adopted": 0, "deleted": 0, "in_sync": 6,
        "skipped": 1, "errors": 1,
    }  # fmt: skip


async def test_reconcile_can_be_limited_to_labels(hangar: InProcessDaemon, fake: FakeBeads) -> None:
    await create(hangar, "mirrored, untouched")
    fake.put("bd-50", title="team a", labels=[MIRRORED, "team-a"])
    fake.put("bd-51", title="team b", labels=[MIRRORED, "team-b"])
    res = await reconcile(hangar, labels=["team-a"], dry_run=True)
    assert res["stats"]["scanned"] == 1 and [a["bd_id"] for a in res["adopted"]] == ["bd-50"]
    list_call = [c["argv"] for c in fake.calls() if c["argv"][0] == "list"][-1]
    assert list_call[-4:] == ["--label", MIRRORED, "--label", "team-a"]


async def test_reconcile_says_so_when_bd_cannot_list(
    hangar: InProcessDaemon, fake: FakeBeads
) -> None:
    fake.misbehave("fail-json", "list")
    with pytest.raises(rpc.RpcError) as caught:
        await hangar.call(methods.BEADS_RECONCILE, {})
    err = caught.value
    assert err.code == rpc.CONFLICT
    assert err.message == "bd list failed: storage is read-only (internal)"
    assert err.data == {"kind": "bd_failed", "code": "internal"}


async def test_reconcile_without_beads_says_how_to_set_it_up(
    tmp_path: Path, migrated_db: Path
) -> None:
    home = seed_home(tmp_path / "off", migrated_db)
    async with daemon_in_process(home) as d:
        with pytest.raises(rpc.RpcError) as caught:
            await d.call(methods.BEADS_RECONCILE, {"dry_run": True})
    err = caught.value
    assert err.code == rpc.CONFLICT and err.data == {"kind": "beads_not_configured"}
    assert "hangar config set beads.dir PATH" in err.message
    assert "HANGAR_BEADS_DIR" in err.message


async def test_beads_set_up_so_it_cannot_work_says_why(tmp_path: Path, migrated_db: Path) -> None:
    home = seed_home(tmp_path / "nobd", migrated_db)
    beads_dir = tmp_path / "beads"
    beads_dir.mkdir()
    env = {"HANGAR_BEADS_DIR": str(beads_dir), "PATH": str(tmp_path / "empty")}
    async with daemon_in_process(home, env=env) as d:
        with pytest.raises(rpc.RpcError) as caught:
            await d.call(methods.BEADS_RECONCILE, {})
        assert "no `bd` is on the daemon's PATH" in caught.value.message
        (home / "config.toml").write_text('[beads]\nbin = "/nowhere/bd"\n')
        with pytest.raises(rpc.RpcError) as caught:
            await d.call(methods.BEADS_RECONCILE, {})
        assert "/nowhere/bd, which is not an executable file" in caught.value.message
