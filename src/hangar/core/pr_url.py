"""PR-URL capture from an agent's decoded output: the whole-line rule (docs/agents.md#pr-url).

A line counts only if, once trimmed, it is nothing but a GitHub pull-request URL. That
rejects ``/issues/N``, ``/pull/N/files`` and URLs quoted mid-sentence.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_PR_LINE = re.compile(r"https://github\.com/[A-Za-z0-9._-]+/[A-Za-z0-9._-]+/pull/[0-9]+")


def is_pr_url(line: str) -> bool:
    return _PR_LINE.fullmatch(line.strip()) is not None


def find_pr_url(text: str) -> str | None:
    """The last whole-line PR URL in ``text``, trimmed, or None."""
    return find_pr_url_in(text.splitlines())


def find_pr_url_in(texts: Iterable[str]) -> str | None:
    """Across several decoded texts in order (tool results, then the final result)."""
    found = None
    for text in texts:
        for line in text.splitlines():
            stripped = line.strip()
            if _PR_LINE.fullmatch(stripped):
                found = stripped
    return found
