"""What a comment's body may be: markdown, not blank, at most 64 KiB of UTF-8.

The limit keeps a thread readable and a page of comments well inside one socket frame; a
longer text belongs in a file in the repository, pointed to from the comment.
"""

from __future__ import annotations

from typing import Final

__all__ = ["COMMENT_MAX_BYTES", "CommentTooLarge", "check_body", "fit_body"]

COMMENT_MAX_BYTES: Final = 64 * 1024
_CLIPPED = "…"


class CommentTooLarge(ValueError):
    def __init__(self, size: int) -> None:
        self.size = size
        super().__init__(
            f"comment is {_human(size)} ({size:,} bytes); the limit is "
            f"{COMMENT_MAX_BYTES // 1024} KiB ({COMMENT_MAX_BYTES:,} bytes): put long "
            "material in a file in the repository and point to it"
        )


def _human(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MiB"
    return f"{size / 1024:.1f} KiB"


def _trim(body: str) -> str:
    """Blank lines and spaces around the text go; an indented first line keeps its indent."""
    lines = body.rstrip().split("\n")
    while lines and not lines[0].strip():
        lines.pop(0)
    return "\n".join(lines)


def check_body(body: str) -> str:
    """The body as stored, or ValueError saying what is wrong with it."""
    if not isinstance(body, str):
        raise ValueError(f"comment body must be a string, got {type(body).__name__}")
    size = len(body.encode("utf-8", "surrogatepass"))
    if size > COMMENT_MAX_BYTES:  # before any other work on a 10 MB text
        raise CommentTooLarge(size)
    trimmed = _trim(body)
    if not trimmed:
        raise ValueError("comment must not be empty")
    if "\x00" in trimmed:
        raise ValueError("comment contains a NUL byte")
    return trimmed


def fit_body(text: str) -> str | None:
    """A text someone else wrote (an agent's result) as a comment body: trimmed, NULs
    replaced, and past the limit its end kept (the end of a run says how it went). None
    when nothing is left."""
    trimmed = _trim(text.replace("\x00", "\ufffd"))
    if not trimmed:
        return None
    data = trimmed.encode("utf-8", "replace")
    if len(data) <= COMMENT_MAX_BYTES:
        return trimmed
    room = COMMENT_MAX_BYTES - len(_CLIPPED.encode())
    tail = data[-room:].decode("utf-8", "ignore")  # a cut character is dropped, not mangled
    return _CLIPPED + tail
