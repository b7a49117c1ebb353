"""Settled call records: every write that can change a call touches it (lk_call_touch, filled by
materialized views), and `settle()` recomputes the touched calls into lk_call_records, the table the
admin API, the call list and the token panels read.

Settling runs before any read of lk_call_records that could see a call touched since the last round
(a read-your-writes barrier), so a client that wrote a call and then asks for it sees it settled, and
in background rounds when many touches wait or the oldest waiting one is some seconds old
(`settle_due`: a round's fixed cost made settling every two seconds most of a lightly loaded server's
CPU). Rounds are serialized; each reads the touches since the
previous round started, less an overlap that covers inserts still committing when it ran. A barrier
settles when the touch queue differs (row count or newest touch) from what the last round saw at its
start, so a touch that committed after a round read the queue is never left unsettled.

An insert's materialized views commit one by one, so a touch can be visible before the rows it stands
for. This server's own inserts are held off while a round reads the queue (`between_inserts`); a
writer it does not gate (the OpenTelemetry Collector writing the same ClickHouse) is not, so a touch
stamped after the start of an insert still running when the round read the queue settles its call
again in the next round, once that insert has ended.

Settling prices each call's usage lines with the prices in force at its start (query/prices.py). A
round that meets a model no price was resolved for yet resolves it and prices that round's calls
again; a changed price re-prices the calls of that model from its date on (`reprice`), from their
stored lines, without settling them again."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

from livekit_dashboard.domain.timerange import format_ch_time
from livekit_dashboard.query.prices import PriceBook
from livekit_dashboard.query.sqlfiles import load_sql
from livekit_dashboard.store import Engine
from livekit_dashboard.store.cluster import Cluster

__all__ = ["CallRecords"]

log = logging.getLogger(__name__)

_OVERLAP_S = 15  # an insert's touch is stamped when it starts; it may commit a little later
_CHUNK = 2000  # calls settled per statement
_COMPACT_AFTER = 10_000  # calls settled in one round after which the records are merged at once


class CallRecords:
    """Keeps lk_call_records settled. `engine` must see storage directly (not wait for ingest)."""

    def __init__(
        self,
        engine: Engine,
        prices: PriceBook | None = None,
        between_inserts: Callable[[], AbstractContextManager[object]] = contextlib.nullcontext,
        cluster: Cluster | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._engine = engine
        self._clock = clock  # for how long touches have waited (settle_due)
        self._cluster = cluster
        self.prices = prices if prices is not None else PriceBook(engine)
        # the touch queue is read between inserts: an insert's materialized views commit one by one in
        # no set order, so a touch read mid-insert could be settled before the rows it stands for
        self._between_inserts = between_inserts
        self._lock = threading.Lock()
        self._watermark_ms: int | None = None  # touches at or before this (unix ms) are settled
        # the queue (rows, newest touch) when the last round started; None: settle at the next chance
        self._seen: tuple[int, int] | None = None
        self._done: set[str] = set()  # ids of the touches within the overlap the last round settled
        # storage's count of finished writes (Engine.writes) read before the queue was last seen as
        # settled: a write that finished after it counts past it, so an equal count means no new touch
        self._checked: int | None = None
        self._waiting_since: float | None = None  # when a background round first saw touches waiting

    def _compact(self, *, errors: bool = False) -> None:
        for name in ("call_records_compact", "error_records_compact") if errors else ("call_records_compact",):
            statement = load_sql(name)
            for part in [statement] if self._cluster is None else self._cluster.render(statement):
                self._engine.command(part)

    def settle(self) -> int:
        """Settle every call touched since the last round; returns how many calls (traces) were settled."""
        with self._lock:
            return self._settle_locked()

    def settle_due(self, max_delay_s: float, min_touches: int) -> int:
        """A background round: settle when at least `min_touches` touches are waiting, or when the first
        one still waiting was seen `max_delay_s` ago (or after a restart); else nothing. A round has a
        fixed cost (its statements' planning: about a third of a second, however few calls it settles)
        and every read of the records settles first (barrier), so a light load is settled when someone
        reads it or every `max_delay_s`, and a heavy one as it comes. Returns the calls settled."""
        with self._lock:
            if self._seen is None:  # a start, or touches a round left for the next one
                return self._settle_locked()
            waiting = self._waiting()
            if waiting is None:
                return 0
            now = self._clock()
            if self._waiting_since is None:
                self._waiting_since = now
            if abs(waiting[0] - self._seen[0]) < min_touches and now - self._waiting_since < max_delay_s:
                return 0
            return self._settle_locked()

    def barrier(self) -> None:
        """Before a read of lk_call_records: settle now if anything was touched since the last round."""
        with self._lock:
            if self._waiting() is not None:
                self._settle_locked()

    def _waiting(self) -> tuple[int, int] | None:
        """The queue (rows, newest touch) when it differs from what the last round saw; None when nothing
        waits. When storage counts its writes and none finished since the queue was last seen settled,
        nothing can have been touched: the queue is not read (a query less per read of the records)."""
        writes = self._engine.writes()
        if writes is not None and writes == self._checked:
            return None
        rows, newest, _ = self._queue_state()
        if (rows, newest) == self._seen:
            self._checked = writes
            return None
        return rows, newest

    def _queue_state(self) -> tuple[int, int, int]:
        """(touches queued, newest touch, the storage's clock), unix ms."""
        row = self._engine.query(load_sql("call_touch_state"))[0]
        return int(row["n"]), int(row["ms"]), int(row["now_ms"])

    def _inserting_since_ms(self) -> int:
        """When the oldest insert still running (on any node) started, unix ms; 0 when none runs."""
        sql = load_sql("inserts_running")
        if self._cluster is not None:
            sql = sql.replace(
                "FROM system.processes", f"FROM clusterAllReplicas('{self._cluster.name}', system.processes)"
            )
        return int(self._engine.query(sql)[0]["since_ms"])

    def _settle_locked(self) -> int:
        if self._watermark_ms is None:
            # after a restart: everything touched since the last round that ended (schema 0025)
            self._watermark_ms = int(self._engine.query(load_sql("settle_state"))[0]["ms"])
        with self._between_inserts():
            writes = self._engine.writes()
            rows_queued, newest, round_start_ms = self._queue_state()
            rows = self._engine.query(load_sql("call_touches"), {"since": self._watermark_ms - _OVERLAP_S * 1000})
            # after the touches: an insert that stamped one of them and is still running shows here
            inserting_since_ms = self._inserting_since_ms()
        seen = (rows_queued, newest)
        # the overlap re-reads touches the previous round settled: skip those
        fresh = [r for r in rows if r["id"] not in self._done]
        # ...but not a touch an insert still running may have stamped before its rows committed
        recent = [r for r in rows if r["ms"] > round_start_ms - _OVERLAP_S * 1000]
        self._done = {r["id"] for r in recent if not (inserting_since_ms and r["ms"] >= inserting_since_ms)}
        # such a touch is settled again by the next round (barrier or background), which must not wait
        # for a new touch: that insert's rows add none
        again = len(self._done) < len(recent)
        traces = sorted({r["trace"] for r in fresh if r["trace"]})
        calls = sorted({r["call"] for r in fresh if r["call"]})
        settled = 0
        if traces or calls:
            started = time.monotonic()
            # counters and posted reports name calls: settle their traces; a posted call without one by id
            if calls:
                trace_of = self._traces_of(calls)
                traces = sorted(set(traces) | set(trace_of.values()))
                calls = [c for c in calls if c not in trace_of]
            if len(traces) > _CHUNK:
                # chunks of neighbouring start times: each chunk's statements read a short window
                ordered = [row["t"] for row in self._engine.query(load_sql("trace_starts"), {"traces": traces})]
                traces = ordered + sorted(set(traces).difference(ordered))
            for trace_chunk, call_chunk in _chunks(traces, calls):
                self._settle_chunk(trace_chunk, call_chunk, round_start_ms)
            settled = len(traces) + len(calls)
            # a model seen for the first time: resolve its prices, then price this round's calls again
            rows = self._engine.query(load_sql("call_line_keys"), {"settled_ms": round_start_ms})
            keys = [row["key"] for row in rows]
            new = self.prices.ensure(keys)
            if new:
                self._reprice(new, settled_ms=round_start_ms)
            if settled > _CHUNK:
                log.info("settled %d calls in %.1f s", settled, time.monotonic() - started)
            if settled >= _COMPACT_AFTER:
                # a bulk round (a restart, a migration, a backfill) leaves a second version of many calls
                # that every FINAL read merges until background merges catch up: merge them now
                compact_started = time.monotonic()
                self._compact(errors=True)
                log.info("compacted the call and error records in %.1f s", time.monotonic() - compact_started)
            # last: a server stopped before this settles the whole round again when it starts
            self._engine.command(load_sql("settle_state_write"), {"settled_ms": round_start_ms})
        self._watermark_ms = round_start_ms
        self._seen = None if again else seen
        self._checked = None if again else writes
        self._waiting_since = None
        return settled

    def _traces_of(self, calls: list[str]) -> dict[str, str]:
        rows = self._engine.query(load_sql("call_traces"), {"calls": calls})
        return {row["c"]: row["t"] for row in rows}

    def _settle_chunk(self, traces: list[str], calls: list[str], settled_at_ms: int) -> None:
        bounds = self._engine.query(load_sql("call_bounds"), {"traces": traces})[0]
        found = [(bounds["lo"], bounds["hi"])] if bounds["n"] else []
        if bounds["traces"] < len(traces):
            # traces with no stored span (only error logs): their error rows say when
            logged = self._engine.query(load_sql("error_bounds"), {"traces": traces})[0]
            if logged["n"]:
                found.append((logged["lo"], logged["hi"]))
        lo = min((b[0] for b in found), default=settled_at_ms * 10**6)
        hi = max((b[1] for b in found), default=settled_at_ms * 10**6)
        params: dict[str, Any] = {
            "traces": traces,
            "calls": calls,
            # a call's turns and errors fall within a day of its session's start
            "start": format_ch_time(lo - 3600 * 10**9),
            "end": format_ch_time(hi + 86400 * 10**9),
            "services": [],
            "languages": [],
            "models": [],
            "simulated": "include",  # a call's failures and turns, whatever its traffic
            "settled_at": format_ch_time(settled_at_ms * 10**6),
            **self.prices.params(),
        }
        # the traces' error records (every trace touched, a call's or not: written again, then those the
        # traces no longer have deleted), then the call records; a kill anywhere in a round settles the
        # whole round again after the restart (settle_state_write comes last)
        if traces:
            errors = {key: params[key] for key in ("traces", "start", "end", "services", "languages", "models")}
            errors.update(simulated="include", settled_at=params["settled_at"])
            self._engine.command(load_sql("settle_errors"), errors)
            self._engine.command(
                load_sql("settle_errors_deleted"),
                {key: errors[key] for key in ("traces", "start", "end", "settled_at")},
            )
        self._engine.command(load_sql("settle_calls"), params)

    def reprice_if_prices_changed(self) -> int:
        """At start: when the catalogue or the prices file changed since the calls were priced, price
        every call again. Returns how many models were re-priced (0: nothing changed)."""
        with self._lock:
            fingerprint = self.prices.fingerprint()
            stored = self._engine.query(load_sql("price_state"))
            if stored and stored[0]["fingerprint"] == fingerprint:
                return 0
            started = time.monotonic()
            keys = [row["key"] for row in self._engine.query(load_sql("call_line_keys_all"))]
            self.prices.ensure(keys)
            if keys:
                self._reprice(keys)
                self._compact()
                log.info(
                    "prices changed: priced the calls of %d models again in %.1f s",
                    len(keys),
                    time.monotonic() - started,
                )
            self._engine.command(load_sql("price_state_write"), {"fingerprint": fingerprint})
            return len(keys)

    def reprice(self, keys: list[str], since_ms: int = 0) -> None:
        """Price the settled calls of these models (stage|provider|model) that started at or after
        since_ms again, with the prices in force now (after a price changed)."""
        with self._lock:
            if keys:
                self._reprice(keys, since_ms=since_ms)
                # every call of those models has a second version now: merge them rather than make every
                # read with FINAL do it (0.7-1.2 s for 138,888 calls)
                self._compact()

    def _reprice(self, keys: list[str], *, since_ms: int = 0, settled_ms: int = 0) -> None:
        params = {"keys": keys, "since_ms": since_ms, "settled_ms": settled_ms, **self.prices.params()}
        self._engine.command(load_sql("reprice_calls"), params)


def _chunks(traces: list[str], calls: list[str]) -> Iterator[tuple[list[str], list[str]]]:
    for i in range(0, max(len(traces), len(calls)), _CHUNK):
        yield traces[i : i + _CHUNK], calls[i : i + _CHUNK]
