"""What a screen may ask of the app it is mounted in. Screens see this, never the app class,
so the app can import its screens without the screens importing it back."""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import msgspec

if TYPE_CHECKING:
    from hangar.core.paths import HangarPaths
    from hangar.proto.calls import Call
    from hangar.proto.rows import WorkspaceRow
    from hangar.tui.link import DaemonLink

__all__ = ["Host"]

P = TypeVar("P", bound=msgspec.Struct)
R = TypeVar("R", bound=msgspec.Struct)


class Host(Protocol):
    paths: HangarPaths
    link: DaemonLink
    current_task_id: str | None
    sent: deque[str]

    async def rpc(self, call: Call[P, R], params: P) -> R | None: ...

    async def request(self, call: Call[P, R], params: P) -> R: ...

    async def switch_workspace(self, workspace: str) -> WorkspaceRow: ...

    def open_task(self, task_id: str) -> None: ...

    def action_go(self, mode: str) -> None: ...

    # the screen is a HangarScreen: typed loosely so this module needs no screen
    def screen_mounted(self, screen: Any) -> None: ...

    def screen_unmounted(self, screen: Any) -> None: ...
