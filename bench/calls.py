"""Call benchmarks over the panel dataset (bench/panels.py): settling the call records, the call list
(30 days, default and other sorts, filters), search by id and by words said, and the call page."""

from __future__ import annotations

import dataclasses
import statistics
import time
from collections.abc import Callable
from typing import Any

from livekit_dashboard.query import CallRecords, CallSearch, get_call, search_calls
from livekit_dashboard.store import Engine

__all__ = ["bench_calls", "settle_all"]

# words most demo calls have (a caller's goodbye): a search whose answer is most of the range
_COMMON = "all for today"


def settle_all(engine: Engine) -> tuple[int, float]:
    """Settle every queued call (a fresh dataset's, or what a restart finds): (calls, seconds)."""
    t0 = time.monotonic()
    settled = CallRecords(engine).settle()
    return settled, time.monotonic() - t0


def _median_ms(fn: Callable[[], object], runs: int) -> float:
    samples = []
    for i in range(runs + 1):
        t0 = time.perf_counter()
        fn()
        if i:  # the first run warms caches
            samples.append(1000 * (time.perf_counter() - t0))
    return statistics.median(samples)


def bench_calls(engine: Engine, now_ns: int, runs: int) -> list[tuple[str, float]]:
    """(what, median ms) for the call explorer and the call page."""
    month = now_ns - 30 * 86400 * 10**9
    base = CallSearch(start_ns=month, end_ns=now_ns)

    def listing(**change: Any) -> Callable[[], object]:
        search = dataclasses.replace(base, **change)
        return lambda: search_calls(engine, search)

    every, _ = search_calls(engine, base)
    share = round(100 * search_calls(engine, dataclasses.replace(base, q=_COMMON))[0] / max(every, 1))
    sample = engine.query(
        "SELECT call_id, trace_id, room_name FROM lk_call_records FINAL ORDER BY cityHash64(call_id) LIMIT 20"
    )
    if not sample:
        raise RuntimeError("no settled calls: the dataset has no call records")
    busiest = engine.query(
        "SELECT service, arrayJoin(models) AS m, count() AS n FROM lk_call_records FINAL GROUP BY service, m "
        "ORDER BY n DESC LIMIT 1"
    )[0]
    out = [
        ("call list, 30 d, newest first", _median_ms(listing(), runs)),
        ("call list, 30 d, slowest response first", _median_ms(listing(sort="response_max_s"), runs)),
        ("call list, 30 d, most expensive first", _median_ms(listing(sort="cost_usd"), runs)),
        ("call list, 30 d, with failures, most first", _median_ms(listing(has_errors=True, sort="failures"), runs)),
        (
            "call list, 30 d, one service and model, slowest ≥ 2 s",
            _median_ms(
                listing(services=(busiest["service"],), models=(busiest["m"].split("|")[-1],), min_response_s=2.0),
                runs,
            ),
        ),
        ("call list, 30 d, CSV page of 10,000", _median_ms(listing(limit=10_000), max(1, runs // 2))),
        ("search by call id (any time)", _median_ms(listing(q=sample[0]["call_id"]), runs)),
        ("search by trace id (any time)", _median_ms(listing(q=sample[1]["trace_id"]), runs)),
        ("search by room name (any time)", _median_ms(listing(q=sample[2]["room_name"]), runs)),
        (f"search by words said, 30 d (a phrase on {share}% of calls)", _median_ms(listing(q=_COMMON), runs)),
        ("search by words said, 30 d (a word no call has)", _median_ms(listing(q="zeppelin"), runs)),
    ]
    pages = []
    for row in sample:
        t0 = time.perf_counter()
        if get_call(engine, row["call_id"]) is None:
            raise RuntimeError(f"call {row['call_id']} not found")
        pages.append(1000 * (time.perf_counter() - t0))
    out.append((f"call page (median of {len(pages)} calls across the range)", statistics.median(pages)))
    return out
