"""Tracing: spans for RPC methods, lifecycle steps and store services reach a real OTLP/HTTP
receiver (started here, decoding what arrives); off, nothing imports OpenTelemetry."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from hangar.daemon.tracing import configure
from hangar.testing import daemon_in_process
from tests.daemon.helpers import RecordingLog, make_agent, seed_home


class Receiver:
    """An OTLP/HTTP trace receiver: POST /v1/traces with a protobuf body."""

    def __init__(self) -> None:
        self.requests: list[ExportTraceServiceRequest] = []
        self.paths: list[str] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.paths.append(self.path)
                receiver.requests.append(ExportTraceServiceRequest.FromString(body))
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def spans(self) -> list[tuple[str, dict[str, str], str]]:
        """(name, string attributes, service name) of every span received."""
        out = []
        for req in self.requests:
            for rs in req.resource_spans:
                service = next(
                    a.value.string_value for a in rs.resource.attributes if a.key == "service.name"
                )
                for ss in rs.scope_spans:
                    for span in ss.spans:
                        attrs = {a.key: a.value.string_value for a in span.attributes}
                        out.append((span.name, attrs, service))
        return out


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    thread = threading.Thread(target=r.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield r
    finally:
        r.server.shutdown()
        r.server.server_close()


async def test_spans_for_rpc_lifecycle_and_store_reach_the_receiver(
    tmp_path: Path, migrated_db: Path, receiver: Receiver
) -> None:
    home = seed_home(tmp_path / "h", migrated_db)
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url, "OTEL_SERVICE_NAME": "hangar-test"}
    async with daemon_in_process(home, env=env) as hangar:
        assert hangar.daemon.tracing is not None
        await make_agent(hangar)
        made = await hangar.call("hangar/issue_create", {"title": "t", "assign": "ok"})
        await hangar.dispatch()
    # stopping the daemon flushed the batch
    spans = receiver.spans()
    names = {name for name, _, _ in spans}
    assert {
        "rpc hangar/issue_create",
        "lifecycle.create_issue",
        "store.issue_create",
        "lifecycle.start",
        "lifecycle.complete",
        "store.task_complete",
    } <= names
    assert set(receiver.paths) == {"/v1/traces"}
    assert {service for _, _, service in spans} == {"hangar-test"}
    rpc = next(attrs for name, attrs, _ in spans if name == "rpc hangar/issue_create")
    assert rpc["rpc.method"] == "hangar/issue_create"
    done = [attrs for name, attrs, _ in spans if name == "lifecycle.complete"]
    assert done[0]["hangar.task_id"] == made["task"]["id"]


def test_off_without_an_endpoint() -> None:
    log = RecordingLog()
    assert configure({}, log) is None
    assert log.lines == []


def test_asked_for_without_the_extra_warns_and_stays_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the extra's modules missing, as on an install without hangar[otel]
    monkeypatch.setitem(sys.modules, "opentelemetry.sdk.trace", None)
    log = RecordingLog()
    assert configure({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9"}, log) is None
    [(level, event, _)] = log.lines
    assert level == "warning" and "pip install 'hangar[otel]'" in event


def test_nothing_imports_opentelemetry_when_off() -> None:
    code = (
        "import sys, hangar.daemon.app, hangar.daemon.tracing as t;"
        "t.configure({}, None);"
        "print(sorted(m for m in sys.modules if m.startswith('opentelemetry')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
