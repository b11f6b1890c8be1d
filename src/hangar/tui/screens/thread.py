"""An issue's thread: the issue view (``v`` on Issues) and the comment form (``m`` there and on
the Task screen). Both only show and send: who may write what is the daemon's call, and its
refusal (an empty or oversized comment) is said inside the form, nothing typed lost."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, cast

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Label, Static, TextArea

from hangar.client.errors import RemoteError
from hangar.proto import api, calls
from hangar.proto import comments as cm
from hangar.proto.events import AnyEvent, CommentCreated, IssueUpdated
from hangar.proto.rows import DependencyRow, IssueRow
from hangar.tui.link import LinkDown, describe_error
from hangar.tui.screens.modals import Form
from hangar.tui.style import short_id, state_text
from hangar.tui.widgets.comments import CommentThread

if TYPE_CHECKING:
    from hangar.tui.host import Host

__all__ = ["PAGE", "CommentForm", "IssueThreadScreen", "Thread", "fetch_thread", "post_comment"]

#: comments a view holds: the end of the thread (`hangar issue comments --before` pages back)
PAGE = 50


@dataclass
class Thread:
    comments: list[cm.CommentRow] = field(default_factory=list)
    next_before: str | None = None
    names: dict[str, str] = field(default_factory=dict)

    def older_hint(self, issue_id: str) -> str | None:
        if self.next_before is None:
            return None
        return f"older comments: hangar issue comments {issue_id} --before {self.next_before}"


async def fetch_thread(host: Host, issue_id: str) -> Thread:
    """The end of the thread and the names of who wrote it; raises ``RemoteError`` or
    ``LinkDown`` for the caller to handle."""
    page = await host.request(
        calls.COMMENTS_LIST, cm.CommentsListParams(issue_id=issue_id, limit=PAGE)
    )
    names: dict[str, str] = {}
    if page.comments:
        actors = await host.request(calls.AGENTS_LIST, api.WorkspaceScoped())
        names = {a.actor_ref: a.display_name for a in actors.actors}
    return Thread(page.comments, page.next_before, names)


async def post_comment(host: Host, issue_id: str, body: str) -> str | None:
    """Send a comment; None when the daemon took it, else the line saying why not."""
    try:
        await host.request(calls.COMMENT_ADD, cm.CommentAddParams(issue_id=issue_id, body=body))
    except (RemoteError, LinkDown) as exc:
        return describe_error(exc)
    return None


class CommentForm(Form):
    """One markdown comment. ``submit`` gets the text and answers None when the daemon took
    it, or the line to show (its refusal) — then the form stays open."""

    BINDING_GROUP_TITLE = "Comment"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "submit", "Post", id="form.submit", priority=True),
        Binding("escape", "cancel", "Cancel", id="form.cancel"),
    ]

    def __init__(self, title: str, submit: Callable[[str], Awaitable[str | None]]) -> None:
        super().__init__()
        self._title = title
        self._submit = submit

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"Comment on {self._title}  (markdown; ctrl+s posts, esc cancels)")
            yield TextArea(id="comment-body")
            yield Static("", classes="form-error")

    def on_mount(self) -> None:
        self.query_one("#comment-body", TextArea).focus()

    async def action_submit(self) -> None:
        body = self.query_one("#comment-body", TextArea).text
        if not body.strip():
            self.error("The comment is empty: write something first.")
            return
        problem = await self._submit(body)
        if problem:
            self.error(problem)
            return
        self.dismiss(True)


_STANDING_STYLE = {"done": "green", "failed": "red", "cancelled": "red", "deleted": "red"}


class IssueThreadScreen(ModalScreen[None]):
    """One issue: its state, assignee and description, then its thread. ``m`` comments;
    new comments and edits of the issue arrive as events while it is open."""

    BINDING_GROUP_TITLE = "Issue"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("m", "comment", "Comment", id="thread.comment"),
        Binding("escape", "close", "Close", id="thread.close"),
    ]
    DEFAULT_CSS = """
    IssueThreadScreen { align: center middle; }
    IssueThreadScreen > Vertical {
        width: 90%; max-width: 120; height: 90%;
        border: thick $accent; background: $surface; padding: 0 1;
    }
    IssueThreadScreen #issue-head { height: auto; max-height: 12; }
    IssueThreadScreen #issue-thread { height: 1fr; }
    """

    def __init__(self, issue: IssueRow, names: dict[str, str]) -> None:
        super().__init__()
        self.issue = issue
        self.names = names
        #: what it waits for and what waits for it, from the last snapshot
        self.blockers: list[DependencyRow] = []
        self.dependents: list[DependencyRow] = []

    @property
    def hangar(self) -> Host:
        return cast("Host", self.app)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self._head(), id="issue-head")
            yield CommentThread(id="issue-thread")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(CommentThread).focus()
        self.hangar.screen_mounted(self)  # events and snapshots, as a mode's screen gets them

    def on_unmount(self) -> None:
        self.hangar.screen_unmounted(self)

    def _head(self) -> Text:
        i = self.issue
        text = Text()
        text.append(i.title, style="bold")
        text.append(f"  {short_id(i.id)}  ", style="dim")
        text.append_text(state_text(i.state))
        who = self.names.get(i.assignee or "", i.assignee or "nobody")
        text.append(f"  priority {i.priority}  assigned to {who}")
        if i.blocked is not None:
            text.append(f"\n⊘ {i.blocked}", style="bold red")
        for label, links in (("waits for", self.blockers), ("blocks", self.dependents)):
            if links:
                text.append(f"\n{label}: ", style="dim")
                for n, link in enumerate(links):
                    text.append(", " if n else "")
                    text.append(short_id(link.issue_id), style="bold")
                    text.append(f" {link.title or '(deleted)'} ")
                    # a blocker by what it means for this issue, a dependent by its state
                    how = link.standing if links is self.blockers else (link.state or "deleted")
                    text.append(f"[{how}]", style=_STANDING_STYLE.get(how, ""))
        if i.description:
            text.append("\n\n")
            text.append(i.description)
        return text

    # -- what the app drives (see HangarScreen) ----------------------------------------------

    def link_changed(self, up: bool, reason: str) -> None:
        pass  # the screen below shows the banner

    async def refresh_snapshot(self) -> None:
        try:
            thread = await fetch_thread(self.hangar, self.issue.id)
            detail = await self.hangar.request(
                calls.ISSUE_GET, api.IssueGetParams(issue_id=self.issue.id)
            )
        except (RemoteError, LinkDown):
            return
        self.issue, self.blockers, self.dependents = (
            detail.issue,
            detail.blockers,
            detail.dependents,
        )
        self.query_one("#issue-head", Static).update(self._head())
        self.names |= thread.names
        self.query_one(CommentThread).show(
            thread.comments, self.names, older=thread.older_hint(self.issue.id)
        )

    def daemon_event(self, event: AnyEvent) -> None:
        if isinstance(event, CommentCreated) and event.comment.issue_id == self.issue.id:
            thread = self.query_one(CommentThread)
            if event.comment.author not in self.names:
                self.run_worker(self.refresh_snapshot(), group="thread", exclusive=True)
            else:
                thread.add(event.comment)
        elif isinstance(event, IssueUpdated) and event.issue.id == self.issue.id:
            self.issue = event.issue
            self.query_one("#issue-head", Static).update(self._head())
            # its blockers' standings may have moved too: the snapshot says
            self.run_worker(self.refresh_snapshot(), group="thread", exclusive=True)
        elif isinstance(event, IssueUpdated) and any(
            link.issue_id == event.issue.id for link in (*self.blockers, *self.dependents)
        ):
            self.run_worker(self.refresh_snapshot(), group="thread", exclusive=True)

    # -- intents ------------------------------------------------------------------------------

    def action_comment(self) -> None:
        async def submit(body: str) -> str | None:
            return await post_comment(self.hangar, self.issue.id, body)

        self.app.push_screen(CommentForm(self.issue.title, submit))

    def action_close(self) -> None:
        self.dismiss(None)
