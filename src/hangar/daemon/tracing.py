"""Optional OpenTelemetry tracing: spans for RPC methods, lifecycle steps and store services,
exported over OTLP/HTTP (docs/tracing.md).

Off unless ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``…_TRACES_ENDPOINT``) is set and the ``otel``
extra is installed (``pip install 'hangar[otel]'``). Off, nothing here imports OpenTelemetry
and nothing is wrapped, so it costs nothing. On, the daemon's store, lifecycle and routes are
wrapped once at start, per instance: the classes themselves stay untouched.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from hangar.proto.routes import RouteTable

__all__ = ["ENDPOINT_VARS", "Tracing", "configure"]

#: either turns tracing on (the SDK's exporter reads them, and the rest of OTEL_*, itself)
ENDPOINT_VARS = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
SERVICE_NAME = "hangar-daemon"

#: argument names whose string values become span attributes (ids, never contents)
C = TypeVar("C")
_ID_ARGS = ("workspace_id", "task_id", "issue_id", "autopilot_id", "session_id")


def configure(env: Mapping[str, str], log: Any) -> Tracing | None:
    """A ``Tracing`` when asked for and possible, else None (and a warning when asked for
    but the extra is missing)."""
    traces = env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    base = env.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    if not traces and not base:
        return None
    # the daemon's own environment decides, not whatever os.environ the exporter would read
    endpoint = traces or f"{(base or '').rstrip('/')}/v1/traces"
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        log.warning(
            "tracing is asked for but the otel extra is not installed: pip install 'hangar[otel]'",
            endpoint=endpoint,
        )
        return None
    name = env.get("OTEL_SERVICE_NAME") or SERVICE_NAME
    provider = TracerProvider(resource=Resource.create({"service.name": name}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    log.info("tracing on", endpoint=endpoint, service=name)
    return Tracing(provider)


class Tracing:
    def __init__(self, provider: Any) -> None:
        self.provider = provider
        self.tracer = provider.get_tracer("hangar")

    def instrument(self, obj: Any, prefix: str) -> None:
        """Wrap every public coroutine method of ``obj`` (on the instance) in a span named
        ``<prefix>.<method>``, and those of its public parts from the same package (the
        store's ``autopilots``, ``skills``, …) as ``<prefix>.<part>.<method>``."""
        package = type(obj).__module__.rpartition(".")[0]
        for name, method in inspect.getmembers(obj, inspect.iscoroutinefunction):
            if not name.startswith("_"):
                setattr(obj, name, self._wrap(f"{prefix}.{name}", method))
        for name, part in list(vars(obj).items()):
            if not name.startswith("_") and type(part).__module__.startswith(package + "."):
                self.instrument(part, f"{prefix}.{name}")

    def routes(self, table: RouteTable[C]) -> RouteTable[C]:
        """A copy of the daemon's route table whose handlers each run in a span."""
        traced: RouteTable[C] = RouteTable()
        for route in table:
            traced.add(route.method, route.params, self.handler(route.method, route.handler))
        return traced

    def handler(self, method: str, fn: Callable[..., Awaitable[Any]]) -> Callable[..., Any]:
        """An RPC handler in a span named after its method."""
        return self._wrap(f"rpc {method}", fn, attributes={"rpc.method": method})

    def _wrap(
        self,
        span_name: str,
        fn: Callable[..., Awaitable[Any]],
        attributes: Mapping[str, str] | None = None,
    ) -> Callable[..., Awaitable[Any]]:
        tracer = self.tracer
        try:
            params = list(inspect.signature(fn).parameters)
        except (TypeError, ValueError):  # pragma: no cover - builtins
            params = []
        id_positions = [(i, n) for i, n in enumerate(params) if n in _ID_ARGS]

        @functools.wraps(fn)
        async def traced(*args: Any, **kwargs: Any) -> Any:
            with tracer.start_as_current_span(span_name) as span:
                for key, text in (attributes or {}).items():
                    span.set_attribute(key, text)
                for i, name in id_positions:
                    value = args[i] if i < len(args) else kwargs.get(name)
                    if isinstance(value, str):
                        span.set_attribute(f"hangar.{name}", value)
                task = next((a for a in args if hasattr(a, "autopilot_run_id")), None)
                if task is not None:  # a TaskRow: the lifecycle's steps take one
                    span.set_attribute("hangar.task_id", task.id)
                return await fn(*args, **kwargs)

        return traced

    def shutdown(self) -> None:
        """Flush what is buffered and stop the exporter."""
        self.provider.shutdown()
