"""Small TOML settings files under the data home, changed one key at a time.

``edit`` rewrites only the keys it is given: every other key, table and comment stays as the
user wrote it (when the file's layout allows; otherwise the whole document is re-encoded,
still keeping every other value). The write is atomic (a temporary sibling renamed over the
file, mode 0600, ``files.write_private``), and concurrent editors of one file take turns
(an ``flock`` on a sibling lock file), so neither loses the other's key.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import tomli_w

from hangar.adapters.files import write_private

__all__ = ["TomlFileError", "edit", "edit_text", "locked", "read"]

_HEADER = re.compile(r"^\s*\[")
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


class TomlFileError(ValueError):
    """The file cannot be read as TOML (the message names the file and the position)."""


def read(path: Path) -> dict[str, Any]:
    """The document, or ``{}`` when the file does not exist."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise TomlFileError(f"{path}: {exc}") from None
    return _parse(text, path)


def edit(path: Path, section: str, updates: Mapping[str, Any | None]) -> dict[str, Any]:
    """Set (or, for a None value, remove) ``updates`` in table ``[section]`` of ``path``,
    creating the file (0600) if needed; returns the new document."""
    with locked(path):
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            text = ""
        except (OSError, UnicodeDecodeError) as exc:
            raise TomlFileError(f"{path}: {exc}") from None
        new = edit_text(text, section, updates, path)
        if new != text:
            write_private(path, new)
        return _parse(new, path)


def edit_text(
    text: str, section: str, updates: Mapping[str, Any | None], path: Path | None = None
) -> str:
    """``text`` with ``updates`` applied to ``[section]`` (pure; see ``edit``)."""
    before = _parse(text, path)
    table = before.get(section, {})
    if not isinstance(table, dict):
        raise TomlFileError(f"{path or 'document'}: {section!r} is not a table")
    expected = dict(before)
    merged = dict(table)
    for key, value in updates.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    expected[section] = merged
    lines = text.splitlines(keepends=True)
    for key, value in updates.items():
        lines = _set_line(lines, section, key, value)
    new = "".join(lines)
    try:
        if tomllib.loads(new) == expected:
            return new
    except tomllib.TOMLDecodeError:
        pass
    # a layout the line edit cannot follow (dotted keys, inline tables): the whole document
    return tomli_w.dumps(expected)


def _parse(text: str, path: Path | None) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TomlFileError(f"{path or 'document'} is not valid TOML: {exc}") from None


def _key_text(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else tomli_w.dumps({key: 0}).partition(" = ")[0]


def _set_line(lines: list[str], section: str, key: str, value: Any | None) -> list[str]:
    """Replace, remove or add ``key = value`` within the table's lines."""
    encoded = [] if value is None else [tomli_w.dumps({key: value})]
    start = _find_header(lines, section)
    if start is None:
        if value is None:
            return lines
        out = list(lines)
        if out and not out[-1].endswith("\n"):
            out[-1] += "\n"
        if out and out[-1].strip():
            out.append("\n")
        return [*out, f"[{_key_text(section)}]\n", *encoded]
    end = start + 1
    while end < len(lines) and not _HEADER.match(lines[end]):
        end += 1
    key_re = re.compile(rf"^\s*(?:{re.escape(key)}|\"{re.escape(key)}\"|'{re.escape(key)}')\s*=")
    for i in range(start + 1, end):
        if key_re.match(lines[i]):
            stop = _value_end(lines, i, end)
            return [*lines[:i], *encoded, *lines[stop:]]
    if value is None:
        return lines
    at = end  # after the table's last non-blank line
    while at > start + 1 and not lines[at - 1].strip():
        at -= 1
    head = list(lines[:at])
    if head and not head[-1].endswith("\n"):
        head[-1] += "\n"
    return [*head, *encoded, *lines[at:]]


def _find_header(lines: list[str], section: str) -> int | None:
    names = {section, f'"{section}"', f"'{section}'"}
    for i, line in enumerate(lines):
        m = re.match(r"^\s*\[\s*([^\[\]]+?)\s*\]\s*(#.*)?$", line)
        if m and m.group(1) in names:
            return i
    return None


def _value_end(lines: list[str], first: int, end: int) -> int:
    """The line after the one key's value (a multi-line array or string spans several)."""
    for stop in range(first + 1, end + 1):
        try:
            tomllib.loads("".join(lines[first:stop]))
        except tomllib.TOMLDecodeError:
            continue
        return stop
    return first + 1


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    lock = path.parent / f".{path.name}.lock"
    fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
