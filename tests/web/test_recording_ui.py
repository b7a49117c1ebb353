"""A call's recording and transcript in real headless Chromium: the call page plays the audio the worker
uploaded, a turn's play button seeks the player to that turn, the transcript is the worker's chat
history placed in the span turns; the header's traffic selector shows simulated calls only when asked."""

from __future__ import annotations

import time
from typing import Any

import httpx
from playwright.sync_api import Page, expect

from tests.api.test_livekit_upload import KEY, SECRET, all_requests, send, token


def test_the_call_page_plays_the_recording_from_a_turn(page: Page, make_server: Any) -> None:
    server = make_server(grpc_port=0, livekit_api_key=KEY, livekit_api_secret=SECRET)
    for request in all_requests():
        assert send(server, request, token()).status_code == 200
    call = httpx.get(f"{server.base_url}/api/v1/calls/AJ_cloud_upload", timeout=30).json()
    page.goto(f"{server.base_url}/calls/AJ_cloud_upload")
    page.wait_for_selector("body[data-loaded=true]", timeout=30_000)
    player = page.locator("#call-audio")
    expect(player).to_have_attribute("src", call["audio"]["url"])
    # the browser reads the ogg's length from the server (a range request)
    # (polled from here: wait_for_function compiles its predicate in the page, which our CSP forbids)
    deadline = time.monotonic() + 15
    while page.evaluate("document.querySelector('#call-audio').readyState") < 1:
        assert time.monotonic() < deadline, "the player never read the recording's length"
        time.sleep(0.05)
    duration = page.evaluate("document.querySelector('#call-audio').duration")
    assert abs(duration - call["audio"]["duration_s"]) < 1.0
    turn = call["turns"][1]
    page.locator(f"#turn-{turn['index']} .play-turn").click()
    at = page.evaluate("document.querySelector('#call-audio').currentTime")
    assert abs(at - (turn["start_s"] - call["audio"]["offset_s"])) < 0.5
    # one transcript: the chat history's lines in the span turns, its tool call, and where it came from
    expect(page.locator(".transcript-source")).to_contain_text("from the agent's chat history")
    expect(page.locator(".call-transcript .said.user")).to_have_count(len(call["turns"]))
    expect(page.locator(f"#turn-{turn['index']} .said.user")).to_have_text(f"Caller{turn['user_text']}")
    expect(page.locator(f"#turn-{turn['index']} .tool")).to_contain_text("tool get_weather")


def simulated_call_body() -> bytes:
    """A small call of a LiveKit agent simulation, made by the real SDK: livekit-agents stamps
    lk.simulation.enabled (and the run id) on every span of such a job."""
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "sim-agent"}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("livekit-agents")
    marks: dict[str, bool | str] = {"lk.simulation.enabled": True, "lk.simulation.run_id": "SR_1"}
    with (
        tracer.start_as_current_span("agent_session", attributes={"lk.job_id": "AJ_simulated", **marks}),
        tracer.start_as_current_span("agent_turn", attributes={"lk.e2e_latency": 0.7, **marks}),
    ):
        pass
    return bytes(encode_spans(memory.get_finished_spans()).SerializeToString())


def test_the_traffic_selector_shows_simulated_calls_only_when_asked(page: Page, make_server: Any) -> None:
    """The header's traffic selector: production calls by default, a simulation's when asked."""
    server = make_server(grpc_port=0)
    r = httpx.post(
        f"{server.base_url}/v1/traces",
        content=simulated_call_body(),
        headers={"Content-Type": "application/x-protobuf"},
    )
    assert r.status_code == 200, r.text
    page.goto(f"{server.base_url}/calls")
    page.wait_for_selector("body[data-loaded=true]", timeout=30_000)
    expect(page.locator(".calls-view .empty")).to_contain_text("No calls")
    page.select_option("#simulated", "only")
    page.wait_for_url("**simulated=only**")
    expect(page.locator(".calls-view table tbody tr")).to_have_count(1)
    expect(page.locator(".calls-view .badge.simulated")).to_have_text("simulated")
    page.locator(".calls-view table tbody tr").first.click()
    page.wait_for_url("**/calls/AJ_simulated**")
    expect(page.locator(".call-outcome .badge.simulated")).to_be_visible()
