"""The child-process environment: deny by default, an allowlist in, a hard deny family out.

contract.md §11. Everything here is pure: callers pass the parent env as a mapping.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

DEFAULT_ALLOW: tuple[str, ...] = (
    "HOME",
    "PATH",
    "TERM",
    "LANG",
    "USER",
    "SHELL",
    "LC_*",
    "COLUMNS",
    "LINES",
    "CLAUDE_*",
    "CODEX_HOME",
    "ANTHROPIC_BASE_URL",
)

#: Variables that make a child load foreign code; exact names, never allowed from any layer
#: except the daemon's own stamps.
DENY_FAMILY: tuple[str, ...] = (
    "LD_PRELOAD",
    "DYLD_INSERT_LIBRARIES",
    "DYLD_LIBRARY_PATH",
    "PYTHONPATH",
    "NODE_OPTIONS",
    "BASH_ENV",
    "ENV",
    "GOPRIVATE",
    "RUBYOPT",
    "PERL5OPT",
    "JAVA_TOOL_OPTIONS",
)
_DENIED = frozenset(DENY_FAMILY)

_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\*?")


def pattern_matches(pattern: str, key: str) -> bool:
    """A trailing ``*`` is a prefix glob; anything else is an exact, case-sensitive match."""
    if pattern.endswith("*"):
        return key.startswith(pattern[:-1])
    return key == pattern


def is_denied(key: str) -> bool:
    return key in _DENIED


@dataclass(frozen=True)
class EnvPolicy:
    allow: tuple[str, ...] = DEFAULT_ALLOW

    def allows(self, key: str) -> bool:
        """Whether an ambient variable passes: allowlisted and not in the deny family."""
        if is_denied(key):
            return False
        return any(pattern_matches(p, key) for p in self.allow)

    @classmethod
    def from_keys(cls, keys: Iterable[str]) -> EnvPolicy:
        """A policy from user config: every entry validated, duplicates dropped, order kept."""
        return cls(tuple(dict.fromkeys(validate_allow_key(k) for k in keys)))

    def listing(self) -> list[str]:
        """What ``config env.allow list`` prints: allow entries, then the locked deny family."""
        return [*self.allow, *(f"{k} [deny-locked]" for k in DENY_FAMILY)]


def validate_allow_key(key: str) -> str:
    """Check a new allowlist entry (``config env.allow add``); returns it unchanged."""
    if not isinstance(key, str) or not key:
        raise ValueError("allowlist entry must be a non-empty variable name")
    if is_denied(key):
        raise ValueError(f"{key} is in the deny family and can never be allowed")
    if _PATTERN.fullmatch(key) is None:
        raise ValueError(
            f"invalid allowlist entry {key!r}: use a variable name (letters, digits, '_', "
            "not starting with a digit), optionally ending in '*' as a prefix glob"
        )
    return key


def _strip_denied(env: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if not is_denied(k)}


def apply_policy(
    policy: EnvPolicy,
    parent_env: Mapping[str, str],
    *,
    daemon_vars: Mapping[str, str] | None = None,
    secrets: Mapping[str, str] | None = None,
    agent_env: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Build a child env from an empty one, layer by layer.

    Order: allowlisted ambient → daemon stamps → keychain secrets → per-agent env. The daemon's
    stamps (``CLAUDE_HOME`` and friends) are trusted and cannot be overridden by later layers;
    the deny family is stripped from every untrusted layer.
    """
    stamps = dict(daemon_vars or {})
    env = {k: v for k, v in parent_env.items() if policy.allows(k)}
    env.update(stamps)
    for layer in (secrets or {}, agent_env or {}):
        env.update({k: v for k, v in _strip_denied(layer).items() if k not in stamps})
    return env
