"""What one axis reports: the shape ``ainb plugins check`` prints, one line per axis."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["AxisFailure", "AxisResult"]


@dataclass(frozen=True)
class AxisResult:
    axis: int
    name: str
    ok: bool
    detail: str
    """One line: what was checked on success, what went wrong on failure."""


class AxisFailure(Exception):
    """Raised by an axis to fail with a one-line detail."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail
