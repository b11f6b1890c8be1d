"""The app under measurement for bench/tui.py: the real HangarApp, headless, reporting on
stdout (one JSON line each) when the Issues table first holds rows, and when the top row
then reads "done". Exits when stdin closes."""

from __future__ import annotations

import json
import sys
import threading
import time

from hangar.tui.app import HangarApp
from hangar.tui.widgets.keyed_table import KeyedTable


class Probe(HangarApp):
    def on_mount(self) -> None:
        super().on_mount()
        self._top: str | None = None
        self.set_interval(0.001, self._check)
        threading.Thread(target=self._exit_on_eof, daemon=True).start()

    def _exit_on_eof(self) -> None:
        sys.stdin.read()
        self.call_from_thread(self.exit)

    def _check(self) -> None:
        tables = self.screen.query(KeyedTable)
        if not tables:
            return
        table = tables.first()
        if self._top is None:
            if table.row_count:
                self._top = table.current_key or table.coordinate_to_cell_key((0, 0)).row_key.value
                self.call_after_refresh(self._report, {"top_issue": self._top})
        elif self._top != "reported-done":
            state = str(table.get_cell(self._top, "STATE"))
            if state == "done":
                self._top = "reported-done"
                self.call_after_refresh(self._report, {})

    def _report(self, fields: dict[str, object]) -> None:
        print(json.dumps({"at": time.monotonic(), **fields}), flush=True)


if __name__ == "__main__":
    Probe(start="issues", autostart=False).run(headless=True, size=(120, 40))
