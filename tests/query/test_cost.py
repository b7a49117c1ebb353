"""Cost: recorded real livekit-agents sessions and SDK-made calls priced by hand.

Expectations are arithmetic on round prices (a prices file, so a catalogue update cannot move them) and
the framework's own usage counts; one test checks the catalogue path against voice-prices' own
calculation. Every place a dollar figure shows (call list, call page, cost panels, admin API) must
agree."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import voice_prices
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from livekit_dashboard.server import DashboardServer
from tests.conftest import DatabasePool, serving, start_server
from tests.query.test_agent_modes import FIXTURES, MODES, RANGE, replay

ADMIN = "admin-key-for-cost-tests-0123456789"
AUTH = {"Authorization": f"Bearer {ADMIN}"}
M = 1e-6  # a price per million tokens, per token

# round prices for the recorded sessions' models (USD per million tokens, per thousand characters/seconds)
PRICES = """
[[price]]
provider = "openai"
model = "gpt-4o-mini"
input_mtok = 1.0
cache_read_mtok = 0.5
output_mtok = 4.0
note = "test price"

[[price]]
provider = "cartesia"
model = "sonic-2"
input_kchars = 0.1

[[price]]
provider = "deepgram"
model = "nova-3"
input_audio_kseconds = 0.6

[[price]]
provider = "openai"
model = "gpt-realtime"
input_mtok = 4
input_audio_mtok = 32
cache_read_mtok = 0.4
cache_audio_read_mtok = 0.4
output_mtok = 16
output_audio_mtok = 64

# a model no catalogue knows, priced by the user, with a price change on 2026-11-11
[[price]]
provider = "acme"
model = "acme-llm"
input_mtok = 1
output_mtok = 10

[[price]]
provider = "acme"
model = "acme-llm"
effective_from = 2026-11-11
input_mtok = 2
output_mtok = 20
"""


def get(server: DashboardServer, path: str, **params: Any) -> Any:
    r = httpx.get(f"{server.base_url}{path}", params=params, headers=AUTH, timeout=60)
    assert r.status_code == 200, r.text
    return r.json()


def panel(server: DashboardServer, name: str, **params: Any) -> list[dict[str, Any]]:
    return list(get(server, f"/api/v1/panels/{name}", **{**RANGE, **params})["rows"])


def all_calls(server: DashboardServer) -> dict[str, dict[str, Any]]:
    """The call list's rows, each with the cost lines its call page adds (the page's record is otherwise
    the list's row, field for field)."""
    body = get(server, "/api/v1/calls", limit=1000, **RANGE)
    out = {}
    for row in body["calls"]:
        record = get(server, f"/api/v1/calls/{row['call_id']}")["record"]
        lines = record.pop("cost_lines")
        assert record == row
        out[row["call_id"]] = {**row, "cost_lines": lines}
    return out


def _ns(text: str) -> int:
    return int(dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC).timestamp() * 1e9)


def post_call(server: DashboardServer, job_id: str, start: str, build: Any) -> None:
    """One call made by the real SDK tracer: an agent_session span starting at `start` (UTC), with
    whatever `build(tracer, t0)` adds under it; sent as OTLP protobuf."""
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "cost-agent"}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("livekit-agents", "1.8.9")
    t0 = _ns(start)
    session = tracer.start_span(
        "agent_session", start_time=t0, attributes={"lk.job_id": job_id, "lk.room_sid": f"RM_{job_id}"}
    )
    from opentelemetry import trace

    with trace.use_span(session, end_on_exit=False):
        build(tracer, t0)
    session.end(end_time=t0 + 60 * 10**9)
    provider.shutdown()
    body = encode_spans(memory.get_finished_spans()).SerializeToString()
    r = httpx.post(f"{server.base_url}/v1/traces", content=body, headers={"Content-Type": "application/x-protobuf"})
    assert r.status_code == 200, r.text


def llm(tracer: Any, at: int, model: str, provider: str, tokens_in: int, tokens_out: int, **extra: Any) -> Any:
    span = tracer.start_span(
        "llm_request",
        start_time=at,
        attributes={
            "gen_ai.operation.name": "chat",
            "gen_ai.request.model": model,
            "gen_ai.provider.name": provider,
            "gen_ai.usage.input_tokens": tokens_in,
            "gen_ai.usage.output_tokens": tokens_out,
            **extra,
        },
    )
    span.end(end_time=at + 10**9)
    return span


@pytest.fixture(scope="module")
def priced(
    chdb_dir: Path, database_pool: DatabasePool, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DashboardServer]:
    prices = tmp_path_factory.mktemp("prices") / "prices.toml"
    prices.write_text(PRICES)
    with serving(chdb_dir, database_pool, admin_key=ADMIN, prices_file=prices) as server:
        replay(server, MODES["pipeline (audio)"])
        replay(server, MODES["speech-to-speech"])
        # A before the price change, B after it; C uses a model nobody prices; D has a judge and a probe
        post_call(
            server, "AJ_A", "2026-11-10T10:00:00", lambda t, t0: llm(t, t0 + 10**9, "acme-llm", "acme", 1000, 100)
        )
        post_call(
            server, "AJ_B", "2026-11-12T10:00:00", lambda t, t0: llm(t, t0 + 10**9, "acme-llm", "acme", 1000, 100)
        )

        def unpriced(t: Any, t0: int) -> None:
            llm(t, t0 + 10**9, "acme-llm", "acme", 500, 50)
            llm(t, t0 + 2 * 10**9, "mystery-model", "nobody", 7000, 700)

        post_call(server, "AJ_C", "2026-11-12T11:00:00", unpriced)

        def judged(t: Any, t0: int) -> None:
            llm(t, t0 + 10**9, "acme-llm", "acme", 2000, 200)
            judge = t.start_span(
                "judge_evaluation", start_time=t0 + 30 * 10**9, attributes={"gen_ai.evaluation.name": "task_completion"}
            )
            from opentelemetry import trace

            with trace.use_span(judge, end_on_exit=False):
                llm(t, t0 + 31 * 10**9, "acme-llm", "acme", 3000, 300)
            judge.end(end_time=t0 + 33 * 10**9)
            llm(t, t0 + 40 * 10**9, "acme-llm", "acme", 5, 1, **{"lk.fallback.recovery": "true"})

        post_call(server, "AJ_D", "2026-11-12T12:00:00", judged)
        yield server


def _truth(scenario: str) -> dict[str, dict[str, Any]]:
    return {u["type"]: u for u in json.loads((FIXTURES / scenario / "session_usage.json").read_text())}


def test_pipeline_call_priced_by_hand(priced: DashboardServer) -> None:
    truth = _truth("pipeline_audio")
    llm_use, tts, stt = truth["llm_usage"], truth["tts_usage"], truth["stt_usage"]
    uncached = llm_use["input_tokens"] - llm_use["input_cached_tokens"]
    expected_llm = uncached * 1.0 * M + llm_use["input_cached_tokens"] * 0.5 * M + llm_use["output_tokens"] * 4.0 * M
    expected_tts = tts["characters_count"] * 0.1 / 1000
    expected_stt = stt["audio_duration"] * 0.6 / 1000
    call = all_calls(priced)["AJ_pipeline_audio"]
    assert call["cost_llm_usd"] == pytest.approx(expected_llm, rel=1e-12)
    assert call["cost_tts_usd"] == pytest.approx(expected_tts, rel=1e-12)
    assert call["cost_stt_usd"] == pytest.approx(expected_stt, rel=1e-12)
    assert call["cost_usd"] == pytest.approx(expected_llm + expected_tts + expected_stt, rel=1e-12)
    assert call["unpriced_models"] == []
    breakdown = call["cost_breakdown"]
    assert breakdown["input_text"] == pytest.approx(uncached * M)
    assert breakdown["cached_text"] == pytest.approx(llm_use["input_cached_tokens"] * 0.5 * M)
    assert breakdown["output_text"] == pytest.approx(llm_use["output_tokens"] * 4 * M)
    assert breakdown["tts_characters"] == pytest.approx(expected_tts)
    assert breakdown["tts_seconds"] == 0  # a per-character TTS price covers its seconds
    assert breakdown["stt_seconds"] == pytest.approx(expected_stt)
    # one line per model (what the counters add beyond the spans is rounding here, not a line of its own)
    assert len(call["cost_lines"]) == 3
    # every line names where its price came from; the call page shows the same record
    assert {(line["stage"], line["price_source"]) for line in call["cost_lines"]} == {
        ("llm", "file"),
        ("tts", "file"),
        ("stt", "file"),
    }
    assert "cost_lines" not in get(priced, "/api/v1/calls", limit=1, **RANGE)["calls"][0]  # the page's only


def test_realtime_call_priced_by_hand(priced: DashboardServer) -> None:
    truth = _truth("realtime_tools")["llm_usage"]
    call = all_calls(priced)["AJ_realtime_tools"]
    usage: dict[str, float] = {}
    for line in call["cost_lines"]:
        assert (line["stage"], line["provider"], line["model"]) == ("realtime", "openai", "gpt-realtime")
        for key, value in line["usage"].items():
            usage[key] = usage.get(key, 0) + value
    # the usage priced is the framework's: each modality's total and the cached total exactly (which
    # cached tokens were audio and which text is split in proportion where no span said: docs/panels.md)
    assert usage["input_text"] + usage["cached_text"] == truth["input_text_tokens"]
    assert usage["input_audio"] + usage["cached_audio"] == truth["input_audio_tokens"]
    assert usage["cached_text"] + usage["cached_audio"] == truth["input_cached_tokens"]
    assert usage["output_text"] == truth["output_text_tokens"]
    assert usage["output_audio"] == truth["output_audio_tokens"]
    expected = (
        usage["input_text"] * 4 * M
        + usage["input_audio"] * 32 * M
        + (usage["cached_text"] + usage["cached_audio"]) * 0.4 * M
        + usage["output_text"] * 16 * M
        + usage["output_audio"] * 64 * M
    )
    assert call["cost_realtime_usd"] == pytest.approx(expected, rel=1e-12)
    assert call["cost_usd"] == pytest.approx(expected, rel=1e-12)
    assert call["cost_breakdown"]["output_audio"] == pytest.approx(truth["output_audio_tokens"] * 64 * M)


def test_prices_in_force_when_the_call_started(priced: DashboardServer) -> None:
    calls = all_calls(priced)
    assert calls["AJ_A"]["cost_usd"] == pytest.approx(1000 * 1 * M + 100 * 10 * M)  # before 2026-11-11
    assert calls["AJ_B"]["cost_usd"] == pytest.approx(1000 * 2 * M + 100 * 20 * M)  # after


def test_unpriced_usage_is_shown_never_as_zero(priced: DashboardServer) -> None:
    call = all_calls(priced)["AJ_C"]
    assert call["unpriced_models"] == ["llm|nobody|mystery-model"]
    assert call["cost_usd"] == pytest.approx(500 * 2 * M + 50 * 20 * M)  # only what is priced
    mystery = next(line for line in call["cost_lines"] if line["model"] == "mystery-model")
    assert mystery["priced"] is False
    assert mystery["price_source"] == ""
    assert mystery["usage"] == {"input_text": 7000, "output_text": 700}
    rows = {r["key"]: r for r in panel(priced, "cost_models")}
    assert rows["llm|nobody|mystery-model"]["priced"] == 0
    assert rows["llm|nobody|mystery-model"]["usage"][:7] == [7000, 0, 0, 0, 0, 700, 0]
    tile = panel(priced, "cost_totals")[0]
    assert tile["unpriced_calls"] == 1
    assert tile["unpriced_share"] == pytest.approx(1 / tile["calls"])
    prices = get(priced, "/api/v1/prices")
    assert {m["key"]: m["priced"] for m in prices["models"]}["llm|nobody|mystery-model"] is False


def test_judges_and_recovery_probes_are_not_production_cost(priced: DashboardServer) -> None:
    call = all_calls(priced)["AJ_D"]
    assert call["cost_usd"] == pytest.approx(2000 * 2 * M + 200 * 20 * M)
    judge = 3000 * 2 * M + 300 * 20 * M
    probe = 5 * 2 * M + 1 * 20 * M
    assert call["cost_excluded_usd"] == pytest.approx(judge + probe)
    purposes = {line["purpose"]: line["cost_usd"] for line in call["cost_lines"]}
    assert purposes == pytest.approx({"call": 2000 * 2 * M + 200 * 20 * M, "judge": judge, "probe": probe})
    assert panel(priced, "cost_totals")[0]["excluded_usd"] == pytest.approx(judge + probe)


def test_every_place_shows_the_same_dollars(priced: DashboardServer) -> None:
    calls = all_calls(priced)
    total = sum(c["cost_usd"] for c in calls.values())
    tile = panel(priced, "cost_totals")[0]
    assert tile["calls"] == len(calls) == 6
    assert tile["cost_usd"] == pytest.approx(total, rel=1e-12)
    assert tile["llm_usd"] + tile["realtime_usd"] + tile["tts_usd"] + tile["stt_usd"] == pytest.approx(total, rel=1e-12)
    for by in ("stage", "model", "service"):
        rows = panel(
            priced, "cost_over_time", step="1d", start="2026-01-01T00:00:00Z", end="2027-01-01T00:00:00Z", by=by
        )
        assert sum(r["cost_usd"] for r in rows) == pytest.approx(total, rel=1e-12), by
    for by in ("agent", "user"):
        assert sum(r["cost_usd"] for r in panel(priced, "cost_by", by=by)) == pytest.approx(total, rel=1e-12)
    assert sum(r["cost_usd"] for r in panel(priced, "cost_models") if r["purpose"] == "call") == pytest.approx(total)
    admin = get(priced, "/admin/analytics/tokens/summary", start_date="2020-01-01", end_date="2099-01-01")["data"]
    assert admin["total_cost_usd"] == pytest.approx(total, rel=1e-12)
    assert admin["unpriced_records"] == 1
    admin_calls = get(priced, "/admin/analytics/calls", start_date="2020-01-01", end_date="2099-01-01", limit=100)
    assert {c["call_id"]: c["cost_usd"] for c in admin_calls["data"]["calls"]} == {
        k: c["cost_usd"] for k, c in calls.items()
    }
    summary = get(priced, "/admin/analytics/calls/summary", start_date="2020-01-01", end_date="2099-01-01")["data"]
    assert summary["total_cost_usd"] == pytest.approx(total, rel=1e-12)
    # a model filter keeps that model's cost, the same in the tile and the call list's lines
    acme = panel(priced, "cost_totals", model="acme-llm")[0]
    assert acme["calls"] == 4
    acme_lines = [
        line["cost_usd"]
        for c in calls.values()
        for line in c["cost_lines"]
        if line["model"] == "acme-llm" and line["purpose"] == "call"
    ]
    assert acme["cost_usd"] == pytest.approx(sum(acme_lines))
    # the most expensive call first
    top = get(priced, "/api/v1/calls", sort="cost_usd", limit=1, **RANGE)["calls"][0]
    assert top["cost_usd"] == max(c["cost_usd"] for c in calls.values())


def test_a_corrected_price_reprices_history(make_server: Any) -> None:
    server = make_server(admin_key=ADMIN)
    post_call(server, "AJ_old", "2026-10-01T10:00:00", lambda t, t0: llm(t, t0 + 10**9, "house-llm", "self", 1000, 0))
    post_call(server, "AJ_new", "2026-11-20T10:00:00", lambda t, t0: llm(t, t0 + 10**9, "house-llm", "self", 1000, 0))
    calls = all_calls(server)
    assert calls["AJ_old"]["unpriced_models"] == calls["AJ_new"]["unpriced_models"] == ["llm|self|house-llm"]

    def put(body: dict[str, Any]) -> httpx.Response:
        return httpx.put(f"{server.base_url}/api/v1/prices", json=body, headers=AUTH, timeout=60)

    r = put({"provider": "self", "model": "house-llm", "input_mtok": 3})
    assert r.status_code == 200, r.text
    assert r.json()["repriced_models"] == ["llm|self|house-llm"]
    r = put({"provider": "self", "model": "house-llm", "effective_from": "2026-11-01", "input_mtok": 5})
    assert r.status_code == 200, r.text
    calls = all_calls(server)
    assert calls["AJ_old"]["cost_usd"] == pytest.approx(1000 * 3 * M)
    assert calls["AJ_new"]["cost_usd"] == pytest.approx(1000 * 5 * M)
    assert {line["price_source"] for c in calls.values() for line in c["cost_lines"]} == {"api"}
    # removing the later price: history from its date is priced with the earlier one again
    r = httpx.delete(
        f"{server.base_url}/api/v1/prices",
        params={"provider": "self", "model": "house-llm", "effective_from": "2026-11-01"},
        headers=AUTH,
    )
    assert r.status_code == 200, r.text
    assert all_calls(server)["AJ_new"]["cost_usd"] == pytest.approx(1000 * 3 * M)
    listed = get(server, "/api/v1/prices")
    assert [(o["model"], o["input_mtok"]) for o in listed["overrides"]] == [("house-llm", 3)]
    (seen,) = [m for m in listed["models"] if m["model"] == "house-llm"]
    assert [(p["source"], p["usd_per_unit"]["input_text"]) for p in seen["periods"]] == [("api", pytest.approx(3 * M))]
    # pricing everything again on demand changes nothing that is right already
    r = httpx.post(f"{server.base_url}/api/v1/prices/reprice", headers=AUTH, timeout=60)
    assert r.status_code == 200, r.text
    assert "llm|self|house-llm" in r.json()["repriced_models"]
    assert all_calls(server)["AJ_old"]["cost_usd"] == pytest.approx(1000 * 3 * M)
    # a price survives a restart (stored), and bad prices get a precise 400
    for bad, message in (
        ({"model": "x", "input_mtok": -1}, "greater than or equal to 0"),
        ({"model": "x", "per_token": 1}, "per_token"),
        ({"model": "x", "effective_from": "yesterday", "input_mtok": 1}, "effective_from"),
        ({"model": "x"}, "at least one of"),
    ):
        r = put(bad)
        assert r.status_code in (400, 422), (bad, r.text)
        assert message in r.text, (bad, r.text)
    r = httpx.delete(f"{server.base_url}/api/v1/prices", params={"model": "nothing"}, headers=AUTH)
    assert r.status_code == 404
    # a viewer may read prices but not set them
    assert httpx.put(f"{server.base_url}/api/v1/prices", json={"model": "x", "input_mtok": 1}).status_code in (401, 403)


def test_catalogue_prices_match_voice_prices_own_calculation(make_server: Any) -> None:
    server = make_server()
    replay(server, MODES["pipeline (audio)"])
    call = all_calls(server)["AJ_pipeline_audio"]
    truth = _truth("pipeline_audio")
    when = dt.datetime.fromisoformat(call["started_at"].replace("Z", "+00:00"))
    u = truth["llm_usage"]
    llm_price = voice_prices.calc_price(
        voice_prices.Usage(
            input_tokens=u["input_tokens"], cache_read_tokens=u["input_cached_tokens"], output_tokens=u["output_tokens"]
        ),
        "gpt-4o-mini",
        provider_id="openai",
        genai_request_timestamp=when,
    ).total_price
    tts_price = voice_prices.calc_price(
        voice_prices.Usage(characters=truth["tts_usage"]["characters_count"]),
        "sonic-2",
        provider_id="cartesia",
        genai_request_timestamp=when,
    ).total_price
    from decimal import Decimal

    stt_price = voice_prices.calc_price(
        voice_prices.Usage(audio_input_seconds=Decimal(str(truth["stt_usage"]["audio_duration"]))),
        "nova-3",
        provider_id="deepgram",
        genai_request_timestamp=when,
    ).total_price
    assert call["cost_llm_usd"] == pytest.approx(float(llm_price), rel=1e-9)
    assert call["cost_tts_usd"] == pytest.approx(float(tts_price), rel=1e-9)
    assert call["cost_stt_usd"] == pytest.approx(float(stt_price), rel=1e-9)
    assert {line["price_source"] for line in call["cost_lines"]} == {"catalogue"}


def test_a_changed_prices_file_reprices_history_at_start(
    chdb_dir: Path, database_pool: DatabasePool, tmp_path: Path
) -> None:
    prices = tmp_path / "prices.toml"
    prices.write_text('[[price]]\nprovider = "self"\nmodel = "house-llm"\ninput_mtok = 2\n')
    database = database_pool.take()
    server = start_server(chdb_dir, database=database, prices_file=prices)
    try:
        post_call(
            server, "AJ_file", "2026-11-05T10:00:00", lambda t, t0: llm(t, t0 + 10**9, "house-llm", "self", 1000, 0)
        )
        assert all_calls(server)["AJ_file"]["cost_usd"] == pytest.approx(1000 * 2 * M)
    finally:
        server.stop()
    prices.write_text('[[price]]\nprovider = "self"\nmodel = "house-llm"\ninput_mtok = 7\n')
    server = start_server(chdb_dir, database=database, prices_file=prices)
    try:
        assert all_calls(server)["AJ_file"]["cost_usd"] == pytest.approx(1000 * 7 * M)
    finally:
        server.stop()
        database_pool.give_back(database)
