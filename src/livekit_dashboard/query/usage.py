"""Usage analytics: per-call usage records and their totals, for the admin API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from livekit_dashboard.domain.timerange import format_ch_time
from livekit_dashboard.query.sqlfiles import load_sql
from livekit_dashboard.store import Engine

__all__ = ["CALL_SORT_FIELDS", "GRANULARITIES", "UsageFilter", "list_calls", "sum_usage", "summarize_calls"]

GRANULARITIES = ("hour", "day", "week", "month")
CALL_SORT_FIELDS = (
    "started_at",
    "call_duration_s",
    "total_llm_tokens",
    "tts_characters",
    "turns",
    "errors",
    "cost_usd",
)


@dataclass(frozen=True, slots=True)
class UsageFilter:
    """Records whose call started in [start, end] (both inclusive), optionally of one user/assistant;
    production calls only unless `simulated` is include or only."""

    start_ns: int
    end_ns: int
    user_email: str = ""
    assistant_id: str = ""
    simulated: str = "exclude"

    def values(self) -> dict[str, Any]:
        return {
            "start": format_ch_time(self.start_ns),
            "end": format_ch_time(self.end_ns),
            "user_email": self.user_email,
            "assistant_id": self.assistant_id,
            "simulated": self.simulated,
        }


_KEY_NAMES = {"user": "user_email", "assistant": "assistant_id"}
_TOTALS = (
    "total_records",
    "total_llm_input_audio_tokens",
    "total_llm_input_text_tokens",
    "total_llm_input_cached_audio_tokens",
    "total_llm_input_cached_text_tokens",
    "total_llm_output_audio_tokens",
    "total_llm_output_text_tokens",
    "total_llm_tokens",
    "total_tts_characters",
    "total_tts_audio_duration",
    "total_call_duration_minutes",
    "total_stt_audio_duration",
    "total_cost_usd",
    "total_cost_llm_usd",
    "total_cost_realtime_usd",
    "total_cost_tts_usd",
    "total_cost_stt_usd",
    "total_cost_excluded_usd",
    "unpriced_records",
)


def sum_usage(engine: Engine, where: UsageFilter, dimension: str = "") -> list[dict[str, Any]]:
    """The totals overall (one row, zeros when nothing matched) or per `user`, `assistant` or one
    of GRANULARITIES (rows keyed `user_email`, `assistant_id` or `period`)."""
    rows = engine.query(load_sql("usage_totals"), {**where.values(), "dimension": dimension})
    if not dimension:
        if not rows:
            return [{name: 0 for name in _TOTALS}]
        return [{name: rows[0][name] for name in _TOTALS}]
    key = _KEY_NAMES.get(dimension, "period")
    return [{key: row.pop("group_key"), **row} for row in rows]


def summarize_calls(engine: Engine, where: UsageFilter) -> dict[str, Any]:
    return engine.query(load_sql("calls_summary"), where.values())[0]


def list_calls(
    engine: Engine, where: UsageFilter, *, sort: str, descending: bool, limit: int, offset: int
) -> tuple[int, list[dict[str, Any]]]:
    rows = engine.query(
        load_sql("calls_list"),
        {**where.values(), "sort": sort, "descending": int(descending), "limit": limit, "offset": offset},
    )
    total = rows[0]["total"] if rows else 0
    for row in rows:
        del row["total"]
        row["started_at"] = row.pop("started_at_iso")
        row["ended_at"] = row.pop("ended_at_iso")
    return total, rows
