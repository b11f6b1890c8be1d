"""``manifest.toml`` (docs/plugins.md#manifest): parse, validate, re-encode with tomli_w.

Validation collects every problem before failing, so one run of ``ainb plugins check`` shows
them all. Capabilities are deny-by-default: a capability is granted iff its value is ``true``
or a non-empty list. A grant form the capability does not support (a list for a bool-only
capability, ``true`` where a list is required) is a -32003 error, never a guess.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any, Final, Literal

import msgspec

from hangar.plugins.abi import ABI_VERSION
from hangar.proto.jsonrpc import MANIFEST_VALIDATION, RpcError

__all__ = [
    "BOOL_CAPS",
    "CAPABILITIES",
    "LIST_CAPS",
    "Handoff",
    "Lifecycle",
    "Manifest",
    "ManifestError",
    "PluginSection",
    "Provides",
    "Subscribes",
    "dump_manifest",
    "load_manifest",
    "parse_manifest",
]

MANIFEST_FILE: Final = "manifest.toml"

#: ``true``/``false`` only.
BOOL_CAPS: Final = frozenset(
    {
        "read_sessions",
        "read_claude_logs",
        "read_codex_logs",
        "write_plugin_data",
        "event_bus",
        "spawn_subprocess",
        "workspace:write",
    }
)
#: ``true``/``false`` or a list (hostnames, topic prefixes).
BOOL_OR_LIST_CAPS: Final = frozenset({"network", "event_stream_subscribe"})
#: A list is required: ``true`` would grant everything, which these must never do.
LIST_CAPS: Final = frozenset({"spawn_managed_subprocess", "unix_socket_dial", "secrets:read"})
CAPABILITIES: Final = BOOL_CAPS | BOOL_OR_LIST_CAPS | LIST_CAPS

ID_PATTERN: Final = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
# semver.org's own expression
_SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)
_TOPIC = re.compile(r"^[^\s]{1,200}$")

Grant = bool | list[str]


class ManifestError(RpcError):
    """The manifest is invalid (-32003); ``problems`` lists every reason, one line each."""

    def __init__(self, problems: list[str], source: str = MANIFEST_FILE) -> None:
        self.problems = problems
        self.source = source
        super().__init__(
            MANIFEST_VALIDATION, f"{source}: " + "; ".join(problems), {"problems": problems}
        )


class PluginSection(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    name: str
    version: str
    abi_version: int
    description: str = ""


class Handoff(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Render path B: ``key`` on ``screen`` hands the whole terminal to ``argv`` in tmux.

    The host suspends its TUI, runs ``tmux new-session -A -d -s <tmux_session> <argv…>``
    and ``tmux attach -t <tmux_session>``, and resumes when that ends; the plugin never
    sees the key.
    """

    key: str
    screen: str
    argv: list[str]
    tmux_session: str
    description: str = ""


class Provides(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    screens: list[str] = msgspec.field(default_factory=list)
    commands: list[str] = msgspec.field(default_factory=list)
    cli_namespaces: list[str] = msgspec.field(default_factory=list)
    snapshots: list[str] = msgspec.field(default_factory=list)
    handoff: list[Handoff] = msgspec.field(default_factory=list)


class Subscribes(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    snapshots: list[str] = msgspec.field(default_factory=list)


class Lifecycle(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    spawn: Literal["lazy", "eager"] = "lazy"
    idle_reap_secs: float = 600  # 0 disables reaping


class Manifest(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    plugin: PluginSection
    capabilities: dict[str, Grant] = msgspec.field(default_factory=dict)
    provides: Provides = msgspec.field(default_factory=Provides)
    subscribes: Subscribes = msgspec.field(default_factory=Subscribes)
    lifecycle: Lifecycle = msgspec.field(default_factory=Lifecycle)

    @property
    def name(self) -> str:
        return self.plugin.name

    def grant(self, capability: str) -> Grant:
        """The declared grant (``False`` when absent)."""
        return self.capabilities.get(capability, False)

    def granted(self, capability: str) -> bool:
        value = self.grant(capability)
        return value is True or (isinstance(value, list) and len(value) > 0)

    def granted_capabilities(self) -> list[str]:
        """What ``plugin/init`` tells the plugin, in declaration order."""
        return [cap for cap in self.capabilities if self.granted(cap)]


_SECTIONS: Final[dict[str, frozenset[str]]] = {
    "plugin": frozenset({"name", "version", "abi_version", "description"}),
    "capabilities": CAPABILITIES,
    "provides": frozenset({"screens", "commands", "cli_namespaces", "snapshots", "handoff"}),
    "subscribes": frozenset({"snapshots"}),
    "lifecycle": frozenset({"spawn", "idle_reap_secs"}),
}


def load_manifest(path: Path) -> Manifest:
    """Read and validate a manifest file; ``ManifestError`` on any problem."""
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise ManifestError([f"cannot read: {exc.strerror or exc}"], str(path)) from None
    return parse_manifest(text, source=str(path))


def parse_manifest(text: str | bytes, *, source: str = MANIFEST_FILE) -> Manifest:
    """Parse and validate manifest text."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise ManifestError(["not UTF-8"], source) from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ManifestError([f"not valid TOML: {exc}"], source) from None
    problems = _validate(raw)
    if problems:
        raise ManifestError(problems, source)
    return msgspec.convert(raw, Manifest)


def dump_manifest(manifest: Manifest) -> str:
    """TOML text that parses back to an equal ``Manifest`` (defaults are left out)."""
    import tomli_w

    raw = msgspec.to_builtins(manifest)
    return tomli_w.dumps({k: v for k, v in raw.items() if v or k == "plugin"})


def _validate(raw: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    for section, value in raw.items():
        if section not in _SECTIONS:
            problems.append(f"unknown section [{section}]")
        elif not isinstance(value, dict):
            problems.append(f"[{section}] must be a table")
        else:
            for k in value:
                if k not in _SECTIONS[section]:
                    what = "capability" if section == "capabilities" else "key"
                    problems.append(f"[{section}] unknown {what} {k!r}")
    plugin = raw.get("plugin")
    if not isinstance(plugin, dict):
        if "plugin" not in raw:
            problems.append("missing [plugin] section")
        return problems
    problems += _check_plugin(plugin)
    caps = raw.get("capabilities", {})
    if isinstance(caps, dict):
        problems += _check_capabilities(caps)
    for section in ("provides", "subscribes"):
        table = raw.get(section, {})
        if isinstance(table, dict):
            for k, v in table.items():
                if k == "handoff":
                    problems += _check_handoffs(v, table.get("screens"))
                elif k in _SECTIONS[section]:
                    problems += _check_names(f"[{section}].{k}", v, topic=k == "snapshots")
    lifecycle = raw.get("lifecycle", {})
    if isinstance(lifecycle, dict):
        problems += _check_lifecycle(lifecycle)
    if isinstance(caps, dict) and caps.get("event_bus") is not True:
        for section in ("provides", "subscribes"):
            table = raw.get(section)
            if isinstance(table, dict) and table.get("snapshots"):
                problems.append(f"[{section}].snapshots needs the event_bus capability")
    return problems


def _check_plugin(plugin: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    name = plugin.get("name")
    if name is None:
        problems.append("[plugin].name is required")
    elif not isinstance(name, str) or not ID_PATTERN.match(name):
        problems.append(
            f"[plugin].name {name!r} must be 1-63 lowercase letters, digits, '-' or '_'"
            " (starting with a letter or digit)"
        )
    version = plugin.get("version")
    if version is None:
        problems.append("[plugin].version is required")
    elif not isinstance(version, str) or not _SEMVER.match(version):
        problems.append(f"[plugin].version {version!r} is not a semantic version (e.g. 1.2.3)")
    abi = plugin.get("abi_version")
    if abi is None:
        problems.append(f"[plugin].abi_version is required (this host speaks {ABI_VERSION})")
    elif type(abi) is not int or abi != ABI_VERSION:
        problems.append(f"[plugin].abi_version {abi!r} is not supported (this host speaks 2)")
    description = plugin.get("description", "")
    if not isinstance(description, str):
        problems.append("[plugin].description must be a string")
    return problems


def _check_capabilities(caps: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    for cap, value in caps.items():
        where = f"[capabilities].{_toml_key(cap)}"
        if cap not in CAPABILITIES:
            continue  # reported as unknown already
        if isinstance(value, bool):
            if value and cap in LIST_CAPS:
                problems.append(
                    f"{where} = true is ambiguous: list what to allow"
                    f" ({_LIST_HINT[cap]}), or set false"
                )
            continue
        if isinstance(value, list):
            if cap in BOOL_CAPS:
                problems.append(f"{where} takes true or false, not a list")
                continue
            bad = [v for v in value if not isinstance(v, str) or not v.strip()]
            if bad:
                problems.append(f"{where} must be a list of non-empty strings")
            elif cap == "unix_socket_dial":
                relative = [v for v in value if not Path(v).expanduser().is_absolute()]
                if relative:
                    problems.append(f"{where}: socket paths must be absolute: {relative[0]!r}")
            continue
        forms = "true or false" if cap in BOOL_CAPS else "a list"
        if cap in BOOL_OR_LIST_CAPS:
            forms = "true, false or a list"
        problems.append(f"{where} must be {forms}, not {type(value).__name__}")
    return problems


_LIST_HINT: Final = {
    "spawn_managed_subprocess": "program names",
    "unix_socket_dial": "socket paths",
    "secrets:read": "secret keys",
}


def _check_names(where: str, value: Any, *, topic: bool) -> list[str]:
    if not isinstance(value, list):
        return [f"{where} must be a list of strings"]
    pattern = _TOPIC if topic else ID_PATTERN
    for item in value:
        if not isinstance(item, str) or not pattern.match(item):
            kind = "topic" if topic else "name (lowercase letters, digits, '-', '_')"
            return [f"{where}: {item!r} is not a valid {kind}"]
    if len(set(value)) != len(value):
        return [f"{where} lists a name twice"]
    return []


_HANDOFF_KEYS: Final = frozenset({"key", "screen", "argv", "tmux_session", "description"})


def _check_handoffs(value: Any, screens: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(h, dict) for h in value):
        return ["[[provides.handoff]] must be an array of tables"]
    problems: list[str] = []
    for i, h in enumerate(value):
        where = f"[[provides.handoff]] #{i + 1}"
        unknown = sorted(set(h) - _HANDOFF_KEYS)
        if unknown:
            problems.append(f"{where}: unknown key {unknown[0]!r}")
        key = h.get("key")
        if not isinstance(key, str) or len(key) != 1:
            problems.append(f"{where}: key must be one character")
        screen = h.get("screen")
        if not isinstance(screen, str) or not isinstance(screens, list) or screen not in screens:
            problems.append(f"{where}: screen {screen!r} is not in [provides].screens")
        argv = h.get("argv")
        if not isinstance(argv, list) or not argv or not all(isinstance(a, str) for a in argv):
            problems.append(f"{where}: argv must be a non-empty list of strings (never a shell)")
        session = h.get("tmux_session")
        if not isinstance(session, str) or not re.match(r"^[A-Za-z0-9_-]{1,64}$", session):
            problems.append(f"{where}: tmux_session must be letters, digits, '-' or '_'")
        if not isinstance(h.get("description", ""), str):
            problems.append(f"{where}: description must be a string")
    return problems


def _check_lifecycle(lifecycle: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    spawn = lifecycle.get("spawn", "lazy")
    if spawn not in ("lazy", "eager"):
        problems.append(f'[lifecycle].spawn {spawn!r} must be "lazy" or "eager"')
    reap = lifecycle.get("idle_reap_secs", 600)
    if isinstance(reap, bool) or not isinstance(reap, int | float) or reap < 0:
        problems.append(f"[lifecycle].idle_reap_secs {reap!r} must be a number >= 0")
    return problems


def _toml_key(key: str) -> str:
    return key if re.match(r"^[A-Za-z0-9_-]+$", key) else f'"{key}"'
