"""Query: read-only analytics and lookups, one SQL file per question. The API uses only what this
package exports here."""

from livekit_dashboard.query.alerts import AlertEvent, AlertStore, measure_value
from livekit_dashboard.query.call_records import CallRecords
from livekit_dashboard.query.calls import (
    CALL_LIST_SORTS,
    CallSearch,
    call_recording,
    calls_csv,
    get_call,
    search_calls,
)
from livekit_dashboard.query.extent import data_extent
from livekit_dashboard.query.lookup import count_spans, get_log, get_trace, list_logs
from livekit_dashboard.query.panels import PANELS, Panel, PanelQuery, list_filter_values, run_panel
from livekit_dashboard.query.prices import PriceBook, read_prices_file
from livekit_dashboard.query.usage import (
    CALL_SORT_FIELDS,
    GRANULARITIES,
    UsageFilter,
    list_calls,
    sum_usage,
    summarize_calls,
)

__all__ = [
    "CALL_LIST_SORTS",
    "CALL_SORT_FIELDS",
    "GRANULARITIES",
    "PANELS",
    "AlertEvent",
    "AlertStore",
    "CallRecords",
    "CallSearch",
    "Panel",
    "PanelQuery",
    "PriceBook",
    "UsageFilter",
    "call_recording",
    "calls_csv",
    "count_spans",
    "data_extent",
    "get_call",
    "get_log",
    "get_trace",
    "list_calls",
    "list_filter_values",
    "list_logs",
    "measure_value",
    "read_prices_file",
    "run_panel",
    "search_calls",
    "sum_usage",
    "summarize_calls",
]
