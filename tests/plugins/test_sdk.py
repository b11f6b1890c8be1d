"""The SDK run loop over real stdio, driven by hand from the host side, and ``paint``."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

from hangar.plugins import protocol as p
from hangar.plugins.sdk import paint
from hangar.proto.framing import encode_frame, read_frame_sync
from hangar.proto.jsonrpc import (
    Notification,
    Request,
    Response,
    decode_message,
    encode_notification,
    encode_request,
    encode_result,
)

pytestmark = pytest.mark.timeout(30)

HEADER = """
import hashlib, json, os, sys, time
from hangar.plugins.sdk import CliOutput, Plugin, PluginRpcError, run
"""


class Wire:
    """The host end of one plugin process."""

    def __init__(self, script: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(script)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )

    def send(self, body: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(encode_frame(body))
        self.proc.stdin.flush()

    def recv(self) -> Any:
        assert self.proc.stdout is not None
        body = read_frame_sync(self.proc.stdout)
        assert body is not None, "plugin closed stdout"
        return decode_message(body)

    def call(self, rid: int, method: str, params: Any = None) -> Response:
        self.send(encode_request(rid, method, params))
        msg = self.recv()
        assert isinstance(msg, Response) and msg.id == rid, msg
        return msg

    def init(self, granted: list[str] | None = None) -> Response:
        return self.call(
            1,
            p.INIT,
            p.InitParams("/x/manifest.toml", granted or [], p.ABI_VERSION),
        )


@pytest.fixture
def plugin(tmp_path: Path) -> Iterator[Any]:
    wires: list[Wire] = []

    def start(body: str) -> Wire:
        script = tmp_path / f"plugin{len(wires)}.py"
        script.write_text(HEADER + textwrap.dedent(body))
        wire = Wire(script)
        wires.append(wire)
        return wire

    yield start
    for w in wires:
        w.proc.kill()
        w.proc.wait()
        for stream in (w.proc.stdin, w.proc.stdout, w.proc.stderr):
            if stream is not None:
                stream.close()


BASIC = """
class Basic(Plugin):
    name = "basic"
    version = "1.2.3"
    def on_init(self, granted):
        self.seen = list(granted)
    def cli_dispatch(self, namespace, argv):
        if argv == ["boom"]:
            raise RuntimeError("kaput")
        if argv == ["print"]:
            print("stray output")
            return CliOutput(stdout=b"clean")
        if argv == ["granted"]:
            return CliOutput(stdout=",".join(self.seen).encode())
        return super().cli_dispatch(namespace, argv)
    def on_shutdown(self):
        print("bye", file=sys.stderr)
run(Basic())
"""


def cli(wire: Wire, rid: int, *argv: str) -> p.CliOutput:
    res = wire.call(rid, p.CLI_DISPATCH, p.CliDispatchParams("basic", list(argv)))
    assert res.error is None, res.error
    return p.from_wire(res.result, p.CliOutput)


def test_init_render_default_cli_and_shutdown(plugin: Any) -> None:
    w = plugin(BASIC)
    assert w.init(["event_bus"]).result == {"name": "basic", "version": "1.2.3"}
    assert cli(w, 2, "granted").stdout == b"event_bus"
    render = w.call(3, p.RENDER, p.RenderParams(p.Viewport(7, 3)))
    assert render.result == {"buffer": {"width": 7, "height": 3, "cells": []}}
    default = cli(w, 4, "what")
    assert default.exit_code == 2 and b"no command line" in default.stderr
    assert w.call(5, p.SHUTDOWN).result == {}
    assert w.proc.wait(10) == 0
    assert b"bye" in w.proc.stderr.read()


def test_unknown_methods_and_handler_errors_keep_it_serving(plugin: Any) -> None:
    w = plugin(BASIC)
    w.init()
    unknown = w.call(2, "plugin/teleport")
    assert unknown.error is not None and unknown.error.code == -32601
    boom = w.call(3, p.CLI_DISPATCH, p.CliDispatchParams("basic", ["boom"]))
    assert boom.error is not None and boom.error.code == -32603
    assert "RuntimeError: kaput" in boom.error.message
    bad = w.call(4, p.RENDER, {"viewport": {"width": "wide"}})
    assert bad.error is not None and bad.error.code == -32602
    w.send(encode_notification("plugin/whatever", {}))  # ignored, no answer
    w.send(b"not json")
    garbled = w.recv()
    assert isinstance(garbled, Response) and garbled.id is None
    assert garbled.error is not None and garbled.error.code == -32700
    assert cli(w, 5, "granted").exit_code == 0


def test_print_goes_to_stderr_not_the_wire(plugin: Any) -> None:
    w = plugin(BASIC)
    w.init()
    assert cli(w, 2, "print").stdout == b"clean"
    w.send(encode_request(3, p.SHUTDOWN))
    assert w.recv().id == 3
    assert w.proc.wait(10) == 0
    assert b"stray output" in w.proc.stderr.read()


def test_eof_runs_on_shutdown_and_exits_cleanly(plugin: Any) -> None:
    w = plugin(BASIC)
    w.init()
    w.proc.stdin.close()
    assert w.proc.wait(10) == 0
    assert b"bye" in w.proc.stderr.read()


REVERSE = """
class Rev(Plugin):
    name = "rev"
    def cli_dispatch(self, namespace, argv):
        if argv[0] == "get":
            value = self.host.get(argv[1])
            digest = b"none" if value is None else hashlib.sha256(value).hexdigest().encode()
            return CliOutput(stdout=digest)
        if argv[0] == "pub":
            self.host.publish(argv[1], b"z" * int(argv[2]))
            return CliOutput()
        if argv[0] == "invoke":
            try:
                self.host.invoke("act", b"in", 50)
            except PluginRpcError as exc:
                return CliOutput(stdout=f"{exc.code} {exc.message}".encode())
        return CliOutput()
    def render(self, viewport, generation):
        from hangar.plugins.protocol import WireBuffer
        return WireBuffer(viewport.width, viewport.height)
run(Rev())
"""


def test_reverse_call_defers_other_messages(plugin: Any) -> None:
    w = plugin(REVERSE)
    w.init()
    w.send(encode_request(2, p.CLI_DISPATCH, p.CliDispatchParams("rev", ["get", "t"])))
    get = w.recv()
    assert isinstance(get, Request) and get.method == p.SNAPSHOT_GET
    assert get.params == {"topic": "t"}
    # while the plugin waits, the host asks for a render: it must wait its turn
    w.send(encode_request(3, p.RENDER, p.RenderParams(p.Viewport(1, 1))))
    w.send(encode_result(get.id, p.SnapshotGetResult(version=1, payload=b"abc")))
    first, second = w.recv(), w.recv()
    assert (first.id, second.id) == (2, 3)
    out = p.from_wire(first.result, p.CliOutput)
    assert out.stdout.decode() == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_reverse_call_error_raises_plugin_rpc_error(plugin: Any) -> None:
    w = plugin(REVERSE)
    w.init()
    w.send(encode_request(2, p.CLI_DISPATCH, p.CliDispatchParams("rev", ["invoke"])))
    inv = w.recv()
    assert inv.method == p.ACTION_INVOKE
    assert inv.params == {"action": "act", "payload": "aW4=", "timeout_ms": 50}
    from hangar.proto.jsonrpc import encode_error

    w.send(encode_error(inv.id, -32002, "action act timed out after 50 ms"))
    out = p.from_wire(w.recv().result, p.CliOutput)
    assert out.stdout == b"-32002 action act timed out after 50 ms"


def test_chunked_get(plugin: Any) -> None:
    w = plugin(REVERSE)
    w.init()
    payload = bytes(range(256)) * (p.CHUNK_SIZE // 256 + 10)
    chunks = p.chunk_payload(payload, version=7, published_ns=1)
    w.send(encode_request(2, p.CLI_DISPATCH, p.CliDispatchParams("rev", ["get", "big"])))
    first = w.recv()
    w.send(encode_result(first.id, p.SnapshotGetResult(version=7, chunk=chunks[0])))
    second = w.recv()
    assert second.params == {"topic": "big", "version": 7, "chunk_index": 1}
    w.send(encode_result(second.id, p.SnapshotGetResult(version=7, chunk=chunks[1])))
    import hashlib

    out = p.from_wire(w.recv().result, p.CliOutput)
    assert out.stdout.decode() == hashlib.sha256(payload).hexdigest()


def test_big_publish_is_chunked(plugin: Any) -> None:
    w = plugin(REVERSE)
    w.init()
    size = p.CHUNK_SIZE + 10
    w.send(encode_request(2, p.CLI_DISPATCH, p.CliDispatchParams("rev", ["pub", "t", str(size)])))
    notes = [w.recv(), w.recv()]
    assert w.recv().id == 2
    assert all(isinstance(n, Notification) and n.method == p.SNAPSHOT_PUBLISH for n in notes)
    parsed = [p.from_wire(n.params, p.SnapshotPublishParams) for n in notes]
    assert [c.chunk.chunk_index for c in parsed] == [0, 1]  # type: ignore[union-attr]
    assert b"".join(c.chunk.data for c in parsed) == b"z" * size  # type: ignore[union-attr]
    # small payloads go whole
    w.send(encode_request(3, p.CLI_DISPATCH, p.CliDispatchParams("rev", ["pub", "t", "3"])))
    small = w.recv()
    assert small.params == {"topic": "t", "payload": base64.b64encode(b"zzz").decode()}


EVENTS = """
class Ev(Plugin):
    name = "ev"
    tick_interval = 0.05
    ticks = 0
    def handle_event(self, topic, payload):
        self.host.log("info", "event", topic=topic, size=len(payload))
    def handle_key(self, screen_id, key):
        self.host.log("info", "key", screen=screen_id, char=key.char, name=key.name)
    def on_tick(self):
        self.ticks += 1
        if self.ticks == 2:
            self.host.log("info", "ticked")
run(Ev())
"""


def logs(w: Wire, n: int) -> list[dict[str, Any]]:
    out = []
    for _ in range(n):
        msg = w.recv()
        assert isinstance(msg, Notification) and msg.method == p.LOG
        out.append(msg.params)
    return out


def test_events_keys_chunks_and_ticks(plugin: Any) -> None:
    w = plugin(EVENTS)
    w.init(["event_bus"])
    (tick,) = logs(w, 1)  # ticks start after init
    assert tick["message"] == "ticked"
    w.send(encode_notification(p.HANDLE_EVENT, p.HandleEventParams("t", b"abc")))
    chunks = p.chunk_payload(b"q" * (p.CHUNK_SIZE + 1), 3, 0)
    w.send(encode_notification(p.HANDLE_EVENT, p.HandleEventParams("big", chunk=chunks[1])))
    for c in chunks:  # the orphan chunk 1 above was dropped; this full set lands
        w.send(encode_notification(p.HANDLE_EVENT, p.HandleEventParams("big", chunk=c)))
    legacy = {"topic": "old", "payload": [1, 2, 3, 4]}  # integer-array bytes still decode
    w.send(encode_notification(p.HANDLE_EVENT, legacy))
    w.send(encode_notification(p.HANDLE_KEY, p.HandleKeyParams("main", p.key("f2"))))
    got = logs(w, 4)
    assert [x["fields"] for x in got] == [
        {"topic": "t", "size": 3},
        {"topic": "big", "size": p.CHUNK_SIZE + 1},
        {"topic": "old", "size": 4},
        {"screen": "main", "char": None, "name": "f"},
    ]


# -- paint ------------------------------------------------------------------------------------


def cells(buf: p.WireBuffer) -> dict[tuple[int, int], p.Cell]:
    return {(c.x, c.y): cell for c, cell in buf.cells}


def test_paint_styles_to_ratatui_bits() -> None:
    from rich.text import Text

    text = Text()
    text.append("B", style="bold #ff0000 on #0000ff")
    text.append("i", style="italic underline")
    text.append("r", style="reverse strike dim")
    text.append(" ")
    text.append(" ", style="on #00ff00")
    grid = cells(paint(text, 10, 1))
    assert grid[(0, 0)] == p.Cell("B", p.Color(255, 0, 0), p.Color(0, 0, 255), p.BOLD)
    assert grid[(1, 0)].modifier == p.ITALIC | p.UNDERLINED
    assert grid[(2, 0)].modifier == p.REVERSED | p.CROSSED_OUT | p.DIM
    assert (3, 0) not in grid  # a plain space is not painted: the buffer is sparse
    assert grid[(4, 0)] == p.Cell(" ", None, p.Color(0, 255, 0), 0)


def test_paint_clips_and_wraps_to_the_viewport() -> None:
    buf = paint("abcdefgh\nsecond\nthird", 4, 2)
    assert (buf.width, buf.height) == (4, 2)
    assert all(c.x < 4 and c.y < 2 for c, _ in buf.cells)
    assert buf.lines() == ["abcd", "efgh"]


def test_paint_wide_characters_take_two_cells() -> None:
    buf = paint("中x", 5, 1)
    grid = cells(buf)
    assert grid[(0, 0)].symbol == "中" and (1, 0) not in grid and grid[(2, 0)].symbol == "x"


def test_paint_markup_tables_and_determinism() -> None:
    from rich.table import Table

    table = Table(title="Usage")
    table.add_column("model")
    table.add_column("tokens", justify="right")
    table.add_row("[bold]opus[/]", "1,234")
    one = msgspec.json.encode(paint(table, 30, 8))
    two = msgspec.json.encode(paint(table, 30, 8))
    assert one == two
    assert any("opus" in line for line in paint(table, 30, 8).lines())
    assert paint("x", 0, 5).cells == []


def test_sdk_reexports_what_a_plugin_needs() -> None:
    import hangar.plugins.sdk as sdk

    for name in ("Plugin", "CliOutput", "run", "paint", "Viewport", "WireBuffer", "KeyEvent"):
        assert hasattr(sdk, name)
    assert json.dumps(sorted(sdk.__all__))


CHILD = """
import subprocess
class Kid(Plugin):
    name = "kid"
    def cli_dispatch(self, namespace, argv):
        if argv == ["huge"]:  # encodes past the 16 MiB frame limit
            return CliOutput(stdout=b"x" * (13 * 1024 * 1024))
        # a child that reads its stdin: it must see /dev/null, not the host's frames
        try:
            got = subprocess.run(
                [sys.executable, "-c", "import sys; print(len(sys.stdin.buffer.read()))"],
                capture_output=True, timeout=15,  # generous: a busy machine starts it slowly
            ).stdout.strip()
        except subprocess.TimeoutExpired:
            got = b"TIMEOUT"
        return CliOutput(stdout=got + b"|" + repr(sys.stdin.read()).encode())
run(Kid())
"""


def test_children_do_not_inherit_the_wire_stdin(plugin: Any) -> None:
    w = plugin(CHILD)
    w.init()
    res = w.call(2, p.CLI_DISPATCH, p.CliDispatchParams("kid", []))
    out = p.from_wire(res.result, p.CliOutput).stdout
    assert not out.startswith(b"TIMEOUT|"), (
        f"the child saw no EOF on its stdin within 15 s: blocked on the wire ({out!r})"
    )
    assert out == b"0|''", f"the child or the plugin read something from stdin: {out!r}"
    # nothing was stolen: the next frame still reaches the plugin
    assert w.call(3, p.SHUTDOWN).result == {}


def test_an_oversized_answer_is_an_error_not_a_crash(plugin: Any) -> None:
    w = plugin(CHILD)
    w.init()
    res = w.call(2, p.CLI_DISPATCH, p.CliDispatchParams("kid", ["huge"]))
    assert res.error is not None and res.error.code == -32603
    assert res.error.message.startswith("result too large")
    assert w.call(3, p.SHUTDOWN).result == {}  # still serving
    assert w.proc.wait(10) == 0


# -- text where the wire carries bytes ----------------------------------------------------------


def test_cli_output_takes_text_as_utf8() -> None:
    from hangar.plugins.sdk import CliOutput

    out = CliOutput(stdout="héllo wörld\n", stderr="careful ☃\n", exit_code=1)
    assert (out.stdout, out.stderr) == ("héllo wörld\n".encode(), "careful ☃\n".encode())
    assert CliOutput(stdout=b"raw\xff").stdout == b"raw\xff"  # bytes are kept as they are
    assert CliOutput(bytearray(b"ba"), memoryview(b"mv")) == CliOutput(b"ba", b"mv")
    # "text" is valid base64 (of other bytes): the host must get back what the plugin meant
    for text in ("text", "hello\n", "", "ünïcode ☃"):
        wire = p.to_wire(CliOutput(stdout=text, stderr=text))
        back = p.decode_wire(wire, CliOutput)
        assert back.stdout == back.stderr == text.encode()


@pytest.mark.parametrize("field", ["stdout", "stderr"])
@pytest.mark.parametrize("bad", [5, None, ["a"], 1.5])
def test_cli_output_refuses_other_types_naming_the_field(field: str, bad: object) -> None:
    from hangar.plugins.sdk import CliOutput

    expected = rf"CliOutput\.{field} must be bytes or str, got {type(bad).__name__}"
    with pytest.raises(TypeError, match=expected):
        CliOutput(**{field: bad})  # type: ignore[arg-type]


TEXT = """
class Text(Plugin):
    name = "text"
    def cli_dispatch(self, namespace, argv):
        what = argv[0]
        if what == "out":
            return CliOutput(stdout="héllo wörld\\n", stderr="careful ☃\\n", exit_code=3)
        if what == "bad-out":
            return CliOutput(stdout=7)
        if what == "pub":
            self.host.publish("t", "snap ☃")
            return CliOutput()
        if what == "invoke":
            return CliOutput(stdout=self.host.invoke("act", "in ☃"))
        if what == "write":
            self.host.write_file("/data/f", "file ☃")
            return CliOutput()
        if what == "fetch":
            return CliOutput(stdout=self.host.fetch("http://x", "POST", body="body ☃").body)
        errors = []
        for call in (
            lambda: self.host.publish("t", 42),
            lambda: self.host.invoke("act", None),
            lambda: self.host.write_file("/data/f", 1.5),
            lambda: self.host.fetch("http://x", body=["b"]),
        ):
            try:
                call()
            except TypeError as exc:
                errors.append(str(exc))
        return CliOutput(stdout="\\n".join(errors))
run(Text())
"""


def dispatch(w: Wire, rid: int, *argv: str) -> None:
    w.send(encode_request(rid, p.CLI_DISPATCH, p.CliDispatchParams("text", list(argv))))


def answer(w: Wire, rid: int) -> p.CliOutput:
    msg = w.recv()
    assert isinstance(msg, Response) and msg.id == rid, msg
    assert msg.error is None, msg.error
    return p.from_wire(msg.result, p.CliOutput)


def test_text_reaches_the_host_as_utf8(plugin: Any) -> None:
    w = plugin(TEXT)
    w.init()
    dispatch(w, 2, "out")
    out = answer(w, 2)
    assert (out.stdout, out.stderr, out.exit_code) == (
        "héllo wörld\n".encode(),
        "careful ☃\n".encode(),
        3,
    )
    dispatch(w, 3, "pub")
    pub = w.recv()
    assert isinstance(pub, Notification) and pub.method == p.SNAPSHOT_PUBLISH
    assert p.from_wire(pub.params, p.SnapshotPublishParams).payload == "snap ☃".encode()
    assert answer(w, 3).exit_code == 0
    dispatch(w, 4, "invoke")
    inv = w.recv()
    assert isinstance(inv, Request) and inv.method == p.ACTION_INVOKE
    assert p.from_wire(inv.params, p.ActionInvokeParams).payload == "in ☃".encode()
    w.send(encode_result(inv.id, p.ActionInvokeResult(b"done")))
    assert answer(w, 4).stdout == b"done"
    dispatch(w, 5, "write")
    write = w.recv()
    assert isinstance(write, Request) and write.method == p.FS_WRITE_FILE
    assert p.from_wire(write.params, p.FsWriteParams).bytes == "file ☃".encode()
    w.send(encode_result(write.id, {}))
    assert answer(w, 5).exit_code == 0
    dispatch(w, 6, "fetch")
    fetch = w.recv()
    assert isinstance(fetch, Request) and fetch.method == p.NETWORK_FETCH
    assert p.from_wire(fetch.params, p.NetworkFetchParams).body == "body ☃".encode()
    w.send(encode_result(fetch.id, p.NetworkFetchResult(200, [], b"fetched")))
    assert answer(w, 6).stdout == b"fetched"


def test_a_wrong_type_is_a_clear_error_naming_the_field(plugin: Any) -> None:
    w = plugin(TEXT)
    w.init()
    res = w.call(2, p.CLI_DISPATCH, p.CliDispatchParams("text", ["bad-out"]))
    assert res.error is not None and res.error.code == -32603
    assert "CliOutput.stdout must be bytes or str, got int" in res.error.message
    dispatch(w, 3, "bad-calls")  # nothing reaches the wire: each call is refused at once
    assert answer(w, 3).stdout.decode().splitlines() == [
        "Host.publish: payload must be bytes or str, got int",
        "Host.invoke: payload must be bytes or str, got NoneType",
        "Host.write_file: data must be bytes or str, got float",
        "Host.fetch: body must be bytes, str or None, got list",
    ]
