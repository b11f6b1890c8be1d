"""manifest.toml validation (docs/plugins.md#manifest): every grant-form rule, and every bad input
named in one clear problem line."""

from __future__ import annotations

from pathlib import Path

import pytest

from hangar.plugins.manifest import (
    Manifest,
    ManifestError,
    dump_manifest,
    load_manifest,
    parse_manifest,
)
from hangar.proto.jsonrpc import MANIFEST_VALIDATION

GOOD = """
[plugin]
name = "hello"
version = "0.1.0"
abi_version = 2
description = "says hello"

[capabilities]
event_bus = true
network = ["api.example.com"]
read_sessions = false

[provides]
screens = ["hello"]
cli_namespaces = ["hello"]
snapshots = ["hello.data"]

[subscribes]
snapshots = ["sessions.usage_data"]

[lifecycle]
spawn = "eager"
idle_reap_secs = 30
"""

HEAD = '[plugin]\nname = "x"\nversion = "1.0.0"\nabi_version = 2\n'


def problems(text: str) -> list[str]:
    with pytest.raises(ManifestError) as err:
        parse_manifest(text)
    assert err.value.code == MANIFEST_VALIDATION
    return err.value.problems


def caps(body: str) -> list[str]:
    return problems(HEAD + "[capabilities]\n" + body)


def test_good_manifest_parses() -> None:
    m = parse_manifest(GOOD)
    assert m.name == "hello"
    assert m.lifecycle.spawn == "eager" and m.lifecycle.idle_reap_secs == 30
    assert m.granted_capabilities() == ["event_bus", "network"]
    assert m.grant("network") == ["api.example.com"]
    assert m.grant("spawn_subprocess") is False  # absent = denied
    assert not m.granted("read_sessions")


def test_defaults() -> None:
    m = parse_manifest(HEAD)
    assert m.capabilities == {}
    assert m.lifecycle.spawn == "lazy" and m.lifecycle.idle_reap_secs == 600
    assert m.provides.cli_namespaces == [] and m.subscribes.snapshots == []
    assert m.granted_capabilities() == []


def test_round_trip_parse_encode_parse_is_equal() -> None:
    m = parse_manifest(GOOD)
    assert parse_manifest(dump_manifest(m)) == m
    minimal = parse_manifest(HEAD)
    assert parse_manifest(dump_manifest(minimal)) == minimal


@pytest.mark.parametrize("plugin_id", ["burndown", "session-reader", "witr"])
def test_reference_manifests_round_trip(plugin_id: str) -> None:
    path = Path(__file__).resolve().parents[2] / "plugins" / plugin_id / "manifest.toml"
    if not path.exists():
        pytest.skip("reference plugin not staged yet")
    m = load_manifest(path)
    assert isinstance(m, Manifest)
    assert parse_manifest(dump_manifest(m)) == m


# -- grant forms ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cap",
    [
        "read_sessions",
        "read_claude_logs",
        "read_codex_logs",
        "write_plugin_data",
        "event_bus",
        "spawn_subprocess",
        '"workspace:write"',
    ],
)
def test_bool_only_capabilities_refuse_lists(cap: str) -> None:
    assert parse_manifest(HEAD + f"[capabilities]\n{cap} = true\n").granted(cap.strip('"'))
    assert caps(f'{cap} = ["x"]\n') == [f"[capabilities].{cap} takes true or false, not a list"]


@pytest.mark.parametrize(
    ("cap", "hint"),
    [
        ("spawn_managed_subprocess", "program names"),
        ("unix_socket_dial", "socket paths"),
        ('"secrets:read"', "secret keys"),
    ],
)
def test_list_only_capabilities_refuse_true(cap: str, hint: str) -> None:
    (problem,) = caps(f"{cap} = true\n")
    assert problem.startswith(f"[capabilities].{cap} = true is ambiguous")
    assert hint in problem
    # false is a plain deny; an empty list too
    m = parse_manifest(HEAD + f"[capabilities]\n{cap} = false\n")
    assert m.granted_capabilities() == []
    assert not parse_manifest(HEAD + f"[capabilities]\n{cap} = []\n").granted(cap.strip('"'))


def test_list_capabilities_are_granted_when_non_empty() -> None:
    m = parse_manifest(
        HEAD
        + "[capabilities]\n"
        + 'spawn_managed_subprocess = ["witr"]\nunix_socket_dial = ["/tmp/x.sock"]\n'
        + '"secrets:read" = ["token"]\nnetwork = true\nevent_stream_subscribe = ["workspace:*"]\n'
    )
    assert m.granted_capabilities() == [
        "spawn_managed_subprocess",
        "unix_socket_dial",
        "secrets:read",
        "network",
        "event_stream_subscribe",
    ]


@pytest.mark.parametrize("cap", ["network", "event_stream_subscribe"])
def test_bool_or_list_capabilities_take_both(cap: str) -> None:
    assert parse_manifest(HEAD + f"[capabilities]\n{cap} = true\n").grant(cap) is True
    assert parse_manifest(HEAD + f'[capabilities]\n{cap} = ["a"]\n').grant(cap) == ["a"]
    assert caps(f'{cap} = "a"\n') == [
        f"[capabilities].{cap} must be true, false or a list, not str"
    ]


def test_grant_of_wrong_type() -> None:
    assert caps("event_bus = 1\n") == ["[capabilities].event_bus must be true or false, not int"]
    assert caps('unix_socket_dial = "/x"\n') == [
        "[capabilities].unix_socket_dial must be a list, not str"
    ]


def test_grant_lists_hold_non_empty_strings() -> None:
    assert caps('network = ["", "a"]\n') == [
        "[capabilities].network must be a list of non-empty strings"
    ]
    assert caps("network = [1]\n") == ["[capabilities].network must be a list of non-empty strings"]


def test_socket_paths_must_be_absolute() -> None:
    assert caps('unix_socket_dial = ["rel.sock"]\n') == [
        "[capabilities].unix_socket_dial: socket paths must be absolute: 'rel.sock'"
    ]


def test_unknown_capability() -> None:
    assert caps("teleport = true\n") == ["[capabilities] unknown capability 'teleport'"]


# -- [plugin] ---------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["1.0", "v1.0.0", "01.0.0", "1.0.0-", "latest", "1.0.0.0"])
def test_bad_semver(version: str) -> None:
    text = f'[plugin]\nname = "x"\nversion = "{version}"\nabi_version = 2\n'
    assert problems(text) == [
        f"[plugin].version {version!r} is not a semantic version (e.g. 1.2.3)"
    ]


@pytest.mark.parametrize("version", ["0.1.0", "1.2.3-rc.1", "1.0.0+build.5", "10.20.30"])
def test_good_semver(version: str) -> None:
    parse_manifest(f'[plugin]\nname = "x"\nversion = "{version}"\nabi_version = 2\n')


@pytest.mark.parametrize(
    ("abi", "expected"),
    [
        ("1", "[plugin].abi_version 1 is not supported (this host speaks 2)"),
        ("3", "[plugin].abi_version 3 is not supported (this host speaks 2)"),
        ('"2"', "[plugin].abi_version '2' is not supported (this host speaks 2)"),
        ("true", "[plugin].abi_version True is not supported (this host speaks 2)"),
    ],
)
def test_abi_version_must_be_2(abi: str, expected: str) -> None:
    assert problems(f'[plugin]\nname = "x"\nversion = "1.0.0"\nabi_version = {abi}\n') == [expected]


def test_required_plugin_keys() -> None:
    assert problems("[plugin]\n") == [
        "[plugin].name is required",
        "[plugin].version is required",
        "[plugin].abi_version is required (this host speaks 2)",
    ]
    assert problems("") == ["missing [plugin] section"]
    assert problems("plugin = 3\n") == ["[plugin] must be a table"]


@pytest.mark.parametrize("name", ["Hello", "-x", "a b", "x" * 64, "é"])
def test_bad_plugin_name(name: str) -> None:
    (problem,) = problems(f'[plugin]\nname = "{name}"\nversion = "1.0.0"\nabi_version = 2\n')
    assert problem.startswith(f"[plugin].name {name!r} must be")


def test_unknown_sections_and_keys() -> None:
    assert problems(HEAD + "[extras]\nx = 1\n") == ["unknown section [extras]"]
    assert problems(HEAD.replace("abi_version", "colour = 1\nabi_version")) == [
        "[plugin] unknown key 'colour'"
    ]
    assert problems(HEAD + '[lifecycle]\nspwan = "eager"\n') == ["[lifecycle] unknown key 'spwan'"]


def test_not_toml_and_not_utf8() -> None:
    (problem,) = problems("[plugin\n")
    assert problem.startswith("not valid TOML:")
    with pytest.raises(ManifestError, match="not UTF-8"):
        parse_manifest(b"\xff\xfe")


def test_all_problems_are_reported_together() -> None:
    text = '[plugin]\nname = "x"\nversion = "1"\nabi_version = 9\n[capabilities]\nnetwork = 3\n'
    assert len(problems(text)) == 3


def test_error_message_names_the_source() -> None:
    with pytest.raises(ManifestError) as err:
        parse_manifest("", source="/p/manifest.toml")
    assert err.value.message == "/p/manifest.toml: missing [plugin] section"


def test_load_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="cannot read"):
        load_manifest(tmp_path / "manifest.toml")


# -- provides / subscribes / lifecycle --------------------------------------------------------


def test_provides_lists() -> None:
    assert problems(HEAD + '[provides]\nscreens = "a"\n') == [
        "[provides].screens must be a list of strings"
    ]
    assert problems(HEAD + '[provides]\ncli_namespaces = ["Bad Name"]\n') == [
        "[provides].cli_namespaces: 'Bad Name' is not a valid name (lowercase letters, digits,"
        " '-', '_')"
    ]
    assert problems(HEAD + '[provides]\nscreens = ["a", "a"]\n') == [
        "[provides].screens lists a name twice"
    ]


def test_snapshots_need_event_bus() -> None:
    assert problems(HEAD + '[provides]\nsnapshots = ["t"]\n') == [
        "[provides].snapshots needs the event_bus capability"
    ]
    assert problems(HEAD + '[subscribes]\nsnapshots = ["t"]\n') == [
        "[subscribes].snapshots needs the event_bus capability"
    ]
    assert problems(HEAD + '[subscribes]\nsnapshots = ["has space"]\n')[0] == (
        "[subscribes].snapshots: 'has space' is not a valid topic"
    )


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('spawn = "always"', '[lifecycle].spawn \'always\' must be "lazy" or "eager"'),
        ("idle_reap_secs = -1", "[lifecycle].idle_reap_secs -1 must be a number >= 0"),
        ('idle_reap_secs = "10"', "[lifecycle].idle_reap_secs '10' must be a number >= 0"),
        ("idle_reap_secs = true", "[lifecycle].idle_reap_secs True must be a number >= 0"),
    ],
)
def test_bad_lifecycle(body: str, expected: str) -> None:
    assert problems(HEAD + "[lifecycle]\n" + body + "\n") == [expected]


def test_idle_reap_zero_disables_and_fractions_are_fine() -> None:
    assert parse_manifest(HEAD + "[lifecycle]\nidle_reap_secs = 0\n").lifecycle.idle_reap_secs == 0
    assert (
        parse_manifest(HEAD + "[lifecycle]\nidle_reap_secs = 0.5\n").lifecycle.idle_reap_secs == 0.5
    )


HANDOFF = """
[provides]
screens = ["w"]

[[provides.handoff]]
key = "w"
screen = "w"
argv = ["witr", "-i"]
tmux_session = "ainb-witr"
"""


def test_handoff_is_accepted_and_round_trips() -> None:
    m = parse_manifest(HEAD + HANDOFF)
    (h,) = m.provides.handoff
    assert (h.key, h.screen, h.argv, h.tmux_session) == ("w", "w", ["witr", "-i"], "ainb-witr")
    assert parse_manifest(dump_manifest(m)) == m


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ('key = "w"', 'key = "ww"', "key must be one character"),
        ('screen = "w"', 'screen = "other"', "screen 'other' is not in [provides].screens"),
        ('argv = ["witr", "-i"]', 'argv = "witr -i"', "argv must be a non-empty list of strings"),
        ('argv = ["witr", "-i"]', "argv = []", "argv must be a non-empty list of strings"),
        ('tmux_session = "ainb-witr"', 'tmux_session = "a b"', "tmux_session must be letters"),
        ('key = "w"', 'key = "w"\nshell = true', "unknown key 'shell'"),
    ],
)
def test_bad_handoff(old: str, new: str, expected: str) -> None:
    (problem,) = problems(HEAD + HANDOFF.replace(old, new))
    assert problem.startswith("[[provides.handoff]] #1: ")
    assert expected in problem
