"""Daemon settings, read once from the environment at boot."""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from hangar.adapters import tomlfile
from hangar.core.durations import parse_duration
from hangar.core.env_policy import ALLOW_FILE, DEFAULT_ALLOW, DeniedEntry, EnvPolicy
from hangar.core.paths import HangarPaths

DEFAULT_SLOTS = 20
#: watchdogs for agents that set none
DEFAULT_INACTIVITY_MS = 30 * 60 * 1000
DEFAULT_MAX_RUNTIME_MS = 9_000_000  # 2.5 h
#: a session's agent that exits within this window fails its create
DEFAULT_LAUNCH_PROBE_MS = 500
#: every create waits the whole window: a typo like ``5m`` must not make each one take minutes
MAX_LAUNCH_PROBE_MS = 30_000


#: the setting that picks the secret store (hangar.adapters.secrets.open_store)
SECRETS_BACKEND_ENV = "HANGAR_SECRETS_BACKEND"
SECRETS_BACKENDS = ("auto", "keyring", "file")


class ConfigError(ValueError):
    pass


@dataclass(frozen=True)
class DaemonConfig:
    paths: HangarPaths
    database_url: str
    slots: int
    inactivity_ms: int
    max_runtime_ms: int
    sweep_interval_s: float
    kill_grace_s: float
    env_policy: EnvPolicy
    log_level: str
    echo_logs: bool
    #: tmux server for sessions: None = the user's default server (so `tmux attach` just works)
    tmux_socket: str | None = None
    #: sessions' tmux prefix when a caller names none; reconciliation logs strays with it
    session_prefix: str = "harness-"
    #: how long a new session's agent must stay alive for create to succeed
    launch_probe_s: float = DEFAULT_LAUNCH_PROBE_MS / 1000
    #: HANGAR_KEEP_WORKTREES=1: leave every ended task's worktree and branch in place
    keep_worktrees: bool = False
    #: HANGAR_SECRETS_BACKEND: where agents' API keys are kept (auto | keyring | file)
    secrets_backend: str = "auto"

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] | None = None, *, echo_logs: bool = False
    ) -> DaemonConfig:
        env = os.environ if env is None else env
        paths = HangarPaths.from_env(env)
        url = env.get("HANGAR_DATABASE_URL") or paths.sqlite_url()
        try:
            slots = int(env.get("HANGAR_MAX_SLOTS", DEFAULT_SLOTS))
            inactivity = env_duration(env, "HANGAR_INACTIVITY_TIMEOUT", DEFAULT_INACTIVITY_MS)
            max_runtime = env_duration(env, "HANGAR_MAX_RUNTIME", DEFAULT_MAX_RUNTIME_MS)
            sweep = env_duration(env, "HANGAR_SWEEP_INTERVAL", 30_000) / 1000
            grace = env_duration(env, "HANGAR_KILL_GRACE", 3_000) / 1000
            probe_ms = env_duration(env, "HANGAR_LAUNCH_PROBE", DEFAULT_LAUNCH_PROBE_MS)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        if slots < 1:
            raise ConfigError("HANGAR_MAX_SLOTS must be at least 1")
        if probe_ms > MAX_LAUNCH_PROBE_MS:
            raise ConfigError(
                f"HANGAR_LAUNCH_PROBE must be at most {MAX_LAUNCH_PROBE_MS // 1000}s: "
                "every session create waits that long"
            )
        secrets_backend = env.get(SECRETS_BACKEND_ENV) or "auto"
        if secrets_backend not in SECRETS_BACKENDS:
            raise ConfigError(
                f"{SECRETS_BACKEND_ENV} must be {'|'.join(SECRETS_BACKENDS)}, "
                f"not {secrets_backend!r}"
            )
        level = env.get("HANGAR_LOG_LEVEL", "info")
        if level not in ("trace", "debug", "info", "warn", "error"):
            raise ConfigError(
                f"HANGAR_LOG_LEVEL must be trace|debug|info|warn|error, not {level!r}"
            )
        return cls(
            paths=paths,
            database_url=url,
            slots=slots,
            inactivity_ms=inactivity,
            max_runtime_ms=max_runtime,
            sweep_interval_s=sweep,
            kill_grace_s=grace,
            env_policy=load_env_policy(paths),
            log_level=level,
            echo_logs=echo_logs,
            tmux_socket=env.get("HANGAR_TMUX_SOCKET") or None,
            session_prefix=env.get(
                "HANGAR_SESSION_PREFIX", env.get("HARNESS_SESSION_PREFIX", "harness-")
            ),
            launch_probe_s=probe_ms / 1000,
            keep_worktrees=env.get("HANGAR_KEEP_WORKTREES", "") not in ("", "0"),
            secrets_backend=secrets_backend,
        )


def env_duration(env: Mapping[str, str], key: str, default_ms: int) -> int:
    """``env[key]`` as milliseconds (``"10s"``, ``"250ms"`` …), ``default_ms`` when unset;
    a bad value names its variable."""
    raw = env.get(key)
    if not raw:
        return default_ms
    try:
        return parse_duration(raw)
    except ValueError as exc:
        raise ValueError(f"{key}: {exc}") from None


def load_env_policy(paths: HangarPaths) -> EnvPolicy:
    """``<home>/env.allow.toml`` ``[env].allow`` replaces the default allowlist when present;
    the deny family is applied regardless. An entry in the deny family (``LD_*``,
    ``LD_AUDIT``, ``PYTHON*``, ``BASH_*``, …) is a ``ConfigError`` naming the entry, its
    family and why, so the daemon refuses to start rather than run with a policy the user
    did not get."""
    path = paths.root / ALLOW_FILE
    try:
        text = path.read_text()
    except FileNotFoundError:
        return EnvPolicy(allow=tuple(DEFAULT_ALLOW))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from None
    try:
        return EnvPolicy.from_toml(text)  # validates each entry; deny-family entries refused
    except DeniedEntry as exc:
        raise ConfigError(f"{path}: {exc}; remove it from [env].allow") from None
    except ValueError as exc:
        raise ConfigError(f"{path}: {exc}") from None


# -- beads sync (docs/beads.md#setting-it-up) ----------------------------------------------------

#: the bd database when ``<home>/config.toml`` names none (``[beads] dir`` there otherwise)
BEADS_DIR_ENV = "HANGAR_BEADS_DIR"
BEADS_TIMEOUT_S = 30.0
BEADS_POLL_S = 30.0
BEADS_HOW_TO = (
    "beads sync is not configured: point it at a beads database with "
    "`hangar config set beads.dir PATH` (the directory bd keeps its issues in, given to bd as "
    f"BEADS_DIR), or start the daemon with {BEADS_DIR_ENV}=PATH; `bd` must be on the "
    "daemon's PATH (or named by `bin` under [beads] in config.toml)"
)


class BeadsNotConfigured(ConfigError):
    """Beads sync is off, or set up in a way that cannot work; the message says how to fix it."""


class BeadsOff(BeadsNotConfigured):
    """No beads directory is named at all (the message says how to name one)."""


@dataclass(frozen=True)
class BeadsConfig:
    """Where issues are mirrored: bd's database directory and the bd program."""

    dir: Path
    bin: str
    #: where ``dir`` came from: the variable, or the file and key
    origin: str
    timeout_s: float = BEADS_TIMEOUT_S
    poll_s: float = BEADS_POLL_S


def load_beads(config_path: Path, env: Mapping[str, str]) -> BeadsConfig:
    """The beads settings as they are now: ``HANGAR_BEADS_DIR`` or ``[beads] dir`` (the
    variable wins; bd's database directory, or a repository holding one as ``.beads/``),
    ``[beads] bin`` or ``bd`` on ``env``'s PATH, and optional ``[beads] timeout`` and
    ``poll`` durations. ``BeadsNotConfigured`` when off or unusable. Read on each
    use, so ``hangar config set beads.dir`` applies without a restart."""
    try:
        doc = tomlfile.read(config_path)
    except tomlfile.TomlFileError as exc:
        raise BeadsNotConfigured(f"cannot read the beads settings: {exc}") from None
    table = doc.get("beads")
    table = table if isinstance(table, dict) else {}
    raw_dir: object
    if env.get(BEADS_DIR_ENV):
        raw_dir, origin = env[BEADS_DIR_ENV], BEADS_DIR_ENV
    else:
        raw_dir, origin = table.get("dir"), f"{config_path} [beads] dir"
    if not raw_dir:
        raise BeadsOff(BEADS_HOW_TO)
    directory = Path(str(raw_dir)).expanduser()
    if not directory.is_absolute() or not directory.is_dir():
        raise BeadsNotConfigured(
            f"the beads directory {raw_dir} ({origin}) is not an existing absolute directory; "
            "`hangar config set beads.dir PATH` names another"
        )
    if (directory / ".beads").is_dir():  # a repository bd works in: its database directory
        directory = directory / ".beads"
    raw_bin = table.get("bin")
    if raw_bin:
        binary = str(Path(str(raw_bin)).expanduser())
        if not (os.path.isfile(binary) and os.access(binary, os.X_OK)):
            raise BeadsNotConfigured(
                f"[beads] bin in {config_path} is {raw_bin}, which is not an executable file"
            )
    else:
        found = shutil.which("bd", path=env.get("PATH", os.defpath))
        if found is None:
            raise BeadsNotConfigured(
                f"beads sync is set to {directory} ({origin}), but no `bd` is on the daemon's "
                f'PATH: install bd, or name it with `bin = "/path/to/bd"` under [beads] in '
                f"{config_path}"
            )
        binary = found
    try:
        timeout = _beads_duration(table, "timeout", BEADS_TIMEOUT_S)
        poll = _beads_duration(table, "poll", BEADS_POLL_S)
    except ValueError as exc:
        raise BeadsNotConfigured(f"{config_path}: {exc}") from None
    return BeadsConfig(dir=directory, bin=binary, origin=origin, timeout_s=timeout, poll_s=poll)


def _beads_duration(table: Mapping[str, object], key: str, default_s: float) -> float:
    raw = table.get(key)
    if raw is None:
        return default_s
    try:
        return parse_duration(str(raw)) / 1000  # refuses zero and negative ones
    except ValueError as exc:
        raise ValueError(f"[beads] {key}: {exc}") from None


class BeadsSettings:
    """``load_beads`` as a callable the daemon asks on every issue write: a result, or "off",
    is kept while ``config.toml`` stays as it was (same size, mtime and inode); any other
    refusal is never kept, so installing bd or making the directory takes effect at once."""

    def __init__(self, config_path: Path, env: Mapping[str, str]) -> None:
        self.config_path = config_path
        self.env = env
        self._kept: tuple[tuple[int, int, int] | None, BeadsConfig | BeadsOff] | None = None

    def _signature(self) -> tuple[int, int, int] | None:
        try:
            st = self.config_path.stat()
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def __call__(self) -> BeadsConfig:
        signature = self._signature()
        if self._kept is None or self._kept[0] != signature:
            try:
                self._kept = (signature, load_beads(self.config_path, self.env))
            except BeadsOff as off:
                self._kept = (signature, off)
        kept = self._kept[1]
        if isinstance(kept, BeadsOff):
            raise BeadsOff(str(kept))
        return kept
