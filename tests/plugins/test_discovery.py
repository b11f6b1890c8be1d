"""Discovery: search order, validation of each plugin dir, and namespace ownership."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from hangar.core.paths import HangarPaths
from hangar.plugins.manifest import ManifestError
from hangar.plugins.runtime import (
    bundled_plugins_dir,
    discover,
    load_plugin_dir,
    search_dirs,
)
from tests.plugins.conftest import PluginFactory, echo_body, manifest_text


def test_load_plugin_dir(make_plugin: PluginFactory) -> None:
    d = make_plugin("hello", echo_body("hello"), provides='cli_namespaces = ["hi"]')
    spec = load_plugin_dir(d)
    assert (spec.id, spec.dir, spec.executable) == ("hello", d, d / "hello")
    assert spec.manifest.provides.cli_namespaces == ["hi"]
    # a Python script runs under the host's own interpreter, so it can import the SDK
    assert spec.is_python_script()
    assert spec.argv() == [sys.executable, str(d / "hello")]


def test_native_executable_runs_directly(make_plugin: PluginFactory) -> None:
    d = make_plugin("native", "#!/bin/sh\nexit 0\n", raw=True)
    spec = load_plugin_dir(d)
    assert not spec.is_python_script()
    assert spec.argv() == [str(d / "native")]


def test_name_must_match_directory(make_plugin: PluginFactory) -> None:
    d = make_plugin("dir-name", echo_body("x"), manifest=manifest_text("other"))
    with pytest.raises(ManifestError) as err:
        load_plugin_dir(d)
    assert err.value.problems == [
        "[plugin].name 'other' does not match the directory name 'dir-name'"
    ]
    assert err.value.code == -32003


def test_missing_or_unrunnable_executable(make_plugin: PluginFactory) -> None:
    d = make_plugin("noexe", echo_body("noexe"))
    (d / "noexe").unlink()
    with pytest.raises(ManifestError, match="missing executable 'noexe'"):
        load_plugin_dir(d)
    (d / "noexe").write_text("\x7fELF not really")
    (d / "noexe").chmod(0o644)
    with pytest.raises(ManifestError, match=r"is not executable \(chmod \+x\)"):
        load_plugin_dir(d)
    # a Python script needs no exec bit: the host runs it with its interpreter
    (d / "noexe").write_text("#!/usr/bin/env python3\n")
    load_plugin_dir(d)


def test_not_a_directory(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="is not a directory"):
        load_plugin_dir(tmp_path / "nope")


def test_search_order_and_shadowing(
    make_plugin: PluginFactory, plugin_home: HangarPaths, tmp_path: Path
) -> None:
    user = plugin_home.root / "plugins"
    first = make_plugin("dup", echo_body("dup"))  # AINB_PLUGINS_DIR
    make_plugin("dup", echo_body("dup"), root=user)
    make_plugin("mine", echo_body("mine"), root=user)
    (user / "state.json").write_text("{}")  # not a plugin: ignored
    (user / "data-only" / "data").mkdir(parents=True)  # no manifest: not a plugin, no noise
    dirs = search_dirs()
    assert dirs[0] == (tmp_path / "plugins", "env")
    assert dirs[1] == (user, "user")
    found = discover(dirs)
    assert found.plugins["dup"].dir == first and found.plugins["dup"].source == "env"
    assert found.plugins["mine"].source == "user"
    assert [(p.path, p.message) for p in found.problems] == [(user / "dup", f"shadowed by {first}")]


def test_env_lists_several_dirs(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, plugin_home: HangarPaths
) -> None:
    monkeypatch.setenv("AINB_PLUGINS_DIR", f"{tmp_path / 'a'}:{tmp_path / 'b'}:")
    dirs = search_dirs()
    assert dirs[:2] == [(tmp_path / "a", "env"), (tmp_path / "b", "env")]
    bundled = bundled_plugins_dir()
    if bundled is not None:
        assert dirs[-1] == (bundled, "bundled")
        assert (bundled.parent / "src" / "hangar").is_dir()


def test_broken_plugins_are_reported_not_fatal(
    make_plugin: PluginFactory, plugins_dir: Path
) -> None:
    make_plugin("ok", echo_body("ok"))
    make_plugin("bad", echo_body("bad"), manifest="[plugin]\nname = 3\n")
    found = discover([(plugins_dir, "env")])
    assert list(found.plugins) == ["ok"]
    (problem,) = found.problems
    assert problem.path == plugins_dir / "bad" and "[plugin].name 3 must be" in problem.message


def test_namespaces_first_owner_wins_and_builtins_are_reserved(
    make_plugin: PluginFactory, plugins_dir: Path
) -> None:
    make_plugin("a-one", echo_body("a-one"), provides='cli_namespaces = ["usage", "plugins"]')
    make_plugin("b-two", echo_body("b-two"), provides='cli_namespaces = ["usage", "two"]')
    found = discover([(plugins_dir, "env")], reserved={"plugins", "hangar"})
    assert found.owners == {"usage": "a-one", "two": "b-two"}
    assert found.by_namespace("usage").id == "a-one"  # type: ignore[union-attr]
    assert found.by_namespace("plugins") is None
    messages = sorted(p.message for p in found.problems)
    assert messages == [
        "CLI namespace 'plugins' is a built-in command; not routed",
        "CLI namespace 'usage' already belongs to 'a-one'; not routed",
    ]


def test_providers(make_plugin: PluginFactory, plugins_dir: Path) -> None:
    make_plugin("prov", echo_body("prov"), caps="event_bus = true", provides='snapshots = ["t"]')
    found = discover([(plugins_dir, "env")])
    assert [s.id for s in found.providers("t")] == ["prov"]
    assert found.providers("u") == []


def test_missing_search_dir_is_fine(tmp_path: Path) -> None:
    assert discover([(tmp_path / "nowhere", "env")]).plugins == {}
