"""What each method needs: the one table of scopes (docs/wire-protocol.md#scopes).

A connection carries the scope of the token it said hello with: the socket token (the
daemon's own file) is ``admin``; a personal token (``ainb_…``) has the scope it was made
with. ``read`` sees (lists, shows, reads, subscribes, health); ``write`` also files and
changes work; ``admin`` also manages tokens, secrets, config and the daemon itself. Each
scope includes the ones before it.

Every method of ``proto.calls`` must be in ``REQUIRED`` (a test fails the build otherwise),
and the daemon checks it in one place, before a call's params are even decoded. A method
missing here needs ``admin``: a new method is never open by accident.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final, Literal

from hangar.proto import methods as m

__all__ = ["ADMIN", "READ", "REQUIRED", "SCOPES", "WRITE", "Scope", "allows", "refusal", "required"]

Scope = Literal["read", "write", "admin"]
READ: Final[Scope] = "read"
WRITE: Final[Scope] = "write"
ADMIN: Final[Scope] = "admin"
#: weakest first: a scope allows what every scope before it allows
SCOPES: Final[tuple[Scope, ...]] = (READ, WRITE, ADMIN)

_READ = (
    m.AUTH_HELLO,  # the handshake itself: any valid token may say hello
    m.PING,
    m.WORKSPACE_LIST,
    m.WORKSPACE_SUBSCRIBE,
    m.HEALTH,
    m.DAEMON_HEALTH,
    m.ISSUES_LIST,
    m.ISSUE_GET,
    m.AGENTS_LIST,
    m.AGENT_GET,
    m.TASKS_LIST,
    m.TASK_GET,
    m.TASK_MESSAGES,
    m.SESSION_LIST,
    m.SESSION_GET,
    m.SESSION_READ,
    m.SESSION_IDLE,
    m.SESSION_WAIT_IDLE,
    m.SESSION_ATTACH_HINT,
    m.AUTOPILOTS_LIST,
    m.AUTOPILOT_GET,
    m.AUTOPILOT_RUNS,
    m.CRON_PREVIEW,
    m.SKILLS_LIST,
    m.SKILL_GET,
    m.TEMPLATES_LIST,
    m.TEMPLATE_GET,
    m.COMMENTS_LIST,
    m.NOTIFY_LIST,
)

_WRITE = (
    m.WORKSPACE_CREATE,
    m.WORKSPACE_USE,
    m.WORKSPACE_RENAME,
    m.ISSUE_CREATE,
    m.ISSUE_UPDATE,
    m.ISSUE_BLOCK,
    m.ISSUE_UNBLOCK,
    m.AGENT_CREATE,
    m.TASK_TRANSITION,
    m.TASK_CANCEL,
    m.TASK_RETRY,
    m.TASK_CLEAN,
    m.SESSION_CREATE,
    m.SESSION_SEND,
    m.SESSION_ARCHIVE,
    m.SESSION_DELETE,
    m.SESSION_RESUME,
    m.AUTOPILOT_CREATE,
    m.AUTOPILOT_UPDATE,
    m.AUTOPILOT_DELETE,
    m.AUTOPILOT_RUN,
    m.SKILLS_SYNC,
    m.SKILL_ATTACH,
    m.SKILL_DETACH,
    m.SKILL_REMOVE,
    m.TEMPLATE_USE,
    m.COMMENT_ADD,
    m.BEADS_RECONCILE,  # writes issues (and bd), like filing work
)

_ADMIN = (
    m.DAEMON_SHUTDOWN,
    m.TOKEN_CREATE,
    m.TOKENS_LIST,
    m.TOKEN_REVOKE,
    # secrets and settings: values that reach every agent (docs/agents.md#secrets)
    m.SECRETS_LIST,
    m.SECRET_SET,
    m.SECRET_DELETE,
    m.ENV_ALLOW_LIST,
    m.ENV_ALLOW_ADD,
    m.ENV_ALLOW_REMOVE,
    m.CONFIG_SHOW,
    m.CONFIG_SET,
    # notification channels: they reach outside the machine, and hold a webhook's secret
    m.NOTIFY_ADD,
    m.NOTIFY_REMOVE,
    m.NOTIFY_TEST,
)


def _table() -> Mapping[str, Scope]:
    table: dict[str, Scope] = {}
    for scope, names in ((READ, _READ), (WRITE, _WRITE), (ADMIN, _ADMIN)):
        for name in names:
            if name in table:
                raise ValueError(f"{name} is given two scopes")
            table[name] = scope
    return MappingProxyType(table)


#: method → the weakest scope that may call it
REQUIRED: Final[Mapping[str, Scope]] = _table()


def required(method: str) -> Scope:
    """The scope ``method`` needs; ``admin`` for a method the table does not know."""
    return REQUIRED.get(method, ADMIN)


def allows(held: str, needed: str) -> bool:
    """Whether a connection holding ``held`` may call a method that needs ``needed``. An
    unknown scope allows nothing."""
    if held not in SCOPES or needed not in SCOPES:
        return False
    return SCOPES.index(held) >= SCOPES.index(needed)


def refusal(held: str, method: str) -> str:
    """The message of a refused call: what the token has, what the method needs."""
    return f"this token's scope is {held}; {method} needs {required(method)}"
