"""Agent-provider adapters: argv building and transcript parsing, no process spawning."""

from hangar.daemon.providers.base import (
    PROVIDER_NAMES,
    AgentConfig,
    LaunchSpec,
    Message,
    MessageKind,
    Outcome,
    Provider,
    TranscriptParser,
    Usage,
    get_provider,
)

__all__ = [
    "PROVIDER_NAMES",
    "AgentConfig",
    "LaunchSpec",
    "Message",
    "MessageKind",
    "Outcome",
    "Provider",
    "TranscriptParser",
    "Usage",
    "get_provider",
]
