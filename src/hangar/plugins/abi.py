"""The plugin ABI version, alone: discovery reads manifests without the wire types."""

from __future__ import annotations

from typing import Final

ABI_VERSION: Final = 2
