"""Provider name → adapter. Unknown names fail closed: never a silent fall back to Claude."""

from __future__ import annotations

from hangar.daemon.providers.base import Provider
from hangar.daemon.providers.claude import ClaudeProvider
from hangar.daemon.providers.codex import CodexProvider
from hangar.daemon.providers.command import CommandProvider
from hangar.daemon.providers.gemini import GeminiProvider

PROVIDER_NAMES = ("claude", "codex", "gemini", "command")

#: adapters are stateless (a run gets its own parser), so one of each serves every run
_PROVIDERS: dict[str, Provider] = {
    "claude": ClaudeProvider(),
    "codex": CodexProvider(),
    "gemini": GeminiProvider(),
    "command": CommandProvider(),
}


def get_provider(name: str) -> Provider:
    """The adapter for ``name``; :class:`ValueError` for an unknown one."""
    provider = _PROVIDERS.get(name) if isinstance(name, str) else None
    if provider is None:
        known = ", ".join(PROVIDER_NAMES)
        raise ValueError(f"unknown agent provider {name!r} (known: {known})")
    return provider
