"""Screen 2, Task detail: one task's header, its result, and its live transcript.

The task shown is ``app.current_task_id`` (set by Enter on an issue or a card); shown again
with another id, the screen switches to it. With no task open it lists the recent tasks,
newest first, and Enter opens one — so `2` is never a dead end.

The transcript is loaded from its end: the newest page first (the first paint is the part a
user wants), older pages when the user scrolls up to them, newer messages as ``task_message``
events arrive. Events carry ``seq``: one already held is skipped, one that leaves a gap makes
the screen fetch the missing range first. ``r`` retries, ``x`` cancels, ``o`` opens the PR;
whether the daemon allows it is the daemon's call, and a refusal is shown as it said it.
Under the result, the task's issue's thread (its last page; an agent's result is posted
there when its run is done); ``m`` adds a comment, and new ones arrive as events.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import ClassVar

import msgspec
from rich.text import Text
from textual import work
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widget import Widget
from textual.widgets import Static

from hangar.client.errors import RemoteError
from hangar.proto import api, calls, jsonrpc
from hangar.proto.events import (
    AnyEvent,
    CommentCreated,
    IssueUpdated,
    TaskFinished,
    TaskMessage,
    TaskProgress,
    TaskQueued,
    TaskStarted,
)
from hangar.proto.rows import TaskMessageRow, TaskRow, TaskUsageRow
from hangar.tui.link import LinkDown, describe_error
from hangar.tui.screens.base import HangarScreen
from hangar.tui.screens.thread import CommentForm, fetch_thread, post_comment
from hangar.tui.style import ago, short_id, state_text
from hangar.tui.widgets.comments import CommentThread
from hangar.tui.widgets.keyed_table import Cell, KeyedTable
from hangar.tui.widgets.transcript import TranscriptView

__all__ = ["TaskScreen"]

#: transcript messages per call (the daemon allows more; a page this size paints at once)
PAGE = 1000
#: the recent tasks listed when no task is open
RECENT = 200
#: issue titles fetched to name the recent tasks' issues
TITLES = 500
#: after an event, the snapshot that settles what events cannot say comes this much later
#: task_message events kept while a fetch is under way (older ones are fetched anyway)
PENDING_MAX = 5000
RECENT_COLUMNS = ("ID", "STATUS", "AGENT", "ISSUE", "ATTEMPT", "CREATED")
ACTIVE = ("queued", "dispatched", "running")


class TaskScreen(HangarScreen):
    BINDING_GROUP_TITLE = "Task"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "retry", "Retry", id="task.retry"),
        Binding("x", "cancel", "Cancel", id="task.cancel"),
        Binding("o", "open_pr", "Open PR", id="task.open_pr"),
        Binding("m", "comment", "Comment", id="task.comment"),
        Binding("f", "follow", "Follow", id="task.follow"),
        Binding("t", "recent", "Recent tasks", id="task.recent"),
        Binding("enter", "open", "Open task", id="task.open"),
    ]
    DEFAULT_CSS = """
    TaskScreen #task-head { height: auto; padding: 0 1; }
    TaskScreen #task-result {
        display: none;
        height: auto;
        max-height: 8;
        border: round $panel;
        border-title-color: $text-muted;
        padding: 0 1;
    }
    TaskScreen #task-result:focus { border: round $accent; }
    TaskScreen #task-result.-shown { display: block; }
    TaskScreen #task-thread { display: none; max-height: 8; }
    TaskScreen #task-thread.-shown { display: block; }
    TaskScreen #transcript { height: 1fr; }
    TaskScreen #recent-note { height: auto; padding: 0 1; color: $text-muted; }
    TaskScreen.-list #task-head { display: none; }
    TaskScreen.-list #task-result { display: none; }
    TaskScreen.-list #task-thread { display: none; }
    TaskScreen.-list #transcript { display: none; }
    TaskScreen.-detail #recent { display: none; }
    TaskScreen.-detail #recent-note { display: none; }
    TaskScreen.-missing #task-result { display: none; }
    TaskScreen.-missing #task-thread { display: none; }
    TaskScreen.-missing #transcript { display: none; }
    """

    def __init__(self) -> None:
        super().__init__()
        #: the task shown, or None for the recent list
        self.task_id: str | None = None
        self.row: TaskRow | None = None
        self.usage: list[TaskUsageRow] = []
        self.message_count = 0
        self.agent_names: dict[str, str] = {}
        self.issue_title: str | None = None
        self.tool_calls: int | None = None
        self.missing: str | None = None
        # the transcript: every message with lo < seq <= hi is held
        self._gen = 0
        self._started = False
        self._lo = 0
        self._hi = 0
        self._forward_busy = False
        self._older_busy = False
        self._pending: list[TaskMessage] = []

    def body(self) -> list[Widget]:
        result = VerticalScroll(Static("", id="result-text"), id="task-result")
        result.border_title = "result"
        transcript = TranscriptView(id="transcript")
        transcript.border_title = "transcript"
        return [
            Static("", id="task-head"),
            result,
            CommentThread(id="task-thread"),
            transcript,
            Static("", id="recent-note"),
            KeyedTable(RECENT_COLUMNS, id="recent"),
        ]

    @property
    def transcript(self) -> TranscriptView:
        return self.query_one("#transcript", TranscriptView)

    @property
    def table(self) -> KeyedTable:
        return self.query_one("#recent", KeyedTable)

    @property
    def thread(self) -> CommentThread:
        return self.query_one("#task-thread", CommentThread)

    # -- which task ---------------------------------------------------------------------------

    def on_mount(self) -> None:
        # runs before HangarScreen.on_mount, which pulls the first snapshot
        self._switch(self.hangar.current_task_id)
        self.set_interval(1.0, self._tick)

    def on_screen_resume(self) -> None:
        if self.hangar.current_task_id != self.task_id:
            self.show(self.hangar.current_task_id)

    def _tick(self) -> None:
        if self.row is not None and self.row.status in ACTIVE:
            self._render_head()  # the runtime grows

    def show(self, task_id: str | None) -> None:
        """Show this task (None: the recent list) and pull it from the daemon."""
        self.hangar.current_task_id = task_id
        self._switch(task_id)
        if self.hangar.link.up:
            self._snapshot()

    def _switch(self, task_id: str | None) -> None:
        self._gen += 1
        self.workers.cancel_group(self, "transcript")
        self.task_id = task_id
        self.row, self.usage, self.message_count = None, [], 0
        self.issue_title, self.tool_calls, self.missing = None, None, None
        self._started, self._lo, self._hi = False, 0, 0
        self._forward_busy = self._older_busy = False
        self._pending = []
        self.transcript.clear()
        self.transcript.border_title = "transcript"
        self.thread.clear()
        self.thread.set_class(False, "-shown")
        self.set_class(task_id is None, "-list")
        self.set_class(task_id is not None, "-detail")
        self.set_class(False, "-missing")
        self._render_head()
        self._render_result()
        if task_id is None:
            self.table.focus()
        else:
            self.transcript.focus()

    # -- snapshot -----------------------------------------------------------------------------

    @work(group="snapshot", exclusive=True)
    async def _snapshot(self) -> None:
        await self.pull_snapshot()

    async def refresh_snapshot(self) -> None:
        if self.task_id is None:
            await self._refresh_recent()
        else:
            await self._refresh_detail(self.task_id)

    async def _refresh_detail(self, task_id: str) -> None:
        gen = self._gen
        try:
            detail = await self.hangar.request(calls.TASK_GET, api.TaskIdParams(task_id=task_id))
        except RemoteError as exc:
            if gen == self._gen:
                self._show_missing(task_id, exc)
            return
        except LinkDown:
            return  # the banner says why; what is shown stays
        if gen != self._gen:
            return
        self.row, self.usage = detail.task, detail.usage
        self.message_count = max(self.message_count, detail.message_count)
        self.missing = None
        self.set_class(False, "-missing")
        await self._names(detail.task, gen)
        if gen != self._gen:
            return
        self._render_head()
        self._render_result()
        self.transcript.rearm_older()
        self._pull_forward()
        if detail.task.issue_id is not None:
            await self._refresh_thread(detail.task.issue_id, gen)

    async def _refresh_thread(self, issue_id: str, gen: int) -> None:
        """The issue's thread under the result: the conversation the run belongs to."""
        try:
            thread = await fetch_thread(self.hangar, issue_id)
        except (RemoteError, LinkDown):
            return  # what is shown stays; the next snapshot tries again
        if gen != self._gen:
            return
        self.thread.show(thread.comments, thread.names, older=thread.older_hint(issue_id))
        self.thread.set_class(True, "-shown")

    async def _names(self, task: TaskRow, gen: int) -> None:
        """The agent's name and the issue's title, for the header (best effort)."""
        if task.agent_id not in self.agent_names:
            try:
                agent = await self.hangar.request(
                    calls.AGENT_GET, api.AgentGetParams(agent=task.agent_id)
                )
                self.agent_names[task.agent_id] = agent.name
            except (RemoteError, LinkDown):
                pass
        if task.issue_id is not None:
            try:
                issue = await self.hangar.request(
                    calls.ISSUE_GET, api.IssueGetParams(issue_id=task.issue_id)
                )
            except (RemoteError, LinkDown):
                return
            if gen == self._gen:
                self.issue_title = issue.issue.title

    def _show_missing(self, task_id: str, exc: RemoteError) -> None:
        if exc.code == jsonrpc.NOT_FOUND:
            self.missing = f"Task {task_id} not found (the daemon says: {exc.message})"
        else:
            self.missing = f"Task {task_id}: {describe_error(exc)}"
        self.set_class(True, "-missing")
        self._render_head()

    async def _refresh_recent(self) -> None:
        gen = self._gen
        try:
            page = await self.hangar.request(calls.TASKS_LIST, api.TasksListParams(limit=RECENT))
            agents = await self.hangar.request(calls.AGENTS_LIST, api.WorkspaceScoped())
        except (LinkDown, RemoteError):
            return
        titles: dict[str, str] = {}
        try:  # names for the issue column; without them it shows ids
            issues = await self.hangar.request(
                calls.ISSUES_LIST, api.IssuesListParams(limit=TITLES)
            )
            titles = {i.id: i.title for i in issues.issues}
        except (LinkDown, RemoteError):
            pass
        if gen != self._gen:
            return
        self.agent_names.update({a.id: a.name for a in agents.agents})
        rows: list[tuple[str, tuple[Cell, ...]]] = [
            (t.id, self._recent_cells(t, titles)) for t in page.tasks
        ]
        self.table.sync(rows)
        note = self.query_one("#recent-note", Static)
        if not rows:
            note.update("No tasks yet: assign an issue to an agent (1, then a).")
        else:
            more = " (the newest shown)" if page.next_before else ""
            note.update(f"Recent tasks{more}: Enter opens one.")

    def _recent_cells(self, task: TaskRow, titles: dict[str, str]) -> tuple[Cell, ...]:
        issue = ""
        if task.issue_id is not None:
            issue = titles.get(task.issue_id, short_id(task.issue_id))
        return (
            short_id(task.id),
            state_text(task.status),
            self.agent_names.get(task.agent_id, short_id(task.agent_id)),
            issue,
            f"{task.attempt} of {task.max_attempts}",
            ago(task.created_at),
        )

    # -- events -------------------------------------------------------------------------------

    def daemon_event(self, event: AnyEvent) -> None:
        if self.task_id is None:
            if isinstance(event, TaskQueued | TaskStarted | TaskFinished):
                self.settle()
            return
        if isinstance(event, TaskMessage):
            self._fold_message(event)
            return
        task = self.row
        if isinstance(event, CommentCreated):
            if task is not None and event.comment.issue_id == task.issue_id:
                if event.comment.author in self.thread.names:
                    self.thread.add(event.comment)
                else:  # a new author: the snapshot brings the name with it
                    self.settle()
            return
        if task is None or getattr(event, "task_id", None) != self.task_id:
            if isinstance(event, IssueUpdated) and task and event.issue.id == task.issue_id:
                self.issue_title = event.issue.title
                self._render_head()
            return
        if isinstance(event, TaskStarted):
            self.row = msgspec.structs.replace(task, status="running", started_at=event.started_at)
        elif isinstance(event, TaskProgress):
            self.tool_calls = event.tool_calls
        elif isinstance(event, TaskFinished):
            self.row = msgspec.structs.replace(
                task,
                status=event.status,
                failure_reason=event.failure_reason,
                finished_at=event.ended_at,
            )
            self.settle()  # the result, usage and PR come with the snapshot
        self._render_head()

    def settled(self) -> None:
        self._snapshot()  # the task's own snapshot: its header, not a list

    # -- the transcript -----------------------------------------------------------------------

    def _fold_message(self, event: TaskMessage) -> None:
        if event.task_id != self.task_id:
            return
        if not self._started or self._forward_busy:
            self._pending.append(event)
            del self._pending[:-PENDING_MAX]
            return
        if event.seq <= self._hi:
            return  # held already
        if event.seq == self._hi + 1:
            self._append([(event.seq, event.kind, event.body)])
            return
        self._pending.append(event)  # a gap: fetch what is missing first
        self._pull_forward()

    def _append(self, entries: Sequence[tuple[int, str, str]]) -> None:
        if not entries:
            return
        self.transcript.append(entries)
        self._hi = entries[-1][0]
        self.message_count = max(self.message_count, self._hi)
        self._title_transcript()

    def _pull_forward(self) -> None:
        if not self._forward_busy and self.row is not None:
            self._forward_busy = True
            self._forward(self._gen)

    @work(group="transcript")
    async def _forward(self, gen: int) -> None:
        """Fetch from the newest message held to the end, then fold the events that came
        meanwhile; the first time, start one page before the end."""
        try:
            if not self._started:
                self._lo = self._hi = max(0, self.message_count - PAGE)
                self._started = True
                self.transcript.set_more_above(self._lo > 0)
            while True:
                params = api.TaskMessagesParams(
                    task_id=self.task_id or "", after_seq=self._hi, limit=PAGE
                )
                page = await self.hangar.request(calls.TASK_MESSAGES, params)
                if gen != self._gen:
                    return
                rows = [m for m in page.messages if m.seq > self._hi]
                self._append(_entries(rows))
                # more follow: the page was cut short, or the task held more than it gave
                # (what is written after the count arrives as events, folded below)
                full = len(page.messages) >= PAGE and self._hi < self.message_count
                if rows and (page.more or full):
                    continue
                # a gap the daemon cannot fill is shown as it is rather than asked forever
                if self._fold_pending(force=not rows):
                    return
        except (LinkDown, RemoteError):
            return  # the next snapshot starts again from the newest held
        finally:
            if gen == self._gen:
                self._forward_busy = False

    def _fold_pending(self, *, force: bool = False) -> bool:
        """Fold the events that came during a fetch; False when one leaves a gap."""
        pending, self._pending = sorted(self._pending, key=lambda e: e.seq), []
        for n, event in enumerate(pending):
            if event.seq <= self._hi:
                continue
            if event.seq != self._hi + 1 and not force:
                self._pending = pending[n:]
                return False
            self._append([(event.seq, event.kind, event.body)])
        return True

    async def on_transcript_view_need_older(self, message: TranscriptView.NeedOlder) -> None:
        message.stop()
        if self._older_busy or not self._started or self._lo <= 0:
            return
        self._older_busy = True
        self._older(self._gen)

    @work(group="transcript")
    async def _older(self, gen: int) -> None:
        """The page before the oldest message held, put above it."""
        try:
            top = self._lo
            after = max(0, top - PAGE)
            got: list[TaskMessageRow] = []
            cursor = after
            while cursor < top:
                params = api.TaskMessagesParams(
                    task_id=self.task_id or "", after_seq=cursor, limit=min(PAGE, top - cursor)
                )
                page = await self.hangar.request(calls.TASK_MESSAGES, params)
                if gen != self._gen:
                    return
                got += [m for m in page.messages if cursor < m.seq <= top]
                if not page.more or not page.messages:
                    break
                cursor = page.messages[-1].seq
            self._lo = after
            self.transcript.prepend(_entries(got), more_above=after > 0)
        except (LinkDown, RemoteError):
            return  # asked again after the next snapshot
        finally:
            if gen == self._gen:
                self._older_busy = False

    def _title_transcript(self) -> None:
        count = self.message_count
        self.transcript.border_title = f"transcript · {count:,} message{'s' * (count != 1)}"

    # -- the header ---------------------------------------------------------------------------

    def _render_head(self) -> None:
        self.refresh_bindings()  # which of r, x, o, t, Enter apply depends on what is shown
        head = self.query_one("#task-head", Static)
        if self.task_id is None:
            head.update("")
        elif self.missing is not None:
            head.update(Text(f"{self.missing}\nt lists the recent tasks.", style="bold"))
        elif self.row is None:
            head.update(Text(f"Task {self.task_id}: loading…", style="dim"))
        else:
            head.update(
                head_text(
                    self.row,
                    agent=self.agent_names.get(self.row.agent_id),
                    issue_title=self.issue_title,
                    usage=self.usage,
                    tool_calls=self.tool_calls,
                )
            )
        if self.row is not None:
            self._title_transcript()

    def _render_result(self) -> None:
        box = self.query_one("#task-result", VerticalScroll)
        content = result_content(self.row)
        box.set_class(bool(content), "-shown")
        self.query_one("#result-text", Static).update(Text(content or ""))

    # -- intents ------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("retry", "cancel", "open_pr", "follow"):
            return self.row is not None
        if action == "comment":
            return self.row is not None and self.row.issue_id is not None
        if action == "recent":
            return self.task_id is not None
        if action == "open":
            return self.task_id is None
        return True

    def action_retry(self) -> None:
        if self.row is not None:
            self._retry(self.row.id)

    @work(group="intent")
    async def _retry(self, task_id: str) -> None:
        row = await self.hangar.rpc(calls.TASK_RETRY, api.TaskIdParams(task_id=task_id))
        if row is not None:
            self.notify(f"retrying as task {short_id(row.id)}")
            self.show(row.id)

    def action_cancel(self) -> None:
        if self.row is not None:
            self._cancel(self.row.id)

    @work(group="intent")
    async def _cancel(self, task_id: str) -> None:
        row = await self.hangar.rpc(calls.TASK_CANCEL, api.TaskIdParams(task_id=task_id))
        if row is None or self.task_id != row.id:
            return
        self.row = row
        self._render_head()
        if row.status in ACTIVE:
            self.notify("cancel requested: the daemon running it stops it")
        else:
            self.notify(f"task {short_id(row.id)} is {row.status}")

    def action_open_pr(self) -> None:
        url = pr_url(self.row)
        if url is None:
            self.notify("This task has no pull request.", severity="warning")
            return
        self.app.open_url(url)
        self.notify(f"opening {url}")

    def action_comment(self) -> None:
        task = self.row
        if task is None or task.issue_id is None:
            self.notify("This task has no issue to comment on.", severity="warning")
            return
        issue_id = task.issue_id

        async def submit(body: str) -> str | None:
            return await post_comment(self.hangar, issue_id, body)

        title = self.issue_title or f"issue {short_id(issue_id)}"
        self.app.push_screen(CommentForm(title, submit))

    def action_follow(self) -> None:
        self.transcript.focus()
        self.transcript.scroll_to_end()

    def action_recent(self) -> None:
        self.show(None)

    def action_open(self) -> None:
        key = self.table.current_key
        if key is not None:
            self.show(key)

    def on_data_table_row_selected(self) -> None:
        self.action_open()  # the table takes Enter for itself and says so


# -- what the header says (pure: the tests read it through the screen) -----------------------


def head_text(
    task: TaskRow,
    *,
    agent: str | None,
    issue_title: str | None,
    usage: Sequence[TaskUsageRow],
    tool_calls: int | None,
    now_ms: int | None = None,
) -> Text:
    now = time.time() * 1000 if now_ms is None else now_ms
    text = Text()
    text.append("Task ", style="bold")
    text.append(task.id, style="bold")
    text.append("  ")
    text.append_text(state_text(task.status))
    if task.cancel_requested_at is not None and task.status in ACTIVE:
        text.append("  cancel requested", style="yellow")
    text.append(f"  agent {agent or short_id(task.agent_id)}")
    text.append(f"  attempt {task.attempt} of {task.max_attempts}")
    if task.parent_task_id:
        text.append(f"  (retry of {short_id(task.parent_task_id)})", style="dim")
    url = pr_url(task)
    if url is not None:
        text.append("  ")
        text.append(f" PR #{url.rstrip('/').rsplit('/', 1)[-1]} ", style="bold white on green")
    text.append("\n")
    if task.issue_id is not None:
        text.append(f"issue  {issue_title or short_id(task.issue_id)}")
    else:
        text.append("no issue (an autopilot run)" if task.autopilot_run_id else "no issue")
    text.append("\n")
    times = [f"created {ago(task.created_at, int(now))}"]
    if task.started_at is not None:
        times.append(f"started {_clock(task.started_at)}")
    if task.finished_at is not None:
        times.append(f"finished {_clock(task.finished_at)}")
    if task.started_at is not None:
        end = task.finished_at if task.finished_at is not None else now
        times.append(f"runtime {duration(int(end - task.started_at))}")
    if tool_calls is not None:
        times.append(f"{tool_calls} tool call{'s' * (tool_calls != 1)}")
    text.append(" · ".join(times), style="dim")
    text.append("\n")
    text.append(usage_line(usage))
    failure = failure_line(task)
    if failure:
        text.append("\n")
        text.append(failure, style="red")
    if url is not None:
        text.append("\n")
        text.append("PR ", style="bold")
        text.append(url, style="underline")
        text.append("  (o opens it)", style="dim")
    return text


def usage_line(usage: Sequence[TaskUsageRow]) -> str:
    if not usage:
        return "tokens: none reported"
    costs = [u.cost_usd for u in usage if u.cost_usd is not None]
    cost = f"${sum(costs):.4f}" if costs else "not reported"
    models = ", ".join(sorted({u.model for u in usage if u.model}))
    return (
        f"tokens in {sum(u.input_tokens for u in usage):,}"
        f" · out {sum(u.output_tokens for u in usage):,}"
        f" · cache read {sum(u.cache_read_tokens for u in usage):,}"
        f" · cache write {sum(u.cache_creation_tokens for u in usage):,}"
        f" · cost {cost}" + (f" · {models}" if models else "")
    )


def failure_line(task: TaskRow) -> str:
    error = task.result.get("error") if task.result else None
    if task.failure_reason is None and not isinstance(error, str):
        return ""
    reason = task.failure_reason or "error"
    return f"failed: {reason}" + (f" — {error}" if isinstance(error, str) and error else "")


def pr_url(task: TaskRow | None) -> str | None:
    url = task.result.get("pr_url") if task is not None and task.result else None
    return url if isinstance(url, str) and url else None


def result_content(task: TaskRow | None) -> str | None:
    content = task.result.get("content") if task is not None and task.result else None
    return content if isinstance(content, str) and content.strip() else None


def duration(ms: int) -> str:
    secs = max(0, ms // 1000)
    if secs < 60:
        return f"{secs}s"
    mins, secs = divmod(secs, 60)
    if mins < 60:
        return f"{mins}m {secs:02d}s"
    hours, mins = divmod(mins, 60)
    return f"{hours}h {mins:02d}m"


def _clock(ms: int) -> str:
    return time.strftime("%H:%M:%S", time.localtime(ms / 1000))


def _entries(rows: Sequence[TaskMessageRow]) -> list[tuple[int, str, str]]:
    return [(m.seq, m.kind, m.body) for m in rows]
