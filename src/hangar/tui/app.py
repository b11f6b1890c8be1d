"""The Hangar app: screens by mode, global keys, the daemon link, the command palette.

Modes keep each screen's state while the user looks elsewhere: going from the Issues list
to the Kanban board and back finds the cursor where it was. The link's events go to every
mounted screen; after a (re)connect every mounted screen pulls a fresh snapshot.
"""

from __future__ import annotations

import importlib
from collections import deque
from collections.abc import Callable, Iterable
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import msgspec
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen

from hangar.client.errors import RemoteError
from hangar.core.paths import HangarPaths
from hangar.tui.full_access import FullAccessNotice
from hangar.tui.keymap import load_keymap
from hangar.tui.link import DaemonLink, Handlers, LinkDown, describe_error

if TYPE_CHECKING:
    from hangar.proto.calls import Call
    from hangar.proto.events import AnyEvent
    from hangar.proto.rows import WorkspaceRow
    from hangar.tui.screens.base import HangarScreen

__all__ = ["SCREENS_BY_MODE", "HangarApp"]

P = TypeVar("P", bound=msgspec.Struct)
R = TypeVar("R", bound=msgspec.Struct)

#: mode → the screen class that draws it, imported when first shown (start-up stays fast)
SCREENS_BY_MODE: dict[str, str] = {
    "issues": "hangar.tui.screens.issues:IssuesScreen",
    "task": "hangar.tui.screens.task:TaskScreen",
    "kanban": "hangar.tui.screens.kanban:KanbanScreen",
    "health": "hangar.tui.screens.health:HealthScreen",
    "logs": "hangar.tui.screens.logs:LogsScreen",
    "home": "hangar.tui.screens.home:HomeScreen",
    "skills": "hangar.tui.screens.skills:SkillsScreen",
    "autopilots": "hangar.tui.screens.autopilots:AutopilotsScreen",
    "settings": "hangar.tui.screens.settings:SettingsScreen",
}

#: the keys that go to a screen from anywhere: (key, mode, label)
NAVIGATION = (
    ("1", "issues", "Issues"),
    ("2", "task", "Task"),
    ("K", "kanban", "Kanban"),
    ("D", "health", "Health"),
    ("L", "logs", "Logs"),
    ("H", "home", "Home"),
    # the seed's keys for screens whose capabilities arrive with their own issues: their
    # places are kept, and a key appears once its screen registers above
    ("4", "skills", "Skills"),
    ("5", "autopilots", "Autopilots"),
    ("comma", "settings", "Settings"),
)


def screen_class(mode: str) -> type[Screen[Any]]:
    module, _, name = SCREENS_BY_MODE[mode].partition(":")
    cls = getattr(importlib.import_module(module), name)
    assert isinstance(cls, type) and issubclass(cls, Screen)
    return cls


def _mode_factory(mode: str) -> Callable[[], Screen[Any]]:
    return lambda: screen_class(mode)()


class HangarApp(App[None]):
    TITLE = "Hangar"
    # every binding has an id (so `[keymap]` can remap it) and a namespaced title in the
    # palette; no ctrl+w / ctrl+t / ctrl+n: a browser tab keeps those for itself
    BINDINGS: ClassVar[list[BindingType]] = [
        # first: with nine screens the footer runs out of room, and `?` lists them all
        Binding("question_mark", "keys", "Keys", id="app.keys"),
        *(
            Binding(key, f"go('{mode}')", label, id=f"go.{mode}")
            for key, mode, label in NAVIGATION
            if mode in SCREENS_BY_MODE
        ),
    ]
    MODES: ClassVar[dict[str, Any]] = {mode: _mode_factory(mode) for mode in SCREENS_BY_MODE}

    def __init__(
        self,
        *,
        paths: HangarPaths | None = None,
        workspace: str | None = None,
        start: str = "issues",
        autostart: bool = True,
    ) -> None:
        super().__init__()
        if start not in SCREENS_BY_MODE:
            raise ValueError(f"no screen {start!r}; one of {', '.join(SCREENS_BY_MODE)}")
        self.paths = paths or HangarPaths.from_env()
        self.start_mode = start
        self.link = DaemonLink(self.paths, workspace, autostart=autostart)
        self.link_reason = "connecting to the Hangar daemon"
        #: the task the Task screen shows (set by Enter on an issue or a card)
        self.current_task_id: str | None = None
        #: the methods this app has sent, newest last (the tests read it; so can a debugger)
        self.sent: deque[str] = deque(maxlen=200)
        self._live: list[HangarScreen] = []
        #: the one-time warning that agents run with full access, after work is queued
        self.full_access = FullAccessNotice(self)

    # -- start-up ---------------------------------------------------------------------------

    def on_mount(self) -> None:
        self.switch_mode(self.start_mode)
        self.call_after_refresh(self._apply_keymap)  # its warnings on the first screen
        handlers = Handlers(up=self._link_up, down=self._link_down, event=self._event)
        self.run_worker(
            self.link.run(handlers),
            name="daemon-link",
            group="link",
            exclusive=True,
        )

    def _apply_keymap(self) -> None:
        keymap = load_keymap(self.paths.config, self.binding_ids)
        for problem in keymap.problems:
            self.notify(problem, title=f"{self.paths.config}", severity="warning", timeout=10)
        if keymap.keys:
            self.set_keymap(keymap.keys)

    @classmethod
    def binding_ids(cls) -> list[str]:
        """Every remappable binding id: the app's, every screen's and every modal's. Forms
        share ``form.*`` ids, so one remap changes them all."""
        ids: dict[str, None] = {}
        for owner in cls.binding_owners():
            for b in owner.BINDINGS:
                if isinstance(b, Binding) and b.id:
                    ids[b.id] = None
        return list(ids)

    @classmethod
    def binding_owners(cls) -> list[Any]:
        owners: list[Any] = [cls]
        owners += [screen_class(mode) for mode in SCREENS_BY_MODE]
        owners += _modal_classes()
        return owners

    # -- screens register to hear from the daemon -------------------------------------------

    def screen_mounted(self, screen: HangarScreen) -> None:
        self._live.append(screen)
        screen.link_changed(self.link.up, self.link_reason)
        if self.link.up:
            self.run_worker(_pull(screen), group="snapshot")

    def screen_unmounted(self, screen: HangarScreen) -> None:
        if screen in self._live:
            self._live.remove(screen)

    async def _link_up(self, workspace: WorkspaceRow) -> None:
        self.sub_title = workspace.slug
        for screen in list(self._live):
            screen.link_changed(True, "")
            self.run_worker(_pull(screen), group="snapshot")

    async def _link_down(self, reason: str) -> None:
        self.link_reason = reason
        for screen in list(self._live):
            screen.link_changed(False, reason)

    async def _event(self, event: AnyEvent) -> None:
        for screen in list(self._live):
            screen.daemon_event(event)

    # -- intents -----------------------------------------------------------------------------

    async def rpc(self, call: Call[P, R], params: P) -> R | None:
        """The daemon's answer, or None after telling the user why there is none."""
        self.sent.append(call.method)
        try:
            result = await self.link.request(call, params)
        except (RemoteError, LinkDown) as exc:
            self.notify(describe_error(exc), severity="error", timeout=8)
            return None
        self.full_access.after(call.method, params, result)
        return result

    async def request(self, call: Call[P, R], params: P) -> R:
        """As ``rpc``, but the caller handles ``RemoteError``/``LinkDown`` (a form shows them)."""
        self.sent.append(call.method)
        result = await self.link.request(call, params)
        self.full_access.after(call.method, params, result)
        return result

    async def switch_workspace(self, workspace: str) -> WorkspaceRow:
        """Show ``workspace`` (slug or id) from now on: subscribe to it on the open connection
        (the daemon drops the old subscription), keep it for reconnects, and every screen
        pulls a fresh snapshot of it. ``RemoteError``/``LinkDown`` when it cannot."""
        from hangar.proto import api, calls

        self.sent.append(calls.WORKSPACE_SUBSCRIBE.method)
        sub = await self.link.request(
            calls.WORKSPACE_SUBSCRIBE, api.WorkspaceScoped(workspace_id=workspace)
        )
        self.link.workspace, self.link.workspace_row = sub.workspace.id, sub.workspace
        await self._link_up(sub.workspace)
        return sub.workspace

    def open_task(self, task_id: str) -> None:
        self.current_task_id = task_id
        if self.current_mode == "task":  # switching to the mode it is in does nothing
            show = getattr(self.screen, "show", None)
            if callable(show):
                show(task_id)
            return
        self.switch_mode("task")

    def action_go(self, mode: str) -> None:
        if mode != self.current_mode:
            self.switch_mode(mode)

    def action_keys(self) -> None:
        if self.screen.query("HelpPanel"):
            self.action_hide_help_panel()
        else:
            self.action_show_help_panel()

    # -- the command palette: every binding of the screen, namespaced ------------------------

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        seen: set[str] = set()
        for active in screen.active_bindings.values():
            binding = active.binding
            if not binding.id or binding.id in seen or not active.enabled:
                continue
            seen.add(binding.id)
            area, _, verb = binding.id.partition(".")
            title = f"{area}: {binding.description.lower() or verb.replace('_', ' ')}"
            yield SystemCommand(
                title,
                binding.tooltip or f"key {binding.key}",
                partial(self.run_action, binding.action, active.node),
            )
        yield from super().get_system_commands(screen)


def _pull(screen: Any) -> Any:
    """A registered screen's snapshot for a worker: the guarded one of a ``HangarScreen``,
    else the screen's own (the issue thread is a modal, not a ``HangarScreen``)."""
    pull = getattr(screen, "pull_snapshot", None)
    return pull() if pull is not None else screen.refresh_snapshot()


def _modal_classes() -> list[type[Any]]:
    """Screens pushed over the modes (forms, pickers, plugin screens) with bindings of their own."""
    from hangar.tui.screens.autopilot_form import AutopilotForm
    from hangar.tui.screens.home import ArchiveConfirm, SendForm, SessionForm
    from hangar.tui.screens.modals import MODALS
    from hangar.tui.screens.plugin import PluginScreen
    from hangar.tui.screens.settings_forms import SETTINGS_MODALS
    from hangar.tui.screens.skills import SkillBody
    from hangar.tui.screens.thread import CommentForm, IssueThreadScreen

    return [
        *MODALS,
        SessionForm,
        SendForm,
        ArchiveConfirm,
        PluginScreen,
        AutopilotForm,
        SkillBody,
        IssueThreadScreen,
        CommentForm,
        *SETTINGS_MODALS,
    ]
