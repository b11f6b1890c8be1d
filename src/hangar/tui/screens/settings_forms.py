"""The Settings screen's modals: a provider key (its value typed into a password field and
sent over the socket only), a workspace's slug and name, an allowlist entry, a new token,
the new token's plaintext (shown this once), and a yes/no question.

Each form calls its ``submit`` with what was typed and shows what comes back — the daemon's
refusal, word for word — inside itself, so nothing typed is lost; None closes it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Select, Static

from hangar.core.durations import parse_duration
from hangar.core.provider_keys import PROVIDER_KEYS
from hangar.proto.auth import TokenCreateResult
from hangar.proto.scopes import SCOPES, Scope
from hangar.tui.screens.modals import Form

__all__ = [
    "SETTINGS_MODALS",
    "Confirm",
    "EntryForm",
    "SecretForm",
    "TokenDraft",
    "TokenForm",
    "TokenShown",
    "WorkspaceForm",
]

#: a form's submit gets what was typed and answers None (taken: the form closes) or the
#: line to show in it
Answer = Awaitable[str | None]


def _given_to() -> str:
    return "; ".join(f"{p} agents get {', '.join(keys)}" for p, keys in PROVIDER_KEYS.items())


class SecretForm(Form):
    """A provider key: its name and its value. The value is typed into a password field (the
    screen shows bullets), goes to the daemon in ``hangar/secret_set`` and nowhere else, and
    the field is emptied once the daemon has it."""

    BINDING_GROUP_TITLE = "Provider key"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "submit", "Store", id="form.submit", priority=True),
        Binding("escape", "cancel", "Cancel", id="form.cancel"),
    ]

    def __init__(self, name: str, backend: str, submit: Callable[[str, str], Answer]) -> None:
        super().__init__()
        self._name = name
        self._backend = backend
        self._submit = submit

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Set a provider key  (ctrl+s stores, esc cancels)")
            yield Input(self._name, placeholder="NAME, e.g. ANTHROPIC_API_KEY", id="name")
            yield Input(password=True, placeholder="the key (hidden)", id="value")
            where = f"kept in {self._backend}" if self._backend else "kept by the daemon"
            yield Static(
                Text(f"{where}; never shown again. {_given_to()}.", "dim"), classes="form-hint"
            )
            yield Static("", classes="form-error")

    def on_mount(self) -> None:
        self.query_one("#value" if self._name else "#name", Input).focus()

    async def action_submit(self) -> None:
        name_box, value_box = self.query_one("#name", Input), self.query_one("#value", Input)
        name, value = name_box.value.strip(), value_box.value
        if not name:
            self.error("The name is missing: the variable agents read it from.")
            name_box.focus()
            return
        if not value:
            if self.focused is not value_box:  # Enter in the name: on to the value
                value_box.focus()
                return
            self.error("The key is missing: paste or type it.")
            return
        problem = await self._submit(name, value)
        if problem:
            self.error(problem)
            return
        value_box.value = ""
        self.dismiss(True)


class WorkspaceForm(Form):
    """A workspace's slug and display name: new (both empty) or a rename (both filled)."""

    BINDING_GROUP_TITLE = "Workspace"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "submit", "Save", id="form.submit", priority=True),
        Binding("escape", "cancel", "Cancel", id="form.cancel"),
    ]

    def __init__(
        self, title: str, submit: Callable[[str, str], Answer], *, slug: str = "", name: str = ""
    ) -> None:
        super().__init__()
        self._title = title
        self._slug = slug
        self._name = name
        self._submit = submit

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"{self._title}  (ctrl+s saves, esc cancels)")
            yield Input(self._slug, placeholder="slug: lower-case letters, digits, -", id="slug")
            yield Input(self._name, placeholder="display name (optional)", id="ws-name")
            yield Static("", classes="form-error")

    def on_mount(self) -> None:
        self.query_one("#slug", Input).focus()

    async def action_submit(self) -> None:
        slug = self.query_one("#slug", Input).value.strip()
        name = self.query_one("#ws-name", Input).value.strip()
        if not slug:
            self.error("The slug is missing: a short name like `team-b`.")
            self.query_one("#slug", Input).focus()
            return
        problem = await self._submit(slug, name)
        if problem:
            self.error(problem)
            return
        self.dismiss(True)


class EntryForm(Form):
    """One line: an env allowlist entry (a name, or a prefix glob like ``MY_*``)."""

    BINDING_GROUP_TITLE = "Allowlist entry"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "submit", "Add", id="form.submit", priority=True),
        Binding("escape", "cancel", "Cancel", id="form.cancel"),
    ]

    def __init__(self, title: str, hint: str, submit: Callable[[str], Answer]) -> None:
        super().__init__()
        self._title = title
        self._hint = hint
        self._submit = submit

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"{self._title}  (enter adds, esc cancels)")
            yield Input(placeholder="NAME or PREFIX_*", id="entry")
            yield Static(Text(self._hint, "dim"), classes="form-hint")
            yield Static("", classes="form-error")

    def on_mount(self) -> None:
        self.query_one("#entry", Input).focus()

    async def action_submit(self) -> None:
        entry = self.query_one("#entry", Input).value.strip()
        if not entry:
            self.error("Nothing typed: a variable name, or a prefix glob like MY_*.")
            return
        problem = await self._submit(entry)
        if problem:
            self.error(problem)
            return
        self.dismiss(True)


@dataclass(frozen=True)
class TokenDraft:
    name: str
    scope: Scope
    #: from now, in ms; None: it never expires
    expires_in_ms: int | None


class TokenForm(Form):
    """A new personal token: what it is for, its scope, and how long it lives."""

    BINDING_GROUP_TITLE = "New token"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "submit", "Create", id="form.submit", priority=True),
        Binding("escape", "cancel", "Cancel", id="form.cancel"),
    ]
    DEFAULT_CSS = """
    TokenForm Select { width: 30; }
    """

    def __init__(self, submit: Callable[[TokenDraft], Answer]) -> None:
        super().__init__()
        self._submit = submit

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("New token  (ctrl+s creates, esc cancels)")
            yield Input(placeholder="name: what it is for (ci, browser tab, …)", id="token-name")
            yield Select[str](
                [(f"scope {s}", s) for s in SCOPES], value="read", allow_blank=False, id="scope"
            )
            yield Input(placeholder="expires in (30d, 12h, 90m); empty: never", id="expires")
            yield Static(
                Text(
                    "read: lists, shows, subscribe · write: also files and changes work · "
                    "admin: also tokens, secrets, config",
                    "dim",
                ),
                classes="form-hint",
            )
            yield Static("", classes="form-error")

    def on_mount(self) -> None:
        self.query_one("#token-name", Input).focus()

    async def action_submit(self) -> None:
        name = self.query_one("#token-name", Input).value.strip()
        chosen = self.query_one("#scope", Select).value
        scope: Scope = next((s for s in SCOPES if s == chosen), "read")
        expires = self.query_one("#expires", Input).value.strip()
        if not name:
            self.error("The name is missing: say what the token is for.")
            self.query_one("#token-name", Input).focus()
            return
        lifetime: int | None = None
        if expires:
            try:
                lifetime = parse_duration(expires)
            except ValueError as exc:
                self.error(f"expires in {expires!r}: {exc}")
                return
        draft = TokenDraft(name, scope, lifetime)
        problem = await self._submit(draft)
        if problem:
            self.error(problem)
            return
        self.dismiss(True)


class TokenShown(ModalScreen[None]):
    """A new token's plaintext, this once: the daemon keeps only its SHA-256, and nothing in
    the UI keeps it after this closes."""

    BINDING_GROUP_TITLE = "New token"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "copy", "Copy", id="token_shown.copy"),
        Binding("escape,enter", "close", "Close", id="token_shown.close"),
    ]
    DEFAULT_CSS = """
    TokenShown { align: center middle; }
    TokenShown > Vertical {
        width: 90%; max-width: 100; height: auto;
        border: thick $warning; background: $surface; padding: 1 2;
    }
    TokenShown #plaintext { padding: 1 0; text-style: bold; }
    """

    def __init__(self, made: TokenCreateResult) -> None:
        super().__init__()
        self._plaintext = made.plaintext
        self._row = made.token

    def compose(self) -> ComposeResult:
        row = self._row
        with Vertical():
            yield Static(Text(f"Token {row.name!r} created (scope {row.scope})", "bold"))
            yield Static(self._plaintext, id="plaintext")
            yield Static(
                "This is the only time it is shown: copy it now (c copies to the clipboard). "
                "Only its SHA-256 is kept.\nUse it as HANGAR_TOKEN, `hangar mcp --token` or "
                "`ainb serve --token`.  enter / esc closes"
            )

    def action_copy(self) -> None:
        self.app.copy_to_clipboard(self._plaintext)
        self.notify("copied to the clipboard")

    def action_close(self) -> None:
        self._plaintext = ""
        self.query_one("#plaintext", Static).update("")
        self.dismiss(None)


class Confirm(ModalScreen[bool]):
    """A yes/no question before something that cannot be undone here."""

    BINDING_GROUP_TITLE = "Confirm"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes"),
        Binding("n,escape", "answer(False)", "No", id="confirm.no"),
    ]
    DEFAULT_CSS = """
    Confirm { align: center middle; }
    Confirm > Vertical {
        width: 70; height: auto; border: thick $warning; background: $surface; padding: 1 2;
    }
    """

    def __init__(self, question: str, detail: str, yes: str) -> None:
        super().__init__()
        self._question = question
        self._detail = detail
        self._yes = yes

    def compose(self) -> ComposeResult:
        text = Text()
        text.append(f"{self._question}\n\n", style="bold")
        if self._detail:
            text.append(f"{self._detail}\n\n")
        text.append(f"y {self._yes} · n keeps it")
        with Vertical():
            yield Static(text)

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


SETTINGS_MODALS: tuple[type[ModalScreen[object]], ...] = (  # type: ignore[assignment]
    SecretForm,
    WorkspaceForm,
    EntryForm,
    TokenForm,
    TokenShown,
    Confirm,
)
