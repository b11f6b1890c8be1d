"""Notifications, pure: the event kinds, what a channel may be, the signature of a body,
and the retry schedule (docs/notifications.md).

Nothing here does IO. What a message says and the payload are ``core/notices.py``; the
coalescing window is ``core/coalesce.py``.
"""

from __future__ import annotations

import hashlib
import hmac
import shlex
import unicodedata
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit, urlunsplit

from hangar.core.vocab import MAX_NOTIFY_COMMAND, MAX_NOTIFY_URL

__all__ = [
    "AUTOPILOT_PAUSED",
    "CHANNEL_KINDS",
    "DEFAULT_EVENTS",
    "DEPENDENCY_STRANDED",
    "EVENT_KINDS",
    "MAX_ARGV_TEXT",
    "MAX_URL",
    "SESSION_EXITED",
    "SESSION_WAITING",
    "SIGNATURE_HEADER",
    "TASK_DONE",
    "TASK_FAILED",
    "TEST",
    "Channel",
    "NotifyError",
    "RetryPolicy",
    "check_webhook_url",
    "parse_command",
    "parse_events",
    "public_url",
    "sign",
    "verify",
]

#: every event a channel may ask for, by its stable name
TASK_FAILED: Final = "task.failed"
TASK_DONE: Final = "task.done"
SESSION_WAITING: Final = "session.waiting"
SESSION_EXITED: Final = "session.exited"
DEPENDENCY_STRANDED: Final = "dependency.stranded"
AUTOPILOT_PAUSED: Final = "autopilot.paused"
#: the kind a ``notify test`` sends (never subscribed to, always delivered)
TEST: Final = "test"
EVENT_KINDS: Final = (
    TASK_FAILED,
    TASK_DONE,
    SESSION_WAITING,
    SESSION_EXITED,
    DEPENDENCY_STRANDED,
    AUTOPILOT_PAUSED,
)
#: a channel added without ``--events``: everything that needs a person (a task that
#: succeeded is news, not a call to act: ask for ``task.done`` by name)
DEFAULT_EVENTS: Final = tuple(k for k in EVENT_KINDS if k != TASK_DONE)
CHANNEL_KINDS: Final = ("desktop", "webhook", "command")
SIGNATURE_HEADER: Final = "X-Hangar-Signature"
MAX_URL: Final = MAX_NOTIFY_URL
MAX_ARGV_TEXT: Final = MAX_NOTIFY_COMMAND


class NotifyError(ValueError):
    """A channel or an event list the user gave is not valid; the message says why."""


def parse_events(text: str | None) -> tuple[str, ...]:
    """``task.failed,session.waiting`` → the kinds, in vocabulary order; ``None`` or empty:
    the defaults; ``all``: every kind. An unknown name is refused, naming the valid ones."""
    if text is None or not text.strip():
        return DEFAULT_EVENTS
    names = [n.strip() for n in text.split(",") if n.strip()]
    if names == ["all"]:
        return EVENT_KINDS
    unknown = [n for n in names if n not in EVENT_KINDS]
    if unknown:
        raise NotifyError(
            f"unknown event {', '.join(repr(n) for n in unknown)}; the events are: "
            f"{', '.join(EVENT_KINDS)} (or all)"
        )
    return tuple(k for k in EVENT_KINDS if k in names)


def _no_controls(text: str, what: str) -> None:
    for ch in text:
        if unicodedata.category(ch) == "Cc":
            raise NotifyError(f"{what} must not hold control characters: {ch!r}")


def check_webhook_url(url: str) -> str:
    """The URL, refused unless it is http(s) with a host and no whitespace."""
    url = url.strip()
    if not url:
        raise NotifyError("a webhook needs a URL (http:// or https://)")
    if len(url) > MAX_URL:
        raise NotifyError(f"a webhook URL may be at most {MAX_URL} characters")
    _no_controls(url, "a webhook URL")
    if any(ch.isspace() for ch in url):
        raise NotifyError("a webhook URL must not hold spaces")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - a port that is not a number raises here
    except ValueError as exc:
        raise NotifyError(f"not a valid URL: {exc}") from None
    if parts.scheme not in ("http", "https"):
        shown = parts.scheme or "none"
        raise NotifyError(f"a webhook URL must be http:// or https:// (scheme {shown})")
    if not parts.hostname:
        raise NotifyError(f"a webhook URL needs a host: {public_url(url)}")
    return url


def public_url(url: str) -> str:
    """The URL as shown to people: no user or password, no query (either may hold a key)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "<invalid URL>"
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{port}" if port is not None else host
    query = "…" if parts.query else ""
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def parse_command(text: str) -> list[str]:
    """``"curl -d @- https://ntfy.sh/x"`` → its argv (shell-like quoting; no shell runs it)."""
    if len(text) > MAX_ARGV_TEXT:
        raise NotifyError(f"a command may be at most {MAX_ARGV_TEXT} characters")
    _no_controls(text.replace("\t", " ").replace("\n", " "), "a command")
    try:
        argv = shlex.split(text)
    except ValueError as exc:
        raise NotifyError(f"cannot read the command: {exc}") from None
    if not argv or not argv[0]:
        raise NotifyError("the command is empty: give the program to run and its arguments")
    return argv


@dataclass(frozen=True)
class Channel:
    """A channel as the daemon holds it: ``target`` is the webhook's URL (desktop and
    command: empty), ``argv`` the command's; ``secret_ref`` names the webhook's secret in
    the secret store."""

    id: str
    kind: str
    events: tuple[str, ...]
    created_at: int
    target: str = ""
    argv: tuple[str, ...] = ()
    secret_ref: str | None = None

    def shown(self) -> str:
        """What it reaches, safe to show: never credentials, a query or a secret."""
        if self.kind == "webhook":
            return public_url(self.target)
        if self.kind == "command":
            return shlex.join(self.argv)
        return ""

    def wants(self, kind: str) -> bool:
        return kind == TEST or kind in self.events


def sign(secret: str, body: bytes) -> str:
    """``sha256=<hex>``: HMAC-SHA256 of the exact body bytes under the channel's secret."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, header: str) -> bool:
    """What a receiver does: recompute and compare in constant time."""
    return hmac.compare_digest(sign(secret, body), header)


@dataclass(frozen=True)
class RetryPolicy:
    """``attempts`` tries in all; before try n+1 wait ``first_s * factor**(n-1)`` seconds.
    Network errors, 5xx and 429 are tried again; any other answer is final."""

    attempts: int = 4
    first_s: float = 1.0
    factor: float = 2.0

    def delays(self) -> list[float]:
        """The waits between attempts (``attempts - 1`` of them)."""
        return [self.first_s * self.factor**n for n in range(max(0, self.attempts - 1))]

    @staticmethod
    def retryable(status: int | None) -> bool:
        """``None``: the request never got an answer (refused, reset, timed out)."""
        return status is None or status >= 500 or status == 429
