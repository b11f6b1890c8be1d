"""The modal screens: the issue form and the agent picker. Each answers through
``dismiss``; what it sends to the daemon is its caller's business, except the form, which
shows the daemon's refusal inside itself so nothing typed is lost."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static, TextArea
from textual.widgets.option_list import Option

from hangar.proto.rows import ActorRow
from hangar.tui.recents import Recents

__all__ = ["MODALS", "AgentPicker", "Form", "IssueDraft", "IssueForm"]

#: colour of a presence dot
PRESENCE = {"online": "green", "busy": "yellow", "offline": "grey50"}


class IssueDraft:
    def __init__(self, title: str, description: str | None) -> None:
        self.title = title
        self.description = description


class Form(ModalScreen[bool]):
    """A small form: ctrl+s (or Enter in a field) submits, esc cancels. Subclasses compose
    the fields and a ``Static(classes="form-error")``; ``action_submit`` checks only what is
    missing and shows the daemon's refusal with ``error`` — the form stays, nothing typed
    is lost."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "submit", "Submit", id="form.submit", priority=True),
        Binding("escape", "cancel", "Cancel", id="form.cancel"),
    ]
    DEFAULT_CSS = """
    Form { align: center middle; }
    Form > Vertical {
        width: 80%; max-width: 100; height: auto; max-height: 90%;
        border: thick $accent; background: $surface; padding: 1 2;
    }
    Form TextArea { height: 8; }
    Form .form-error { color: $error; height: auto; }
    """

    def error(self, text: str) -> None:
        self.query_one(".form-error", Static).update(text)

    @on(Input.Submitted)
    async def _entered(self) -> None:
        await self.action_submit()

    async def action_submit(self) -> None:
        raise NotImplementedError

    def action_cancel(self) -> None:
        self.dismiss(False)


class IssueForm(Form):
    """Title and description. ``submit`` is called with the draft and returns None when
    the daemon took it, or the line to show (its refusal) — then the form stays open."""

    BINDING_GROUP_TITLE = "New issue"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "submit", "Create", id="form.submit", priority=True),
        Binding("escape", "cancel", "Cancel", id="form.cancel"),
    ]

    def __init__(self, submit: Callable[[IssueDraft], Awaitable[str | None]]) -> None:
        super().__init__()
        self._submit = submit

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("New issue  (ctrl+s creates, esc cancels)")
            yield Input(placeholder="Title: what needs doing, in one line", id="title")
            yield TextArea(id="description")
            yield Static("", classes="form-error")

    def on_mount(self) -> None:
        self.query_one("#title", Input).focus()

    async def action_submit(self) -> None:
        title = self.query_one("#title", Input).value.strip()
        description = self.query_one("#description", TextArea).text.strip() or None
        if not title:
            self.error("The title is missing: say in one line what needs doing.")
            self.query_one("#title", Input).focus()
            return
        problem = await self._submit(IssueDraft(title, description))
        if problem:
            self.error(problem)
            return
        self.dismiss(True)


class AgentPicker(ModalScreen[str | None]):
    """Pick who gets the issue: presence dots, ``/`` to filter, recent picks first."""

    BINDING_GROUP_TITLE = "Assign"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "filter", "Filter", id="picker.filter"),
        Binding("escape", "cancel", "Cancel", id="picker.cancel"),
    ]
    DEFAULT_CSS = """
    AgentPicker { align: center middle; }
    AgentPicker > Vertical {
        width: 60; height: auto; max-height: 80%;
        border: thick $accent; background: $surface; padding: 0 1;
    }
    AgentPicker OptionList { height: auto; max-height: 20; }
    AgentPicker Input { display: none; }
    AgentPicker.-filtering Input { display: block; }
    """

    def __init__(self, actors: list[ActorRow], recents: Recents) -> None:
        super().__init__()
        self._actors = actors
        self._recents = recents

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Assign to  (enter picks, / filters, esc cancels)")
            yield Input(placeholder="filter by name", id="filter")
            yield OptionList(id="actors")

    def on_mount(self) -> None:
        self._fill("")
        self.query_one(OptionList).focus()

    def ordered(self, needle: str) -> list[ActorRow]:
        """Recent picks first (most recent on top), then everyone else by name."""
        rank = self._recents.rank()
        found = [a for a in self._actors if needle.lower() in a.display_name.lower()]
        return sorted(
            found,
            key=lambda a: (rank.get(a.actor_ref, len(rank)), not a.is_agent, a.display_name),
        )

    def _fill(self, needle: str) -> None:
        options = self.query_one(OptionList)
        options.clear_options()
        recent = self._recents.rank()
        for actor in self.ordered(needle):
            line = Text()
            line.append("● ", style=PRESENCE.get(actor.presence, "grey50"))
            line.append(actor.display_name, style="bold")
            line.append(f"  {actor.subtitle}", style="dim")
            if actor.actor_ref in recent:
                line.append("  recent", style="italic cyan")
            options.add_option(Option(line, id=actor.actor_ref))
        if options.option_count:
            options.highlighted = 0

    def action_filter(self) -> None:
        self.add_class("-filtering")
        self.query_one("#filter", Input).focus()

    @on(Input.Changed, "#filter")
    def _filtered(self, event: Input.Changed) -> None:
        self._fill(event.value)

    @on(Input.Submitted, "#filter")
    def _filter_done(self) -> None:
        self.query_one(OptionList).focus()

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        ref = event.option.id
        if ref:
            self._recents.add(ref)
        self.dismiss(ref)

    def action_cancel(self) -> None:
        self.dismiss(None)


MODALS: tuple[type[ModalScreen[object]], ...] = (IssueForm, AgentPicker)  # type: ignore[assignment]
