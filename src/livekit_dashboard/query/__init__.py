"""Query: read-only analytics and lookups, one SQL file per question."""

from livekit_dashboard.query.lookup import get_log, get_trace, list_logs
from livekit_dashboard.query.panels import PANELS, Panel, PanelQuery, run_panel

__all__ = ["PANELS", "Panel", "PanelQuery", "get_log", "get_trace", "list_logs", "run_panel"]
