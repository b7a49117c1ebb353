"""Services: what the routes may use (reads, ingest, keys, authorization), handed to the app by the
composition root, and the HTTP dependency that authorizes a route."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi import Request

from livekit_dashboard.api.auth import Authorizer, Credentials, Principal
from livekit_dashboard.api.gate import IngestGate
from livekit_dashboard.domain.roles import Permission
from livekit_dashboard.ingest import Ingestor
from livekit_dashboard.query import CallRecords
from livekit_dashboard.store import Engine, KeyStore, RecordingFiles

if TYPE_CHECKING:  # api/metrics.py and api/alerting.py read the services they are registered in
    from livekit_dashboard.api.alerting import AlertRunner
    from livekit_dashboard.api.metrics import ServerMetrics

__all__ = ["Listening", "Services", "client_address", "require", "require_livekit_upload", "services"]


@dataclass(frozen=True, slots=True)
class Listening:
    """Where this server listens: its bind address, HTTP port (UI, API, OTLP/HTTP) and OTLP/gRPC port
    (0: gRPC disabled); zeros before it has started."""

    host: str = ""
    http_port: int = 0
    grpc_port: int = 0


@dataclass(frozen=True, slots=True)
class Services:
    engine: Engine  # reads see every row acknowledged before them
    ingestor: Ingestor
    keys: KeyStore
    authorizer: Authorizer
    readiness: Callable[[], list[str]]  # what keeps the server from being ready (empty: ready)
    ingest_gate: IngestGate
    call_records: CallRecords  # settled calls and the prices they are priced with
    recordings: RecordingFiles  # call audio files
    metrics: ServerMetrics  # the server's own Prometheus metrics (GET /metrics)
    alerts: AlertRunner  # alert rules, their evaluation and notifications
    listening: Callable[[], Listening] = Listening  # the ports bound, known once the server started


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


def client_address(request: Request) -> str:
    """The client's address: the peer, or what a configured trusted proxy says it forwarded for."""
    return request.client.host if request.client else "unknown"


def require(permission: Permission) -> Callable[[Request], Coroutine[Any, Any, Principal | None]]:
    """A route dependency: the caller must hold `permission` (when keys are required; admin always)."""

    async def dependency(request: Request) -> Principal | None:
        credentials = Credentials.from_pairs(dict(request.headers), client_address(request))
        return services(request).authorizer.authorize(credentials, permission)

    return dependency


async def require_livekit_upload(request: Request) -> Principal | None:
    """The LiveKit-compatible upload routes: once LiveKit API keys are configured, every upload must
    carry a valid token of one of them (or an ingest key of ours), even where keys are not required."""
    credentials = Credentials.from_pairs(dict(request.headers), client_address(request))
    authorizer = services(request).authorizer
    return authorizer.authorize(credentials, Permission.INGEST, strict=authorizer.verifies_tokens)
