"""``ainb plugins …`` and ``ainb <namespace> …`` through the real ``ainb`` entry point."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hangar.core.paths import HangarPaths
from hangar.plugins.runtime import QuarantineStore
from tests.plugins.conftest import PluginFactory, echo_body, read_log

AINB = Path(sys.executable).parent / "ainb"
HAS_CTS = importlib.util.find_spec("hangar.plugins.cts") is not None


def ainb(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(AINB), *args], capture_output=True, text=True, timeout=timeout, env=dict(os.environ)
    )


@pytest.fixture
def echo(make_plugin: PluginFactory) -> Path:
    return make_plugin(
        "echoer",
        echo_body("echoer"),
        provides='cli_namespaces = ["echo"]',
        caps="event_bus = true",
    )


def test_namespace_routing_passes_output_and_exit_code_through(echo: Path) -> None:
    ok = ainb("echo", "echo", "hello", "--world")
    assert (ok.returncode, ok.stdout, ok.stderr) == (0, "hello --world\n", "")
    bad = ainb("echo", "fail")
    assert (bad.returncode, bad.stdout, bad.stderr) == (3, "partial\n", "it broke\n")
    dashed = ainb("echo", "echo", "a", "--", "-rf", "--help")  # every argument, verbatim
    assert dashed.returncode == 0 and dashed.stdout == ok.stdout.replace(
        "hello --world", "a -- -rf --help"
    )
    helped = ainb("echo", "--help")  # --help belongs to the plugin, not to click
    assert helped.returncode == 2 and "no command line for 'echo'" in helped.stderr


def test_help_lists_namespaces_without_spawning(echo: Path, plugin_home: HangarPaths) -> None:
    out = ainb("--help")
    assert out.returncode == 0
    assert "Plugin commands:" in out.stdout
    assert "echo" in out.stdout and "[plugin echoer]" in out.stdout
    assert "plugins" in out.stdout
    assert not any(r["event"] == "plugin.spawn" for r in read_log(plugin_home))


def test_unknown_command_is_a_usage_error(echo: Path) -> None:
    out = ainb("definitely-not-a-namespace")
    assert out.returncode == 2 and "No such command" in out.stderr


def test_plugins_list(echo: Path, make_plugin: PluginFactory) -> None:
    make_plugin("broken", echo_body("broken"), manifest="[plugin]\nname = 'broken'\n")
    out = ainb("plugins", "list")
    assert out.returncode == 0
    row = next(line for line in out.stdout.splitlines() if line.startswith("echoer"))
    assert row.split()[:4] == ["echoer", "0.1.0", "ok", "echo"]
    (warning,) = [ln for ln in out.stderr.splitlines() if "broken" in ln]
    assert warning.startswith("ainb: warning: ") and "[plugin].version is required" in warning

    data = json.loads(ainb("plugins", "list", "--json").stdout)
    mine = next(p for p in data["plugins"] if p["id"] == "echoer")
    assert mine["cli_namespaces"] == ["echo"] and mine["capabilities"] == ["event_bus"]
    assert mine["state"] == "ok" and mine["source"] == "env" and mine["dir"] == str(echo)
    assert any(p["path"].endswith("broken") for p in data["problems"])


def test_plugins_check_validates_the_manifest(make_plugin: PluginFactory, tmp_path: Path) -> None:
    d = make_plugin("badcheck", echo_body("x"), manifest="[plugin]\nname = 'other'\n")
    out = ainb("plugins", "check", str(d))
    assert out.returncode == 1 and out.stdout == ""
    (line,) = out.stderr.splitlines()  # one clear line
    assert line.startswith(f"ainb: error: {d}/manifest.toml: ")
    assert "[plugin].version is required" in line and "does not match" not in line

    as_json = ainb("plugins", "check", str(d), "--json")
    assert as_json.returncode == 1
    assert json.loads(as_json.stdout)["problems"][0] == "[plugin].version is required"

    missing = ainb("plugins", "check", str(tmp_path / "nowhere"))
    assert missing.returncode == 1 and "is not a directory" in missing.stderr


def test_plugins_check_without_the_suite(
    echo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from hangar.cli import main

    # in-process, with the suite made unimportable (None in sys.modules blocks the import)
    monkeypatch.setitem(sys.modules, "hangar.plugins.cts", None)
    monkeypatch.setattr(sys, "argv", ["ainb", "plugins", "check", str(echo)])
    with pytest.raises(SystemExit) as exit_:
        main.ainb_main()
    assert exit_.value.code == 1
    assert capsys.readouterr().err == (
        "ainb: error: echoer: manifest and discovery OK, but the conformance suite is not"
        " installed (hangar.plugins.cts)\n"
    )


def test_reload_lifts_quarantine(echo: Path, plugin_home: HangarPaths) -> None:
    store = QuarantineStore(plugin_home.root / "plugins" / "state.json")
    store.quarantine("echoer", "crashed: exit 1")
    listed = json.loads(ainb("plugins", "list", "--json").stdout)
    assert next(p for p in listed["plugins"] if p["id"] == "echoer")["state"] == "quarantined"

    blocked = ainb("echo", "echo", "hi")
    assert blocked.returncode == 1 and blocked.stdout == ""
    assert "quarantined" in blocked.stderr and "ainb plugins reload echoer" in blocked.stderr

    out = ainb("plugins", "reload", "echoer")
    assert (out.returncode, out.stdout) == (0, "reloaded echoer (quarantine lifted)\n")
    assert store.get("echoer") is None
    assert ainb("echo", "echo", "hi").stdout == "hi\n"
    again = json.loads(ainb("plugins", "reload", "echoer", "--json").stdout)
    assert again == {"id": "echoer", "state": "idle", "quarantine_lifted": False}


def test_reload_errors(make_plugin: PluginFactory) -> None:
    missing = ainb("plugins", "reload", "ghost")
    assert missing.returncode == 4 and "no plugin 'ghost'" in missing.stderr
    make_plugin("halfbaked", echo_body("x"), manifest="[plugin]\nname = 'halfbaked'\n")
    broken = ainb("plugins", "reload", "halfbaked")
    assert broken.returncode == 1 and "[plugin].version is required" in broken.stderr


def test_crashing_plugin_is_quarantined_across_invocations(
    make_plugin: PluginFactory, plugin_home: HangarPaths
) -> None:
    make_plugin(
        "crashy",
        "#!/usr/bin/env python3\nimport sys\nsys.exit(5)\n",
        raw=True,
        provides='cli_namespaces = ["crashy"]',
    )
    first = ainb("crashy", "go")
    assert first.returncode == 1
    assert "quarantined" in first.stderr and "exit 5" not in first.stdout
    second = ainb("crashy", "go")  # a new process remembers the quarantine
    assert second.returncode == 1 and "quarantined" in second.stderr
    spawns = [r for r in read_log(plugin_home) if r["event"] == "plugin.spawn"]
    assert len(spawns) == 3  # three tries in the first run, none in the second
    assert ainb("plugins", "reload", "crashy").returncode == 0


@pytest.mark.skipif(not HAS_CTS, reason="the conformance suite is not installed")
def test_plugins_check_runs_the_suite(echo: Path) -> None:
    out = ainb("plugins", "check", str(echo), "--json", timeout=120)
    report = json.loads(out.stdout)
    assert [a["axis"] for a in report["axes"]] == list(range(1, 15))
    assert all(set(a) == {"axis", "name", "ok", "detail"} for a in report["axes"])
    assert report["ok"] == all(a["ok"] for a in report["axes"])
    assert out.returncode == (0 if report["ok"] else 1)


MORTAL = """
class Mortal(Plugin):
    name = "mortal"
    version = "0.1.0"

    def cli_dispatch(self, namespace, argv):
        if argv[:1] == ["crash"]:
            print("Traceback: mortal fell over", file=sys.stderr, flush=True)
            raise SystemExit(1)
        if argv[:1] == ["garbled"]:  # a hand-built answer, text where bytes belong
            return {"stdout": "hello world\\n", "stderr": "", "exit_code": 0}
        return CliOutput(stdout=b"alive\\n")

if __name__ == "__main__":
    run(Mortal())
"""


@pytest.fixture
def mortal(make_plugin: PluginFactory) -> Path:
    return make_plugin("mortal", MORTAL, provides='cli_namespaces = ["mortal"]')


def test_a_plugin_exiting_mid_command_says_how_and_where_its_stderr_went(
    mortal: Path, plugin_home: HangarPaths
) -> None:
    out = ainb("mortal", "crash", "--now")
    assert out.returncode == 1 and out.stdout == ""
    (line,) = out.stderr.splitlines()
    assert line.startswith(
        "ainb: error: plugin mortal exited with status 1 while running 'ainb mortal crash --now'"
    )
    log = Path(line.rsplit("its stderr is logged in ", 1)[1])
    assert log.parent == plugin_home.logs and log.name.startswith("plugins.")
    assert "Traceback: mortal fell over" in log.read_text()


def test_a_malformed_result_blames_the_plugin(mortal: Path) -> None:
    out = ainb("mortal", "garbled")
    assert out.returncode == 1 and out.stdout == ""
    assert out.stderr.startswith(
        "ainb: error: plugin mortal returned an invalid cli_dispatch result: "
    )
    assert "invalid params" not in out.stderr and "$.stdout" in out.stderr
    assert ainb("mortal", "ok").stdout == "alive\n"  # it did not count as a crash


def test_crashes_in_separate_runs_add_up_to_a_quarantine(
    mortal: Path, plugin_home: HangarPaths
) -> None:
    def state() -> str:
        listed = json.loads(ainb("plugins", "list", "--json").stdout)
        return str(next(p for p in listed["plugins"] if p["id"] == "mortal")["state"])

    for _ in range(2):
        assert "exited with status 1" in ainb("mortal", "crash").stderr
        assert state() == "ok"
    assert ainb("mortal", "ok").stdout == "alive\n"  # a good run in between forgets nothing
    assert "exited with status 1" in ainb("mortal", "crash").stderr  # the third, in the window
    assert state() == "quarantined"
    blocked = ainb("mortal", "ok")
    assert blocked.returncode == 1 and "quarantined after repeated crashes" in blocked.stderr
    assert "(last: stdout closed (exit 1))" in blocked.stderr

    assert ainb("plugins", "reload", "mortal").returncode == 0  # forgets the crashes too
    assert "exited with status 1" in ainb("mortal", "crash").stderr
    assert state() == "ok"
    assert ainb("mortal", "ok").stdout == "alive\n"
