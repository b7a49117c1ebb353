"""The zero-code path with a real worker: livekit-agents (from PyPI) runs an AgentSession offline (fake
providers built on the framework's base classes, scripts/record_livekit_fakes.py) in Cloud mode with
only LIVEKIT_OBSERVABILITY_URL and the LiveKit key/secret set, pointed at a running server. Everything
the framework sends must arrive: the call with its transcript, the usage the framework counted, the
audio that plays, the outcome and tags the agent set. A simulation's job is kept out of production
numbers unless asked for. One worker process per session (the framework's providers are process-wide)."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from livekit_dashboard.server import DashboardServer
from tests.conftest import DatabasePool, serving

ROOT = Path(__file__).resolve().parents[2]
KEY = "APIruntimeTestKey"
SECRET = "runtime-test-secret-0123456789abcdefghijklmnop"
ADMIN = "admin-key-for-runtime-tests-0123456789"
RANGE = {"start": "2020-01-01T00:00:00Z", "end": "2099-01-01T00:00:00Z"}

pytestmark = pytest.mark.slow


def run_worker(server: DashboardServer, out: Path, name: str, turns: str, **env: str) -> dict[str, Any]:
    """One Cloud-mode job against the server; returns the framework's own accounting of it."""
    environment = {
        **os.environ,
        "LIVEKIT_OBSERVABILITY_URL": server.base_url,
        "LIVEKIT_API_KEY": KEY,
        "LIVEKIT_API_SECRET": SECRET,
        "LKD_SCENARIO": name,
        "LKD_TURNS": turns,
        **env,
    }
    environment.pop("LIVEKIT_URL", None)
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "record_livekit.py"), "--scenario", "cloud_live", str(out)],
        env=environment,
        capture_output=True,
        text=True,
        timeout=180,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return {
        "usage": json.loads((out / "session_usage.json").read_text()),
        "summary": json.loads((out / "summary.json").read_text()),
    }


def usage_of(framework: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    (found,) = [u for u in framework if u["type"] == kind]
    return found


@pytest.fixture(scope="module")
def worked(tmp_path_factory: pytest.TempPathFactory, chdb_dir: Path, database_pool: DatabasePool) -> Any:
    with serving(
        chdb_dir, database_pool, grpc_port=0, admin_key=ADMIN, livekit_api_key=KEY, livekit_api_secret=SECRET
    ) as server:
        production = run_worker(server, tmp_path_factory.mktemp("production"), "runtime_prod", "hello,weather")
        simulated = run_worker(
            server,
            tmp_path_factory.mktemp("simulated"),
            "runtime_sim",
            "hello",
            LKD_SIMULATION_RUN="SR_runtime_test",
        )
        yield server, production, simulated


def test_a_worker_with_only_the_observability_url_shows_up_whole(worked: Any) -> None:
    server, production, _ = worked
    base = server.base_url
    calls = httpx.get(f"{base}/api/v1/calls", params=RANGE, timeout=60).json()["calls"]
    (call,) = calls  # the simulated one is left out by default
    assert call["call_id"] == "AJ_runtime_prod"
    assert call["agent_name"] == "recorded-agent"
    # usage: exactly what the framework counted (session.usage)
    framework = production["usage"]
    llm, tts, stt = (usage_of(framework, k) for k in ("llm_usage", "tts_usage", "stt_usage"))
    assert call["llm_input_text_tokens"] == llm["input_tokens"]
    assert call["llm_input_cached_text_tokens"] == llm["input_cached_tokens"]
    assert call["llm_output_text_tokens"] == llm["output_tokens"]
    assert call["tts_characters"] == tts["characters_count"]
    assert call["stt_audio_duration"] == pytest.approx(stt["audio_duration"], abs=1e-6)
    assert call["turns"] == production["summary"]["ground_truth"]["user_turns"] == 2
    # the outcome and tag the agent set (the evaluations log records)
    assert (call["outcome"], call["outcome_reason"], call["tags"]) == (
        "success",
        "caller got the weather",
        ["topic:weather"],
    )
    assert call["simulated"] == 0
    page = httpx.get(f"{base}/api/v1/calls/{call['call_id']}", timeout=60).json()
    # the spans arrived (the turns, the timeline) and the chat history made one transcript with them
    assert page["span_count"] > 10
    assert page["transcript_source"] == "spans+chat_history"
    truth = production["summary"]["ground_truth"]
    assert [t["user_text"] for t in page["turns"]] == truth["user_messages"]
    assert [t["agent_text"] for t in page["turns"]] == [m.strip() for m in truth["assistant_messages"]]
    assert [tool["name"] for t in page["turns"] for tool in t["tools"]] == truth["function_calls"]
    # the logs arrived: the agent's own log line, inside the call's trace
    assert any(log["body"] == "looking up the weather" for log in page["logs"])
    # the metrics arrived (DELTA, the framework's own meter provider)
    stats = httpx.get(f"{base}/api/v1/ingest/stats", timeout=30).json()
    assert stats["metrics"]["stored"] > 0, stats
    # the audio plays: the right content type, whole or by byte range
    audio = page["audio"]
    assert audio is not None
    assert audio["content_type"] == "audio/ogg"
    whole = httpx.get(f"{base}{audio['url']}", timeout=30)
    assert whole.status_code == 200
    assert whole.content[:4] == b"OggS"
    assert len(whole.content) == audio["bytes"]
    part = httpx.get(f"{base}{audio['url']}", headers={"Range": "bytes=0-3"}, timeout=30)
    assert (part.status_code, part.content) == (206, b"OggS")


def test_a_simulations_call_is_kept_out_of_production_numbers(worked: Any) -> None:
    server, production, simulated = worked
    base = server.base_url

    def listed(mode: str) -> list[str]:
        rows = httpx.get(f"{base}/api/v1/calls", params={**RANGE, "simulated": mode}, timeout=60).json()["calls"]
        return sorted(r["call_id"] for r in rows)

    assert listed("exclude") == ["AJ_runtime_prod"]
    assert listed("only") == ["AJ_runtime_sim"]
    assert listed("include") == ["AJ_runtime_prod", "AJ_runtime_sim"]
    # found by its id whatever the traffic filter says
    found = httpx.get(f"{base}/api/v1/calls", params={**RANGE, "q": "AJ_runtime_sim"}, timeout=60).json()
    assert [c["simulated"] for c in found["calls"]] == [1]
    # cost and outcome panels, and the admin usage API: production unless asked
    panel = {"start": "2025-01-01T00:00:00Z", "end": "2030-01-01T00:00:00Z", "step": "1d"}

    def totals(mode: str) -> dict[str, Any]:
        r = httpx.get(f"{base}/api/v1/panels/cost_totals", params={**panel, "simulated": mode}, timeout=60)
        assert r.status_code == 200, r.text
        (row,) = r.json()["rows"]
        return dict(row)

    assert [totals(mode)["calls"] for mode in ("exclude", "only", "include")] == [1, 1, 2]
    assert totals("include")["cost_usd"] == pytest.approx(totals("exclude")["cost_usd"] + totals("only")["cost_usd"])
    sim_tts = usage_of(simulated["usage"], "tts_usage")["characters_count"]
    prod_tts = usage_of(production["usage"], "tts_usage")["characters_count"]
    admin = {"start_date": "2020-01-01T00:00:00Z", "end_date": "2099-01-01T00:00:00Z"}
    headers = {"Authorization": f"Bearer {ADMIN}"}

    def tts_chars(mode: str) -> int:
        r = httpx.get(
            f"{base}/admin/analytics/tokens/summary", params={**admin, "simulated": mode}, headers=headers, timeout=60
        )
        assert r.status_code == 200, r.text
        return int(r.json()["data"]["total_tts_characters"])

    assert tts_chars("exclude") == prod_tts
    assert tts_chars("only") == sim_tts
    assert tts_chars("include") == prod_tts + sim_tts


def test_a_simulations_spans_are_kept_out_of_the_span_panels(worked: Any) -> None:
    """The span panels (tokens, requests, calls, latency) too: production unless asked, on the raw
    rows (sub-hour steps) and on the hourly rollups alike."""
    server, production, simulated = worked
    base = server.base_url
    llm_prod = usage_of(production["usage"], "llm_usage")
    llm_sim = usage_of(simulated["usage"], "llm_usage")

    # whole hours around the calls, so an hourly step reads the rollups only (no raw edges)
    hour = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
    window = {"start": (hour - dt.timedelta(hours=2)).isoformat(), "end": (hour + dt.timedelta(hours=2)).isoformat()}

    def panel(name: str, mode: str, step: str) -> list[dict[str, Any]]:
        params = {**window, "step": step, "simulated": mode}
        r = httpx.get(f"{base}/api/v1/panels/{name}", params=params, timeout=60)
        assert r.status_code == 200, r.text
        return list(r.json()["rows"])

    for step in ("1h", "60s"):  # whole hours read the rollups; 60 s buckets the raw rows
        tokens = {mode: panel("token_usage_totals", mode, step)[0]["input_tokens"] for mode in ("exclude", "only")}
        assert tokens == {"exclude": llm_prod["input_tokens"], "only": llm_sim["input_tokens"]}, step
        both = panel("token_usage_totals", "include", step)[0]["input_tokens"]
        assert both == llm_prod["input_tokens"] + llm_sim["input_tokens"]
        calls = {mode: sum(r["calls"] for r in panel("services_languages", mode, step)) for mode in ("exclude", "only")}
        assert calls == {"exclude": 1, "only": 1}, step
        responses = {
            mode: sum(r["responses"] for r in panel("latency_p95_over_time", mode, step))
            for mode in ("exclude", "only")
        }
        assert responses == {"exclude": 2, "only": 1}, step


def test_what_the_worker_did_not_record_is_absent_and_the_page_says_so(make_server: Any, tmp_path: Path) -> None:
    """record={"audio": False}: the transcript, usage and outcome arrive, the recording does not; the
    call page has no audio (its UI says there is no recording) and nothing half-made is stored."""
    server = make_server(grpc_port=0, livekit_api_key=KEY, livekit_api_secret=SECRET)
    ran = run_worker(server, tmp_path, "runtime_noaudio", "hello", LKD_RECORD='{"audio": false}')
    (call,) = httpx.get(f"{server.base_url}/api/v1/calls", params=RANGE, timeout=60).json()["calls"]
    assert call["call_id"] == "AJ_runtime_noaudio"
    assert call["source"] == "posted"
    assert call["tts_characters"] == usage_of(ran["usage"], "tts_usage")["characters_count"]
    assert call["outcome"] == "success"
    page = httpx.get(f"{server.base_url}/api/v1/calls/{call['call_id']}", timeout=60).json()
    assert page["audio"] is None
    assert page["transcript_source"] == "spans+chat_history"
    assert [t["user_text"] for t in page["turns"]] == ran["summary"]["ground_truth"]["user_messages"]
    audio = httpx.get(f"{server.base_url}/api/v1/calls/{call['call_id']}/audio", timeout=30)
    assert audio.status_code == 404
    assert "has no recording" in audio.text


def test_a_worker_with_another_secret_stores_nothing(make_server: Any, tmp_path: Path) -> None:
    """The worker signs its uploads with a secret the server does not hold: every request (traces,
    logs, metrics, the session upload) is refused and nothing of the call is stored."""
    server = make_server(grpc_port=0, livekit_api_key=KEY, livekit_api_secret=SECRET)
    run_worker(
        server, tmp_path, "runtime_wrong", "hello", LIVEKIT_API_SECRET="another-secret-0123456789abcdefghijklmnop"
    )
    assert httpx.get(f"{server.base_url}/api/v1/calls", params=RANGE, timeout=60).json()["total"] == 0
    stats = httpx.get(f"{server.base_url}/api/v1/ingest/stats", timeout=30).json()
    assert [stats[signal]["stored"] for signal in ("traces", "logs", "metrics")] == [0, 0, 0], stats
    counts = server.engine.query(
        "SELECT (SELECT count() FROM otel_traces) + (SELECT count() FROM otel_logs) "
        "+ (SELECT count() FROM lk_chat_histories) + (SELECT count() FROM lk_recordings) AS n"
    )
    assert counts[0]["n"] == 0


def test_a_simulations_logs_are_kept_out_of_the_logs_panel(worked: Any) -> None:
    """livekit-agents stamps lk.simulation.enabled on a simulated job's logs too: the logs panel shows them
    only when asked, as every other panel does."""
    server = worked[0]

    def logs(mode: str) -> dict[str, Any]:
        params = {**RANGE, "simulated": mode, "limit": "500"}
        r = httpx.get(f"{server.base_url}/api/v1/panels/logs", params=params, timeout=60)
        assert r.status_code == 200, r.text
        rows = r.json()["rows"]
        return {"total": rows[0]["total"] if rows else 0, "traces": {row["trace_id"] for row in rows} - {""}}

    simulated_trace = httpx.get(
        f"{server.base_url}/api/v1/calls", params={**RANGE, "simulated": "only"}, timeout=60
    ).json()["calls"][0]["trace_id"]
    production, only, both = logs("exclude"), logs("only"), logs("include")
    assert only["total"] > 0
    assert production["total"] > 0
    assert both["total"] == production["total"] + only["total"]
    assert only["traces"] <= {simulated_trace}
    assert simulated_trace not in production["traces"]
