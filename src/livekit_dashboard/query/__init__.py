"""Query: read-only analytics and lookups, one SQL file per question."""

from livekit_dashboard.query.lookup import get_log, get_trace, list_logs

__all__ = ["get_log", "get_trace", "list_logs"]
