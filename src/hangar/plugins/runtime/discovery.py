"""Find plugins: ``<dir>/<id>/manifest.toml`` plus an executable ``<dir>/<id>/<id>``.

Search order, first id wins: the dirs in ``AINB_PLUGINS_DIR`` (``os.pathsep``-separated),
then ``<data home>/plugins``, then the bundled ``plugins/`` at the repository root. Reading
manifests is all discovery does: it never starts a process, so ``ainb --help`` stays fast.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from hangar.core.paths import HangarPaths
from hangar.plugins.manifest import MANIFEST_FILE, Manifest, ManifestError, load_manifest

__all__ = [
    "PLUGINS_DIR_ENV",
    "Discovery",
    "DiscoveryProblem",
    "PluginSpec",
    "bundled_plugins_dir",
    "discover",
    "load_plugin_dir",
    "search_dirs",
]

PLUGINS_DIR_ENV: Final = "AINB_PLUGINS_DIR"


@dataclass(frozen=True)
class PluginSpec:
    """One discovered, validated plugin."""

    id: str
    dir: Path
    manifest: Manifest
    executable: Path
    source: str = "path"  # env | user | bundled | path

    @property
    def manifest_path(self) -> Path:
        return self.dir / MANIFEST_FILE

    def is_python_script(self) -> bool:
        """A ``#!…python…`` script runs under the host's interpreter, so it can import the SDK."""
        try:
            with self.executable.open("rb") as fh:
                first = fh.readline(256)
        except OSError:
            return False
        return first.startswith(b"#!") and b"python" in first

    def argv(self) -> list[str]:
        if self.is_python_script():
            return [sys.executable, str(self.executable)]
        return [str(self.executable)]


@dataclass(frozen=True)
class DiscoveryProblem:
    path: Path
    message: str


@dataclass
class Discovery:
    plugins: dict[str, PluginSpec] = field(default_factory=dict)
    problems: list[DiscoveryProblem] = field(default_factory=list)
    owners: dict[str, str] = field(default_factory=dict)
    """CLI namespace → the id of the plugin it routes to (first declared wins)."""

    def by_namespace(self, namespace: str) -> PluginSpec | None:
        """The plugin that owns ``ainb <namespace>``."""
        owner = self.owners.get(namespace)
        return None if owner is None else self.plugins[owner]

    def add(self, spec: PluginSpec, reserved: Iterable[str] = ()) -> None:
        """Register ``spec`` and the CLI namespaces it may claim."""
        for ns in spec.manifest.provides.cli_namespaces:
            if ns in reserved:
                msg = f"CLI namespace {ns!r} is a built-in command; not routed"
                self.problems.append(DiscoveryProblem(spec.dir, msg))
            elif self.owners.get(ns, spec.id) != spec.id:
                msg = f"CLI namespace {ns!r} already belongs to {self.owners[ns]!r}; not routed"
                self.problems.append(DiscoveryProblem(spec.dir, msg))
            else:
                self.owners[ns] = spec.id
        self.plugins[spec.id] = spec

    def providers(self, topic: str) -> list[PluginSpec]:
        return [s for s in self.plugins.values() if topic in s.manifest.provides.snapshots]


def bundled_plugins_dir() -> Path | None:
    """``plugins/`` next to ``src/`` in a checkout (absent from an installed wheel)."""
    candidate = Path(__file__).resolve().parents[4] / "plugins"
    return candidate if candidate.is_dir() else None


def search_dirs(
    paths: HangarPaths | None = None, env: Mapping[str, str] | None = None
) -> list[tuple[Path, str]]:
    env = os.environ if env is None else env
    paths = HangarPaths.from_env(env) if paths is None else paths
    dirs = [(Path(d).expanduser(), "env") for d in env.get(PLUGINS_DIR_ENV, "").split(os.pathsep)]
    dirs = [(d, s) for d, s in dirs if str(d) not in ("", ".")]
    dirs.append((paths.root / "plugins", "user"))
    bundled = bundled_plugins_dir()
    if bundled is not None:
        dirs.append((bundled, "bundled"))
    return dirs


def load_plugin_dir(plugin_dir: Path, source: str = "path") -> PluginSpec:
    """Validate one plugin directory; ``ManifestError`` (-32003) says what is wrong."""
    plugin_dir = Path(plugin_dir).resolve()
    where = str(plugin_dir / MANIFEST_FILE)
    if not plugin_dir.is_dir():
        raise ManifestError([f"{plugin_dir} is not a directory"], where)
    manifest = load_manifest(plugin_dir / MANIFEST_FILE)
    problems: list[str] = []
    if manifest.name != plugin_dir.name:
        problems.append(
            f"[plugin].name {manifest.name!r} does not match the directory name {plugin_dir.name!r}"
        )
    spec = PluginSpec(manifest.name, plugin_dir, manifest, plugin_dir / plugin_dir.name, source)
    executable = spec.executable
    if not executable.is_file():
        problems.append(f"missing executable {executable.name!r} in {plugin_dir}")
    elif not spec.is_python_script() and not os.access(executable, os.X_OK):
        problems.append(f"{executable} is not executable (chmod +x)")
    if problems:
        raise ManifestError(problems, where)
    return spec


def discover(
    dirs: Iterable[tuple[Path, str]] | None = None, *, reserved: Iterable[str] = ()
) -> Discovery:
    """Every valid plugin under ``dirs``; the invalid ones become ``problems``.

    A directory without ``manifest.toml`` is not a plugin (``<data home>/plugins/<id>/data``
    lives there too) and is skipped silently. ``reserved`` names are built-in commands no
    plugin may claim as a CLI namespace.
    """
    found = Discovery()
    reserved = set(reserved)
    for root, source in search_dirs() if dirs is None else dirs:
        try:
            children = sorted(root.iterdir())
        except OSError:
            continue
        for child in children:
            if not (child / MANIFEST_FILE).is_file():
                continue
            try:
                spec = load_plugin_dir(child, source)
            except ManifestError as exc:
                found.problems.append(DiscoveryProblem(child, exc.message))
                continue
            if spec.id in found.plugins:
                other = found.plugins[spec.id].dir
                found.problems.append(DiscoveryProblem(child, f"shadowed by {other}"))
                continue
            found.add(spec, reserved)
    return found
