"""``ainb plugins list | check PATH | reload ID`` and ``ainb <namespace> <argv…>`` routing.

Listing, help and namespace lookup read manifests only; a plugin process starts only when
one of its namespaces actually runs.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from hangar.cli.common import emit_json, table
from hangar.cli.errors import ERROR, NOT_FOUND, CliError

if TYPE_CHECKING:
    from hangar.plugins.runtime import Discovery
    from hangar.plugins.runtime.state import QuarantineStore

#: ``ainb`` commands no plugin may take over as a CLI namespace.
BUILTINS = frozenset({"hangar", "plugins"})


def _discover(reserved: Iterable[str] = BUILTINS) -> Discovery:
    from hangar.plugins.runtime.discovery import discover

    return discover(reserved=reserved)


def _store() -> QuarantineStore:
    from hangar.core.paths import HangarPaths
    from hangar.plugins.runtime.state import QuarantineStore

    return QuarantineStore.under(HangarPaths.from_env())


@click.group("plugins", context_settings={"help_option_names": ["-h", "--help"]})
def plugins() -> None:
    """Discover, check and reload ainb plugins."""


@plugins.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def list_cmd(as_json: bool) -> None:
    """Every discovered plugin, its namespaces and state; broken plugins and why."""
    found = _discover()
    quarantined = _store().load()
    rows: list[dict[str, Any]] = []
    for spec in found.plugins.values():
        m = spec.manifest
        q = quarantined.get(spec.id)
        rows.append(
            {
                "id": spec.id,
                "version": m.plugin.version,
                "state": "quarantined" if q else "ok",
                "quarantine_reason": q.get("reason") if q else None,
                "source": spec.source,
                "dir": str(spec.dir),
                "description": m.plugin.description,
                "cli_namespaces": [
                    ns for ns in m.provides.cli_namespaces if found.owners.get(ns) == spec.id
                ],
                "screens": m.provides.screens,
                "snapshots": m.provides.snapshots,
                "capabilities": m.granted_capabilities(),
                "spawn": m.lifecycle.spawn,
            }
        )
    problems = [{"path": str(pr.path), "message": pr.message} for pr in found.problems]
    if as_json:
        emit_json({"plugins": rows, "problems": problems})
        return
    if not rows:
        click.echo("no plugins found", err=not problems)
    else:
        table(
            [
                (
                    r["id"],
                    r["version"],
                    r["state"],
                    ",".join(r["cli_namespaces"]) or "-",
                    ",".join(r["capabilities"]) or "-",
                    r["source"],
                )
                for r in rows
            ],
            ["ID", "VERSION", "STATE", "CLI", "CAPABILITIES", "SOURCE"],
        )
    for pr in problems:
        click.echo(f"ainb: warning: {pr['path']}: {pr['message']}", err=True)


@plugins.command("check")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def check_cmd(path: Path, as_json: bool) -> None:
    """Validate the plugin in PATH, then run the conformance suite against it."""
    from hangar.plugins.manifest import ManifestError
    from hangar.plugins.runtime.discovery import load_plugin_dir

    try:
        spec = load_plugin_dir(path)
    except ManifestError as exc:
        if as_json:
            emit_json({"ok": False, "path": str(path), "problems": exc.problems})
            raise click.exceptions.Exit(ERROR) from None
        raise CliError(f"{exc.source}: {'; '.join(exc.problems)}", ERROR) from None
    try:
        from hangar.plugins.cts import run_suite
    except ImportError as exc:
        if exc.name == "hangar.plugins.cts":
            raise CliError(
                f"{spec.id}: manifest and discovery OK, but the conformance suite is not"
                " installed (hangar.plugins.cts)",
                ERROR,
            ) from None
        raise CliError(f"the conformance suite failed to load: {exc}", ERROR) from None
    results = run_suite(spec.dir)
    ok = all(r.ok for r in results)
    if as_json:
        emit_json(
            {
                "ok": ok,
                "plugin": spec.id,
                "axes": [
                    {"axis": r.axis, "name": r.name, "ok": r.ok, "detail": r.detail}
                    for r in results
                ],
            }
        )
    else:
        table(
            [(r.axis, r.name, "ok" if r.ok else "FAIL", r.detail) for r in results],
            ["AXIS", "NAME", "RESULT", "DETAIL"],
        )
        passed = sum(r.ok for r in results)
        click.echo(f"{spec.id}: {passed}/{len(results)} axes passed")
    if not ok:
        raise click.exceptions.Exit(ERROR)


@plugins.command("reload")
@click.argument("plugin_id", metavar="ID")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def reload_cmd(plugin_id: str, as_json: bool) -> None:
    """Re-validate plugin ID and lift its quarantine (in every ainb process)."""
    found = _discover()  # validates every manifest: ``spec`` below is a valid plugin
    spec = found.plugins.get(plugin_id)
    if spec is None:
        broken = [pr for pr in found.problems if pr.path.name == plugin_id]
        if broken:
            raise CliError(f"{plugin_id}: {broken[0].message}", ERROR)
        raise CliError(f"no plugin {plugin_id!r} (see `ainb plugins list`)", NOT_FOUND)
    lifted = _store().clear(plugin_id)
    if as_json:
        emit_json({"id": plugin_id, "state": "idle", "quarantine_lifted": lifted})
    else:
        note = "quarantine lifted" if lifted else "it was not quarantined"
        click.echo(f"reloaded {plugin_id} ({note})")


# -- namespace routing --------------------------------------------------------------------------


def namespace_help_rows(reserved: Iterable[str]) -> list[tuple[str, str]]:
    """(namespace, help) for ``ainb --help``: manifests only, nothing spawns."""
    found = _discover(reserved)
    rows = []
    for ns, owner in sorted(found.owners.items()):
        spec = found.plugins[owner]
        text = spec.manifest.plugin.description or f"Commands from the {owner} plugin."
        rows.append((ns, f"{text} [plugin {owner}]"))
    return rows


def namespace_command(name: str, reserved: Iterable[str]) -> click.Command | None:
    """A command forwarding ``ainb <name> …`` to the plugin owning that namespace."""
    found = _discover(reserved)
    spec = found.by_namespace(name)
    if spec is None:
        return None
    description = spec.manifest.plugin.description or f"Commands from the {spec.id} plugin."

    @click.command(name, cls=_Verbatim, help=description, add_help_option=False)
    @click.pass_context
    def forward(ctx: click.Context, argv: tuple[str, ...]) -> None:
        ctx.exit(run_namespace(name, list(argv), found))

    return forward


class _Verbatim(click.Command):
    """Hands its arguments over untouched: ``--``, ``--help`` and ``-x`` belong to the plugin
    (click's parser would eat the first ``--``, so ``ainb witr -- -rf`` lost it)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.params["argv"] = tuple(args)
        return []


def run_namespace(namespace: str, argv: list[str], found: Discovery | None = None) -> int:
    """Run the command in its plugin; pass its stdout, stderr and exit code through.

    ``found``: the discovery that routed the namespace, so manifests are read once."""
    import asyncio

    from hangar.plugins.runtime import (
        PluginCrashed,
        PluginError,
        PluginHost,
        PluginNotFound,
        PluginQuarantined,
    )
    from hangar.proto.jsonrpc import RpcError

    async def go() -> Any:
        host = PluginHost(reserved=BUILTINS, discovery=found)
        await host.start(eager=False)  # one-shot: providers start only if asked for data
        try:
            return await host.cli_dispatch(namespace, argv)
        finally:
            await host.aclose()

    try:
        out = asyncio.run(go())
    except PluginQuarantined as exc:
        raise CliError(
            f"plugin {exc.plugin_id} is quarantined after repeated crashes"
            f"{f' (last: {exc.reason})' if exc.reason else ''}{_see_log(exc)};"
            f" fix it, then run `ainb plugins reload {exc.plugin_id}`",
            ERROR,
        ) from None
    except PluginCrashed as exc:
        command = shlex.join(["ainb", namespace, *argv])
        if exc.exit_code is not None:  # "plugin x exited with status 1"
            what = f"{exc} while running '{command}'"
        else:
            what = f"plugin {exc.plugin_id} failed while running '{command}': {exc.message}"
        raise CliError(what + _see_log(exc), ERROR) from None
    except PluginNotFound as exc:
        raise CliError(str(exc), NOT_FOUND) from None
    except PluginError as exc:
        raise CliError(str(exc), ERROR) from None
    except RpcError as exc:
        raise CliError(f"{namespace}: the plugin failed: {exc.message}", ERROR) from None
    for stream, data in ((sys.stdout, out.stdout), (sys.stderr, out.stderr)):
        if data:
            stream.flush()
            stream.buffer.write(data)
            stream.buffer.flush()
    code = out.exit_code
    return code if 0 <= code <= 255 else ERROR


def _see_log(exc: Exception) -> str:
    """Where the plugin's stderr (a traceback, say) went, if the runtime said."""
    path = getattr(exc, "log_path", None)
    return f"; its stderr is logged in {path}" if path is not None else ""
