"""The `[keymap]` table: what it accepts, and what it reports without stopping the UI."""

from __future__ import annotations

from pathlib import Path

from textual.binding import Binding

from hangar.tui.app import HangarApp
from hangar.tui.keymap import load_keymap

KNOWN = ["issue.create", "go.kanban"]


def test_a_missing_file_is_an_empty_keymap(tmp_path: Path) -> None:
    keymap = load_keymap(tmp_path / "config.toml", lambda: KNOWN)
    assert (keymap.keys, keymap.problems) == ({}, [])


def test_known_ids_are_taken_and_the_rest_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        '[keymap]\n"issue.create" = "n"\n"go.kanban" = 5\n"nope.x" = "q"\n', encoding="utf-8"
    )
    keymap = load_keymap(path, lambda: KNOWN)
    assert keymap.keys == {"issue.create": "n"}
    assert keymap.problems == [
        '\'go.kanban\' must be keys like "f5" or "n,N"',
        "no binding 'nope.x'",
    ]


def test_a_broken_file_is_reported_not_fatal(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[keymap\n", encoding="utf-8")
    keymap = load_keymap(path, lambda: KNOWN)
    assert keymap.keys == {} and "key remaps ignored" in keymap.problems[0]
    path.write_text('keymap = "n"\n', encoding="utf-8")
    assert load_keymap(path, lambda: KNOWN).problems == [
        "[keymap] must be a table of binding id = keys"
    ]


def test_every_binding_has_an_id_unique_on_its_screen() -> None:
    for owner in HangarApp.binding_owners():
        assert all(isinstance(b, Binding) for b in owner.BINDINGS), owner.__name__
        ids = [b.id for b in owner.BINDINGS if isinstance(b, Binding)]
        assert None not in ids, f"{owner.__name__} has a binding without an id"
        assert len(ids) == len(set(ids)), f"{owner.__name__} repeats an id"
    ids = HangarApp.binding_ids()
    expected = {"issue.create", "issue.assign", "go.issues", "app.keys", "form.submit"}
    assert expected | {"plugin.retry", "confirm.yes"} <= set(ids)
