"""The child-process environment: deny by default, an allowlist in, a hard deny family out.

See docs/agents.md#environment. Everything here is pure: callers pass the parent env as a mapping
(``EnvPolicy.from_toml`` parses text it is handed; reading the file is the caller's business).

The deny family is a set of *families* (``DENY_FAMILIES``): variables that make a program
load or run code it was not asked to (the dynamic loader, interpreters' start-up options and
library paths, shell start-up hooks, exported functions, the commands git runs). Each family
is written with the same patterns as the allowlist (a trailing ``*`` is a prefix glob), and is
applied *after* the allowlist, so no allow entry, glob or exact, lets a member through.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

__all__ = [
    "ALLOW_FILE",
    "DEFAULT_ALLOW",
    "DENY_FAMILIES",
    "DENY_FAMILY",
    "DeniedEntry",
    "DenyFamily",
    "EnvPolicy",
    "apply_policy",
    "deny_family_of",
    "is_denied",
    "pattern_matches",
    "validate_allow_key",
]

#: The allow file's name under the data home: ``[env] allow = [...]`` replaces ``DEFAULT_ALLOW``.
ALLOW_FILE = "env.allow.toml"

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


@dataclass(frozen=True)
class DenyFamily:
    """Variables that never pass, with why: ``patterns`` use the allowlist's syntax."""

    name: str
    patterns: tuple[str, ...]
    why: str

    def matches(self, key: str) -> bool:
        return any(pattern_matches(p, key) for p in self.patterns)

    def contains(self, entry: str) -> bool:
        """Whether every name ``entry`` (an allowlist entry) can match is in this family."""
        if not entry.endswith("*"):
            return self.matches(entry)
        prefix = entry[:-1]
        return any(p.endswith("*") and prefix.startswith(p[:-1]) for p in self.patterns)


# Order matters only for which family an error names: the narrower family comes first.
DENY_FAMILIES: tuple[DenyFamily, ...] = (
    DenyFamily(
        "dynamic loader",
        ("LD_*", "DYLD_*", "GLIBC_TUNABLES"),
        "ld.so and dyld read these when any program starts: LD_PRELOAD, LD_AUDIT and "
        "DYLD_INSERT_LIBRARIES load a library into it, LD_LIBRARY_PATH and DYLD_LIBRARY_PATH "
        "swap the libraries it links, GLIBC_TUNABLES is parsed by the loader itself",
    ),
    DenyFamily(
        "libraries loaded by name",
        ("GCONV_PATH", "OPENSSL_CONF", "OPENSSL_ENGINES", "OPENSSL_MODULES"),
        "glibc's iconv loads the gconv modules GCONV_PATH names; an OpenSSL configuration or "
        "module directory loads engines and providers into any program that speaks TLS",
    ),
    DenyFamily(
        "Python start-up",
        ("PYTHON*",),
        "CPython reads PYTHON* at every start: PYTHONPATH, PYTHONHOME, PYTHONUSERBASE and "
        "PYTHONPLATLIBDIR change what is imported, PYTHONSTARTUP and PYTHONINSPECT run code or "
        "open a prompt, PYTHONWARNINGS and PYTHONBREAKPOINT import modules by name, and "
        "releases add more: the whole prefix is denied",
    ),
    DenyFamily(
        "Perl start-up",
        ("PERL5*", "PERLLIB"),
        "PERL5OPT gives every perl -M (load a module), PERL5LIB and PERLLIB go first on "
        "@INC, PERL5DB is code the debugger runs",
    ),
    DenyFamily(
        "Ruby start-up",
        ("RUBYOPT", "RUBYLIB"),
        "RUBYOPT gives every ruby -r (require a file), RUBYLIB goes first on the load path",
    ),
    DenyFamily(
        "Node start-up",
        ("NODE_OPTIONS", "NODE_PATH", "NODE_REPL_EXTERNAL_MODULE"),
        "NODE_OPTIONS gives every node (Claude Code, Gemini CLI and npx run on it) "
        "--require/--import, NODE_PATH adds module directories, NODE_REPL_EXTERNAL_MODULE "
        "loads a module in place of the REPL",
    ),
    DenyFamily(
        "JVM start-up",
        ("JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS", "JDK_JAVA_OPTIONS", "CLASSPATH"),
        "every JVM takes these as command-line options (-javaagent loads code); CLASSPATH is "
        "the default class path",
    ),
    DenyFamily(
        "Lua start-up",
        ("LUA_INIT*", "LUA_PATH*", "LUA_CPATH*"),
        "lua runs LUA_INIT (code, or @file) at start; the paths choose the modules and C "
        "libraries it loads",
    ),
    DenyFamily(
        "Go toolchain",
        ("GOFLAGS", "GOPRIVATE", "GONOSUMDB", "GONOSUMCHECK", "GOSUMDB", "GOINSECURE"),
        "GOFLAGS adds flags to every go command (-toolexec runs a program around each tool); "
        "the others let module downloads skip the checksum database",
    ),
    DenyFamily(
        "exported shell functions",
        ("BASH_FUNC_*",),
        "bash imports each as a function when it starts, so it replaces any command a script runs",
    ),
    DenyFamily(
        "shell start-up hooks",
        (
            "BASH_*",
            "ENV",
            "SHELLOPTS",
            "BASHOPTS",
            "PS4",
            "PROMPT_COMMAND",
            "ZDOTDIR",
            "FPATH",
        ),
        "sh and bash source the file BASH_ENV or ENV names before every script; "
        "SHELLOPTS=xtrace makes bash expand PS4 (command substitutions included) before each "
        "command; PROMPT_COMMAND runs before each prompt; ZDOTDIR picks the .zshenv every zsh "
        "sources; FPATH is where zsh and ksh autoload functions from; no other BASH_* is "
        "needed from outside",
    ),
    DenyFamily(
        "git command hooks",
        (
            "GIT_CONFIG*",
            "GIT_SSH",
            "GIT_SSH_COMMAND",
            "GIT_ASKPASS",
            "GIT_EDITOR",
            "GIT_SEQUENCE_EDITOR",
            "GIT_PAGER",
            "GIT_EXTERNAL_DIFF",
            "GIT_EXEC_PATH",
            "GIT_PROXY_COMMAND",
            "GIT_TEMPLATE_DIR",
            "GIT_DIR",
            "GIT_WORK_TREE",
            "GIT_COMMON_DIR",
            "GIT_INDEX_FILE",
            "GIT_OBJECT_DIRECTORY",
            "GIT_ALTERNATE_OBJECT_DIRECTORIES",
        ),
        "git runs the commands these name (ssh, askpass, editor, pager, diff, proxy) and "
        "its helpers from GIT_EXEC_PATH; GIT_CONFIG_GLOBAL, GIT_CONFIG_SYSTEM, "
        "GIT_CONFIG_COUNT/KEY_n/VALUE_n and GIT_CONFIG_PARAMETERS add configuration that runs "
        "commands (core.sshCommand, core.fsmonitor, aliases); GIT_TEMPLATE_DIR installs hooks; "
        "GIT_DIR and its kin point git at another repository, whose config and hooks then "
        "run, and away from the task's worktree",
    ),
    DenyFamily(
        "other command hooks",
        ("LESSOPEN", "LESSCLOSE", "SSH_ASKPASS", "SUDO_ASKPASS"),
        "less runs LESSOPEN and LESSCLOSE around every file it shows (git's pager is less); "
        "ssh and sudo run the askpass program they name",
    ),
)

#: Every deny pattern, flattened (what ``config env.allow list`` shows as locked).
DENY_FAMILY: tuple[str, ...] = tuple(p for f in DENY_FAMILIES for p in f.patterns)

_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\*?")


def pattern_matches(pattern: str, key: str) -> bool:
    """A trailing ``*`` is a prefix glob; anything else is an exact, case-sensitive match."""
    if pattern.endswith("*"):
        return key.startswith(pattern[:-1])
    return key == pattern


@functools.lru_cache(maxsize=4096)  # every spawn asks about the same few dozen names
def deny_family_of(key: str) -> DenyFamily | None:
    """The family a variable name belongs to, or None when it may pass."""
    for family in DENY_FAMILIES:
        if family.matches(key):
            return family
    return None


def is_denied(key: str) -> bool:
    return deny_family_of(key) is not None


class DeniedEntry(ValueError):
    """An allowlist entry that names (or only matches) members of a deny family."""

    def __init__(self, entry: str, family: DenyFamily) -> None:
        self.entry = entry
        self.family = family
        what = "matches only variables" if entry.endswith("*") else "is a variable"
        super().__init__(
            f"allowlist entry {entry!r} is refused: it {what} of the deny family "
            f'"{family.name}" ({", ".join(family.patterns)}), which never reaches an agent '
            f"or a plugin whatever the allowlist says, because {family.why}"
        )


@dataclass(frozen=True)
class EnvPolicy:
    allow: tuple[str, ...] = DEFAULT_ALLOW

    def allows(self, key: str) -> bool:
        """Whether an ambient variable passes: allowlisted and not in the deny family."""
        return _allowed(self.allow, key)

    @classmethod
    def from_keys(cls, keys: Iterable[str]) -> EnvPolicy:
        """A policy from user config: every entry validated, duplicates dropped, order kept."""
        return cls(tuple(dict.fromkeys(validate_allow_key(k) for k in keys)))

    @classmethod
    def from_toml(cls, text: str) -> EnvPolicy:
        """The policy an allow file's text describes: ``[env] allow = ["HOME", "LC_*", …]``.

        Raises ``ValueError`` (``DeniedEntry`` for a deny-family entry) saying what is wrong."""
        import tomllib  # only when a file exists

        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(str(exc)) from None
        section = data.get("env", {})
        allow = section.get("allow") if isinstance(section, dict) else None
        if not isinstance(allow, list) or not all(isinstance(k, str) for k in allow):
            raise ValueError("[env].allow must be a list of strings")
        return cls.from_keys(allow)

    def listing(self) -> list[str]:
        """What ``config env.allow list`` prints: allow entries, then the locked deny family."""
        return [*self.allow, *(f"{k} [deny-locked]" for k in DENY_FAMILY)]


@functools.lru_cache(maxsize=4096)
def _allowed(allow: tuple[str, ...], key: str) -> bool:
    if is_denied(key):
        return False
    return any(pattern_matches(p, key) for p in allow)


def validate_allow_key(key: str) -> str:
    """Check a new allowlist entry (``config env.allow add``); returns it unchanged.

    Refused: anything not a name or a prefix glob (``ValueError``), and an entry that is a
    deny-family member or matches nothing but members, like ``LD_*`` or ``PYTHON*``
    (``DeniedEntry``). A broader glob that merely overlaps a family (``GIT_*``) is accepted:
    the family is still removed after it."""
    if not isinstance(key, str) or not key:
        raise ValueError("allowlist entry must be a non-empty variable name")
    if _PATTERN.fullmatch(key) is None:
        raise ValueError(
            f"invalid allowlist entry {key!r}: use a variable name (letters, digits, '_', "
            "not starting with a digit), optionally ending in '*' as a prefix glob"
        )
    for family in DENY_FAMILIES:
        if family.contains(key):
            raise DeniedEntry(key, family)
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
    stamps (``HANGAR_TASK_ID`` and friends) are trusted and cannot be overridden by later
    layers; the deny family is stripped from every other layer, after the allowlist.
    """
    stamps = dict(daemon_vars or {})
    env = {k: v for k, v in parent_env.items() if policy.allows(k)}
    env.update(stamps)
    for layer in (secrets or {}, agent_env or {}):
        env.update({k: v for k, v in _strip_denied(layer).items() if k not in stamps})
    return env
