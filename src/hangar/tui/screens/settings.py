"""Screen `,`, Settings: provider keys, workspaces, the env allowlist, tokens and the
daemon's settings, one tab each (``[`` and ``]`` step through them; each tab's keys show
only there).

Every change is the daemon's: a key's value goes to it in ``hangar/secret_set`` and never
comes back (the list shows names, masked); an allowlist entry it refuses is refused in its
words; a token's plaintext is shown once, in its own modal, and kept nowhere. ``s`` on a
workspace makes the app show it (a new subscription; every screen pulls a snapshot), ``d``
makes it the daemon's default. A token whose scope does not reach these methods gets the
daemon's refusal in each section instead of its contents.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.binding import Binding, BindingType
from textual.widget import Widget
from textual.widgets import DataTable, Static, TabbedContent, TabPane

from hangar.client.errors import RemoteError
from hangar.core.env_policy import DENY_FAMILIES
from hangar.core.provider_keys import PROVIDER_KEYS, provider_of_key
from hangar.proto import api, calls
from hangar.proto.auth import TokenCreateParams, TokenCreateResult, TokenRevokeParams, TokenRow
from hangar.proto.rows import WorkspaceRow
from hangar.proto.settings import (
    EnvAllowKeyParams,
    EnvAllowResult,
    SecretNameParams,
    SecretSetParams,
    Setting,
)
from hangar.tui.link import LinkDown, describe_error
from hangar.tui.screens.base import HangarScreen
from hangar.tui.screens.settings_forms import (
    Confirm,
    EntryForm,
    SecretForm,
    TokenDraft,
    TokenForm,
    TokenShown,
    WorkspaceForm,
)
from hangar.tui.style import ago, short_id, when
from hangar.tui.widgets.keyed_table import Cell, KeyedTable

__all__ = ["MASK", "SECTIONS", "SettingsScreen"]

#: tab id → its title, in order
SECTIONS = {
    "keys": "Provider keys",
    "workspaces": "Workspaces",
    "env": "Env allowlist",
    "tokens": "Tokens",
    "config": "Config",
}
#: action → the section whose key it is (elsewhere it is hidden and does nothing)
SECTION_OF = {
    "set_key": "keys",
    "delete_key": "keys",
    "new_workspace": "workspaces",
    "rename_workspace": "workspaces",
    "switch_workspace": "workspaces",
    "default_workspace": "workspaces",
    "add_entry": "env",
    "remove_entry": "env",
    "create_token": "tokens",
    "revoke_token": "tokens",
}
COLUMNS = {
    "keys": ("NAME", "VALUE", "GIVEN TO"),
    "workspaces": ("SLUG", "NAME", "HERE", "DEFAULT", "CREATED"),
    "env": ("ENTRY", "STATE"),
    "tokens": ("ID", "NAME", "SCOPE", "STATE", "CREATED", "LAST USED", "EXPIRES"),
    "config": ("SETTING", "SOURCE", "VALUE"),
}
HINTS = {
    "keys": "n sets the highlighted key (or another) · x deletes it · values are never shown",
    "workspaces": "s shows it here · d makes it the default · n new · r renames",
    "env": "n adds an entry · x removes it · the deny family is locked: it never passes",
    "tokens": "n makes a token (its plaintext is shown once) · x revokes it",
    "config": "read-only: `hangar config set` changes the settable ones",
}
#: what a stored value looks like here, whatever it is
MASK = "••••••••"
_FAMILY = {pattern: f.name for f in DENY_FAMILIES for pattern in f.patterns}
_STATE_STYLE = {"active": "green", "revoked": "grey50", "expired": "yellow"}


def token_state(row: TokenRow, now_ms: float | None = None) -> str:
    now = time.time() * 1000 if now_ms is None else now_ms
    if row.revoked_at is not None:
        return "revoked"
    if row.expires_at is not None and row.expires_at <= now:
        return "expired"
    return "active"


def _about(s: Setting) -> str:
    """Under the table: what the highlighted setting does, and the file or variable that
    sets it."""
    where = f"{s.source}: {s.origin}" if s.origin and s.source != "default" else s.source
    return f"{s.key}: {s.about} ({where})" if s.about else f"{s.key} ({where})"


class SettingsScreen(HangarScreen):
    BINDING_GROUP_TITLE = "Settings"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("right_square_bracket", "section(1)", "Next section", id="settings.next"),
        Binding("left_square_bracket", "section(-1)", "Previous section", id="settings.prev"),
        Binding("n", "set_key", "Set key", id="secret.set"),
        Binding("x", "delete_key", "Delete key", id="secret.delete"),
        Binding("s", "switch_workspace", "Show here", id="workspace.switch"),
        Binding("d", "default_workspace", "Make default", id="workspace.default"),
        Binding("n", "new_workspace", "New", id="workspace.new"),
        Binding("r", "rename_workspace", "Rename", id="workspace.rename"),
        Binding("n", "add_entry", "Add", id="env.add"),
        Binding("x", "remove_entry", "Remove", id="env.remove"),
        Binding("n", "create_token", "New token", id="token.create"),
        Binding("x", "revoke_token", "Revoke", id="token.revoke"),
    ]
    DEFAULT_CSS = """
    SettingsScreen TabbedContent { height: 1fr; }
    SettingsScreen TabPane { padding: 0; height: 1fr; }
    SettingsScreen .note { height: auto; padding: 0 1; color: $text-muted; }
    SettingsScreen .said { height: auto; max-height: 6; padding: 0 1; }
    SettingsScreen KeyedTable { height: 1fr; }
    SettingsScreen #config-about { height: auto; padding: 0 1; color: $text-muted; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.backend = ""
        self.secret_names: list[str] = []
        self.workspaces: dict[str, WorkspaceRow] = {}
        self.allow: EnvAllowResult | None = None
        self.tokens: dict[str, TokenRow] = {}
        self.settings: dict[str, Setting] = {}
        #: a section whose contents the daemon refused (a token's scope too low): its words
        self.refused: dict[str, str] = {}

    def body(self) -> Iterator[Widget]:
        with TabbedContent(initial="keys", id="sections"):
            for section, title in SECTIONS.items():
                with TabPane(title, id=section):
                    yield Static(HINTS[section], id=f"{section}-note", classes="note")
                    yield KeyedTable(COLUMNS[section], id=f"{section}-table")
                    if section == "config":
                        yield Static("", id="config-about")
                    yield Static("", id=f"{section}-said", classes="said")

    def on_mount(self) -> None:
        super().on_mount()
        self.table("keys").focus()

    def table(self, section: str) -> KeyedTable:
        return self.query_one(f"#{section}-table", KeyedTable)

    @property
    def section(self) -> str:
        try:
            active = self.query_one("#sections", TabbedContent).active
        except Exception:  # not composed yet
            return "keys"
        return active or "keys"

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        wanted = SECTION_OF.get(action)
        return wanted is None or wanted == self.section

    def say(self, section: str, text: str | Text, *, error: bool = False) -> None:
        """The outcome of the last thing done in ``section``, under its table."""
        line = Text(text, "red") if error and isinstance(text, str) else text
        self.query_one(f"#{section}-said", Static).update(line)

    def _note(self, section: str, text: str | Text) -> None:
        self.query_one(f"#{section}-note", Static).update(text)

    # -- sections -----------------------------------------------------------------------------

    def action_section(self, step: int) -> None:
        order = list(SECTIONS)
        nxt = order[(order.index(self.section) + step) % len(order)]
        self.query_one("#sections", TabbedContent).active = nxt

    @on(TabbedContent.TabActivated, "#sections")
    def _tab_activated(self, event: TabbedContent.TabActivated) -> None:
        section = event.pane.id or "keys"
        self.refresh_bindings()
        if section != self.section:
            return  # stepped on already: focusing this pane's table would step back to it
        self.table(section).focus()
        if self.hangar.link.up:
            self.run_worker(self._load(section), group=f"load-{section}", exclusive=True)

    # -- snapshot -----------------------------------------------------------------------------

    async def refresh_snapshot(self) -> None:
        await asyncio.gather(*(self._load(section) for section in SECTIONS))

    async def _load(self, section: str) -> None:
        loaders: dict[str, Callable[[], Awaitable[None]]] = {
            "keys": self._load_keys,
            "workspaces": self._load_workspaces,
            "env": self._load_env,
            "tokens": self._load_tokens,
            "config": self._load_config,
        }
        try:
            await loaders[section]()
        except LinkDown:
            return  # the banner says why; what is shown stays
        except RemoteError as exc:  # a token without the scope: the daemon's words, here
            self.refused[section] = exc.message
            self.table(section).sync([])
            self._note(section, Text(exc.message, "red"))
            return
        if self.refused.pop(section, None) is not None:
            self._note(section, HINTS[section])

    async def _load_keys(self) -> None:
        listed = await self.hangar.request(calls.SECRETS_LIST, api.Empty())
        self.backend, self.secret_names = listed.backend, listed.names
        self._render_keys()

    async def _load_workspaces(self) -> None:
        listed = await self.hangar.request(calls.WORKSPACE_LIST, api.Empty())
        self.workspaces = {w.id: w for w in listed.workspaces}
        self._render_workspaces()

    async def _load_env(self) -> None:
        self.allow = await self.hangar.request(calls.ENV_ALLOW_LIST, api.Empty())
        self._render_env()

    async def _load_tokens(self) -> None:
        listed = await self.hangar.request(calls.TOKENS_LIST, api.Empty())
        self.tokens = {t.id: t for t in listed.tokens}
        self._render_tokens()

    async def _load_config(self) -> None:
        shown = await self.hangar.request(calls.CONFIG_SHOW, api.Empty())
        self.settings = {s.key: s for s in shown.settings}
        self._render_config()

    # -- drawing ------------------------------------------------------------------------------

    def _render_keys(self) -> None:
        known = [k for keys in PROVIDER_KEYS.values() for k in keys]
        names = known + [n for n in self.secret_names if n not in known]
        stored = set(self.secret_names)
        rows: list[tuple[str, tuple[Cell, ...]]] = []
        for name in names:
            provider = provider_of_key(name)
            value: Cell = MASK if name in stored else Text("not set", "dim")
            given: Cell = (
                f"{provider} agents"
                if provider
                else Text("no agent (a plugin with secrets:read may read it)", "dim")
            )
            rows.append((name, (name, value, given)))
        self.table("keys").sync(rows)
        if "keys" not in self.refused:
            self._note("keys", f"kept in {self.backend} · {HINTS['keys']}")

    def _render_workspaces(self) -> None:
        here = self.hangar.link.workspace_id
        rows: list[tuple[str, tuple[Cell, ...]]] = [
            (
                w.id,
                (
                    w.slug,
                    w.name,
                    Text("● shown", "green") if w.id == here or w.slug == here else "",
                    "default" if w.is_default else "",
                    when(w.created_at),
                ),
            )
            for w in self.workspaces.values()
        ]
        self.table("workspaces").sync(rows)

    def _render_env(self) -> None:
        res = self.allow
        if res is None:
            return
        rows: list[tuple[str, tuple[Cell, ...]]] = [
            (f"allow:{k}", (k, Text("allowed", "green"))) for k in res.allow
        ]
        rows += [
            (
                f"deny:{k}",
                (
                    Text(k, "dim"),
                    Text(f"locked · deny family: {_FAMILY.get(k, 'deny family')}", "dim"),
                ),
            )
            for k in res.deny
        ]
        self.table("env").sync(rows)
        where = res.path if res.source == "file" else f"the defaults ({res.path} absent)"
        if "env" not in self.refused:
            self._note("env", f"from {where} · {HINTS['env']}")

    def _render_tokens(self) -> None:
        rows: list[tuple[str, tuple[Cell, ...]]] = []
        for t in self.tokens.values():
            state = token_state(t)
            rows.append(
                (
                    t.id,
                    (
                        short_id(t.id),
                        t.name,
                        t.scope,
                        Text(state, _STATE_STYLE[state]),
                        when(t.created_at),
                        ago(t.last_used) or "never",
                        when(t.expires_at) or "never",
                    ),
                )
            )
        self.table("tokens").sync(rows)
        if not rows and "tokens" not in self.refused:
            self._note("tokens", f"No tokens yet. {HINTS['tokens']}")
        elif "tokens" not in self.refused:
            self._note("tokens", HINTS["tokens"])

    def _render_config(self) -> None:
        rows: list[tuple[str, tuple[Cell, ...]]] = [
            (s.key, (s.key, s.source, s.value)) for s in self.settings.values()
        ]
        self.table("config").sync(rows)
        self._about()

    @on(DataTable.RowHighlighted, "#config-table")
    def _about(self) -> None:
        key = self.table("config").current_key
        setting = self.settings.get(key or "")
        self.query_one("#config-about", Static).update(_about(setting) if setting else "")

    def _highlighted(self, section: str) -> str | None:
        return self.table(section).current_key

    # -- provider keys ------------------------------------------------------------------------

    @on(DataTable.RowSelected, "#keys-table")
    def _key_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()  # the table takes Enter for itself and says so
        self.action_set_key()

    def action_set_key(self) -> None:
        name = self._highlighted("keys") or ""

        async def submit(name: str, value: str) -> str | None:
            try:
                res = await self.hangar.request(
                    calls.SECRET_SET, SecretSetParams(name=name, value=value)
                )
            except (RemoteError, LinkDown) as exc:
                return describe_error(exc)
            said = f"{'replaced' if res.replaced else 'stored'} {res.name} in {res.backend}"
            if res.providers:
                said += f": {' and '.join(res.providers)} agents get it from their next run"
            else:
                said += ": no agent is given it (a plugin with secrets:read may read it)"
            self.say("keys", said)
            await self._load("keys")
            return None

        self.app.push_screen(SecretForm(name, self.backend, submit))

    def action_delete_key(self) -> None:
        name = self._highlighted("keys")
        if name is None or name not in self.secret_names:
            self.say("keys", f"{name or 'No key'} is not set: nothing to delete.")
            return

        async def answered(yes: bool | None) -> None:
            if not yes:
                return
            try:
                res = await self.hangar.request(calls.SECRET_DELETE, SecretNameParams(name=name))
            except (RemoteError, LinkDown) as exc:
                self.say("keys", describe_error(exc), error=True)
                return
            self.say("keys", f"deleted {res.name} from {res.backend}")
            await self._load("keys")

        question = f"Delete {name}?"
        provider = provider_of_key(name)
        detail = f"{provider} agents no longer get it from the store." if provider else ""
        self.app.push_screen(Confirm(question, detail, "deletes it"), answered)

    # -- workspaces ---------------------------------------------------------------------------

    @on(DataTable.RowSelected, "#workspaces-table")
    async def _workspace_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        await self.action_switch_workspace()

    def _workspace(self) -> WorkspaceRow | None:
        key = self._highlighted("workspaces")
        row = self.workspaces.get(key or "")
        if row is None:
            self.say("workspaces", "No workspace is highlighted.")
        return row

    def action_new_workspace(self) -> None:
        async def submit(slug: str, name: str) -> str | None:
            params = api.WorkspaceCreateParams(slug=slug, name=name or None)
            try:
                row = await self.hangar.request(calls.WORKSPACE_CREATE, params)
            except (RemoteError, LinkDown) as exc:
                return describe_error(exc)
            self.say("workspaces", f"created workspace {row.slug}: s shows it here")
            await self._load("workspaces")
            return None

        self.app.push_screen(WorkspaceForm("New workspace", submit))

    def action_rename_workspace(self) -> None:
        ws = self._workspace()
        if ws is None:
            return

        async def submit(slug: str, name: str) -> str | None:
            params = api.WorkspaceRenameParams(
                workspace_id=ws.id, slug=slug, name=name if name and name != ws.name else None
            )
            try:
                row = await self.hangar.request(calls.WORKSPACE_RENAME, params)
            except (RemoteError, LinkDown) as exc:
                return describe_error(exc)
            link = self.hangar.link
            if link.workspace_row is not None and link.workspace_row.id == row.id:
                link.workspace_row = row  # the one shown here: its new name in the header
                if link.workspace is not None:
                    link.workspace = row.id  # a reconnect finds it under its new slug too
                self.app.sub_title = row.slug
            self.say("workspaces", f"renamed {ws.slug} to {row.slug} ({row.name})")
            await self._load("workspaces")
            return None

        self.app.push_screen(
            WorkspaceForm(f"Rename workspace {ws.slug}", submit, slug=ws.slug, name=ws.name)
        )

    async def action_switch_workspace(self) -> None:
        ws = self._workspace()
        if ws is None:
            return
        if ws.id == self.hangar.link.workspace_id:
            self.say("workspaces", f"{ws.slug} is the workspace shown here already.")
            return
        try:
            row = await self.hangar.switch_workspace(ws.id)
        except (RemoteError, LinkDown) as exc:
            self.say("workspaces", describe_error(exc), error=True)
            return
        self.say("workspaces", f"showing workspace {row.slug}: every screen shows its work now")
        self._render_workspaces()

    async def action_default_workspace(self) -> None:
        ws = self._workspace()
        if ws is None:
            return
        try:
            row = await self.hangar.request(
                calls.WORKSPACE_USE, api.WorkspaceUseParams(workspace_id=ws.id)
            )
        except (RemoteError, LinkDown) as exc:
            self.say("workspaces", describe_error(exc), error=True)
            return
        link = self.hangar.link
        if link.workspace is None and link.workspace_row is not None:
            link.workspace = link.workspace_row.id  # what is shown here stays, reconnects too
        self.say(
            "workspaces",
            f"{row.slug} is the daemon's default now (commands without --workspace use it)",
        )
        await self._load("workspaces")

    # -- the env allowlist --------------------------------------------------------------------

    def action_add_entry(self) -> None:
        async def submit(entry: str) -> str | None:
            try:
                res = await self.hangar.request(calls.ENV_ALLOW_ADD, EnvAllowKeyParams(key=entry))
            except (RemoteError, LinkDown) as exc:
                return describe_error(exc)  # a deny-family entry: the daemon's reason
            self._changed(res)
            return None

        hint = (
            "Agents and plugins the daemon starts from now on see this variable of its "
            "environment (running ones keep theirs). The deny family is refused."
        )
        self.app.push_screen(EntryForm("Allow an environment variable", hint, submit))

    async def action_remove_entry(self) -> None:
        key = self._highlighted("env")
        if key is None:
            self.say("env", "No entry is highlighted.")
            return
        kind, _, entry = key.partition(":")
        if kind == "deny":
            self.say("env", f"{entry} is in the deny family: locked, it never passes.")
            return
        try:
            res = await self.hangar.request(calls.ENV_ALLOW_REMOVE, EnvAllowKeyParams(key=entry))
        except (RemoteError, LinkDown) as exc:
            self.say("env", describe_error(exc), error=True)
            return
        self._changed(res)

    def _changed(self, res: EnvAllowResult) -> None:
        self.allow = res
        self._render_env()
        self.say(
            "env",
            f"{res.changed} in {res.path}: agents the daemon starts from now on get it "
            "(running ones keep their environment; plugins on their next start)",
        )

    # -- tokens -------------------------------------------------------------------------------

    def action_create_token(self) -> None:
        made: list[TokenCreateResult] = []

        async def submit(draft: TokenDraft) -> str | None:
            params = TokenCreateParams(
                name=draft.name, scope=draft.scope, expires_in_ms=draft.expires_in_ms
            )
            try:
                res = await self.hangar.request(calls.TOKEN_CREATE, params)
            except (RemoteError, LinkDown) as exc:
                return describe_error(exc)
            made.append(res)
            return None

        async def closed(ok: bool | None) -> None:
            if not made:
                return
            res = made.pop()  # the plaintext lives on in the modal only, until it closes
            row = res.token
            self.say("tokens", f"created token {short_id(row.id)} {row.name!r} (scope {row.scope})")
            self.app.push_screen(TokenShown(res))
            await self._load("tokens")

        self.app.push_screen(TokenForm(submit), closed)

    def action_revoke_token(self) -> None:
        row = self.tokens.get(self._highlighted("tokens") or "")
        if row is None:
            self.say("tokens", "No token is highlighted.")
            return
        if row.revoked_at is not None:
            self.say("tokens", f"{row.name!r} is revoked already.")
            return

        async def answered(yes: bool | None) -> None:
            if not yes:
                return
            try:
                done = await self.hangar.request(
                    calls.TOKEN_REVOKE, TokenRevokeParams(token_id=row.id)
                )
            except (RemoteError, LinkDown) as exc:
                self.say("tokens", describe_error(exc), error=True)
                return
            self.say("tokens", f"revoked token {short_id(done.id)} {done.name!r}")
            await self._load("tokens")

        detail = "Whatever uses it is refused from its next call, on open connections too."
        self.app.push_screen(
            Confirm(f"Revoke token {row.name!r} (scope {row.scope})?", detail, "revokes it"),
            answered,
        )
