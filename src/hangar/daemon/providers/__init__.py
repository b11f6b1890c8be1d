"""Agent-provider adapters: argv building and transcript parsing, no process spawning."""

from hangar.daemon.providers.base import (
    AgentConfig,
    LaunchSpec,
    Message,
    MessageKind,
    Outcome,
    Provider,
    TranscriptParser,
    Usage,
)
from hangar.daemon.providers.registry import PROVIDER_NAMES, get_provider

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
