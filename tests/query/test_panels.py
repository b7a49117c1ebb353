"""Every panel against demo data with known answers: the expected values are computed in Python
from the simulated calls, independently of the SQL."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from livekit_dashboard.demo import DemoConfig, generate
from livekit_dashboard.demo.calls import CallRecord
from livekit_dashboard.demo.generator import simulate
from livekit_dashboard.query import PANELS
from livekit_dashboard.server import DashboardServer
from tests.conftest import DatabasePool, serving

NOW = time.time_ns() - 60 * 10**9
CONFIG = DemoConfig(calls=80, days=2, seed=5, end_ns=NOW)
RANGE = {"start": "now-3d", "end": "now"}


@pytest.fixture(scope="module")
def loaded(chdb_dir: Path, database_pool: DatabasePool) -> Iterator[tuple[DashboardServer, list[CallRecord]]]:
    with serving(chdb_dir, database_pool, grpc_port=0) as server:
        generate(CONFIG, server.base_url)
        yield server, simulate(CONFIG)


def panel(server: DashboardServer, name: str, **params: Any) -> dict[str, Any]:
    response = httpx.get(f"{server.base_url}/api/v1/panels/{name}", params={**RANGE, **params}, timeout=60)
    assert response.status_code == 200, response.text
    return dict(response.json())


def spans(calls: list[CallRecord], *names: str) -> list[Any]:
    return [s for c in calls for s in c.spans if s.name in names]


def attr(span: Any, key: str) -> int:
    return int(span.attributes.get(key, 0))


def quantile_inclusive(values: list[float], q: float) -> float:
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def test_token_usage_totals(loaded: Any) -> None:
    server, calls = loaded
    usage = spans(calls, "llm_request", "realtime_inference")
    pipeline = spans(calls, "llm_request")
    realtime = spans(calls, "realtime_inference")
    assert pipeline, "the fixture needs pipeline calls"
    assert realtime, "the fixture needs realtime calls"
    row = panel(server, "token_usage_totals")["rows"][0]
    expected_in = sum(attr(s, "gen_ai.usage.input_tokens") for s in usage)
    expected_out = sum(attr(s, "gen_ai.usage.output_tokens") for s in usage)
    assert row["requests"] == len(usage)
    assert row["input_tokens"] == expected_in
    assert row["output_tokens"] == expected_out
    assert row["total_tokens"] == expected_in + expected_out
    assert row["cache_read_tokens"] == sum(attr(s, "gen_ai.usage.cache_read.input_tokens") for s in usage)
    assert row["input_audio_tokens"] == sum(attr(s, "gen_ai.usage.audio.input_tokens") for s in realtime)
    # a pipeline LLM has no modality split: its tokens count as text
    assert row["input_text_tokens"] == sum(attr(s, "gen_ai.usage.input_tokens") for s in pipeline) + sum(
        attr(s, "gen_ai.usage.text.input_tokens") for s in realtime
    )
    assert row["output_audio_tokens"] == sum(attr(s, "gen_ai.usage.audio.output_tokens") for s in realtime)
    assert row["output_text_tokens"] == sum(attr(s, "gen_ai.usage.output_tokens") for s in pipeline) + sum(
        attr(s, "gen_ai.usage.text.output_tokens") for s in realtime
    )


def test_filters_narrow_every_sum(loaded: Any) -> None:
    server, calls = loaded
    for service in ("support-agent", "outbound-caller"):
        mine = [c for c in calls if c.service.name == service]
        row = panel(server, "token_usage_totals", service=service)["rows"][0]
        assert row["input_tokens"] == sum(
            attr(s, "gen_ai.usage.input_tokens") for s in spans(mine, "llm_request", "realtime_inference")
        )
    nodejs = [c for c in calls if c.service.language == "nodejs"]
    conv = panel(server, "conversations_over_time", language="nodejs")["rows"]
    assert sum(r["calls"] for r in conv) == len(nodejs)
    assert {r["service"] for r in conv} == {"outbound-caller"}
    model = "gpt-4o-mini"
    by_model = panel(server, "token_usage_totals", model=model)["rows"][0]
    model_spans = [s for s in spans(calls, "llm_request") if s.attributes["gen_ai.request.model"] == model]
    assert by_model["requests"] == len(model_spans)
    model_calls = panel(server, "conversations_over_time", model=model)["rows"]
    assert sum(r["calls"] for r in model_calls) == sum(1 for c in calls if c.llm and c.llm.name == model)


def test_time_range_is_respected(loaded: Any) -> None:
    server, calls = loaded
    middle = NOW - 86400 * 10**9
    start = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(middle // 10**9))
    start_ns = (middle // 10**9) * 10**9
    sessions = spans(calls, "agent_session")
    rows = panel(server, "conversations_over_time", start=start, end="now")["rows"]
    assert sum(r["calls"] for r in rows) == sum(1 for s in sessions if s.start_ns >= start_ns)
    assert 0 < sum(r["calls"] for r in rows) < len(sessions)


def test_model_distribution_counts_each_request_once(loaded: Any) -> None:
    server, calls = loaded
    stage = {"llm_request": "llm", "realtime_inference": "realtime", "tts_request": "tts", "user_turn": "stt"}
    expected = Counter((stage[s.name], s.attributes["gen_ai.request.model"]) for s in spans(calls, *stage))
    rows = panel(server, "model_distribution")["rows"]
    assert {(r["stage"], r["model"]): r["requests"] for r in rows} == dict(expected)
    # llm_node repeats the model of its llm_request; it must not be counted
    assert sum(r["requests"] for r in rows if r["stage"] == "llm") == len(spans(calls, "llm_request"))


def test_requests_and_conversations_over_time(loaded: Any) -> None:
    server, calls = loaded
    requests = panel(server, "requests_over_time", step="1h")
    assert requests["range"]["step_s"] == 3600
    per_service: Counter[str] = Counter()
    for r in requests["rows"]:
        per_service[r["service"]] += r["requests"]
        assert r["bucket"] % 3600 == 0
    expected = Counter(
        c.service.name for c in calls for s in c.spans if s.name in ("llm_request", "realtime_inference")
    )
    assert per_service == expected
    conv = panel(server, "conversations_over_time")["rows"]
    assert Counter({r["service"]: 0 for r in conv}) + Counter(
        {svc: sum(r["calls"] for r in conv if r["service"] == svc) for svc in {r["service"] for r in conv}}
    ) == Counter(c.service.name for c in calls)


def test_error_rate(loaded: Any) -> None:
    server, calls = loaded
    row = panel(server, "error_rate")["rows"][0]
    reqs = spans(calls, "llm_request", "realtime_inference", "tts_request")
    turns = spans(calls, "agent_turn")
    assert row["requests"] == len(reqs)
    assert row["failed_requests"] == sum(1 for s in reqs if s.error)
    assert row["turns"] == len(turns)
    # a turn failed when it did, or when a step of it did (a TTS failure leaves agent_turn unset)
    failed_steps = {
        (id(c), s.parent_id)
        for c in calls
        for s in c.spans
        if s.error and s.name in ("llm_node", "tts_node", "realtime_inference")
    }
    expected_failed_turns = {
        (id(c), s.span_id)
        for c in calls
        for s in c.spans
        if s.name == "agent_turn" and (s.error or (id(c), s.span_id) in failed_steps)
    }
    assert row["failed_turns"] == len(expected_failed_turns)
    assert row["failed_turns"] > sum(1 for s in turns if s.error), "the demo has turns whose TTS failed"
    assert row["calls"] == len(calls)
    failed_calls = sum(
        1 for c in calls if any(s.error for s in c.spans if s.name not in ("llm_request_run", "tts_request_run"))
    )
    assert row["failed_calls"] == failed_calls
    assert row["request_error_rate"] == pytest.approx(row["failed_requests"] / row["requests"])
    assert panel(server, "error_rate")["thresholds"] == [0.05, 0.1]


def test_the_demo_times_only_replies_that_were_played() -> None:
    """As livekit-agents does: a response latency (lk.e2e_latency) only on a turn whose reply was heard
    (it has agent_speaking); a turn whose TTS failed has none."""
    calls = simulate(CONFIG)
    turns = [(c, s) for c in calls for s in c.spans if s.name == "agent_turn"]
    spoke = {(id(c), s.parent_id) for c in calls for s in c.spans if s.name == "agent_speaking"}
    timed = [(c, s) for c, s in turns if "lk.e2e_latency" in s.attributes]
    assert timed
    assert all((id(c), s.span_id) in spoke for c, s in timed)
    tts_failed = {(id(c), s.parent_id) for c in calls for s in c.spans if s.name == "tts_node" and s.error}
    assert tts_failed, "the demo has replies whose TTS failed"
    assert not [s for c, s in timed if (id(c), s.span_id) in tts_failed]


def test_response_latency_percentiles(loaded: Any) -> None:
    """The latency panel is response latency (lk.e2e_latency), not the agent turn's span duration (which
    includes the agent speaking); values outside 0-30 s are flagged and left out of the percentiles."""
    server, calls = loaded
    # sub-hour buckets: exact percentiles (whole-hour buckets use the rollup: tests/query/test_rollups.py)
    data = panel(server, "latency_p95_over_time", step="30m")
    latencies: dict[tuple[int, str], list[float]] = {}
    flagged: dict[tuple[int, str], int] = {}
    for c in calls:
        for s in c.spans:
            if s.name == "agent_turn" and "lk.e2e_latency" in s.attributes:  # a played reply
                key = ((s.start_ns // 10**9) // 1800 * 1800, c.service.name)
                e2e = float(s.attributes["lk.e2e_latency"])
                latencies.setdefault(key, [])
                if 0 <= e2e <= 30:
                    latencies[key].append(e2e * 1000)
                else:
                    flagged[key] = flagged.get(key, 0) + 1
    assert len(data["rows"]) == len(latencies)
    for r in data["rows"]:
        values = latencies[(r["bucket"], r["service"])]
        assert r["responses"] == len(values)
        assert r["flagged"] == flagged.get((r["bucket"], r["service"]), 0)
        assert r["p95_ms"] == pytest.approx(quantile_inclusive(values, 0.95), rel=1e-9)
        assert r["p50_ms"] <= r["p95_ms"] <= r["p99_ms"]


def _expected_slowest(calls: list[CallRecord], services: set[str] | None = None) -> list[dict[str, Any]]:
    """Every played reply with a valid response latency, slowest first, with its stages from its spans."""
    rows = []
    for c in calls:
        if services is not None and c.service.name not in services:
            continue
        children: dict[int, list[Any]] = {}
        for s in c.spans:
            if s.parent_id is not None:
                children.setdefault(s.parent_id, []).append(s)
        for s in c.spans:
            e2e = float(s.attributes.get("lk.e2e_latency", "nan"))
            if s.name != "agent_turn" or not 0 <= e2e <= 30:
                continue
            kids = sorted(children.get(s.span_id, []), key=lambda k: k.start_ns)
            llm = next((float(k.attributes["lk.response.ttft"]) for k in kids if k.name == "llm_node"), None)
            tts = next((float(k.attributes["lk.response.ttfb"]) for k in kids if k.name == "tts_node"), None)
            llm_starts = [k.start_ns for k in kids if k.name == "llm_node"]
            tool_round = (llm_starts[-1] - llm_starts[0]) / 1e9 if len(llm_starts) > 1 else None
            stages = {
                "end_of_turn": s.attributes.get("lk.end_of_turn_delay"),
                "transcription": s.attributes.get("lk.transcription_delay"),
                "on_user_turn_completed": s.attributes.get("lk.on_user_turn_completed_delay"),
                "llm_ttft": llm,
                "tts_ttfb": tts,
                "tool_round": tool_round,
            }
            valid = {k: float(v) for k, v in stages.items() if v is not None and 0 <= float(v) <= 30}
            rows.append(
                {
                    "span_id": format(s.span_id, "016x"),
                    "service": c.service.name,
                    "response_ms": e2e * 1000,
                    "llm_ttft_ms": None if llm is None else llm * 1000,
                    "tts_ttfb_ms": None if tts is None else tts * 1000,
                    "tool_round_ms": None if tool_round is None else tool_round * 1000,
                    "dominant_stage": max(valid, key=lambda k: valid[k]) if valid else "",
                }
            )
    return sorted(rows, key=lambda r: (-r["response_ms"], r["span_id"]))


def test_slowest_turns(loaded: Any) -> None:
    """The slowest replies, slowest first, each with its LLM and TTS steps (child spans) and the stage
    that took longest; the total counts every valid reply; pages and filters agree with the whole."""
    server, calls = loaded
    expected = _expected_slowest(calls)
    assert len(expected) > 40
    keys = ("span_id", "service", "response_ms", "llm_ttft_ms", "tts_ttfb_ms", "tool_round_ms", "dominant_stage")

    def page(**params: Any) -> tuple[int, list[dict[str, Any]]]:
        rows = panel(server, "slowest_turns", **params)["rows"]
        assert len({r["total"] for r in rows}) <= 1
        return (rows[0]["total"] if rows else 0), [{k: r[k] for k in keys} for r in rows]

    def close(got: list[dict[str, Any]], want: list[dict[str, Any]]) -> None:
        assert [g["span_id"] for g in got] == [w["span_id"] for w in want]
        for g, w in zip(got, want, strict=True):
            assert g == {k: pytest.approx(v, rel=1e-9) if isinstance(v, float) else v for k, v in w.items()}

    total, first = page(limit=20)
    assert total == len(expected)
    close(first, expected[:20])
    assert any(r["llm_ttft_ms"] for r in first)
    assert any(r["tts_ttfb_ms"] for r in first)
    assert any(r["dominant_stage"] == "tool_round" for r in first), "replies that called tools are among the slowest"
    total, second = page(limit=7, offset=13)
    assert total == len(expected)
    close(second, expected[13:20])
    service = expected[0]["service"]
    only = _expected_slowest(calls, {service})
    total, narrowed = page(limit=5, service=service)
    assert 0 < total == len(only) < len(expected)
    close(narrowed, only[:5])
    assert page(limit=5, offset=len(expected)) == (0, [])


def test_tts_durations(loaded: Any) -> None:
    server, calls = loaded
    rows = panel(server, "tts_duration_over_time", step="1d")["rows"]
    tts = spans(calls, "tts_request")
    assert sum(r["requests"] for r in rows) == len(tts)
    total_ms = sum(r["avg_duration_ms"] * r["requests"] for r in rows)
    assert total_ms == pytest.approx(sum(s.end_ns - s.start_ns for s in tts) / 1e6)


def test_http_duration_from_metrics(loaded: Any) -> None:
    server, calls = loaded
    rows = panel(server, "http_request_duration_over_time", step="1d")["rows"]
    assert {r["source"] for r in rows} == {"metrics"}
    pipeline = [c for c in calls if not c.realtime and c.llm_durations_s]
    assert sum(r["requests"] for r in rows) == sum(len(c.llm_durations_s) for c in pipeline)
    total_ms = sum(r["avg_ms"] * r["requests"] for r in rows)
    assert total_ms == pytest.approx(sum(sum(c.llm_durations_s) for c in pipeline) * 1000)
    assert all(r["avg_ms"] > 0 and 0 < r["p95_ms"] <= 10_000 for r in rows)


def test_turns_and_short_conversations(loaded: Any) -> None:
    server, calls = loaded
    turns = {c.trace_id: sum(1 for s in c.spans if s.name == "agent_turn") for c in calls}
    row = panel(server, "turns_per_conversation")["rows"][0]
    assert (row["calls"], row["turns"]) == (len(calls), sum(turns.values()))
    assert row["avg_turns"] == pytest.approx(sum(turns.values()) / len(calls))
    short = {format(t, "032x") for t, n in turns.items() if n < 3}
    first = panel(server, "conversations_below_threshold", limit=5)["rows"]
    assert first[0]["total"] == len(short)
    everything = panel(server, "conversations_below_threshold", limit=1000)["rows"]
    assert {r["trace_id"] for r in everything} == short
    assert all(r["turns"] < 3 for r in everything)
    higher = panel(server, "conversations_below_threshold", threshold=6, limit=1000)["rows"]
    assert len(higher) == sum(1 for n in turns.values() if n < 6)


def _expected_error_records(calls: list[CallRecord]) -> set[tuple[str, str]]:
    """(kind, span id) of every error record, worked out from the spans the demo sent: a failure is an
    ERROR span none of whose children failed (retry attempts aside), a recovered request one whose
    attempts failed but which did not, a tool error a tool that reported one."""
    records = set()
    for c in calls:
        failed = {s.span_id: s for s in c.spans if s.error}
        attempt = {sid for sid, s in failed.items() if s.name.endswith("_request_run")}
        failing_parents = {s.parent_id for sid, s in failed.items() if sid not in attempt}
        for sid, s in failed.items():
            if sid in attempt:
                if s.parent_id not in failed:
                    records.add(("recovered", format(s.parent_id, "016x")))
            elif sid not in failing_parents:
                records.add(("failure", format(sid, "016x")))
        for s in c.spans:
            if s.attributes.get("lk.function_tool.is_error") and not s.error:
                records.add(("tool_error", format(s.span_id, "016x")))
    return records


def test_error_records_are_one_per_root_cause_newest_first(loaded: Any) -> None:
    server, calls = loaded
    expected = _expected_error_records(calls)
    page1 = panel(server, "error_records", limit=5)["rows"]
    page2 = panel(server, "error_records", limit=5, offset=5)["rows"]
    assert page1[0]["total"] == len(expected)
    times = [r["time_unix_nano"] for r in page1 + page2]
    assert times == sorted(times, reverse=True)
    assert not {r["span_id"] for r in page1} & {r["span_id"] for r in page2}
    everything = panel(server, "error_records", limit=1000)["rows"]
    assert {(r["kind"], r["span_id"]) for r in everything} == expected
    kinds = Counter(kind for kind, _ in expected)
    assert kinds["failure"], "the demo has failures"
    assert kinds["recovered"], "the demo has recovered requests"
    assert kinds["tool_error"], "the demo has tool errors"
    # one failure, one record: the failed request's llm_node and agent_turn are its path, not records
    spans_by_id = {format(s.span_id, "016x"): s for c in calls for s in c.spans}
    assert all(
        spans_by_id[r["span_id"]].name not in ("llm_node", "tts_node") for r in everything if r["kind"] == "failure"
    )


def test_error_groups_and_the_error_tile_count_the_same_failures(loaded: Any) -> None:
    server, _ = loaded
    rate = panel(server, "error_rate")["rows"][0]
    records = panel(server, "error_records", limit=1000)["rows"]
    groups = panel(server, "error_groups", limit=1000)["rows"]
    assert sum(g["occurrences"] for g in groups) == len(records)
    kinds = Counter(r["kind"] for r in records)
    assert rate["failures"] == kinds["failure"] == sum(g["occurrences"] for g in groups if g["kind"] == "failure")
    assert rate["tool_errors"] == kinds["tool_error"]
    assert rate["recovered_requests"] == kinds["recovered"]
    # failed requests are failures of the request stages
    assert rate["failed_requests"] == sum(
        1
        for r in records
        if r["kind"] == "failure" and r["span_name"] in ("llm_request", "tts_request", "realtime_inference")
    )
    # a group opens on its occurrences, newest first
    top = groups[0]
    occurrences = panel(server, "error_records", group=top["group"], limit=1000)["rows"]
    assert len(occurrences) == top["occurrences"]
    assert {r["group"] for r in occurrences} == {top["group"]}
    assert len({r["trace_id"] for r in occurrences}) == top["calls"]
    assert occurrences[0]["time_unix_nano"] == top["last_seen_unix_nano"]


def test_logs_panel_filters(loaded: Any) -> None:
    server, calls = loaded
    logs = [log for c in calls for log in c.logs]
    assert panel(server, "logs", limit=1)["rows"][0]["total"] == len(logs)
    errors = panel(server, "logs", min_severity=17, limit=1000)["rows"]
    assert len(errors) == sum(1 for log in logs if log.severity == "ERROR")
    assert {r["severity_text"] for r in errors} == {"ERROR"}
    found = panel(server, "logs", text="TRANSCRIPT", limit=1000)["rows"]
    assert len(found) == sum(1 for log in logs if "transcript" in log.body.lower())


def test_logs_pages_are_consistent_with_the_whole_list(loaded: Any) -> None:
    """Pages (the SQL sorts only the rows at or after the page's last timestamp) concatenate to the
    whole newest-first list, which holds every record once."""
    server, calls = loaded
    everything = panel(server, "logs", limit=1000)["rows"]
    assert len(everything) == min(1000, sum(len(c.logs) for c in calls))
    assert len(everything) > 200
    times = [r["time_unix_nano"] for r in everything]
    assert times == sorted(times, reverse=True)
    pages: list[dict[str, Any]] = []
    for offset in range(0, len(everything), 37):
        pages += panel(server, "logs", limit=37, offset=offset)["rows"]
    assert [r["log_id"] for r in pages] == [r["log_id"] for r in everything]
    assert len({r["log_id"] for r in pages}) == len(pages)
    assert panel(server, "logs", limit=5, offset=len(everything))["rows"] == []


def test_services_and_languages(loaded: Any) -> None:
    server, calls = loaded
    rows = panel(server, "services_languages")["rows"]
    got = {(r["service"], r["language"]): (r["calls"], r["spans"]) for r in rows}
    expected: dict[tuple[str, str], tuple[int, int]] = {}
    for c in calls:
        key = (c.service.name, c.service.language)
        n_calls, n_spans = expected.get(key, (0, 0))
        expected[key] = (n_calls + 1, n_spans + len(c.spans))
    assert got == expected


def test_filters_endpoint_lists_values(loaded: Any) -> None:
    server, calls = loaded
    body = httpx.get(f"{server.base_url}/api/v1/filters", params=RANGE).json()
    assert set(body["services"]) == {c.service.name for c in calls}
    assert set(body["languages"]) == {"python", "nodejs"}
    models = {m["model"]: m["stages"] for m in body["models"]}
    assert models.get("gpt-realtime") == ["realtime"] or models.get(
        "gemini-2.5-flash-native-audio-preview-09-2025"
    ) == ["realtime"]
    assert all(stages for stages in models.values()), "every model lists the stages it served"


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"start": "yesterday"}, "start"),
        ({"end": "2020-01-01T00:00:00Z"}, "end"),
        ({"step": "fast"}, "step"),
        ({"step": "1s", "start": "now-30d"}, "step"),
        ({"limit": "0"}, "limit"),
        ({"threshold": "-1"}, "threshold"),
        ({"min_severity": "99"}, "min_severity"),
    ],
)
def test_bad_params_are_400_naming_the_param(loaded: Any, params: dict[str, str], named: str) -> None:
    server, _ = loaded
    response = httpx.get(f"{server.base_url}/api/v1/panels/logs", params=params)
    assert response.status_code == 400
    assert f"invalid parameter {named}" in response.json()["detail"]


def test_unknown_panel_is_404_and_listing_describes_all(loaded: Any) -> None:
    server, _ = loaded
    assert httpx.get(f"{server.base_url}/api/v1/panels/nope").status_code == 404
    listing = httpx.get(f"{server.base_url}/api/v1/panels").json()["panels"]
    assert {p["name"] for p in listing} == set(PANELS)
    assert len(listing) == 24
    assert all(p["title"] and p["description"] and p["unit"] and "start" in p["params"] for p in listing)


def test_injection_attempts_are_just_values(loaded: Any) -> None:
    server, _ = loaded
    for nasty in ("x' OR 1=1 --", "{services:Array(String)}", "\\'); DROP TABLE otel_traces; --", "ü🙂"):
        rows = panel(server, "token_usage_totals", service=nasty)["rows"]
        assert rows[0]["requests"] == 0
        logs = panel(server, "logs", text=nasty)["rows"]
        assert logs == []
    assert panel(server, "token_usage_totals")["rows"][0]["requests"] > 0
