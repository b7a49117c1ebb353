"""The call explorer and the call page in real headless Chromium: list -> page, search, a latency chart's
bucket -> the slowest calls of that bucket, a slow turn -> its call at that turn, the timeline's turns,
and transcript text that stays text."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from playwright.sync_api import Page, expect

from livekit_dashboard.demo import DemoConfig, generate
from tests.conftest import DatabasePool, serving
from tests.web.test_browser import RANGE, XSS, chart_pixel, open_dashboard


@pytest.fixture(scope="module")
def site(chdb_dir: Path, database_pool: DatabasePool) -> Iterator[dict[str, Any]]:
    with serving(chdb_dir, database_pool, grpc_port=0) as server:
        generate(DemoConfig(calls=40, days=1, seed=9, end_ns=time.time_ns() - 120 * 10**9), server.base_url)
        yield {"server": server, "url": server.base_url}


def calls_api(site: dict[str, Any], query: str) -> dict[str, Any]:
    return dict(httpx.get(f"{site['url']}/api/v1/calls?{query}", timeout=30).json())


def open_page(page: Page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector("body[data-loaded=true]", timeout=30_000)


def test_call_list_opens_a_call_with_its_turns_on_the_timeline(page: Page, site: dict[str, Any]) -> None:
    listed = calls_api(site, f"{RANGE}&limit=50")
    open_page(page, f"{site['url']}/calls?{RANGE}")
    rows = page.locator(".calls-view tbody tr")
    expect(rows).to_have_count(min(50, listed["total"]))
    first = listed["calls"][0]
    expect(rows.first).to_contain_text(first["room_name"])
    started = rows.first.locator("td").first.inner_text()
    rows.first.click()
    page.wait_for_url(f"**/calls/{first['call_id']}")
    page.wait_for_selector(".call-view")
    # the page says the start the list said (the call's record), not its first span's
    assert page.locator("#call-when").inner_text().startswith(f"{started} · ")
    call = httpx.get(f"{site['url']}/api/v1/calls/{first['call_id']}", timeout=30).json()
    assert len(call["turns"]) == first["turns"]
    # the page's Failures tile is the list's Failures column, named alike
    failures_tile = page.locator(".call-tiles .tile", has=page.locator(".tile-label", has_text="Failures"))
    expect(failures_tile.locator(".tile-value")).to_have_text(str(first["failures"]))
    # who: each of the agent's names says which it is
    record = call["record"]
    expected = {"service": record["service"], "agent": record["agent_name"] or record["assistant_id"]}
    expected |= {"user": record["user_email"], "room": record["room_name"]}
    parts = page.locator(".call-who .who-part")
    shown = {str(parts.nth(i).get_attribute("data-part")): parts.nth(i) for i in range(parts.count())}
    assert set(shown) == {k for k, v in expected.items() if v}
    for label, part in shown.items():
        assert part.inner_text() == f"{label} {expected[label]}"
        assert part.get_attribute("title")
    expect(page.locator(".turn")).to_have_count(first["turns"])
    expect(page.locator(".tl-turn")).to_have_count(first["turns"])
    expect(page.locator(".tl-seg")).to_have_count(len(call["timeline"]))
    expect(page.locator("#turn-1 .said.user .text")).to_have_text(call["turns"][0]["user_text"])
    # a segment opens its span in the trace view
    segment = call["timeline"][0]
    page.locator(".tl-seg").first.click()
    page.wait_for_url(f"**/traces/{call['trace_id']}?span={segment['span_id']}")
    expect(page.locator(".wf-row.selected")).to_have_attribute("data-span-id", segment["span_id"])
    # and the trace leads back to its call
    expect(page.locator("#trace-call a")).to_have_attribute("href", f"/calls/{first['call_id']}")


def test_search_box_lands_on_the_call_or_the_matches(page: Page, site: dict[str, Any]) -> None:
    one = calls_api(site, f"{RANGE}&limit=1")["calls"][0]
    open_page(page, f"{site['url']}/calls?{RANGE}")
    page.fill("#call-search", one["room_name"])
    page.press("#call-search", "Enter")
    page.wait_for_url(f"**/calls/{one['call_id']}")  # found by an id: opened plainly, nothing marked
    assert urlparse(page.url).query == ""
    expect(page.locator(".call-view h1")).to_contain_text(one["call_id"])
    # Back returns to the list the search was made on (not to the search, which would forward again)
    page.go_back()
    page.wait_for_url(f"**/calls?{RANGE}")
    expect(page.locator(".calls-view tbody tr").first).to_be_visible()
    # words said on the calls, in any order: many calls, listed
    words = "appointment"
    matches = calls_api(site, f"{RANGE}&q={words}")["total"]
    assert matches > 1
    both = calls_api(site, f"{RANGE}&q=Thursday appointment")["total"]
    assert 0 < both == calls_api(site, f"{RANGE}&q=appointment  THURSDAY")["total"] <= matches
    open_page(page, f"{site['url']}/calls?{RANGE}")
    page.fill("#call-search", words)
    page.press("#call-search", "Enter")
    page.wait_for_url(f"**q={words}**")
    expect(page.locator(".calls-view .pager")).to_contain_text(f"of {matches} calls")
    # a call opened from the matches shows where it was said: the first turn saying it, the word marked
    first = calls_api(site, f"{RANGE}&q={words}&limit=1")["calls"][0]
    page.locator(".calls-view tbody tr").first.click()
    page.wait_for_url(f"**/calls/{first['call_id']}?q={words}")
    turns = httpx.get(f"{site['url']}/api/v1/calls/{first['call_id']}", timeout=30).json()["turns"]
    said = next(t for t in turns if words in f"{t['user_text']} {t['agent_text']}".lower())
    expect(page.locator(".turn.linked")).to_have_attribute("id", f"turn-{said['index']}")
    expect(page.locator(f"#turn-{said['index']} mark").first).to_have_text(words)
    expect(page.locator(".tl-seg.linked").first).to_have_attribute("data-turn", str(said["index"]))
    expect(page.locator(".turn.linked")).to_be_in_viewport()


def test_a_latency_bucket_opens_its_slowest_calls(page: Page, site: dict[str, Any]) -> None:
    open_dashboard(page, site)
    data = httpx.get(f"{site['url']}/api/v1/panels/latency_p95_over_time?{RANGE}", timeout=30).json()
    slowest_bucket = max(data["rows"], key=lambda r: r["p95_ms"] or 0)
    bucket = slowest_bucket["bucket"]

    def point(value: float) -> tuple[float, float]:
        """The bucket's point at `value`, in the page's pixels."""
        return chart_pixel(page, "latency_p95_over_time", bucket * 1000, value)

    # over the bucket off the lines (just above the axis: no response takes 0 ms): every service's calls
    x, y = point(0)
    page.mouse.click(x, y - 4)
    page.wait_for_url("**/calls?**sort=response_max_s**")
    assert "service" not in parse_qs(urlparse(page.url).query)
    page.go_back()
    page.wait_for_selector("section[data-panel=latency_p95_over_time] .chart")
    page.wait_for_function("() => document.querySelector('section[data-panel=latency_p95_over_time] .chart').lkdChart")
    # on the point itself: that series' service only; the point's own click handlers run too, after the
    # chart was left (the page fixture fails on any JavaScript error)
    x, y = point(slowest_bucket["p95_ms"])
    page.mouse.click(x, y)
    page.wait_for_url("**/calls?**sort=response_max_s**")
    page.wait_for_selector("body[data-loaded=true]")
    query = parse_qs(urlparse(page.url).query)
    assert query["start"][0].startswith(time.strftime("%Y-%m-%dT%H:%M", time.gmtime(bucket)))
    # the click was on one service's point: that service's calls
    assert query["service"] == [slowest_bucket["service"]]
    assert query["active"] == ["1"]  # the calls going on in the bucket, said on the page
    expect(page.locator("#calls-active")).to_contain_text("going on in this range")
    started_only = page.locator("#calls-active a").get_attribute("href") or ""
    assert "active" not in started_only
    assert "sort=response_max_s" in started_only
    expected = calls_api(site, urlparse(page.url).query)
    assert expected["total"] >= 1
    assert {c["service"] for c in expected["calls"]} == {slowest_bucket["service"]}
    slowest = expected["calls"][0]
    assert slowest["response_max_s"] == max(c["response_max_s"] or 0 for c in expected["calls"])
    expect(page.locator(".calls-view tbody tr").first).to_contain_text(slowest["room_name"])
    # the second click: the call, which names its slowest turn and the stage that took longest
    page.locator(".calls-view tbody tr").first.click()
    page.wait_for_url(f"**/calls/{slowest['call_id']}")
    call = httpx.get(f"{site['url']}/api/v1/calls/{slowest['call_id']}", timeout=30).json()
    valid = [t for t in call["turns"] if t["response_s"] is not None and not t["response_flag"]]
    worst = max(valid, key=lambda t: t["response_s"])
    assert worst["response_s"] == pytest.approx(slowest["response_max_s"])
    expect(page.locator("#slowest-turn")).to_have_attribute("href", f"?turn={worst['index']}")


def test_a_slow_turn_opens_its_call_at_that_turn(page: Page, site: dict[str, Any]) -> None:
    open_dashboard(page, site)
    slow = httpx.get(f"{site['url']}/api/v1/panels/slowest_turns?{RANGE}&limit=10", timeout=30).json()["rows"][0]
    page.locator("section[data-panel=slowest_turns] tbody tr").first.click()
    page.wait_for_url(f"**/calls/{slow['trace_id']}?turn={slow['span_id']}")
    marked = page.locator(".turn.linked")
    expect(marked).to_have_attribute("data-span-id", slow["span_id"])
    expect(marked.locator(".chip.response")).to_contain_text("response")
    expect(marked.locator(f".chip[data-stage={slow['dominant_stage']}]")).to_have_class("chip dominant ")
    # the call's slowest response is this one, and the page names its longest stage (a tool round too)
    expect(page.locator(".call-slowest")).to_contain_text("longest stage: ")


def _hostile_call(base_url: str) -> str:
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "hostile-voice-agent"}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("livekit-agents")
    with tracer.start_as_current_span("agent_session", attributes={"lk.pii.room_name": XSS}) as root:
        trace_id = format(root.get_span_context().trace_id, "032x")
        with tracer.start_as_current_span("user_turn", attributes={"lk.pii.user_transcript": XSS}):
            pass
        reply: dict[str, str | float] = {
            "lk.pii.user_input": XSS,
            "lk.pii.response.text": "<script>alert(3)</script>",
            "lk.e2e_latency": 0.9,
        }
        tool = {"lk.function_tool.name": "<b>tool</b>", "lk.pii.function_tool.arguments": XSS}
        with (
            tracer.start_as_current_span("agent_turn", attributes=reply),
            tracer.start_as_current_span("function_tool", attributes=tool),
        ):
            pass
    provider.shutdown()
    body = encode_spans(memory.get_finished_spans()).SerializeToString()
    r = httpx.post(f"{base_url}/v1/traces", content=body, headers={"Content-Type": "application/x-protobuf"})
    assert r.is_success
    return trace_id


def test_transcript_text_is_shown_as_text(page: Page, site: dict[str, Any]) -> None:
    trace_id = _hostile_call(site["url"])
    open_page(page, f"{site['url']}/calls/{trace_id}")
    expect(page.locator("#turn-1 .said.user .text")).to_have_text(XSS)
    expect(page.locator("#turn-1 .said.agent .text")).to_have_text("<script>alert(3)</script>")
    expect(page.locator("#turn-1 .tool")).to_contain_text(XSS)
    assert page.locator(".call-view img, .call-view script, .call-view b").count() == 0
    # marked as a search's words, the text stays text
    open_page(page, f"{site['url']}/calls/{trace_id}?q=img+onerror")
    expect(page.locator("#turn-1 .said.user .text")).to_have_text(XSS)
    expect(page.locator("#turn-1 .said.user mark")).to_have_text(["img", "onerror"])
    assert page.locator(".call-view img, .call-view script, .call-view b").count() == 0
    assert page.dialogs == []  # type: ignore[attr-defined]


def _long_call(base_url: str, turns: int) -> tuple[str, int]:
    """A call of `turns` turns, 12 spans each, through the real SDK and OTLP encoder."""
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "long-call-agent"}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("livekit-agents")
    t = time.time_ns() - 3600 * 10**9
    second = 10**9
    root = tracer.start_span("agent_session", start_time=t)
    ctx = trace.set_span_in_context(root)

    def span(name: str, parent: Any, start: int, end: int, **attrs: Any) -> Any:
        s = tracer.start_span(name, context=trace.set_span_in_context(parent), start_time=start, attributes=attrs)
        s.end(end_time=end)
        return s

    for i in range(turns):
        at = t + i * 6 * second
        user = tracer.start_span(
            "user_turn", context=ctx, start_time=at, attributes={"lk.pii.user_transcript": f"n{i}"}
        )
        span("user_speaking", user, at, at + second)
        span("eou_wait", user, at + second, at + second + second // 2)
        user.end(end_time=at + 2 * second)
        reply = tracer.start_span(
            "agent_turn",
            context=ctx,
            start_time=at + 2 * second,
            attributes={"lk.e2e_latency": 0.8, "lk.pii.user_input": f"n{i}"},
        )
        llm = span("llm_node", reply, at + 2 * second, at + 3 * second, **{"lk.response.ttft": 0.3})
        request = span("llm_request", llm, at + 2 * second, at + 3 * second)
        span("llm_request_run", request, at + 2 * second, at + 3 * second)
        tts = span("tts_node", reply, at + 3 * second, at + 4 * second, **{"lk.response.ttfb": 0.1})
        adapter = span("tts_stream_adapter", tts, at + 3 * second, at + 4 * second)
        tts_request = span("tts_request", adapter, at + 3 * second, at + 4 * second)
        span("tts_request_run", tts_request, at + 3 * second, at + 4 * second)
        span("agent_speaking", reply, at + 3 * second, at + 5 * second)
        reply.end(end_time=at + 5 * second)
    root.end(end_time=t + turns * 6 * second)
    provider.shutdown()
    finished = memory.get_finished_spans()
    for start in range(0, len(finished), 1000):
        body = encode_spans(finished[start : start + 1000]).SerializeToString()
        r = httpx.post(f"{base_url}/v1/traces", content=body, headers={"Content-Type": "application/x-protobuf"})
        assert r.is_success
    return format(root.get_span_context().trace_id, "032x"), len(finished)


def test_a_call_of_5000_spans_opens_and_so_does_its_trace(page: Page, site: dict[str, Any]) -> None:
    trace_id, count = _long_call(site["url"], 420)
    assert count > 5000
    open_page(page, f"{site['url']}/calls/{trace_id}")
    expect(page.locator(".turn")).to_have_count(420)
    expect(page.locator("#raw-trace")).to_contain_text(f"{count} spans")
    page.click("#raw-trace")
    page.wait_for_url(f"**/traces/{trace_id}")
    expect(page.locator(".wf-row")).to_have_count(count, timeout=30_000)


def test_a_trace_opened_from_a_call_page_leads_back_to_that_call(page: Page, site: dict[str, Any]) -> None:
    """The raw trace of a call says "← Call" and goes back to the call page, at the turn it was left; a log
    opened from the trace says "← Trace"; a trace opened on its own goes back to the dashboard."""
    # a demo call (with logs: another test of this module adds a call of spans alone)
    call = next(c for c in calls_api(site, f"{RANGE}&limit=50")["calls"] if c["room_name"].startswith("call-"))
    open_page(page, f"{site['url']}/calls/{call['call_id']}?turn=2")
    page.wait_for_selector(".call-view")
    page.click("#raw-trace")
    page.wait_for_url(f"**/traces/{call['trace_id']}")
    back = page.locator(".trace-view a.back")
    expect(back).to_have_text("← Call")
    page.locator(".trace-logs tbody tr").first.click()  # a log of the trace, and back to the trace
    page.wait_for_url("**/logs/*")
    expect(page.locator("a.back")).to_have_text("← Trace")
    page.locator("a.back").click()
    page.wait_for_url(f"**/traces/{call['trace_id']}")
    page.go_back()
    page.go_back()  # the trace as opened from the call
    expect(back).to_have_text("← Call")
    back.click()
    page.wait_for_url(f"**/calls/{call['call_id']}?turn=2")
    page.wait_for_selector(".call-view")
    alone = page.context.new_page()  # a tab of its own, opened on the trace
    alone.goto(f"{site['url']}/traces/{call['trace_id']}")
    expect(alone.locator(".trace-view a.back")).to_have_text("← Dashboard")
    alone.close()


def test_a_call_page_tells_a_recovered_attempt_from_a_failure(page: Page, site: dict[str, Any]) -> None:
    listed = calls_api(site, f"{RANGE}&limit=1000")["calls"]
    call = next(c for c in listed if c["recovered_requests"] and not c["failures"])
    open_page(page, f"{site['url']}/calls/{call['call_id']}")
    page.wait_for_selector(".call-view")
    # in the transcript and in the list of failed spans: recovered, not failed (the call had no failure)
    expect(page.locator(".turn-error.recovered").first).to_contain_text("recovered by a retry")
    expect(page.locator(".call-logs .badge.kind-recovered").first).to_have_text("recovered")
    expect(page.locator(".call-logs .badge.kind-failure")).to_have_count(0)
    expect(page.locator(".turn-error.error")).to_have_count(0)
    # the logs' heading stands apart from the failed spans' table above it
    gap = page.locator(".call-logs header.section-gap").evaluate("(e) => parseFloat(getComputedStyle(e).marginTop)")
    assert gap > 0


def test_the_pager_names_its_direction_by_the_sort(page: Page, site: dict[str, Any]) -> None:
    """Newer and older only when the calls run by their start; by anything else, previous and next."""
    for query, back in (("", "← Newer"), ("&order=asc", "← Older"), ("&sort=cost_usd", "← Previous")):
        open_page(page, f"{site['url']}/calls?{RANGE}{query}&offset=10")
        expect(page.locator(".calls-view .pager button")).to_have_text([back])


def test_a_call_page_lists_its_tool_errors(page: Page, site: dict[str, Any]) -> None:
    """A tool that returned an error is listed among the call's errors, as the Failures tile counts it."""
    listed = calls_api(site, f"{RANGE}&limit=1000")["calls"]
    call = next(c for c in listed if c["tool_errors"])
    open_page(page, f"{site['url']}/calls/{call['call_id']}")
    page.wait_for_selector(".call-view")
    expect(page.locator(".call-logs .badge.kind-tool_error")).to_have_count(call["tool_errors"])
    failures = page.locator(".call-tiles .tile", has=page.locator(".tile-label", has_text="Failures"))
    plural = "" if call["tool_errors"] == 1 else "s"
    expect(failures).to_contain_text(f"{call['tool_errors']} tool error{plural}")
    page.locator(".call-logs tr", has=page.locator(".badge.kind-tool_error")).first.click()
    page.wait_for_url(f"**/traces/{call['trace_id']}?span=*")


def test_the_sdk_language_filter_narrows_the_call_list(page: Page, site: dict[str, Any]) -> None:
    """The dashboard's SDK language filter, carried to the call list, lists that language's calls: as many
    as the dashboard's call count under the same filter."""
    every = calls_api(site, f"{RANGE}&limit=1000")
    by_language = {}
    for language in ("nodejs", "python"):
        listed = calls_api(site, f"{RANGE}&language={language}&limit=1000")
        assert {c["language"] for c in listed["calls"]} == {language}
        panel = httpx.get(f"{site['url']}/api/v1/panels/turns_per_conversation?{RANGE}&language={language}").json()
        assert listed["total"] == panel["rows"][0]["calls"] > 0
        by_language[language] = listed["total"]
    assert sum(by_language.values()) == every["total"]
    open_page(page, f"{site['url']}/calls?{RANGE}&language=nodejs")
    expect(page.locator(".calls-view tbody tr")).to_have_count(min(50, by_language["nodejs"]))
    expect(page.locator(".calls-view .pager")).to_contain_text(f"of {by_language['nodejs']} calls")


def test_the_timeline_names_its_extent_apart_from_the_calls_duration(page: Page, site: dict[str, Any]) -> None:
    """The header's duration is the call's (its session's); the timeline's is its spans' extent: named so."""
    call = calls_api(site, f"{RANGE}&limit=1")["calls"][0]
    page_data = httpx.get(f"{site['url']}/api/v1/calls/{call['call_id']}", timeout=30).json()
    open_page(page, f"{site['url']}/calls/{call['call_id']}")
    page.wait_for_selector(".call-view")
    turns = len(page_data["turns"])
    header = page.locator(".call-timeline header .muted")
    expect(header).to_contain_text("spans over ")
    expect(header).to_contain_text(f" · {turns} turn{'' if turns == 1 else 's'} · ")
    assert page_data["duration_s"] > 0
