"""Usage analytics: per-call usage records and their totals, for the admin API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from livekit_dashboard.domain.timerange import format_ch_time
from livekit_dashboard.query.sqlfiles import load_sql
from livekit_dashboard.store import Engine

__all__ = ["CALL_SORT_FIELDS", "GRANULARITIES", "UsageFilter", "calls_list", "usage_query"]

GRANULARITIES = ("hour", "day", "week", "month")
CALL_SORT_FIELDS = ("started_at", "call_duration_s", "total_llm_tokens", "tts_characters", "turns", "errors")


@dataclass(frozen=True, slots=True)
class UsageFilter:
    """Records whose call started in [start, end] (both inclusive), optionally of one user/assistant."""

    start_ns: int
    end_ns: int
    user_email: str = ""
    assistant_id: str = ""

    def values(self) -> dict[str, Any]:
        return {
            "start": format_ch_time(self.start_ns),
            "end": format_ch_time(self.end_ns),
            "user_email": self.user_email,
            "assistant_id": self.assistant_id,
        }


def usage_query(engine: Engine, name: str, where: UsageFilter, **extra: Any) -> list[dict[str, Any]]:
    """Run one of usage_summary, usage_by_user, usage_by_assistant, usage_over_time, calls_summary."""
    return engine.query(load_sql(name), {**where.values(), **extra})


def calls_list(
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
