"""livekit-agents' own uploads (LIVEKIT_OBSERVABILITY_URL): the OTLP requests a real worker sent
(tests/fixtures/livekit/cloud_upload, recorded byte for byte) replayed to /observability/*/otlp/v0 with
fresh LiveKit tokens minted by livekit-api; the call appears with the framework's own usage. Tokens
that are wrong in any way get 401/403 in the documented error format and store nothing."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from livekit import api as livekit_api

from livekit_dashboard.server import DashboardServer

FIXTURE = Path(__file__).parent.parent / "fixtures" / "livekit" / "cloud_upload"
KEY = "APIrecorderTestKey"
SECRET = "recorder-test-secret-0123456789abcdefghijklmnop"
RANGE = {"start": "2020-01-01T00:00:00Z", "end": "2099-01-01T00:00:00Z"}


def token(
    *, key: str = KEY, secret: str = SECRET, write: bool = True, ttl: dt.timedelta = dt.timedelta(minutes=5)
) -> str:
    """A token as livekit-agents mints it for its uploads (AccessToken with the observability grant)."""
    minted = livekit_api.AccessToken(key, secret).with_ttl(ttl)
    return minted.with_observability_grants(livekit_api.ObservabilityGrants(write=write)).to_jwt()


def all_requests() -> list[dict[str, Any]]:
    """Every request the worker sent, in arrival order (OTLP during the call; the session upload, then
    the last OTLP batches, at its end)."""
    return list(json.loads((FIXTURE / "requests.json").read_text()))


def otlp_requests() -> list[dict[str, Any]]:
    return [r for r in all_requests() if r["path"].endswith("/otlp/v0")]


def send(server: DashboardServer, request: dict[str, Any], bearer: str | None) -> httpx.Response:
    headers = {"Content-Type": request["content_type"]}
    if request["content_encoding"]:
        headers["Content-Encoding"] = request["content_encoding"]
    if bearer is not None:
        headers["Authorization"] = f"Bearer {bearer}"
    body = (FIXTURE / request["file"]).read_bytes()
    return httpx.post(f"{server.base_url}{request['path']}", content=body, headers=headers, timeout=30)


def _recording_bytes() -> bytes:
    """The ogg the worker uploaded, cut out of the recorded multipart body with the stdlib's parser."""
    from email import policy
    from email.parser import BytesParser

    (request,) = [r for r in all_requests() if r["path"] == "/observability/recordings/v0"]
    raw = (FIXTURE / request["file"]).read_bytes()
    message = BytesParser(policy=policy.HTTP).parsebytes(
        f"Content-Type: {request['content_type']}\r\n\r\n".encode() + raw
    )
    (audio,) = [p for p in message.iter_parts() if p.get_param("name", header="content-disposition") == "audio"]
    payload = audio.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload


def expected_transcript() -> list[tuple[str, str]]:
    """What the framework's chat history says was said, as (who, text) in order (the reply to the
    spelling question failed in TTS: never said, not in the chat history)."""
    summary = json.loads((FIXTURE / "summary.json").read_text())["ground_truth"]
    users, agents = summary["user_messages"], [a.strip() for a in summary["assistant_messages"]]
    return [
        ("user", users[0]),
        ("agent", agents[0]),
        ("user", users[1]),
        ("agent", agents[1]),
        ("user", users[2]),
        ("user", users[3]),
        ("agent", agents[2]),
    ]


def transcript_of(page: dict[str, Any]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for turn in page["turns"]:
        if turn["user_text"]:
            out.append(("user", turn["user_text"]))
        if turn["agent_text"] and turn["spoke"]:
            out.append(("agent", turn["agent_text"].strip()))
    return out


def recorded_token(request: dict[str, Any]) -> str:
    """The token the worker really sent with a request (expired by now: tokens live 6 hours)."""
    (value,) = [v for k, v in request["headers"] if k.lower() == "authorization"]
    return str(value).removeprefix("Bearer ")


def test_a_worker_pointed_at_us_shows_up_with_its_usage(make_server: Any) -> None:
    server = make_server(livekit_api_key=KEY, livekit_api_secret=SECRET)
    requests = all_requests()
    assert {r["path"] for r in requests} == {
        "/observability/traces/otlp/v0",
        "/observability/logs/otlp/v0",
        "/observability/metrics/otlp/v0",
        "/observability/recordings/v0",
    }
    for request in requests:
        r = send(server, request, token())
        assert r.status_code == 200, (request["path"], r.text)
        if request["path"] == "/observability/recordings/v0":
            # the session summary is the call's posted usage record, the chat history and audio are kept
            audio = next(p for p in request["multipart_parts"] if p["name"] == "audio")
            chat = next(p for p in request["multipart_parts"] if p["name"] == "chat_history")
            assert r.json()["stored"] == {
                "usage": "AJ_cloud_upload",
                "chat_history": len(chat["item_types"]),
                "audio": audio["bytes"],
            }
            assert r.json()["absent"] == []
    calls = httpx.get(f"{server.base_url}/api/v1/calls", params=RANGE, timeout=30).json()["calls"]
    (call,) = calls
    summary = json.loads((FIXTURE / "summary.json").read_text())
    truth = summary["ground_truth"]["usage"]
    assert call["call_id"] == summary["job_id"]
    assert call["source"] == "posted"  # the session summary the upload carried
    assert call["turns"] == summary["ground_truth"]["user_turns"]
    llm = truth["llm_usage:api.openai.com/gpt-4o-mini"]
    assert call["llm_input_text_tokens"] == llm["input_tokens"]
    assert call["llm_input_cached_text_tokens"] == llm["input_cached_tokens"]
    assert call["llm_output_text_tokens"] == llm["output_tokens"]
    assert call["tts_characters"] == truth["tts_usage:Cartesia/sonic-2"]["characters_count"]
    # STT seconds come from the DELTA usage counters the uploader sent
    assert call["stt_audio_duration"] == pytest.approx(truth["stt_usage:Deepgram/nova-3"]["audio_duration"])
    assert call["cost_usd"] > 0
    # one priced line per model: the summary's TTS seconds equal the spans' (rounding is no extra line)
    record = httpx.get(f"{server.base_url}/api/v1/calls/{call['call_id']}", timeout=30).json()["record"]
    assert sorted(line["stage"] for line in record["cost_lines"]) == ["llm", "stt", "tts"]
    # what the agent's tagger said (the framework's evaluations records)
    assert (call["outcome"], call["outcome_reason"]) == ("success", "caller got the weather")
    assert call["tags"] == ["topic:weather"]
    for outcome, found in (("success", 1), ("fail", 0), ("none", 0)):
        listed = httpx.get(f"{server.base_url}/api/v1/calls", params={**RANGE, "outcome": outcome}, timeout=30)
        assert listed.json()["total"] == found, outcome
    (row,) = httpx.get(
        f"{server.base_url}/api/v1/panels/outcomes_over_time",
        params={"start": "2026-01-01T00:00:00Z", "end": "2027-06-01T00:00:00Z", "step": "1d"},
        timeout=30,
    ).json()["rows"]
    assert (row["agent"], row["calls"], row["outcomes"], row["successes"], row["success_rate"]) == (
        "recorded-agent",
        1,
        1,
        1,
        1.0,
    )
    assert row["pass_rate"] is None
    # the recording plays: its page links it, aligned with the timeline, served whole or by range
    page = httpx.get(f"{server.base_url}/api/v1/calls/{call['call_id']}", timeout=30).json()
    # one transcript: the chat history (sent twice: as log records and in the upload) placed in the span turns
    assert page["transcript_source"] == "spans+chat_history"
    assert transcript_of(page) == expected_transcript()
    audio = page["audio"]
    recorded = _recording_bytes()
    assert audio["url"] == f"/api/v1/calls/{call['call_id']}/audio"
    assert audio["bytes"] == len(recorded)
    assert audio["content_type"] == "audio/ogg"
    assert audio["duration_s"] == pytest.approx(14.881)
    assert -1 < audio["offset_s"] < 5  # the recording starts with the session
    whole = httpx.get(f"{server.base_url}{audio['url']}", timeout=30)
    assert whole.status_code == 200
    assert whole.headers["content-type"] == "audio/ogg"
    assert whole.headers["accept-ranges"] == "bytes"
    assert whole.content == recorded
    part = httpx.get(f"{server.base_url}{audio['url']}", headers={"Range": "bytes=100-199"}, timeout=30)
    assert part.status_code == 206
    assert part.content == recorded[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(recorded)}"
    missing = httpx.get(f"{server.base_url}/api/v1/calls/AJ_nothing/audio", timeout=30)
    assert missing.status_code == 404
    assert "has no recording" in missing.text


# what is wrong with the token (minted in the test: a token is a different string every time)
WRONG_TOKENS: dict[str, tuple[Any, int, str]] = {
    "none": (lambda: None, 401, "missing API key"),
    "not a token": (lambda: "not-a-key", 401, "invalid or revoked API key"),
    "another secret": (
        lambda: token(secret="another-secret-0123456789abcdefghijklmnop"),
        401,
        "not signed with the secret",
    ),
    "unknown key": (lambda: token(key="APIsomeoneElse"), 401, "unknown API key"),
    "expired": (lambda: token(ttl=dt.timedelta(seconds=-60)), 401, "expired"),
    "no grant": (lambda: token(write=False), 403, "no observability write grant"),
}


@pytest.mark.parametrize("case", sorted(WRONG_TOKENS))
def test_a_wrong_token_is_refused_and_nothing_is_stored(make_server: Any, case: str) -> None:
    mint, status, message = WRONG_TOKENS[case]
    bearer = mint()
    server = make_server(livekit_api_key=KEY, livekit_api_secret=SECRET)
    request = otlp_requests()[0]
    r = send(server, request, bearer)
    assert r.status_code == status, r.text
    assert message in r.text
    calls = httpx.get(f"{server.base_url}/api/v1/calls", params=RANGE, timeout=30).json()
    assert calls["total"] == 0


def test_the_token_the_worker_sent_verifies_until_it_expires(make_server: Any) -> None:
    server = make_server(
        livekit_api_key=f"APIother,{KEY}", livekit_api_secret=f"other-secret-0123456789abcdef,{SECRET}"
    )
    request = otlp_requests()[0]
    r = send(server, request, recorded_token(request))
    # the framework's own token is signed right; recorded hours ago, it has expired since
    assert r.status_code == 401, r.text
    assert "LiveKit token expired" in r.text


def test_without_livekit_keys_the_upload_routes_follow_the_servers_auth(make_server: Any) -> None:
    """On loopback without keys configured, uploads are open like /v1/* (a local worker just works)."""
    server = make_server()
    request = otlp_requests()[0]
    assert send(server, request, None).status_code == 200
    # an unknown route answers in the documented error format
    r = httpx.post(f"{server.base_url}/observability/nothing/v0", content=b"x")
    assert r.status_code == 404
    assert "no such route" in r.text
    # a session upload that is not one: a precise 4xx, nothing stored
    url = f"{server.base_url}/observability/recordings/v0"
    assert httpx.post(url, content=b"{}", headers={"Content-Type": "application/json"}).status_code == 415
    r = httpx.post(url, files={"chat_history": ("c.json", b"[]", "application/json")})
    assert r.status_code == 400
    assert "no header part" in r.text
    r = httpx.post(url, files={"header": ("h.binpb", b"\xff\xff\xff", "application/protobuf")})
    assert r.status_code == 400
    assert "not a MetricsRecordingHeader" in r.text
    r = httpx.post(url, content=b"--x\r\nbroken", headers={"Content-Type": "multipart/form-data; boundary=x"})
    assert r.status_code == 400
    assert httpx.get(f"{server.base_url}/api/v1/calls", params=RANGE, timeout=30).json()["total"] == 0


def test_livekit_keys_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    from livekit_dashboard.config import Settings

    monkeypatch.delenv("LIVEKIT_API_KEY", raising=False)
    monkeypatch.delenv("LIVEKIT_API_SECRET", raising=False)
    assert Settings().livekit_keys() == {}
    assert Settings(livekit_api_key="A, B", livekit_api_secret="a,b").livekit_keys() == {"A": "a", "B": "b"}
    with pytest.raises(ValueError, match="2 LiveKit API key"):
        Settings(livekit_api_key="A,B", livekit_api_secret="a").livekit_keys()
    # the worker's own variables, when none are given
    monkeypatch.setenv("LIVEKIT_API_KEY", KEY)
    monkeypatch.setenv("LIVEKIT_API_SECRET", SECRET)
    assert Settings().livekit_keys() == {KEY: SECRET}


def test_judge_verdicts_and_a_failed_outcome_count_per_agent(make_server: Any) -> None:
    """Evaluation records as the framework logs them (scope `evaluations`, bodies `evaluation` and
    `outcome`, JSON attributes), made by the real SDK, for a call of the recorded session."""
    from opentelemetry._logs import LogRecord
    from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
    from opentelemetry.sdk._logs import ReadableLogRecord
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope
    from opentelemetry.trace import TraceFlags

    server = make_server(livekit_api_key=KEY, livekit_api_secret=SECRET)
    for request in otlp_requests():
        assert send(server, request, token()).status_code == 200
    (call,) = httpx.get(f"{server.base_url}/api/v1/calls", params=RANGE, timeout=30).json()["calls"]
    started_ns = int(dt.datetime.fromisoformat(call["started_at"].replace("Z", "+00:00")).timestamp() * 1e9)

    def record(body: str, key: str, value: dict[str, Any], at_s: float) -> ReadableLogRecord:
        log_record = LogRecord(
            timestamp=started_ns + int(at_s * 1e9),
            trace_id=int(call["trace_id"], 16),
            span_id=0,
            trace_flags=TraceFlags(1),
            body=body,
            attributes={key: json.dumps(value), "job_id": call["call_id"]},
        )
        return ReadableLogRecord(log_record, Resource.create({}), InstrumentationScope("evaluations", ""))

    records = [
        record("evaluation", "evaluation", {"name": "task_completion", "verdict": "pass", "reasoning": "ok"}, 20),
        record("evaluation", "evaluation", {"name": "conciseness", "verdict": "fail", "reasoning": "long"}, 20.1),
        # a later outcome replaces the one the session logged
        record("outcome", "outcome", {"outcome": "fail", "reason": "caller hung up"}, 30),
    ]
    body = encode_logs(records).SerializeToString()
    r = httpx.post(
        f"{server.base_url}/observability/logs/otlp/v0",
        content=body,
        headers={"Content-Type": "application/x-protobuf", "Authorization": f"Bearer {token()}"},
    )
    assert r.status_code == 200, r.text
    (call,) = httpx.get(f"{server.base_url}/api/v1/calls", params=RANGE, timeout=30).json()["calls"]
    assert call["evaluations"] == ["conciseness:fail", "task_completion:pass"]
    assert (call["outcome"], call["outcome_reason"]) == ("fail", "caller hung up")
    (row,) = httpx.get(
        f"{server.base_url}/api/v1/panels/outcomes_over_time",
        params={"start": "2026-01-01T00:00:00Z", "end": "2027-06-01T00:00:00Z", "step": "1d"},
        timeout=30,
    ).json()["rows"]
    assert (row["successes"], row["success_rate"], row["verdicts"], row["passes"], row["pass_rate"]) == (
        0,
        0.0,
        2,
        1,
        0.5,
    )


def test_the_upload_alone_gives_the_transcript_and_the_spans_do_not_double_it(make_server: Any) -> None:
    """A worker whose OTLP never arrived (or recorded no traces): the session upload alone makes the
    call's transcript, with the latencies the framework measured; the spans and log records arriving
    later merge into it, each line once."""
    from opentelemetry._logs import LogRecord
    from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
    from opentelemetry.sdk._logs import ReadableLogRecord
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope

    server = make_server(livekit_api_key=KEY, livekit_api_secret=SECRET)
    (upload,) = [r for r in all_requests() if r["path"] == "/observability/recordings/v0"]
    assert send(server, upload, token()).status_code == 200
    # a chat item logged outside any trace (another worker's): not this trace-less call's
    stray = LogRecord(
        timestamp=1_700_000_000 * 10**9,
        body="chat item",
        attributes={
            "chat.item": json.dumps(
                {"message": {"id": "stray", "role": "USER", "content": [{"text": "Not this call"}]}}
            )
        },
    )
    body = encode_logs([ReadableLogRecord(stray, Resource.create({}), InstrumentationScope("chat_history", ""))])
    r = httpx.post(
        f"{server.base_url}/observability/logs/otlp/v0",
        content=body.SerializeToString(),
        headers={"Content-Type": "application/x-protobuf", "Authorization": f"Bearer {token()}"},
    )
    assert r.status_code == 200, r.text
    page = httpx.get(f"{server.base_url}/api/v1/calls/AJ_cloud_upload", timeout=30).json()
    assert page["transcript_source"] == "chat_history"
    assert page["span_count"] == 0
    said = transcript_of(page)
    # without spans, a reply that was never said is not known: the chat history has what was said
    assert said == expected_transcript()
    truth = json.loads((FIXTURE / "summary.json").read_text())["ground_truth"]
    replies = [t for t in page["turns"] if t["agent_text"]]
    assert [t["response_s"] for t in replies] == pytest.approx(truth["e2e_latency_per_reply"])
    assert [t["tools"][0]["name"] for t in page["turns"] if t["tools"]] == truth["function_calls"]
    assert page["turns"][1]["tools"][0]["output"] == "It is sunny in Paris."
    # the call list finds the call by words its caller said (the chat history's: no span has them)
    word = max(page["turns"][0]["user_text"].split(), key=len).strip("?.,!")
    found = httpx.get(f"{server.base_url}/api/v1/calls", params={**RANGE, "q": word}, timeout=30).json()
    assert [c["call_id"] for c in found["calls"]] == ["AJ_cloud_upload"], word
    # the rest of what the worker sent: one transcript, the span turns carry it
    for request in otlp_requests():
        assert send(server, request, token()).status_code == 200
    page = httpx.get(f"{server.base_url}/api/v1/calls/AJ_cloud_upload", timeout=30).json()
    assert page["transcript_source"] == "spans+chat_history"
    assert len(page["turns"]) == truth["user_turns"]
    assert transcript_of(page) == said
