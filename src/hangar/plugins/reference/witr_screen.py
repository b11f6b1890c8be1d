"""The witr plugin's screen: the last lookup's ancestry, and the key to witr's own TUI.

witr's interactive all-process browser has no JSON form, so the screen does not imitate
it: pressing ``w`` hands the whole terminal to ``witr -i`` (the foreign-TTY handoff the
manifest declares under ``[[provides.handoff]]``; the host runs it).
"""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.text import Text

from hangar.plugins.reference.witr_cli import format_result

__all__ = ["build_witr_screen"]

_HINT = " w: open witr -i (full screen) · ainb witr TARGET on the command line"


def build_witr_screen(last: dict[str, Any] | None, width: int, height: int) -> Group:
    """``last`` is the decoded ``witr.snapshot`` (``target``, ``mode``, ``result``) or None."""
    if width <= 0 or height <= 0:
        return Group()
    lines = [Text(" witr · why is this running? ", style="bold reverse", no_wrap=True)]
    if last is None:
        body = ["", " No lookup yet. Run `ainb witr TARGET`, or press w to browse processes."]
    else:
        body = ["", f" {last.get('mode', 'name')}: {last.get('target', '?')}", ""]
        body += [" " + line for line in format_result(last.get("result")).splitlines()]
    lines += [Text(line, no_wrap=True, overflow="crop") for line in body]
    lines = lines[: max(height - 1, 1)]
    if height > 1:
        lines += [Text("")] * (height - 1 - len(lines))
        lines.append(Text(_HINT, style="dim", no_wrap=True, overflow="crop"))
    for line in lines:
        line.truncate(width)
    return Group(*lines)
