"""Rollups give the raw tables' answers. Each panel that reads a rollup is compared with the same panel
written over the raw tables alone (tests/query/raw_reference/<panel>.sql, the SQL before the rollup),
for aligned, unaligned, sub-minute, sub-hour and empty ranges, several bucket widths, with and without
filters. services_languages reads the per-minute rollup only, over the whole minutes its range
touches, so its reference runs over that widened range; the request panels read whole hours from
lk_request_hours and the edges from lk_requests, so they must match exactly. The migrations'
backfills build the same rollups the materialized views do."""

from __future__ import annotations

import math
import random
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

from livekit_dashboard.demo.catalog import SERVICES
from livekit_dashboard.demo.generator import DemoConfig, call_spans, resource_for, simulate
from livekit_dashboard.domain.timerange import format_ch_time
from livekit_dashboard.ingest.spans import prepare_spans
from livekit_dashboard.query.call_records import CallRecords
from livekit_dashboard.query.panels import PANELS, PanelQuery, run_panel
from livekit_dashboard.query.sqlfiles import load_sql, render_sql
from livekit_dashboard.store import Engine
from livekit_dashboard.store.migrate import Slots, list_migrations, render_ddl

END_NS = 1_790_000_000_123_456_789  # a fixed clock: late 2026, not on a minute boundary
DAY_NS = 86_400 * 10**9
MINUTE_NS = 60 * 10**9

REFERENCE = Path(__file__).parent / "raw_reference"
LATENCY_PANELS = {
    # panel: (group columns, count column, exact columns, estimated percentile columns)
    "latency_p95_over_time": (("bucket", "service"), "responses", ("flagged",), ("p50_ms", "p95_ms", "p99_ms")),
    "latency_stages_over_time": (("bucket", "stage"), "values", ("flagged", "avg_ms"), ("p95_ms",)),
    "tts_duration_over_time": (
        ("bucket",),
        "requests",
        ("avg_duration_ms", "avg_ttfb_ms"),
        ("p95_duration_ms", "p95_ttfb_ms"),
    ),
    "http_request_duration_over_time": (("bucket", "service", "target"), "requests", ("avg_ms",), ("p95_ms",)),
}
EXACT_PANELS = [
    "token_usage_totals",
    "token_usage_over_time",
    "requests_over_time",
    "model_distribution",
    "error_rate",
    "turns_per_conversation",
    "conversations_below_threshold",
]

# the panel as it was before the rollup: the reference answer
SERVICES_LANGUAGES_RAW = """
SELECT
    ServiceName AS service,
    ResourceAttributes['telemetry.sdk.language'] AS language,
    ResourceAttributes['service.version'] AS service_version,
    ResourceAttributes['telemetry.sdk.version'] AS sdk_version,
    countIf(SpanName = 'agent_session') AS calls,
    count() AS spans
FROM otel_traces
WHERE Timestamp >= {start:DateTime64(9, 'UTC')} AND Timestamp < {end:DateTime64(9, 'UTC')}
    AND (empty({services:Array(String)}) OR ServiceName IN {services:Array(String)})
    AND (empty({languages:Array(String)}) OR ResourceAttributes['telemetry.sdk.language'] IN {languages:Array(String)})
GROUP BY service, language, service_version, sdk_version
ORDER BY spans DESC, service
"""


def _load(engine: Engine) -> int:
    resources = {s.name: resource_for(s) for s in SERVICES}
    spans: list[Any] = []
    for call in simulate(DemoConfig(calls=150, days=2, seed=11, end_ns=END_NS)):
        spans.extend(call_spans(call, resources[call.service.name]))
    for i in range(0, len(spans), 2000):  # several inserts, as ingest does
        engine.insert_arrow("otel_traces", prepare_spans(encode_spans(spans[i : i + 2000])).tables["otel_traces"])
    return len(spans)


def _ranges() -> list[tuple[int, int]]:
    rng = random.Random(3)
    out = [
        (END_NS - 3 * DAY_NS, END_NS),  # everything
        (END_NS - DAY_NS, END_NS),  # unaligned both ends
        ((END_NS // MINUTE_NS - 600) * MINUTE_NS, (END_NS // MINUTE_NS) * MINUTE_NS),  # aligned
        (END_NS - 30 * 10**9, END_NS),  # shorter than a minute
        (END_NS - 2 * MINUTE_NS - 1, END_NS - MINUTE_NS + 1),  # crosses one boundary
        (END_NS - 100 * MINUTE_NS, END_NS - 10 * MINUTE_NS),  # within about an hour or two
        (END_NS, END_NS),  # empty
    ]
    for _ in range(6):
        start = END_NS - rng.randrange(2 * DAY_NS)
        out.append((start, start + rng.randrange(1, DAY_NS)))
    return out


def _key(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return sorted(tuple(sorted(r.items())) for r in rows)


@pytest.fixture
def loaded(engine: Engine) -> Engine:
    assert _load(engine) > 5000
    CallRecords(engine).settle()  # the error records the error panels read
    return engine


def test_services_languages_rollup_equals_raw(loaded: Engine) -> None:
    services = sorted({r["s"] for r in loaded.query("SELECT DISTINCT ServiceName AS s FROM otel_traces")})
    filters: list[dict[str, tuple[str, ...]]] = [{}, {"services": (services[0],)}, {"languages": ("python",)}]
    compared = 0
    for start, end in _ranges():
        for extra in filters:
            query = PanelQuery(start_ns=start, end_ns=end, step_s=3600, **extra)  # type: ignore[arg-type]
            got = run_panel(loaded, "services_languages", query)
            widened = (start // MINUTE_NS * MINUTE_NS, -(-end // MINUTE_NS) * MINUTE_NS)
            want = loaded.query(
                SERVICES_LANGUAGES_RAW,
                {
                    "start": format_ch_time(widened[0]),
                    "end": format_ch_time(widened[1]),
                    "services": list(extra.get("services", ())),
                    "languages": list(extra.get("languages", ())),
                },
            )
            assert _key(got) == _key(want), (start, end, extra)
            compared += bool(want)
    assert compared >= 10, "most ranges must hold data, or the comparison proves little"


@pytest.mark.parametrize("name", EXACT_PANELS)
def test_panels_on_exact_rollups_equal_raw(loaded: Engine, name: str) -> None:
    reference = render_sql((REFERENCE / f"{name}.sql").read_text())
    models = [r["m"] for r in loaded.query("SELECT DISTINCT Model AS m FROM lk_requests WHERE Model != '' ORDER BY m")]
    filters: list[dict[str, Any]] = [
        {},
        {"models": (models[0],)},
        {"languages": ("nodejs",), "by_model": True},
    ]
    traces = [r["t"] for r in loaded.query("SELECT DISTINCT TraceId AS t FROM otel_traces")]
    compared = 0
    for start, end in _ranges():
        for step_s in (3600, 21600, 600, 86400):
            for extra in filters:
                query = PanelQuery(start_ns=start, end_ns=end, step_s=step_s, **extra)
                got = run_panel(loaded, name, query)
                values = query.values()
                # (the reference classifies the error records at read time, for every trace)
                want = loaded.query(reference, {**{key: values[key] for key in PANELS[name].params}, "traces": traces})
                assert _key(got) == _key(want), (name, start, end, step_s, extra)
                compared += any(any(v for k, v in r.items() if k not in ("bucket", "total")) for r in want)
    assert compared >= 20, "most cases must hold data, or the comparison proves little"


def test_filter_lists_on_the_rollup_equal_raw(loaded: Engine) -> None:
    """The dashboard's filter lists (services, languages, models with their stages, most used first)
    read whole hours from lk_request_hours: the same lists, in the same order, as from the raw rows."""
    reference = render_sql((REFERENCE / "filter_values.sql").read_text())
    compared = 0
    for start, end in _ranges():
        params = {"start": format_ch_time(start), "end": format_ch_time(end)}
        want = loaded.query(reference, params)
        assert loaded.query(load_sql("filter_values"), params) == want, (start, end)
        compared += bool(want)
    assert compared >= 10, "most ranges must hold data, or the comparison proves little"


@pytest.mark.parametrize(
    ("migration_name", "table", "columns", "check"),
    [
        ("rollups", "lk_span_minutes", "*", "sum(Spans) = (SELECT count() FROM otel_traces)"),
        ("request_rollup", "lk_request_hours", "*", "sum(Requests) = (SELECT count() FROM lk_requests)"),
        (
            "latency_rollups",
            "lk_turn_hours",
            "Hour, ServiceName, Language, Turns, Failed",
            "sum(Turns) = (SELECT count() FROM lk_turns)",
        ),
        (
            "latency_rollups",
            "lk_request_latency_hours",
            "Hour, Stage, ServiceName, Language, Provider, Model, Requests, DurationSum, TtftN, round(TtftSum, 6)",
            "sum(Requests) = (SELECT count() FROM lk_requests)",
        ),
    ],
)
def test_backfill_builds_the_rollup_the_view_builds(
    loaded: Engine, migration_name: str, table: str, columns: str, check: str
) -> None:
    """The migration's INSERT ... SELECT (for rows stored before the rollup existed) gives the same
    rows as the materialized view fed during ingest (sketch states aside: their exact bytes depend
    on how the rows were batched)."""
    select = f"SELECT {columns} FROM {table} FINAL ORDER BY ALL"
    by_view = loaded.query(select)
    assert by_view
    (migration,) = [m for m in list_migrations() if m.name == migration_name]
    inserts = [s for s in render_ddl(migration.sql, Slots()) if s.upper().startswith(f"INSERT INTO {table.upper()}")]
    assert len(inserts) == 1
    loaded.command(f"TRUNCATE TABLE {table}")
    loaded.command(inserts[0])
    assert loaded.query(select) == by_view
    assert loaded.query(f"SELECT {check} AS ok FROM {table}") == [{"ok": 1}]


def _raw_values(engine: Engine, name: str, query: PanelQuery) -> dict[tuple[Any, ...], dict[str, list[float]]]:
    """Per panel group, the raw values each estimated percentile is taken over (ms)."""
    bounds = {"start": format_ch_time(query.start_ns), "end": format_ch_time(query.end_ns)}
    span = "Timestamp >= {start:DateTime64(9, 'UTC')} AND Timestamp < {end:DateTime64(9, 'UTC')}"
    bucket = f"toUnixTimestamp(toStartOfInterval(Timestamp, toIntervalSecond({query.step_s})))"
    out: dict[tuple[Any, ...], dict[str, list[float]]] = {}
    if name == "latency_p95_over_time":
        sql = (
            f"SELECT {bucket} AS b, ServiceName AS s, E2eLatencyS * 1000 AS d FROM lk_turns "
            f"WHERE lkd_latency_ok(E2eLatencyS) AND {span}"
        )
        for r in engine.query(sql, bounds):
            group = out.setdefault((r["b"], r["s"]), {"p50_ms": [], "p95_ms": [], "p99_ms": []})
            for values in group.values():
                values.append(r["d"])
    elif name == "tts_duration_over_time":
        sql = (
            f"SELECT {bucket} AS b, DurationNs / 1e6 AS d, TtftS * 1000 AS t FROM lk_requests "
            f"WHERE Stage = 'tts' AND {span}"
        )
        for r in engine.query(sql, bounds):
            group = out.setdefault((r["b"],), {"p95_duration_ms": [], "p95_ttfb_ms": []})
            group["p95_duration_ms"].append(r["d"])
            if r["t"] is not None:
                group["p95_ttfb_ms"].append(r["t"])
    elif name == "latency_stages_over_time":
        sql = (
            f"SELECT {bucket} AS b, tupleElement(x, 1) AS st, tupleElement(x, 2) * 1000 AS d FROM lk_turns "
            "ARRAY JOIN [('end_of_turn', EndOfTurnDelayS), ('transcription', TranscriptionDelayS), "
            "('on_user_turn_completed', OnUserTurnCompletedDelayS)] AS x "
            f"WHERE lkd_latency_ok(tupleElement(x, 2)) AND {span} "
            f"UNION ALL SELECT {bucket} AS b, Stage AS st, ValueS * 1000 AS d FROM lk_turn_steps "
            f"WHERE lkd_latency_ok(ValueS) AND {span}"
        )
        for r in engine.query(sql, bounds):
            out.setdefault((r["b"], r["st"]), {"p95_ms": []})["p95_ms"].append(r["d"])
    else:
        sql = (
            f"SELECT {bucket} AS b, ServiceName AS s, Provider AS p, DurationNs / 1e6 AS d FROM lk_requests "
            f"WHERE Stage IN ('llm', 'realtime', 'tts') AND {span}"
        )
        for r in engine.query(sql, bounds):
            out.setdefault((r["b"], r["s"], r["p"]), {"p95_ms": []})["p95_ms"].append(r["d"])
    return out


QUANTILE = {"p50_ms": 0.5, "p99_ms": 0.99}


@pytest.mark.parametrize("name", sorted(LATENCY_PANELS))
def test_latency_panels_on_sketch_rollups_match_raw(loaded: Engine, name: str) -> None:
    """Whole-hour buckets read DDSketch states (rollup hours merged with the edges' raw states): the
    groups, counts and averages equal the raw SQL's, and each percentile estimate lies within 5 points
    of rank (plus one value, for tiny groups) of the exact one, give or take the sketch's 3% on the
    value: a p95 estimate between the group's p90 and p100. Sub-hour buckets (and, for turns, a model
    filter) take the exact raw path and match it."""
    group, count, exact_cols, estimated = LATENCY_PANELS[name]
    reference = load_sql(name)  # the panel file is the exact, raw-table SQL; the rollup is <name>_hourly.sql
    compared = 0
    for start, end in _ranges():
        for step_s in (3600, 86400, 600):
            for extra in ({}, {"services": ("support-agent",)}, {"models": ("gpt-4o-mini", "cartesia-sonic-2")}):
                query = PanelQuery(start_ns=start, end_ns=end, step_s=step_s, **extra)
                values = query.values()
                got = run_panel(loaded, name, query)
                want = loaded.query(reference, {key: values[key] for key in PANELS[name].params})
                by_group = {tuple(r[c] for c in group): r for r in want}
                assert sorted(by_group) == sorted(tuple(r[c] for c in group) for r in got), (name, start, end)
                on_rollup = PANELS[name].uses_hourly(query)
                hour = 3600 * 10**9
                expected = step_s % 3600 == 0 and -(-start // hour) < end // hour
                model_exact = name in ("latency_p95_over_time", "latency_stages_over_time") and "models" in extra
                assert on_rollup == (expected and not model_exact)
                raw = _raw_values(loaded, name, query) if on_rollup and not extra else {}
                for row in got:
                    ref = by_group[tuple(row[c] for c in group)]
                    assert row[count] == ref[count]
                    for col in exact_cols + ((), estimated)[not on_rollup]:
                        assert row[col] == pytest.approx(ref[col], rel=1e-9, nan_ok=True), (name, col)
                    for col in estimated if raw else ():
                        sample = sorted(raw[tuple(row[c] for c in group)][col])
                        if not sample:
                            assert row[col] is None or math.isnan(row[col]), (name, col)
                            continue
                        q = QUANTILE.get(col, 0.95)
                        # within 5 points of rank (plus one value, for tiny groups) of q, give or take
                        # the sketch's error on the value (nominal 1%; chDB's DDSketch was seen 3.01% off
                        # on a group of one value: 942 ms read back as 970 ms)
                        reach = (0.05 + 1 / len(sample)) * (len(sample) - 1)
                        position = q * (len(sample) - 1)
                        low = sample[max(0, math.floor(position - reach))]
                        high = sample[min(len(sample) - 1, math.ceil(position + reach))]
                        assert 0.96 * low <= row[col] <= 1.04 * high, (name, col, q, len(sample), low, high)
                        compared += 1
    assert compared >= 20, "the rollup path was never compared"


def test_hours_the_rollups_expired_before_the_raw_rows_are_read_raw(loaded: Engine) -> None:
    """The rollups expire hour by hour, the raw tables a day's part at a time: past the trace retention
    the raw rows may hold hours the rollups lost. Those hours are read raw (lkd_rollup_from()), so
    every panel on a rollup keeps the raw tables' answer, and the slowest replies' total its raw count."""
    horizon = END_NS - DAY_NS + 30 * MINUTE_NS  # within the data, off the hour
    for table in ("lk_request_hours", "lk_turn_hours", "lk_request_latency_hours", "lk_stage_hours"):
        loaded.command(
            f"ALTER TABLE {table} DELETE WHERE Hour < fromUnixTimestamp64Nano({{h:Int64}}) SETTINGS mutations_sync = 2",
            {"h": horizon},
        )

    def answers(name: str, query: PanelQuery) -> tuple[list[Any], list[Any]]:
        values = query.values()
        params = {key: values[key] for key in PANELS[name].params}
        path = REFERENCE / f"{name}.sql"
        reference = render_sql(path.read_text()) if path.exists() else load_sql(name)
        if "{traces:" in reference:  # (the error records classified at read time, for every trace)
            params["traces"] = [r["t"] for r in loaded.query("SELECT DISTINCT TraceId AS t FROM otel_traces")]
        got, want = run_panel(loaded, name, query), loaded.query(reference, params)
        if name in LATENCY_PANELS:  # percentiles are estimates on the rollup: the groups and counts
            group, count, _, _ = LATENCY_PANELS[name]
            got, want = ([{c: r[c] for c in (*group, count)} for r in rows] for rows in (got, want))
        return _key(got), _key(want)

    def differing() -> list[str]:
        out = []
        for name in [*EXACT_PANELS, *LATENCY_PANELS]:
            for step_s in (3600, 86400):
                query = PanelQuery(start_ns=END_NS - 2 * DAY_NS, end_ns=END_NS, step_s=step_s)
                got, want = answers(name, query)
                if got != want:
                    out.append(f"{name} step {step_s}")
        query = PanelQuery(start_ns=END_NS - 2 * DAY_NS, end_ns=END_NS, step_s=3600)
        values = query.values()
        total = run_panel(loaded, "slowest_turns", query)[0]["total"]
        raw = loaded.query(render_sql("SELECT count() AS n FROM lk_turns WHERE {{responses_kept}}"), values)[0]["n"]
        return out + ([f"slowest_turns total {total} against {raw}"] if total != raw else [])

    # the premise: reading the rollups for every hour now gives other answers
    before = differing()
    assert len(before) >= 5, before
    assert any(d.startswith("slowest_turns") for d in before), before
    loaded.command(
        "CREATE OR REPLACE FUNCTION lkd_rollup_from AS () -> fromUnixTimestamp64Nano(toInt64({h:Int64}))",
        {"h": horizon},
    )
    assert differing() == []
