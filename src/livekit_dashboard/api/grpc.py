"""OTLP/gRPC: the TraceService, LogsService and MetricsService Export RPCs.

The handlers take the request's raw bytes and hand them to the same Ingestor verb as OTLP/HTTP, so a
malformed message is answered INVALID_ARGUMENT with what is wrong (not INTERNAL), and authorization,
refusals and partial success are decided in one place for both transports.
"""

from __future__ import annotations

import logging
from concurrent import futures
from typing import Any, NoReturn

import grpc
from google.protobuf import duration_pb2
from google.rpc import error_details_pb2, status_pb2

from livekit_dashboard.api.auth import AuthError, AuthFailure, Authorizer, Credentials
from livekit_dashboard.domain.roles import Permission
from livekit_dashboard.ingest import DecodeError, Ingestor, IngestUnavailableError, Signal

__all__ = ["start_grpc_server"]

log = logging.getLogger(__name__)

_SERVICES = {
    Signal.TRACES: "opentelemetry.proto.collector.trace.v1.TraceService",
    Signal.LOGS: "opentelemetry.proto.collector.logs.v1.LogsService",
    Signal.METRICS: "opentelemetry.proto.collector.metrics.v1.MetricsService",
}
_AUTH_CODES = {
    AuthFailure.UNAUTHENTICATED: grpc.StatusCode.UNAUTHENTICATED,
    AuthFailure.FORBIDDEN: grpc.StatusCode.PERMISSION_DENIED,
    AuthFailure.RATE_LIMITED: grpc.StatusCode.RESOURCE_EXHAUSTED,
}


def _peer_host(peer: str) -> str:
    """'ipv4:127.0.0.1:5000' / 'ipv6:[::1]:5000' -> the address."""
    kind, _, rest = peer.partition(":")
    if kind == "ipv6":
        return rest.rsplit(":", 1)[0].strip("[]")
    if kind == "ipv4":
        return rest.rsplit(":", 1)[0]
    return peer


def _abort_retry(context: Any, code: grpc.StatusCode, message: str, retry_after_s: int) -> NoReturn:
    # RetryInfo in the status details is how OTLP/gRPC clients learn when to retry
    retry = error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration(seconds=retry_after_s))
    status = status_pb2.Status(code=code.value[0], message=message)
    status.details.add().Pack(retry)
    context.set_trailing_metadata((("grpc-status-details-bin", status.SerializeToString()),))
    context.abort(code, message)
    raise AssertionError("unreachable")  # context.abort raises


class _Export:
    """One Export RPC: authorize, refuse early, store."""

    def __init__(self, signal: Signal, ingestor: Ingestor, authorizer: Authorizer) -> None:
        self._signal = signal
        self._ingestor = ingestor
        self._authorizer = authorizer

    def __call__(self, body: bytes, context: Any) -> bytes:
        metadata = {key.lower(): value for key, value in context.invocation_metadata()}
        credentials = Credentials.from_pairs(metadata, _peer_host(context.peer()))
        try:
            self._authorizer.authorize(credentials, Permission.INGEST)
        except AuthError as exc:
            if exc.failure is AuthFailure.RATE_LIMITED:
                _abort_retry(context, grpc.StatusCode.RESOURCE_EXHAUSTED, exc.message, exc.retry_after_s)
            context.abort(_AUTH_CODES[exc.failure], exc.message)
        try:
            refusal = self._ingestor.refusal()
            if refusal is not None:
                raise refusal
            result = self._ingestor.export_otlp(self._signal, body, "application/x-protobuf")
        except DecodeError as exc:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, exc.message)
        except IngestUnavailableError as exc:
            _abort_retry(context, grpc.StatusCode.UNAVAILABLE, str(exc), exc.retry_after_s)
        except Exception as exc:  # never let a bad request take the server down
            log.exception("gRPC %s export failed", self._signal.value)
            context.abort(grpc.StatusCode.INTERNAL, f"internal error: {type(exc).__name__}")
        data: bytes = result.response.SerializeToString()
        return data


def start_grpc_server(
    ingestor: Ingestor,
    authorizer: Authorizer,
    host: str,
    port: int,
    max_message_bytes: int,
    workers: int = 8,
    max_inflight: int = 64,
) -> Any:
    """Start serving on host:port; returns the grpc.Server (call .stop(grace)), with .bound_port."""
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="otlp-grpc"),
        # beyond this many RPCs at once, RESOURCE_EXHAUSTED at once (OTLP exporters retry it)
        maximum_concurrent_rpcs=max_inflight,
        options=[
            # applies to the decompressed message too, so gzip bombs stop here
            ("grpc.max_receive_message_length", max_message_bytes),
            ("grpc.max_send_message_length", 4 * 1024 * 1024),
        ],
    )
    handlers = [
        grpc.method_handlers_generic_handler(
            service,
            # no (de)serializers: the handler takes and returns the raw message bytes
            {"Export": grpc.unary_unary_rpc_method_handler(_Export(signal, ingestor, authorizer))},
        )
        for signal, service in _SERVICES.items()
    ]
    server.add_generic_rpc_handlers(handlers)
    bound = server.add_insecure_port(f"{host}:{port}")
    if bound == 0:
        raise OSError(f"cannot bind OTLP/gRPC to {host}:{port}")
    server.start()
    server.bound_port = bound
    return server
