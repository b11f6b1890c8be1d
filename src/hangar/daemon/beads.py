"""Beads sync: Hangar's issues mirrored into a ``bd`` tracker, and bd's closures brought
back (docs/beads.md). Off unless configured (``daemon/config.py: load_beads``, read on each
use, so ``hangar config set beads.dir`` applies at once).

- **Outbound.** The lifecycle tells :meth:`BeadsSync.issue_written` about every issue write,
  after the store wrote it and the events went out. That only queues the id (a bounded
  queue, one entry per issue however often it moves); a background worker brings bd in
  line: ``bd create`` (label ``hangar-v1``, ``--external-ref hangar:<id>``) for an issue with
  no pair, the pair's row written only once bd answered; ``bd close -r`` when the issue is
  done or cancelled. A bd failure is a warning in the log: the lifecycle never waits for bd
  and never fails because of it.
- **Inbound.** :meth:`BeadsSync.poll_loop` lists the tagged issues (``--all``, so closures
  show) every ``poll`` seconds; a paired bd issue written since the pair's ``last_synced``
  moves its Hangar issue: bd closed → done, anything else → open. Errors back off from 5 s
  to 5 min.
- **Reconcile** (``hangar beads reconcile``): every pair judged by ``core.beads.decide``
  (last writer wins), tagged orphans adopted, pairs with both sides gone deleted; a dry run
  writes nothing.

Changes the sync makes to Hangar issues go through the lifecycle like any other, marked so
their own watcher call does not echo them back to bd. The outbound worker, the poll and a
reconcile take turns (one lock), and bd itself is called one command at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import unicodedata
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextvars import ContextVar
from typing import Any

import msgspec

from hangar.adapters.beads import Bd, BdError, BdIssue
from hangar.core import names
from hangar.core.beads import (
    BD_GONE,
    SYNC_LABEL,
    Verdict,
    bd_newer,
    decide,
    external_ref,
    format_synced,
    from_bd_priority,
    hangar_closed,
    hangar_id_of_ref,
    inbound_state,
    parse_time,
    to_bd_priority,
)
from hangar.core.clock import Clock
from hangar.daemon.config import BeadsConfig, BeadsNotConfigured
from hangar.daemon.lifecycle import Lifecycle
from hangar.proto import beads as wire
from hangar.proto.rows import IssueRow
from hangar.store import Store
from hangar.store.beads import BeadsMapping

__all__ = ["BACKOFF_MAX_S", "BACKOFF_MIN_S", "OFF_RECHECK_S", "QUEUE_SIZE", "BeadsSync"]

#: issues waiting to be mirrored; past it a change is logged and left to the next one
QUEUE_SIZE = 1024
#: the poll's wait after a failure: doubling from the first to the second
BACKOFF_MIN_S = 5.0
BACKOFF_MAX_S = 300.0
#: while off, how often the poll looks whether it has been configured
OFF_RECHECK_S = 30.0
#: an adopted issue's description is cut to the size an issue takes
_DESCRIPTION_MAX_BYTES = 100 * 1024
_NO_REOPEN = (
    "bd cannot reopen an issue: reopen it in bd by hand (bd update ID --status open), or "
    "close the Hangar issue"
)

#: set while the sync itself writes a Hangar issue: its watcher call is not mirrored back
_INBOUND: ContextVar[bool] = ContextVar("hangar_beads_inbound", default=False)

Sleep = Callable[[float], Awaitable[None]]


@contextlib.asynccontextmanager
async def _inbound() -> AsyncIterator[None]:
    token = _INBOUND.set(True)
    try:
        yield
    finally:
        _INBOUND.reset(token)


class BeadsSync:
    def __init__(
        self,
        *,
        store: Store,
        lifecycle: Lifecycle,
        settings: Callable[[], BeadsConfig],
        parent_env: Mapping[str, str],
        clock: Clock,
        log: Any,
        queue_size: int = QUEUE_SIZE,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        """``settings``: the beads settings as they are now (``BeadsNotConfigured`` when off)."""
        self.store = store
        self.lifecycle = lifecycle
        self.settings = settings
        self.parent_env = parent_env
        self.clock = clock
        self.log = log
        self._sleep = sleep
        self._queue: asyncio.Queue[str] = asyncio.Queue(maxsize=queue_size)
        self._queued: set[str] = set()
        self._worker: asyncio.Task[None] | None = None
        self._turn = asyncio.Lock()
        self._bd: tuple[tuple[str, str, float], Bd] | None = None
        self._closed = False

    # -- settings and the bd client --------------------------------------------------------

    def configured(self) -> BeadsConfig | None:
        try:
            return self.settings()
        except BeadsNotConfigured:
            return None

    def client(self, conf: BeadsConfig) -> Bd:
        """One client per (bd, database, timeout): its version is probed once."""
        key = (conf.bin, str(conf.dir), conf.timeout_s)
        if self._bd is None or self._bd[0] != key:
            bd = Bd(conf.bin, conf.dir, parent_env=self.parent_env, timeout=conf.timeout_s)
            self._bd = (key, bd)
        return self._bd[1]

    def _synced(self, item: BdIssue) -> str:
        """``last_synced`` for a pair whose bd side now reads ``item``: bd's own clock."""
        if item.updated_at:
            with contextlib.suppress(ValueError):
                return format_synced(parse_time(item.updated_at))
        return format_synced(dt.datetime.fromtimestamp(self.clock.now_ms() / 1000, dt.UTC))

    # -- outbound --------------------------------------------------------------------------

    def issue_written(self, issue: IssueRow) -> None:
        """The lifecycle's watcher: queue the issue to be mirrored. Never blocks, never raises."""
        if self._closed or _INBOUND.get() or issue.id in self._queued:
            return
        if self.configured() is None:
            return
        try:
            self._queue.put_nowait(issue.id)
        except asyncio.QueueFull:
            self.log.warning(
                "beads mirror queue full: issue left for the next change or a reconcile",
                issue_id=issue.id,
            )
            return
        self._queued.add(issue.id)
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._work(), name="beads-mirror")

    async def drain(self) -> None:
        """Until every queued issue has been handled (tests, and a clean stop)."""
        await self._queue.join()

    async def _work(self) -> None:
        while True:
            issue_id = await self._queue.get()
            self._queued.discard(issue_id)  # a change from now on queues it again
            try:
                async with self._turn:
                    await self._mirror(issue_id)
            except BdError as exc:
                self.log.warning(
                    "beads mirror failed", issue_id=issue_id, error=exc.message, code=exc.code
                )
            except Exception as exc:
                self.log.warning("beads mirror failed", issue_id=issue_id, error=repr(exc))
            finally:
                self._queue.task_done()

    async def _mirror(self, issue_id: str) -> None:
        conf = self.configured()
        if conf is None:
            return
        issue = await self.store.beads.issue(issue_id)
        if issue is None:
            return
        bd = self.client(conf)
        pair = await self.store.beads.get(issue_id)
        seen: BdIssue | None = None
        if pair is None:
            seen = await bd.create(
                issue.title,
                description=issue.description,
                labels=[SYNC_LABEL],
                external_ref=external_ref(issue.id),
                priority=to_bd_priority(issue.priority),
            )
            # bd answered: only now is the pair written, with bd's time
            pair = await self.store.beads.insert(issue.id, seen.id, self._synced(seen))
            self.log.info("issue mirrored to bd", issue_id=issue.id, bd_id=seen.id)
            issue = await self.store.beads.issue(issue_id) or issue  # it may have moved since
        elif pair.source != "hangar":
            return
        if not hangar_closed(issue.state):
            return  # open or in progress: bd's open says the same (and bd cannot reopen)
        if seen is None:
            seen = await bd.show(pair.bd_id)
        if seen.closed:
            return
        closed = await bd.close(pair.bd_id, f"{issue.state} in Hangar")
        await self.store.beads.touch(issue.id, self._synced(closed))
        self.log.info("bd issue closed", issue_id=issue.id, bd_id=pair.bd_id, state=issue.state)

    # -- inbound ---------------------------------------------------------------------------

    async def poll_once(self) -> int:
        """One round: paired bd issues written since their last sync move their Hangar
        issues. Returns how many moved. ``BdError`` when bd fails, ``BeadsNotConfigured``."""
        bd = self.client(self.settings())
        async with self._turn:
            listed = await bd.list_issues(labels=[SYNC_LABEL])
            pairs = {p.bd_id: p for p in await self.store.beads.list()}
            changed = [
                (pair, item)
                for item in listed
                if (pair := pairs.get(item.id)) is not None
                and bd_newer(item.updated_at, pair.last_synced)
            ]
            issues = await self.store.beads.issues([pair.hangar_id for pair, _ in changed])
            moved = 0
            for pair, item in changed:
                issue = issues.get(pair.hangar_id)
                if issue is None:
                    continue  # gone from Hangar: reconcile reports it
                if decide(issue.state, item.status, bd_is_newer=True) is Verdict.BD_WINS:
                    await self._follow(issue, item)
                    moved += 1
                await self.store.beads.touch(pair.hangar_id, self._synced(item))
            return moved

    async def poll_loop(self) -> None:
        """Poll while the daemon runs: every ``poll`` seconds when configured (the settings
        are looked at each round), backing off from 5 s to 5 min while bd fails."""
        backoff = BACKOFF_MIN_S
        was: BeadsConfig | None = None
        while True:
            conf = self.configured()
            if conf != was:  # said once per change of the settings
                if conf is None:
                    self.log.info("beads sync off")
                else:
                    self.log.info(
                        "beads sync on", dir=str(conf.dir), bd=conf.bin, poll_s=conf.poll_s
                    )
                was = conf
            if conf is None:
                await self._sleep(OFF_RECHECK_S)
                continue
            try:
                moved = await self.poll_once()
            except BeadsNotConfigured:
                wait = conf.poll_s
            except Exception as exc:
                error = exc.message if isinstance(exc, BdError) else repr(exc)
                self.log.warning("beads poll failed", error=error, retry_in_s=backoff)
                wait, backoff = backoff, min(backoff * 2, BACKOFF_MAX_S)
            else:
                if moved:
                    self.log.info("issues follow bd", moved=moved)
                wait, backoff = conf.poll_s, BACKOFF_MIN_S
            await self._sleep(wait)

    async def _follow(self, issue: IssueRow, item: BdIssue) -> IssueRow:
        """The Hangar issue takes bd's state (closed → done, else open)."""
        target = inbound_state(item.status)
        async with _inbound():
            edit = await self.lifecycle.edit_issue(issue.workspace_id, issue.id, state=target)
        self.log.info(
            "issue follows bd", issue_id=issue.id, bd_id=item.id, state=target, bd=item.status
        )
        return edit.issue

    # -- reconcile -------------------------------------------------------------------------

    async def reconcile(
        self, workspace_id: str, *, dry_run: bool = False, labels: Sequence[str] = ()
    ) -> wire.BeadsReconcileResult:
        """Bring every pair together, adopt tagged orphans into ``workspace_id``, forget
        pairs with both sides gone (docs/beads.md#reconcile). ``BeadsNotConfigured`` when
        off; ``BdError`` when bd cannot list. A dry run writes nothing, anywhere."""
        conf = self.settings()
        bd = self.client(conf)
        async with self._turn:
            version = await bd.probe()
            extra = [label for label in dict.fromkeys(labels) if label != SYNC_LABEL]
            listed = {item.id: item for item in await bd.list_issues(labels=[SYNC_LABEL, *extra])}
            pairs = await self.store.beads.list()
            issues = await self.store.beads.issues([p.hangar_id for p in pairs])
            run = _Run(dry_run=dry_run)
            for pair in pairs:
                item = listed.pop(pair.bd_id, None)
                if item is None and extra:
                    continue  # outside the labels asked for: not looked at
                await self._pair(run, bd, pair, issues.get(pair.hangar_id), item)
            for item in listed.values():  # tagged, and no pair of Hangar's
                if item.status in BD_GONE or await self.store.beads.by_bd(item.id) is not None:
                    continue  # a deleted issue, or another tool's pair
                await self._orphan(run, item, workspace_id)
        if not dry_run and (run.stats.updated or run.stats.adopted or run.stats.deleted):
            self.log.info("beads reconciled", **msgspec.structs.asdict(run.stats))
        return wire.BeadsReconcileResult(
            dry_run=dry_run,
            beads_dir=str(conf.dir),
            bd_version=version,
            stats=run.stats,
            conflicts=run.conflicts,
            adopted=run.adopted,
        )

    async def _pair(
        self,
        run: _Run,
        bd: Bd,
        pair: BeadsMapping,
        issue: IssueRow | None,
        listed: BdIssue | None,
    ) -> None:
        """One pair: ``listed`` is its bd issue as the tagged list had it (None: not there)."""
        stats = run.stats
        stats.scanned += 1
        item = listed
        note = run.note(pair, issue, item)
        try:
            if item is None:  # not in the tagged list: its label went, or the issue did
                item = await _show_or_gone(bd, pair.bd_id)
                note = run.note(pair, issue, item)
            if issue is None and item is None:
                if not run.dry_run:
                    await self.store.beads.delete(pair.hangar_id)
                stats.deleted += 1
                return
            if issue is None or item is None:
                side = "Hangar issue" if issue is None else "bd issue"
                stats.skipped += 1
                note(winner="none", action=f"skipped: the {side} is gone; the pair is kept")
                return
            newer = bd_newer(item.updated_at, pair.last_synced)
            verdict = decide(issue.state, item.status, bd_is_newer=newer)
            if verdict is Verdict.IN_SYNC:
                if newer and not run.dry_run:
                    await self.store.beads.touch(pair.hangar_id, self._synced(item))
                stats.in_sync += 1
            elif verdict is Verdict.BD_WINS:
                target = inbound_state(item.status)
                if not run.dry_run:
                    await self._follow(issue, item)
                    await self.store.beads.touch(pair.hangar_id, self._synced(item))
                stats.updated += 1
                note(winner="bd", action=f"Hangar issue set to {target}")
            elif verdict is Verdict.HANGAR_WINS:
                if not run.dry_run:
                    closed = await bd.close(pair.bd_id, f"{issue.state} in Hangar")
                    await self.store.beads.touch(pair.hangar_id, self._synced(closed))
                stats.updated += 1
                note(winner="hangar", action="bd issue closed")
            else:
                stats.errors += 1
                note(winner="hangar", action="none", error=_NO_REOPEN)
        except Exception as exc:
            stats.errors += 1
            note(winner="none", action="none", error=_describe(exc))

    async def _orphan(self, run: _Run, item: BdIssue, workspace_id: str) -> None:
        stats = run.stats
        stats.scanned += 1
        named = hangar_id_of_ref(item.external_ref)
        existing: IssueRow | None = None
        try:
            existing = await self.store.beads.issue(named) if named else None
            if existing is not None:
                paired = await self.store.beads.get(existing.id)
                if paired is not None:
                    stats.skipped += 1
                    run.conflicts.append(
                        wire.ReconcileConflict(
                            hangar_id=existing.id,
                            bd_id=item.id,
                            hangar_state=existing.state,
                            bd_status=item.status,
                            winner="none",
                            action=f"skipped: a duplicate of bd issue {paired.bd_id}, "
                            "the issue's pair",
                        )
                    )
                    return
                if not run.dry_run:  # the pair was lost (a crash between bd and the store)
                    await self.store.beads.insert(existing.id, item.id, self._synced(item))
                stats.adopted += 1
                run.adopted.append(
                    wire.AdoptedIssue(
                        bd_id=item.id, hangar_id=existing.id, title=existing.title, relinked=True
                    )
                )
                return
            title = _title(item)
            adopted: str | None = None
            if not run.dry_run:
                adopted = await self._adopt(item, title, workspace_id)
            stats.adopted += 1
            run.adopted.append(wire.AdoptedIssue(bd_id=item.id, hangar_id=adopted, title=title))
        except Exception as exc:
            stats.errors += 1
            run.conflicts.append(
                wire.ReconcileConflict(
                    hangar_id=existing.id if existing is not None else None,
                    bd_id=item.id,
                    bd_status=item.status,
                    winner="none",
                    action="not adopted",
                    error=_describe(exc),
                )
            )

    async def _adopt(self, item: BdIssue, title: str, workspace_id: str) -> str:
        """A new Hangar issue for a tagged bd issue (done when bd's is closed), then the pair."""
        owner = await self.store.workspace_owner_ref(workspace_id)
        async with _inbound():
            issue, _ = await self.lifecycle.create_issue(
                workspace_id,
                title=title,
                creator=owner,
                description=_description(item.description),
                priority=from_bd_priority(item.priority),
            )
            if item.closed:
                await self.lifecycle.edit_issue(workspace_id, issue.id, state="done")
        await self.store.beads.insert(issue.id, item.id, self._synced(item))
        self.log.info("bd issue adopted", issue_id=issue.id, bd_id=item.id)
        return issue.id

    # -- stop ------------------------------------------------------------------------------

    async def close(self) -> None:
        """Stop mirroring: the worker ends (a bd call in flight is killed)."""
        self._closed = True
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._worker


class _Run:
    """What one reconcile found and did."""

    def __init__(self, *, dry_run: bool) -> None:
        self.dry_run = dry_run
        self.stats = wire.ReconcileStats()
        self.conflicts: list[wire.ReconcileConflict] = []
        self.adopted: list[wire.AdoptedIssue] = []

    def note(
        self, pair: BeadsMapping, issue: IssueRow | None, item: BdIssue | None
    ) -> Callable[..., None]:
        def add(*, winner: wire.Winner, action: str, error: str | None = None) -> None:
            self.conflicts.append(
                wire.ReconcileConflict(
                    hangar_id=pair.hangar_id,
                    bd_id=pair.bd_id,
                    hangar_state=issue.state if issue is not None else None,
                    bd_status=item.status if item is not None else None,
                    winner=winner,
                    action=action,
                    error=error,
                )
            )

        return add


async def _show_or_gone(bd: Bd, bd_id: str) -> BdIssue | None:
    try:
        item = await bd.show(bd_id)
    except BdError as exc:
        if exc.not_found:
            return None
        raise
    return None if item.status in BD_GONE else item


def _describe(exc: Exception) -> str:
    return exc.message if isinstance(exc, BdError) else str(exc) or type(exc).__name__


def _title(item: BdIssue) -> str:
    """bd's title as a Hangar title: one line, no control characters, within the limit."""
    text = " ".join(item.title.split())
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cc")
    if len(text) > names.TITLE_MAX:
        text = text[: names.TITLE_MAX - 1] + "…"
    return names.validate_title(text or item.id)


def _description(text: str) -> str | None:
    text = text.replace("\x00", "")
    data = text.encode()
    if len(data) > _DESCRIPTION_MAX_BYTES:
        text = data[: _DESCRIPTION_MAX_BYTES - 3].decode(errors="ignore") + "…"
    return text or None
