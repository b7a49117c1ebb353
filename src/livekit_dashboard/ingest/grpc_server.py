"""OTLP/gRPC: the TraceService, LogsService and MetricsService Export RPCs."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent import futures
from typing import Any

import grpc
from google.protobuf import duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2_grpc
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc

from livekit_dashboard.ingest.decode import Signal
from livekit_dashboard.ingest.service import Ingestor, IngestUnavailableError

__all__ = ["start_grpc_server"]

log = logging.getLogger(__name__)


KeyCheck = Callable[[str], str]


def _key_from_metadata(context: Any) -> str:
    metadata = {k.lower(): v for k, v in context.invocation_metadata()}
    value = str(metadata.get("authorization", ""))
    if value[:7].lower() == "bearer ":
        return value[7:].strip()
    return str(metadata.get("x-api-key", "")).strip()


def _export(ingestor: Ingestor, signal: Signal, request: Any, context: Any, verify_key: KeyCheck | None) -> Any:
    if verify_key is not None:
        problem = verify_key(_key_from_metadata(context))
        if problem:
            code = (
                grpc.StatusCode.PERMISSION_DENIED
                if problem.startswith("forbidden")
                else grpc.StatusCode.UNAUTHENTICATED
            )
            context.abort(code, problem)
    try:
        return ingestor.store(signal, request)
    except IngestUnavailableError as exc:
        # RetryInfo in the status details is how OTLP/gRPC clients learn when to retry
        retry = error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration(seconds=exc.retry_after_s))
        status = status_pb2.Status(code=code_pb2.UNAVAILABLE, message=str(exc))
        status.details.add().Pack(retry)
        context.set_trailing_metadata((("grpc-status-details-bin", status.SerializeToString()),))
        context.abort(grpc.StatusCode.UNAVAILABLE, str(exc))
    except Exception as exc:  # never let a bad request take the server down
        log.exception("gRPC %s export failed", signal.value)
        context.abort(grpc.StatusCode.INTERNAL, f"internal error: {type(exc).__name__}")


class _Traces(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self, ingestor: Ingestor, verify_key: KeyCheck | None) -> None:
        self._ingestor = ingestor
        self._verify_key = verify_key

    def Export(self, request: Any, context: Any) -> Any:  # noqa: N802 (gRPC method name)
        return _export(self._ingestor, Signal.TRACES, request, context, self._verify_key)


class _Logs(logs_service_pb2_grpc.LogsServiceServicer):
    def __init__(self, ingestor: Ingestor, verify_key: KeyCheck | None) -> None:
        self._ingestor = ingestor
        self._verify_key = verify_key

    def Export(self, request: Any, context: Any) -> Any:  # noqa: N802
        return _export(self._ingestor, Signal.LOGS, request, context, self._verify_key)


class _Metrics(metrics_service_pb2_grpc.MetricsServiceServicer):
    def __init__(self, ingestor: Ingestor, verify_key: KeyCheck | None) -> None:
        self._ingestor = ingestor
        self._verify_key = verify_key

    def Export(self, request: Any, context: Any) -> Any:  # noqa: N802
        return _export(self._ingestor, Signal.METRICS, request, context, self._verify_key)


def start_grpc_server(
    ingestor: Ingestor,
    host: str,
    port: int,
    max_message_bytes: int,
    workers: int = 8,
    verify_key: KeyCheck | None = None,
) -> Any:
    """Start serving on host:port; returns the grpc.Server (call .stop(grace)) and bound port."""
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="otlp-grpc"),
        options=[
            # applies to the decompressed message too, so gzip bombs stop here
            ("grpc.max_receive_message_length", max_message_bytes),
            ("grpc.max_send_message_length", 4 * 1024 * 1024),
        ],
    )
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(_Traces(ingestor, verify_key), server)  # type: ignore[no-untyped-call]
    logs_service_pb2_grpc.add_LogsServiceServicer_to_server(_Logs(ingestor, verify_key), server)  # type: ignore[no-untyped-call]
    metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(_Metrics(ingestor, verify_key), server)  # type: ignore[no-untyped-call]
    bound = server.add_insecure_port(f"{host}:{port}")
    if bound == 0:
        raise OSError(f"cannot bind OTLP/gRPC to {host}:{port}")
    server.start()
    server.bound_port = bound
    return server
