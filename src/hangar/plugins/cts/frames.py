"""Is a render answer a well-formed ``WireBuffer`` for its viewport? (axis 2)

The sparse format lets a plugin leave default cells out, so "all cells intact" means every
position of the grid is accounted for exactly once: painted at most once, or left default;
nothing outside the grid (the host would clip it silently), nothing malformed.
"""

from __future__ import annotations

import unicodedata
from typing import Any, Final

from hangar.plugins import protocol as p
from hangar.plugins.protocol import Viewport, WireBuffer

__all__ = ["buffer_problems", "decode_buffer"]

_MAX_MODIFIER: Final = 511  # every modifier bit set (docs/plugins.md#shapes)
_MAX_SYMBOL: Final = 16  # a grapheme cluster, generously; never a whole line


def decode_buffer(raw: Any) -> WireBuffer:
    """The ``buffer`` of a render answer; ``ValueError`` when it is not one."""
    return p.decode_wire(raw, p.RenderResult).buffer  # WireError is a ValueError


def buffer_problems(buf: WireBuffer, viewport: Viewport) -> list[str]:
    """Why ``buf`` is not an intact frame for ``viewport`` (empty when it is)."""
    problems: list[str] = []
    if (buf.width, buf.height) != (viewport.width, viewport.height):
        problems.append(
            f"declared {buf.width}x{buf.height} for a {viewport.width}x{viewport.height} viewport"
        )
    seen: set[tuple[int, int]] = set()
    for coord, cell in buf.cells:
        where = f"cell ({coord.x},{coord.y})"
        if not (0 <= coord.x < viewport.width and 0 <= coord.y < viewport.height):
            problems.append(f"{where} is outside the viewport")
        elif (coord.x, coord.y) in seen:
            problems.append(f"{where} is painted twice")
        seen.add((coord.x, coord.y))
        problem = _cell_problem(cell)
        if problem:
            problems.append(f"{where}: {problem}")
        if len(problems) >= 3:  # enough to say what is wrong
            break
    return problems


def _cell_problem(cell: p.Cell) -> str | None:
    symbol = cell.symbol
    if not symbol or len(symbol) > _MAX_SYMBOL:
        return f"symbol {symbol!r} is not one grapheme"
    if any(unicodedata.category(ch) == "Cc" for ch in symbol):
        return f"symbol {symbol!r} holds a control character"
    for name, color in (("fg", cell.fg), ("bg", cell.bg)):
        if color is not None and not all(0 <= v <= 255 for v in (color.r, color.g, color.b)):
            return f"{name} {color} is not an RGB colour"
    if not 0 <= cell.modifier <= _MAX_MODIFIER:
        return f"modifier {cell.modifier} has bits outside ratatui's"
    return None
