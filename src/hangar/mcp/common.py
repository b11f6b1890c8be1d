"""What every tool module shares: how an answer is sent and how zero-valued inputs read.

Schema notes (docs/sessions.md#mcp-server): every default is declared, so a client that fills
in zero values cannot turn an option off by accident; word choices are plain strings checked
by the tool, not enums, because enum schemas broke Claude Code's parser; optional inputs are a
bare type with ``default: null`` rather than an ``anyOf`` with null.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

import msgspec
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult, TextContent
from pydantic.json_schema import SkipJsonSchema

__all__ = ["OptInt", "OptList", "OptStr", "blank", "ok", "or_default", "word"]

OptStr = str | SkipJsonSchema[None]
OptInt = int | SkipJsonSchema[None]
OptList = list[str] | SkipJsonSchema[None]
W = TypeVar("W", bound=str)


def ok(value: Any) -> CallToolResult:
    """One text block of JSON, as originally returned; objects also as structured content.
    Result structs are sent as the daemon sent them: keys in wire order."""
    value = msgspec.to_builtins(value)
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    structured = value if isinstance(value, dict) else None
    return CallToolResult(
        content=[TextContent(type="text", text=text)], structured_content=structured
    )


def blank(value: str | None) -> str | None:
    """Clients that send zero values send ``""`` for an optional string they meant to omit."""
    return value if value else None


def or_default(name: str, value: int, default: int) -> int:
    """0 is a client's zero value for "not given"; a negative number is a mistake."""
    if value < 0:
        raise ToolError(f"invalid_params: {name} must be 0 (the default) or more, got {value}")
    return value or default


def word(name: str, value: str | None, words: tuple[W, ...], default: W) -> W:
    """One of a few words, checked here so the model reads what they are ("" is the default)."""
    asked = (value or "").strip().lower()
    if not asked:
        return default
    found = next((w for w in words if w == asked), None)
    if found is None:
        choices = ", ".join(f'"{w}"' for w in words)
        raise ToolError(f"invalid_params: {name} must be one of {choices}, got {value!r}")
    return found
