"""Plugin screens: a screen a plugin declares, drawn from the ``WireBuffer`` it paints.

The app has one ``PluginHost`` (``AppPlugins``), made when the Home screen first lists the
plugins' screens (discovery only reads manifests), started when a plugin screen first opens,
and closed when the app ends. A ``PluginScreen`` asks its plugin for ``plugin/render`` at
the size of its view, on open and on every resize; keys go to ``plugin/handle_key`` and a
render follows. Keys bound here (esc, and the app's navigation keys) stay with Hangar.

A plugin that crashes, stalls past the render timeout, answers an error, or returns a
malformed or oversized buffer never takes the app down: the screen says what happened, in
place of the plugin's cells, and ``r`` tries again. A ``[[provides.handoff]]`` of the
manifest binds its key on its screen: the terminal goes to its argv in tmux (see
``hangar.tui.handoff``), and the plugin never sees that key.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from textual import events, on
from textual.app import App
from textual.binding import Binding, BindingType
from textual.keys import _character_to_key
from textual.widget import Widget
from textual.widgets import Static

from hangar.plugins import protocol as p
from hangar.plugins.manifest import Handoff
from hangar.plugins.runtime.errors import (
    PluginBadResult,
    PluginError,
    PluginQuarantined,
    PluginTimeout,
)
from hangar.plugins.runtime.results import decode_result, strip_controls
from hangar.proto.jsonrpc import RpcError
from hangar.tui import handoff
from hangar.tui.screens.base import HangarScreen
from hangar.tui.widgets.wirebuffer import WireBufferView

if TYPE_CHECKING:
    from hangar.core.paths import HangarPaths
    from hangar.plugins.runtime.host import PluginHost

__all__ = [
    "FIRST_RENDER_TIMEOUT_S",
    "RENDER_TIMEOUT_S",
    "AppPlugins",
    "BadBuffer",
    "PluginScreen",
    "PluginScreenEntry",
    "app_plugins",
    "checked_buffer",
    "close_app_plugins",
    "describe",
    "key_event",
]

#: how long a plugin may take to paint; past it the screen says the plugin is stuck
RENDER_TIMEOUT_S = 2.0
#: the first paint of a (re)started plugin may fetch its data first (burndown waits up to
#: 5 s for session-reader's first scan)
FIRST_RENDER_TIMEOUT_S = 8.0


@dataclass(frozen=True)
class PluginScreenEntry:
    """One screen a plugin's manifest declares."""

    plugin_id: str
    screen_id: str
    description: str
    handoffs: tuple[Handoff, ...] = ()

    @property
    def title(self) -> str:
        return self.screen_id.replace("-", " ").replace("_", " ").capitalize()


class AppPlugins:
    """The app's one plugin host, made lazily, started on first use, closed at the end."""

    def __init__(self, paths: HangarPaths) -> None:
        from hangar.plugins.runtime.host import PluginHost

        self.host: PluginHost = PluginHost(paths=paths)
        self._started = False
        self._lock = asyncio.Lock()

    def screens(self) -> list[PluginScreenEntry]:
        """Every declared screen, by plugin then in the manifest's order."""
        entries = []
        for spec in sorted(self.host.discovery.plugins.values(), key=lambda s: s.id):
            provides = spec.manifest.provides
            for screen in provides.screens:
                entries.append(
                    PluginScreenEntry(
                        plugin_id=spec.id,
                        screen_id=screen,
                        description=spec.manifest.plugin.description,
                        handoffs=tuple(h for h in provides.handoff if h.screen == screen),
                    )
                )
        return entries

    def problems(self) -> list[str]:
        """Plugin directories discovery skipped, and why."""
        return [f"{d.path}: {d.message}" for d in self.host.discovery.problems]

    async def started(self) -> PluginHost:
        async with self._lock:
            if not self._started:
                # lazy plugins start on first use; a provider starts when its data is asked for
                await self.host.start(eager=False)
                self._started = True
        return self.host

    async def aclose(self) -> None:
        async with self._lock:
            if self._started:
                await self.host.aclose()
                self._started = False


_PLUGINS: weakref.WeakKeyDictionary[App[Any], AppPlugins] = weakref.WeakKeyDictionary()


def app_plugins(app: App[Any], paths: HangarPaths) -> AppPlugins:
    """The app's plugins (made on first call; discovery reads the manifests then)."""
    plugins = _PLUGINS.get(app)
    if plugins is None:
        plugins = _PLUGINS[app] = AppPlugins(paths)
    return plugins


async def close_app_plugins(app: App[Any]) -> None:
    """Stop the app's plugins (the Home screen does this when the app ends)."""
    plugins = _PLUGINS.pop(app, None)
    if plugins is not None:
        await plugins.aclose()


# -- what a plugin paints ---------------------------------------------------------------------


class BadBuffer(Exception):
    """A buffer that decodes but cannot be what was asked for: it is reported, not drawn."""


def checked_buffer(plugin_id: str, result: Any, viewport: p.Viewport) -> p.WireBuffer:
    """The plugin's answer to ``plugin/render`` as a buffer of ``viewport``'s size, clipped
    and stripped of control characters. ``PluginBadResult`` when it does not decode;
    ``BadBuffer`` when it is larger than the viewport or holds more cells than it has."""
    buffer = decode_result(plugin_id, p.RENDER, result, p.RenderResult).buffer
    width, height = viewport.width, viewport.height
    if buffer.width > width or buffer.height > height:
        raise BadBuffer(
            f"plugin {plugin_id} returned a {buffer.width}x{buffer.height} buffer "
            f"for a {width}x{height} view"
        )
    if len(buffer.cells) > width * height:
        raise BadBuffer(
            f"plugin {plugin_id} returned {len(buffer.cells)} cells "
            f"for a {width}x{height} view (at most {width * height})"
        )
    buffer.width, buffer.height = width, height
    return strip_controls(buffer.clipped())


# -- keys -------------------------------------------------------------------------------------

_MODS = {"shift": p.SHIFT, "ctrl": p.CTRL, "alt": p.ALT, "meta": p.ALT, "super": p.SUPER}
_NAMED = {
    "enter": "enter",
    "tab": "tab",
    "escape": "esc",
    "backspace": "backspace",
    "delete": "delete",
    "up": "up",
    "down": "down",
    "left": "left",
    "right": "right",
    "home": "home",
    "end": "end",
    "pageup": "page_up",
    "pagedown": "page_down",
}


def key_event(key: str, character: str | None) -> p.KeyEvent | None:
    """A Textual key ("ctrl+left", "A", "question_mark") as the plugin protocol's
    ``KeyEvent``; None for a key the protocol cannot say."""
    *mod_names, base = key.split("+")
    if any(m not in _MODS for m in mod_names):
        return None
    mods = 0
    for m in mod_names:
        mods |= _MODS[m]
    if base == "tab" and mods & p.SHIFT:
        return p.KeyEvent(p.BackTab(), mods)
    if base in _NAMED:
        return p.key(_NAMED[base], mods)
    if base[:1] == "f" and base[1:].isdigit():
        return p.key(base, mods)
    if character is not None and len(character) == 1 and character.isprintable():
        return p.key(character, mods & ~p.SHIFT)  # the character already says the shift
    if len(base) == 1 and base.isprintable():
        return p.key(base, mods)  # ctrl+a: the character is a control code
    return None


# -- the screen -------------------------------------------------------------------------------


def describe(exc: BaseException) -> str:
    """One line saying what went wrong with a plugin."""
    if isinstance(exc, PluginQuarantined):
        last = f" (last: {exc.reason})" if exc.reason else ""
        return (
            f"plugin {exc.plugin_id} is quarantined after repeated crashes{last}; "
            f"fix it, then run `ainb plugins reload {exc.plugin_id}`"
        )
    if isinstance(exc, PluginError):
        log = f" (its log: {exc.log_path})" if exc.log_path is not None else ""
        return f"{exc}{log}"
    if isinstance(exc, RpcError):
        return f"the plugin refused to paint: {exc.message}"
    return str(exc) or type(exc).__name__


class PluginScreen(HangarScreen, inherit_bindings=False):
    """One plugin screen. Esc goes back to Home; r retries after a failure.

    The screen's usual focus keys (tab, shift+tab) are not inherited: they are the plugin's.
    """

    BINDING_GROUP_TITLE = "Plugin"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Home", id="plugin.back"),
        Binding("r", "retry", "Retry", id="plugin.retry"),
    ]
    DEFAULT_CSS = """
    PluginScreen #plugin-title { height: 1; padding: 0 1; background: $boost; }
    PluginScreen #plugin-problem {
        display: none;
        height: 1fr;
        padding: 1 2;
        color: $error;
    }
    PluginScreen.-problem #plugin-problem { display: block; }
    PluginScreen.-problem WireBufferView { display: none; }
    """

    def __init__(self, entry: PluginScreenEntry, plugins: AppPlugins) -> None:
        super().__init__()
        self.entry = entry
        self.plugins = plugins
        #: what went wrong, shown in place of the plugin's cells (None: it paints)
        self.problem: str | None = None
        self.renders = 0
        self._generation = 0
        self._rendering = False
        self._again = False
        self._painted = False
        self._keys: list[p.KeyEvent] = []
        self._sending = False
        for n, h in enumerate(entry.handoffs):
            key = _character_to_key(h.key)
            what = h.description or " ".join(h.argv)
            binding = Binding(key, f"handoff({n})", what, id="plugin.handoff")
            self._bindings.key_to_bindings.setdefault(key, []).append(binding)

    def body(self) -> Iterable[Widget]:
        e = self.entry
        title = f"{e.title} — plugin {e.plugin_id}"
        return [
            Static(title, id="plugin-title"),
            WireBufferView(id="plugin-view"),
            Static("", id="plugin-problem"),
        ]

    @property
    def view(self) -> WireBufferView:
        return self.query_one(WireBufferView)

    def on_mount(self) -> None:
        super().on_mount()
        self.view.focus()

    # -- painting ------------------------------------------------------------------------------

    @on(WireBufferView.Resized)
    def _resized(self) -> None:
        if self.problem is None:  # after a failure only r asks again
            self.request_render()

    def request_render(self) -> None:
        """Ask for a paint now, or right after the one under way (never two at once)."""
        if self._rendering:
            self._again = True
            return
        self._rendering = True
        self.run_worker(self._render_loop(), group="plugin-render")

    async def _render_loop(self) -> None:
        try:
            while True:
                self._again = False
                await self._render_once()
                if not self._again or self.problem is not None:
                    return
        finally:
            self._rendering = False

    async def _render_once(self) -> None:
        width, height = self.view.size
        if width <= 0 or height <= 0:
            return
        viewport = p.Viewport(width, height)
        self._generation += 1
        timeout = RENDER_TIMEOUT_S if self._painted else FIRST_RENDER_TIMEOUT_S
        plugin_id = self.entry.plugin_id
        asked = False  # a timeout before the render was asked for is a start that hung
        try:
            host = await self.plugins.started()
            await host.ensure_running(plugin_id)
            params = p.RenderParams(viewport, self._generation)
            asked = True
            result = await host.request(plugin_id, p.RENDER, params, timeout)
            buffer = checked_buffer(plugin_id, result, viewport)
        except PluginTimeout as exc:
            stuck = f"plugin {plugin_id} did not paint within {timeout:g} s (it may be stuck)"
            self._fail(stuck if asked else describe(exc))
        except (PluginBadResult, BadBuffer) as exc:
            self._fail(f"{exc}: not drawn")
        except (PluginError, RpcError) as exc:
            self._fail(describe(exc))
        else:
            self.renders += 1
            self._painted = True
            self.view.show(buffer)
            if self.problem is not None:
                self.problem = None
                self.remove_class("-problem")
                self.refresh_bindings()

    def _fail(self, problem: str) -> None:
        self.problem = problem
        self._painted = False
        self._keys.clear()
        self.view.clear()
        self.query_one("#plugin-problem", Static).update(
            f"{problem}\n\nr tries again · esc goes back to Home"
        )
        self.add_class("-problem")
        self.refresh_bindings()

    # -- keys ----------------------------------------------------------------------------------

    async def on_key(self, event: events.Key) -> None:
        bound = self.active_bindings.get(event.key)
        if bound is not None and bound.enabled:
            return  # Hangar's key (esc, r after a failure, a handoff, navigation, ?)
        key = key_event(event.key, event.character)
        if key is None:
            return
        event.stop()
        event.prevent_default()
        if self.problem is not None:
            return  # the plugin is not painting: r first
        self._keys.append(key)
        if not self._sending:
            self._sending = True
            self.run_worker(self._send_keys(), group="plugin-keys")

    async def _send_keys(self) -> None:
        """Keys in the order pressed, then one paint for all of them."""
        try:
            host = await self.plugins.started()
            while self._keys:
                key = self._keys.pop(0)
                await host.handle_key(
                    self.entry.plugin_id, self.entry.screen_id, key, self._generation
                )
        except PluginError as exc:
            self._fail(describe(exc))
            return
        finally:
            self._sending = False
        self.request_render()

    # -- actions -------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "retry":
            return self.problem is not None  # otherwise r is the plugin's
        return True

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_retry(self) -> None:
        if self.problem is None:
            return
        self.problem = None
        self.remove_class("-problem")
        self.refresh_bindings()
        self.call_after_refresh(self.request_render)

    async def action_handoff(self, index: int) -> None:
        h = self.entry.handoffs[index]
        problem = await handoff.tmux_handoff(self.app, h.tmux_session, h.argv)
        if problem is not None:
            self.notify(problem, severity="warning", timeout=10)
        if self.problem is None:
            self.request_render()
