"""What every Hangar screen shares: the header, the daemon banner, the key footer, the
"make me bigger" notice, and the two hooks the app drives — a fresh snapshot and an event."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, ClassVar, cast

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Footer, Header, Static

from hangar.tui.widgets.banner import LinkBanner

if TYPE_CHECKING:
    from hangar.proto.events import AnyEvent
    from hangar.tui.host import Host

__all__ = ["MIN_HEIGHT", "MIN_WIDTH", "HangarScreen"]

MIN_WIDTH, MIN_HEIGHT = 80, 24


class HangarScreen(Screen[None]):
    """Subclasses give ``body()``, and override ``refresh_snapshot``/``daemon_event``."""

    #: the binding group title shown by ``?`` and the footer
    BINDING_GROUP_TITLE: str | None = None
    #: how long :meth:`settle` waits after an event, so a burst of events costs one snapshot
    SETTLE_S: ClassVar[float] = 0.5
    _settle_timer: Timer | None = None

    DEFAULT_CSS = """
    HangarScreen #body { height: 1fr; }
    HangarScreen #too-small {
        display: none;
        height: 1fr;
        content-align: center middle;
        text-style: bold;
    }
    HangarScreen.-too-small #body { display: none; }
    HangarScreen.-too-small #too-small { display: block; }
    """

    @property
    def hangar(self) -> Host:
        return cast("Host", self.app)  # HangarApp, the only app these screens are mounted in

    def compose(self) -> ComposeResult:
        yield Header()
        yield LinkBanner()
        with Vertical(id="body"):
            yield from self.body()
        yield Static(
            f"make me bigger: Hangar needs at least {MIN_WIDTH}x{MIN_HEIGHT}", id="too-small"
        )
        yield Footer()

    def body(self) -> Iterable[Widget]:
        return ()

    def settle(self) -> None:
        """One snapshot a moment after a burst of events, however many came."""
        if self._settle_timer is None:

            def fire() -> None:
                self._settle_timer = None
                self.settled()

            self._settle_timer = self.set_timer(self.SETTLE_S, fire)

    def settled(self) -> None:
        """What :meth:`settle` ends with: a fresh snapshot, one at a time."""
        self.run_worker(self.pull_snapshot(), group="snapshot", exclusive=True)

    @property
    def gone(self) -> bool:
        """Taken down (the app quitting, the screen removed): nothing left to draw on."""
        return not self.is_attached or self._closing or self._closed or self._pruning

    async def pull_snapshot(self) -> None:
        """:meth:`refresh_snapshot` for a worker. A screen taken down while the daemon's
        answer was on its way has nowhere to draw it, and that is not an error (quitting
        mid-snapshot must not end in a traceback)."""
        try:
            await self.refresh_snapshot()
        except NoMatches:
            if not self.gone:
                raise

    def on_mount(self) -> None:
        self.hangar.screen_mounted(self)
        self._fit(self.app.size.width, self.app.size.height)

    def on_unmount(self) -> None:
        self.hangar.screen_unmounted(self)

    def on_resize(self) -> None:
        self._fit(self.app.size.width, self.app.size.height)

    def _fit(self, width: int, height: int) -> None:
        small = width < MIN_WIDTH or height < MIN_HEIGHT
        self.set_class(small, "-too-small")
        if small:
            self.query_one("#too-small", Static).update(
                f"make me bigger: Hangar needs at least {MIN_WIDTH}x{MIN_HEIGHT} "
                f"(this is {width}x{height})"
            )

    # -- what the app drives ----------------------------------------------------------------

    def link_changed(self, up: bool, reason: str) -> None:
        banner = self.query_one(LinkBanner)
        if up:
            banner.show_up()
        else:
            banner.show_down(reason)

    async def refresh_snapshot(self) -> None:
        """Pull this screen's data from the daemon (after connecting, and when stale)."""

    def daemon_event(self, event: AnyEvent) -> None:
        """Fold one event in; the next snapshot is the authority."""
