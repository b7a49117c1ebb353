"""API: the FastAPI app (OTLP/HTTP, lookups, health, web UI) and the server that wires it up."""

from livekit_dashboard.api.app import create_app
from livekit_dashboard.api.server import DashboardServer

__all__ = ["DashboardServer", "create_app"]
