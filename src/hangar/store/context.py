"""What every repository function needs besides its connection: the injected clock and ids."""

from __future__ import annotations

from dataclasses import dataclass

from hangar.core.clock import Clock
from hangar.core.ids import IdGen


@dataclass(frozen=True)
class StoreContext:
    clock: Clock
    ids: IdGen

    def now(self) -> int:
        return self.clock.now_ms()

    def new_id(self, now_ms: int) -> str:
        return self.ids.new_id(now_ms)
