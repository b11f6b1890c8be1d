"""A plugin's answers, taken in: decoded as the type the host asked for (a bad one is the
plugin's fault) and, for cells, stripped of what a terminal would run."""

from __future__ import annotations

from typing import Any, TypeVar

from hangar.plugins import protocol as p
from hangar.plugins.runtime.errors import PluginBadResult

__all__ = ["decode_result", "strip_controls"]

T = TypeVar("T")


def decode_result(plugin_id: str, method: str, value: Any, type: type[T]) -> T:
    """A plugin's answer to ``method`` as ``type``; one that does not decode is the plugin's
    fault (``PluginBadResult``), not invalid params of the host's."""
    try:
        return p.decode_wire(value, type)
    except p.WireError as exc:
        raise PluginBadResult(plugin_id, method, str(exc)) from None


# C0, DEL and C1: an ESC in a cell symbol would reach the terminal as an escape sequence
# (OSC 52 writes the clipboard), so a plugin's cells never carry any of them.
_CONTROLS = dict.fromkeys([*range(0x20), *range(0x7F, 0xA0)])


def strip_controls(buffer: p.WireBuffer) -> p.WireBuffer:
    """``buffer`` with the control characters taken out of its cells (in place)."""
    cells = buffer.cells
    for i, (coord, cell) in enumerate(cells):
        symbol = cell.symbol
        if symbol.isprintable():  # fast path: nothing to strip (it is false for controls)
            continue
        clean = symbol.translate(_CONTROLS)
        if clean != symbol:
            cells[i] = (coord, p.Cell(clean or " ", cell.fg, cell.bg, cell.modifier))
    return buffer
