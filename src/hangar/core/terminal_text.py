"""What may be typed into an agent's terminal: text, never keystrokes in disguise."""

from __future__ import annotations

#: the only control characters a send may carry: newlines end lines, tabs indent
_ALLOWED_CONTROLS = frozenset("\n\t")


def check_send_text(text: str) -> str:
    """``text`` if it holds no ASCII control character but newline and tab, else ValueError.

    An ESC would cancel Claude's menus, a Ctrl-C would interrupt the agent, a CR would
    submit half a prompt: none of them is text, so none may ride along with it."""
    for index, ch in enumerate(text):
        code = ord(ch)
        if (code < 0x20 or code == 0x7F) and ch not in _ALLOWED_CONTROLS:
            raise ValueError(
                f"text contains control character {ch!r} at offset {index}; "
                "only newlines and tabs are allowed"
            )
    return text
