"""Plugin → host requests, routed in-process: the host's ``on_plugin_request`` (what a
plugin's connection calls) with a supervisor marked initialised, no plugin process."""

from __future__ import annotations

from typing import Any

import pytest

from hangar.plugins import protocol as p
from hangar.plugins.runtime import PluginHost, PluginState
from hangar.plugins.runtime.host_services import NOT_IMPLEMENTED_METHODS
from hangar.plugins.runtime.supervisor import Supervisor
from hangar.proto.jsonrpc import RpcError
from tests.plugins.conftest import PluginFactory, echo_body, read_log, wait_until


def running(host: PluginHost, make_plugin: PluginFactory, caps: str = "") -> Supervisor:
    host.load(make_plugin("caller", echo_body("caller"), caps=caps))
    sup = host.supervisor("caller")
    sup.state = PluginState.RUNNING  # served as if initialised; it never runs here
    return sup


async def answer(host: PluginHost, sup: Supervisor, method: str, params: Any) -> RpcError:
    with pytest.raises(RpcError) as err:
        await host.on_plugin_request(sup, method, params)
    return err.value


async def test_every_host_method_has_a_route(rt_host: PluginHost) -> None:
    served = {
        p.SNAPSHOT_PUBLISH,
        p.SNAPSHOT_GET,
        p.SNAPSHOT_SUBSCRIBE,
        p.ACTION_INVOKE,
        p.FS_READ_FILE,
        p.FS_READ_DIR,
        p.FS_WRITE_FILE,
        p.NETWORK_FETCH,
        p.SECRET_STORE_GET,
        p.SPAWN_MANAGED_SUBPROCESS,
        p.UNIX_SOCKET_DIAL,
    }
    assert set(rt_host.services.requests.methods()) == served | NOT_IMPLEMENTED_METHODS


async def test_an_unknown_method_is_32601(make_plugin: PluginFactory, rt_host: PluginHost) -> None:
    sup = running(rt_host, make_plugin)
    err = await answer(rt_host, sup, "host/nope", {"a": 1})
    assert (err.code, err.message) == (-32601, "method not found: host/nope")


async def test_a_protocol_method_this_host_lacks_is_32005(
    make_plugin: PluginFactory, rt_host: PluginHost
) -> None:
    sup = running(rt_host, make_plugin, caps='"workspace:write" = true')
    err = await answer(rt_host, sup, p.WORKSPACE_SET_ACTIVE, {"slug": "x"})
    assert err.code == -32005
    assert err.message == f"{p.WORKSPACE_SET_ACTIVE} is not implemented by this host"


async def test_the_gate_answers_before_the_route(
    make_plugin: PluginFactory, rt_host: PluginHost
) -> None:
    sup = running(rt_host, make_plugin)  # no workspace:write, no event_bus
    assert (await answer(rt_host, sup, p.WORKSPACE_SET_ACTIVE, {"slug": "x"})).code == -32001
    assert (await answer(rt_host, sup, p.SNAPSHOT_GET, {"topic": 5})).code == -32001
    assert sup.gate.denials == 2


async def test_a_call_before_the_init_reply_is_refused(
    make_plugin: PluginFactory, rt_host: PluginHost
) -> None:
    sup = running(rt_host, make_plugin)
    sup.state = PluginState.IDLE
    err = await answer(rt_host, sup, "host/nope", {})
    assert (err.code, err.message) == (-32001, "not initialised")


async def test_invalid_params_are_32602(make_plugin: PluginFactory, rt_host: PluginHost) -> None:
    sup = running(rt_host, make_plugin, caps="event_bus = true")
    err = await answer(rt_host, sup, p.SNAPSHOT_GET, {"topic": 5})
    assert err.code == -32602 and err.message.startswith("invalid params: ")
    # absent params are decoded as they are (null), not as an empty object
    err = await answer(rt_host, sup, p.ACTION_INVOKE, None)
    assert err.code == -32602 and "got `null`" in err.message


async def test_a_routed_method_reaches_its_handler(
    make_plugin: PluginFactory, rt_host: PluginHost
) -> None:
    sup = running(rt_host, make_plugin, caps="event_bus = true")
    rt_host.register_action("upper", lambda b: b.upper())
    params = {"action": "upper", "payload": [97, 98], "timeout_ms": 1000}  # legacy int array
    got = await rt_host.on_plugin_request(sup, p.ACTION_INVOKE, params)
    assert got == p.ActionInvokeResult(b"AB")
    rt_host.publish("usage", b"42")
    got = await rt_host.on_plugin_request(sup, p.SNAPSHOT_GET, {"topic": "usage"})
    assert isinstance(got, p.SnapshotGetResult) and got.payload == b"42"


async def test_notifications_are_routed_and_bad_ones_logged(
    make_plugin: PluginFactory, rt_host: PluginHost
) -> None:
    sup = running(rt_host, make_plugin)
    entry = {"level": "info", "message": "hello", "fields": {"n": 1}}
    await rt_host.on_plugin_notification(sup, p.LOG, entry)
    await rt_host.on_plugin_notification(sup, p.LOG, {"level": 3})  # bad: logged, not raised
    await rt_host.on_plugin_notification(sup, "host/whatever", {})  # unknown: ignored
    # publishing without event_bus is a denial, logged
    await rt_host.on_plugin_notification(sup, p.SNAPSHOT_PUBLISH, {"topic": "t"})

    def events() -> list[str]:
        return [str(r["event"]) for r in read_log(rt_host.paths) if r["plugin"] == "caller"]

    await wait_until(lambda: "plugin.denied" in events())
    assert {"plugin.log", "plugin.bad_notification", "plugin.denied"} <= set(events())
    line = next(r for r in read_log(rt_host.paths) if r["event"] == "plugin.log")
    assert (line["msg"], line["n"]) == ("hello", 1)
