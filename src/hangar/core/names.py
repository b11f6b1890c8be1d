"""Validators for user-chosen names and fields; each error says what is allowed."""

from __future__ import annotations

import re
import unicodedata

_SLUG = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?")
_AGENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
RESERVED_SESSION_NAMES = frozenset({"new", "list", "delete"})
TITLE_MAX = 500


def _require_str(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{what} must be a string, got {type(value).__name__}")
    return value


def _slug_rule(s: str, what: str) -> str:
    if _SLUG.fullmatch(_require_str(s, what)) is None:
        raise ValueError(
            f"invalid {what} {s!r}: use 1-40 lowercase letters, digits or hyphens, "
            "starting and ending with a letter or digit"
        )
    return s


def validate_slug(s: str) -> str:
    """Workspace slug: 1-40 of a-z, 0-9 and '-', starting and ending with a letter or digit."""
    return _slug_rule(s, "slug")


def validate_agent_name(s: str) -> str:
    if _AGENT.fullmatch(_require_str(s, "agent name")) is None:
        raise ValueError(
            f"invalid agent name {s!r}: use 1-64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return s


def validate_session_name(s: str) -> str:
    """Slug rule, minus the names the session CLI uses as verbs (docs/sessions.md#create)."""
    _slug_rule(s, "session name")
    if s in RESERVED_SESSION_NAMES:
        reserved = ", ".join(sorted(RESERVED_SESSION_NAMES))
        raise ValueError(f"session name {s!r} is reserved ({reserved})")
    return s


def validate_title(s: str) -> str:
    """Returns the title stripped of surrounding whitespace."""
    title = _require_str(s, "title").strip()
    if not title:
        raise ValueError("title must not be empty")
    if len(title) > TITLE_MAX:
        raise ValueError(f"title is {len(title)} characters; the limit is {TITLE_MAX}")
    for ch in title:
        if ch != "\t" and unicodedata.category(ch) == "Cc":
            raise ValueError(
                f"title contains control character {ch!r}; only tabs are allowed (one line)"
            )
    return title
