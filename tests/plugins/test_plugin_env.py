"""What a plugin and its managed children see (issue 9, item 4): a scrubbed environment.

A real plugin over the real wire dumps its environment and tries to read the daemon's socket
token through every path its environment holds; the host around it has the user's ambient
secrets, loader variables and the data home in its own environment.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from hangar.core.env_policy import DEFAULT_ALLOW, EnvPolicy, is_denied
from hangar.core.paths import HangarPaths
from hangar.plugins import protocol as p
from hangar.plugins.runtime import PluginHost
from hangar.plugins.runtime.environment import is_withheld
from hangar.plugins.runtime.errors import PluginError
from tests.plugins.conftest import FAST, PluginFactory

TOKEN = "mdt_PLUGINSMUSTNEVERREADTHISTOKEN234567ABCDEFGHIJKLMNOPQ"

# ``env`` → its environment; ``probe`` → [variable, path] for each path named in its
# environment (or that path + daemon.token) whose text holds the token; ``call m json`` →
# {result}|{code, message}; ``events`` → every handle_event so far.
PROBE = """
import base64, json
class Probe(Plugin):
    name = "{id}"
    events = []
    def handle_event(self, topic, payload):
        self.events.append([topic, base64.b64encode(payload).decode()])
    def cli_dispatch(self, namespace, argv):
        if argv[0] == "env":
            return CliOutput(stdout=json.dumps(dict(os.environ)).encode())
        if argv[0] == "events":
            return CliOutput(stdout=json.dumps(self.events).encode())
        if argv[0] == "probe":
            found = []
            for key, value in os.environ.items():
                for part in value.split(os.pathsep):
                    if not os.path.isabs(part):
                        continue
                    for path in (part, os.path.join(part, "daemon.token")):
                        try:
                            with open(path, errors="replace") as fh:
                                text = fh.read(1 << 16)
                        except OSError:
                            continue
                        if argv[1] in text:
                            found.append([key, path])
            return CliOutput(stdout=json.dumps(found).encode())
        try:
            out = {{"result": self.host.call(argv[1], json.loads(argv[2]))}}
        except PluginRpcError as exc:
            out = {{"code": exc.code, "message": exc.message}}
        return CliOutput(stdout=json.dumps(out).encode())
run(Probe())
"""

PY = sys.executable

#: The shell that first started the host had all of this.
AMBIENT = {
    "GITHUB_TOKEN": "ghp_ambient",
    "GH_TOKEN": "gh_ambient",
    "AWS_ACCESS_KEY_ID": "AKIAAMBIENT",
    "AWS_SECRET_ACCESS_KEY": "aws-secret-ambient",
    "AWS_REGION": "eu-west-1",
    "ANTHROPIC_API_KEY": "sk-ant-ambient",
    "OPENAI_API_KEY": "sk-openai-ambient",
    "CLAUDE_CODE_OAUTH_TOKEN": "oauth-ambient",
    "CLAUDE_CONFIG_DIR": "/cfg/claude",
    "SSH_AUTH_SOCK": "/tmp/ssh-agent.sock",
    "HANGAR_DATABASE_URL": "postgresql://u:pw@db/hangar",
    "AINB_SECRET_GH_TOKEN": "from-the-secret-env",
    "LD_PRELOAD": "/nonexistent/evil.so",
    "LD_AUDIT": "/nonexistent/audit.so",
    "BASH_ENV": "/nonexistent/bashenv",
    "BASH_FUNC_ls%%": "() { echo pwned; }",
    "PYTHONSTARTUP": "/nonexistent/startup.py",
    "PYTHONPATH": "/nonexistent/site",
    "NODE_OPTIONS": "--require /nonexistent/x.js",
    "GIT_SSH_COMMAND": "touch /tmp/pwned",
    "GIT_CONFIG_GLOBAL": "/nonexistent/gitconfig",
    "LANG": "C.UTF-8",
    "TZ": "Europe/Paris",
    "GIT_AUTHOR_NAME": "Ada",
}

HARMLESS = ("LANG", "TZ", "CLAUDE_CONFIG_DIR", "GIT_AUTHOR_NAME")
SECRET_VALUES = [v for k, v in AMBIENT.items() if k not in HARMLESS]

#: An allowlist that lets every one of those through to agents that could be let through.
WIDE = EnvPolicy.from_keys(
    [
        *DEFAULT_ALLOW,
        "GITHUB_TOKEN",
        "GH_TOKEN",
        "AWS_*",
        "ANTHROPIC_API_KEY",
        "OPENAI_API_KEY",
        "SSH_AUTH_SOCK",
        "HANGAR_*",
        "AINB_*",
        "GIT_*",
        "L*",
        "B*",
        "N*",
        "P*",
    ]
)

HostFactory = Callable[..., PluginHost]


@pytest.fixture
async def make_host(plugin_home: HangarPaths, plugins_dir: Path) -> AsyncIterator[HostFactory]:
    hosts: list[PluginHost] = []

    def make(env_policy: EnvPolicy | None = None) -> PluginHost:
        host = PluginHost(
            paths=plugin_home,
            dirs=[(plugins_dir, "env")],
            policy=FAST,
            home=plugin_home.root.parent / "home",
            env={**os.environ, **AMBIENT, "AINB_HANGAR_HOME": str(plugin_home.root)},
            env_policy=env_policy,
        )
        hosts.append(host)
        return host

    yield make
    for host in hosts:
        await host.aclose()


@pytest.fixture
def token(plugin_home: HangarPaths) -> Path:
    """The daemon's token and socket-side files, where the daemon keeps them."""
    plugin_home.root.mkdir(parents=True, exist_ok=True)
    plugin_home.token.write_text(TOKEN + "\n")
    plugin_home.token.chmod(0o600)
    secrets = plugin_home.root / "secrets.toml"
    secrets.write_text(f'[gh]\ntoken = "{TOKEN}"\n')
    secrets.chmod(0o600)
    return plugin_home.token


def load_probe(host: PluginHost, make_plugin: PluginFactory, plugin_id: str, caps: str = "") -> str:
    host.load(
        make_plugin(
            plugin_id,
            PROBE.format(id=plugin_id),
            caps=caps,
            provides=f'cli_namespaces = ["{plugin_id}"]',
        )
    )
    return plugin_id


async def dump_env(host: PluginHost, ns: str) -> dict[str, str]:
    return json.loads((await host.cli_dispatch(ns, ["env"])).stdout)


def under(path: str, root: Path) -> bool:
    real = Path(os.path.realpath(path))
    return real == root or root in real.parents


def assert_scrubbed(env: dict[str, str], paths: HangarPaths, data_dir: Path) -> None:
    """No secret, no deny-family member, nothing that names the data home."""
    assert not [k for k in env if is_denied(k) and k != "PYTHONPATH"], env
    assert not [k for k in env if k.startswith(("AINB_SECRET_", "HANGAR_"))]
    assert "AINB_HANGAR_HOME" not in env
    leaked = [v for v in SECRET_VALUES if any(v in value for value in env.values())]
    assert not leaked
    for gone in ("GITHUB_TOKEN", "AWS_SECRET_ACCESS_KEY", "ANTHROPIC_API_KEY", "SSH_AUTH_SOCK"):
        assert gone not in env
    # PYTHONPATH is the host's stamp: the SDK's package, and nothing of the ambient one
    assert env["PYTHONPATH"] == str(Path(p.__file__).resolve().parents[2])
    # the one path under the data home is the plugin's own data dir; none names the home
    # itself or a directory above it
    home = Path(os.path.realpath(paths.root))
    for key, value in env.items():
        for part in value.split(os.pathsep):
            if not os.path.isabs(part):
                continue
            assert Path(os.path.realpath(part)) not in (home, *home.parents) or part == "/", key
            if under(part, home):
                assert key == "AINB_PLUGIN_DATA_DIR" and Path(part) == data_dir, key


async def test_plugin_env_is_scrubbed_and_the_token_out_of_reach(
    make_host: HostFactory, make_plugin: PluginFactory, plugin_home: HangarPaths, token: Path
) -> None:
    for policy, ns in ((None, "defaults"), (WIDE, "wide")):
        host = make_host(policy)
        load_probe(host, make_plugin, ns)
        env = await dump_env(host, ns)
        assert_scrubbed(env, plugin_home, host.data_dir(ns))
        # what a plugin does need still comes through
        assert env["HOME"] == os.environ["HOME"] and env["LANG"] == "C.UTF-8"
        assert env["PATH"] == os.environ["PATH"] and env["TZ"] == "Europe/Paris"
        assert env["CLAUDE_CONFIG_DIR"] == "/cfg/claude"
        assert env["AINB_PLUGIN_ID"] == ns and env["AINB_PLUGIN_DATA_DIR"] == str(host.data_dir(ns))
        # no path its environment names leads to the token (or the secrets file)
        found = json.loads((await host.cli_dispatch(ns, ["probe", TOKEN])).stdout)
        assert found == []


async def test_wide_allowlist_passes_harmless_neighbours_only(
    make_host: HostFactory, make_plugin: PluginFactory
) -> None:
    host = make_host(WIDE)
    ns = load_probe(host, make_plugin, "neigh")
    env = await dump_env(host, ns)
    assert env["GIT_AUTHOR_NAME"] == "Ada"
    for gone in ("GIT_SSH_COMMAND", "GIT_CONFIG_GLOBAL", "LD_AUDIT", "BASH_FUNC_ls%%"):
        assert gone not in env
    # a credential is withheld from plugins even where agents would get it
    assert "AWS_REGION" not in env and "OPENAI_API_KEY" not in env


async def test_a_granted_secret_still_comes_through_the_capability(
    make_host: HostFactory, make_plugin: PluginFactory
) -> None:
    host = make_host()
    ns = load_probe(host, make_plugin, "granted", caps='"secrets:read" = ["token"]')
    got = await call(host, ns, "host/secret_store_get", {"scope": "gh", "key": "token"})
    assert got == {"result": {"value": "from-the-secret-env"}}
    assert "AINB_SECRET_GH_TOKEN" not in await dump_env(host, ns)


async def call(host: PluginHost, ns: str, method: str, params: object) -> dict:
    out = await host.cli_dispatch(ns, ["call", method, json.dumps(params)])
    return json.loads(out.stdout)


async def managed_output(host: PluginHost, ns: str, handle: str) -> list[bytes]:
    """The child's stdout lines, once its exit event arrived (polled to a deadline)."""
    deadline = asyncio.get_running_loop().time() + 10.0
    while True:
        got = json.loads((await host.cli_dispatch(ns, ["events"])).stdout)
        mine = [(t, base64.b64decode(b)) for t, b in got if t.startswith(f"managed:{handle}:")]
        if any(t.endswith(":exit") for t, _ in mine):
            return [body for t, body in mine if t.endswith(":stdout")]
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"managed child {handle} never exited: {mine!r}"[:2000])
        await asyncio.sleep(0.02)


async def test_managed_spawn_gets_the_same_scrubbed_env(
    make_host: HostFactory,
    make_plugin: PluginFactory,
    plugin_home: HangarPaths,
    token: Path,
) -> None:
    host = make_host(WIDE)
    ns = load_probe(host, make_plugin, "spawner", caps=f'spawn_managed_subprocess = ["{PY}"]')
    script = "import json, os; print(json.dumps(dict(os.environ)))"
    got = await call(
        host,
        ns,
        "host/spawn_managed_subprocess",
        {"argv": [PY, "-c", script], "env": {"MY_SETTING": "1", "GH_TOKEN": "granted-by-me"}},
    )
    lines = await managed_output(host, ns, got["result"]["handle"])
    child = json.loads(lines[0])
    # what the plugin adds reaches the child, even a secret it was granted and passes on
    assert child.pop("MY_SETTING") == "1" and child.pop("GH_TOKEN") == "granted-by-me"
    assert_scrubbed(child, plugin_home, host.data_dir(ns))
    plugin_env = await dump_env(host, ns)
    assert {k: v for k, v in child.items() if k in plugin_env} == {
        k: v for k, v in plugin_env.items() if k in child
    }


@pytest.mark.parametrize(
    ("name", "family"),
    [
        ("LD_PRELOAD", "dynamic loader"),
        ("PYTHONSTARTUP", "Python start-up"),
        ("BASH_FUNC_ls%%", "exported shell functions"),
        ("GIT_SSH_COMMAND", "git command hooks"),
    ],
)
async def test_managed_spawn_refuses_a_deny_family_variable(
    make_host: HostFactory, make_plugin: PluginFactory, tmp_path: Path, name: str, family: str
) -> None:
    host = make_host()
    ns = load_probe(host, make_plugin, "denied", caps='spawn_managed_subprocess = ["touch"]')
    marker = tmp_path / "started"
    got = await call(
        host,
        ns,
        "host/spawn_managed_subprocess",
        {"argv": ["touch", str(marker)], "env": {name: "/nonexistent/x"}},
    )
    assert got["code"] == p.INVALID_PARAMS
    assert repr(name) in got["message"] and repr(family) in got["message"]
    assert not host.managed.pids(ns) and not marker.exists()


async def test_an_allow_file_the_daemon_refuses_keeps_plugins_from_starting(
    make_host: HostFactory, make_plugin: PluginFactory, plugin_home: HangarPaths
) -> None:
    plugin_home.root.mkdir(parents=True, exist_ok=True)
    allow = plugin_home.root / "env.allow.toml"
    allow.write_text('[env]\nallow = ["HOME", "LD_*"]\n')
    host = make_host()
    ns = load_probe(host, make_plugin, "refused")
    with pytest.raises(PluginError) as info:
        await host.cli_dispatch(ns, ["env"])
    assert str(allow) in info.value.message and "'LD_*'" in info.value.message
    assert host.pid(ns) is None


async def test_the_allow_file_is_the_daemons(
    make_host: HostFactory, make_plugin: PluginFactory, plugin_home: HangarPaths
) -> None:
    plugin_home.root.mkdir(parents=True, exist_ok=True)
    (plugin_home.root / "env.allow.toml").write_text('[env]\nallow = ["PATH", "GIT_*"]\n')
    host = make_host()
    ns = load_probe(host, make_plugin, "userpolicy")
    env = await dump_env(host, ns)
    assert "HOME" not in env and "LANG" not in env
    assert env["GIT_AUTHOR_NAME"] == "Ada" and "GIT_SSH_COMMAND" not in env


@pytest.mark.parametrize(
    "key",
    [
        "GITHUB_TOKEN",
        "GH_TOKEN",
        "AWS_PROFILE",
        "ANTHROPIC_API_KEY",
        "OPENAI_API_KEY",
        "GEMINI_API_KEY",
        "CLAUDE_CODE_OAUTH_TOKEN",
        "SSH_AUTH_SOCK",
        "HANGAR_DATABASE_URL",
        "DATABASE_URL",
        "AINB_HANGAR_HOME",
        "AINB_SECRET_X_Y",
        "NPM_TOKEN",
        "MY_SERVICE_PASSWORD",
        "SENTRY_DSN",
        "XAUTHORITY",
        "KUBECONFIG",
        "github_token",
    ],
)
def test_credentials_and_host_settings_are_withheld(key: str) -> None:
    assert is_withheld(key)


@pytest.mark.parametrize(
    "key", ["HOME", "PATH", "LANG", "LC_ALL", "TERM", "TZ", "GIT_AUTHOR_NAME", "CLAUDE_CONFIG_DIR"]
)
def test_ordinary_variables_are_not_withheld(key: str) -> None:
    assert not is_withheld(key)
