"""API: the HTTP routes (UI, JSON API, OTLP/HTTP, usage posting) and the OTLP/gRPC services, behind
one authorize(). No SQL here: routes use the public verbs of ingest and query."""

from livekit_dashboard.api.alerting import AlertRunner, Notifier, read_rules_file
from livekit_dashboard.api.app import create_app, serving_app
from livekit_dashboard.api.auth import Authorizer
from livekit_dashboard.api.gate import IngestGate
from livekit_dashboard.api.grpc import start_grpc_server
from livekit_dashboard.api.livekit_tokens import livekit_token_verifier
from livekit_dashboard.api.metrics import ServerMetrics
from livekit_dashboard.api.services import Listening, Services

__all__ = [
    "AlertRunner",
    "Authorizer",
    "IngestGate",
    "Listening",
    "Notifier",
    "ServerMetrics",
    "Services",
    "create_app",
    "livekit_token_verifier",
    "read_rules_file",
    "serving_app",
    "start_grpc_server",
]
