"""A minimal host that drives one plugin executable over its real stdio.

Enough of the host side to test a reference plugin end to end without the runtime:
requests go out framed, reverse calls are answered from ``snapshots``, and publishes and
logs are recorded.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from hangar.plugins import protocol as p
from hangar.proto.framing import encode_frame, read_frame_sync
from hangar.proto.jsonrpc import (
    METHOD_NOT_FOUND,
    Notification,
    Request,
    Response,
    RpcError,
    decode_message,
    encode_error,
    encode_request,
    encode_result,
)

PLUGINS = Path(__file__).resolve().parents[3] / "plugins"


class StdioHost:
    def __init__(
        self,
        plugin_id: str,
        env: dict[str, str],
        stderr_path: Path,
        snapshots: dict[str, bytes] | None = None,
    ) -> None:
        self.snapshots = dict(snapshots or {})
        self.published: list[tuple[str, bytes]] = []
        self.logs: list[dict[str, Any]] = []
        self.stderr_path = stderr_path
        self._stderr = stderr_path.open("wb")
        executable = PLUGINS / plugin_id / plugin_id
        self.proc = subprocess.Popen(
            [sys.executable, str(executable)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=env,
        )
        self._next = 0

    # -- host → plugin ---------------------------------------------------------------------

    def request(self, method: str, params: Any) -> Any:
        self._next += 1
        rid = self._next
        self._send(encode_request(rid, method, p.to_wire(params)))
        while True:
            body = read_frame_sync(self.proc.stdout)  # type: ignore[arg-type]
            if body is None:
                raise AssertionError(f"plugin closed stdout; stderr:\n{self.stderr()}")
            msg = decode_message(body)
            if isinstance(msg, Response) and msg.id == rid:
                if msg.error is not None:
                    raise msg.error.to_exception()
                return msg.result
            self._serve(msg)

    def notify(self, method: str, params: Any) -> None:
        from hangar.proto.jsonrpc import encode_notification

        self._send(encode_notification(method, p.to_wire(params)))

    def init(self) -> Any:
        params = p.InitParams(manifest_path="manifest.toml", granted_capabilities=["event_bus"])
        return self.request(p.INIT, params)

    def render(self, width: int, height: int) -> bytes:
        """The raw JSON of the WireBuffer, as the host would blit it."""
        import msgspec

        result = self.request(p.RENDER, p.RenderParams(p.Viewport(width, height)))
        return msgspec.json.encode(result["buffer"])

    def screen_text(self, width: int, height: int) -> str:
        """The rendered screen as text, row by row."""
        import msgspec

        buffer = msgspec.json.decode(self.render(width, height), type=p.WireBuffer)
        return "\n".join(buffer.lines())

    def cli(self, namespace: str, *argv: str) -> p.CliOutput:
        result = self.request(p.CLI_DISPATCH, p.CliDispatchParams(namespace, list(argv)))
        return p.from_wire(result, p.CliOutput)

    def key(self, screen: str, code: str) -> None:
        self.notify(p.HANDLE_KEY, p.HandleKeyParams(screen, p.key(code)))

    def close(self) -> int:
        try:
            if self.proc.poll() is None:
                self.request(p.SHUTDOWN, None)
            return self.proc.wait(timeout=10)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            self._stderr.close()

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    # -- plugin → host ---------------------------------------------------------------------

    def _send(self, body: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(encode_frame(body))
        self.proc.stdin.flush()

    def _serve(self, msg: Any) -> None:
        if isinstance(msg, Notification):
            if msg.method == p.SNAPSHOT_PUBLISH:
                pub = p.from_wire(msg.params, p.SnapshotPublishParams)
                assert pub.chunk is None, "test payloads are small: never chunked"
                self.published.append((pub.topic, pub.payload))
                self.snapshots[pub.topic] = pub.payload
            elif msg.method == p.LOG:
                self.logs.append(dict(msg.params))
            return
        if not isinstance(msg, Request):
            return
        try:
            result = self._answer(msg.method, msg.params)
        except RpcError as exc:
            self._send(encode_error(msg.id, exc.code, exc.message))
        else:
            self._send(encode_result(msg.id, p.to_wire(result)))

    def _answer(self, method: str, params: Any) -> Any:
        if method == p.SNAPSHOT_GET:
            topic = p.from_wire(params, p.SnapshotGetParams).topic
            payload = self.snapshots.get(topic)
            return p.SnapshotGetResult(version=0 if payload is None else 1, payload=payload)
        if method == p.SNAPSHOT_SUBSCRIBE:
            return {}
        raise RpcError(METHOD_NOT_FOUND, f"method not found: {method}")
