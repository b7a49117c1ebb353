"""The web UI in real headless Chromium (Debian's chromium driven by Playwright): every panel renders
the API's numbers, filters live in the URL, clicks open the error occurrences and their spans, and
telemetry text stays text (logs: test_logs_ui.py)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import SeverityNumber
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Status, StatusCode
from playwright.sync_api import Browser, Page, expect

from livekit_dashboard.demo import DemoConfig, generate
from tests.conftest import DatabasePool, serving
from tests.helpers import make_spans

XSS = "<img src=x onerror=alert(1)>"
HOSTILE = "<i>hostile-agent</i>"  # a service name is telemetry text too: it names chart series
RANGE = "start=now-2d"


def _send_hostile_telemetry(base_url: str) -> tuple[str, str]:
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": HOSTILE}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("livekit-agents")
    with tracer.start_as_current_span("llm_request", attributes={"gen_ai.request.model": "<b>m</b>", "note": XSS}) as s:
        s.set_status(Status(StatusCode.ERROR, f"failed: {XSS}"))
        trace_id = format(s.get_span_context().trace_id, "032x")
        span_id = s.get_span_context().span_id
    provider.shutdown()
    body = encode_spans(memory.get_finished_spans()).SerializeToString()
    assert httpx.post(
        f"{base_url}/v1/traces", content=body, headers={"Content-Type": "application/x-protobuf"}
    ).is_success
    request = ExportLogsServiceRequest()
    rl = request.resource_logs.add()
    rl.resource.attributes.append(KeyValue(key="service.name", value=AnyValue(string_value=HOSTILE)))
    record = rl.scope_logs.add().log_records.add()
    record.time_unix_nano = time.time_ns() - 10**9
    record.severity_number = SeverityNumber.SEVERITY_NUMBER_ERROR
    record.severity_text = "ERROR"
    record.body.string_value = XSS
    record.trace_id = bytes.fromhex(trace_id)
    record.span_id = span_id.to_bytes(8, "big")
    record.attributes.append(KeyValue(key="html", value=AnyValue(string_value="<script>alert(2)</script>")))
    r = httpx.post(
        f"{base_url}/v1/logs", content=request.SerializeToString(), headers={"Content-Type": "application/x-protobuf"}
    )
    assert r.is_success
    return trace_id, format(span_id, "016x")


@pytest.fixture(scope="module")
def site(chdb_dir: Path, database_pool: DatabasePool) -> Iterator[dict[str, Any]]:
    with serving(chdb_dir, database_pool, grpc_port=0) as server:
        generate(DemoConfig(calls=40, days=1, seed=9, end_ns=time.time_ns() - 120 * 10**9), server.base_url)
        trace_id, span_id = _send_hostile_telemetry(server.base_url)
        yield {"server": server, "url": server.base_url, "xss_trace": trace_id, "xss_span": span_id}


def api(site: dict[str, Any], name: str, query: str = RANGE) -> dict[str, Any]:
    return dict(httpx.get(f"{site['url']}/api/v1/panels/{name}?{query}").json())


def chart_pixel(page: Page, panel: str, at_ms: float, value: float) -> tuple[float, float]:
    """Where (`at_ms`, `value`) of a panel's chart is on the page, in pixels (scrolled into view)."""
    x, y = page.evaluate(
        """([panel, at, value]) => {
            const node = document.querySelector(`section[data-panel=${panel}] .chart`);
            node.scrollIntoView({ block: "center" });
            const [px, py] = node.lkdChart.convertToPixel({ gridIndex: 0 }, [at, value]);
            const box = node.getBoundingClientRect();
            return [box.left + px, box.top + py];
        }""",
        [panel, at_ms, value],
    )
    return float(x), float(y)


def open_dashboard(page: Page, site: dict[str, Any], query: str = RANGE) -> None:
    page.goto(f"{site['url']}/?{query}")
    page.wait_for_selector("body[data-loaded=true]", timeout=30_000)


def dashboard_panels(site: dict[str, Any], key: str = "") -> set[str]:
    """The panels the dashboard shows: every listed panel but error_records, which the error groups
    panel opens for one group."""
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    listed = {p["name"] for p in httpx.get(f"{site['url']}/api/v1/panels", headers=headers).json()["panels"]}
    return listed - {"error_records"}


def test_dashboard_renders_every_panel_with_the_api_numbers(page: Page, site: dict[str, Any]) -> None:
    open_dashboard(page, site)
    states = {
        s.get_attribute("data-panel"): s.get_attribute("data-state") for s in page.query_selector_all("section.panel")
    }
    assert set(states) == dashboard_panels(site)
    assert set(states.values()) == {"ready"}, states
    totals = api(site, "token_usage_totals")["rows"][0]
    for metric in ("total_tokens", "input_tokens", "output_tokens", "cache_read_tokens"):
        tile = page.locator(f"[data-metric={metric}]")
        assert int(tile.get_attribute("data-value") or -1) == totals[metric]
        assert tile.locator(".tile-value").inner_text().strip()
    # reasoning tokens are output: said under the output tile, not the cached-input one
    output_sub = page.locator("[data-metric=output_tokens] .tile-sub").inner_text()
    assert " · reasoning " in output_sub
    assert "reasoning" not in page.locator("[data-metric=cache_read_tokens] .tile-sub").inner_text()
    rate = api(site, "error_rate")["rows"][0]["request_error_rate"]
    assert float(page.locator("[data-metric=request_error_rate]").get_attribute("data-value") or -1) == pytest.approx(
        rate
    )
    assert page.locator("section[data-panel=token_usage_over_time] canvas").count() >= 1
    assert page.locator("section[data-panel=model_distribution] canvas").count() >= 1
    groups_total = api(site, "error_groups", f"{RANGE}&limit=10")["rows"][0]["total"]
    assert page.locator("section[data-panel=error_groups] tbody tr").count() == min(10, groups_total)
    page.screenshot(path=str(Path(os.environ.get("LIVEKIT_DASHBOARD_SCREENSHOT_DIR", "/tmp")) / "dashboard-test.png"))


def test_filter_change_updates_url_and_numbers(page: Page, site: dict[str, Any]) -> None:
    open_dashboard(page, site)
    page.click("details[data-filter=service] summary")
    page.check("details[data-filter=service] input[value=support-agent]")
    page.wait_for_url("**service=support-agent**")
    page.wait_for_selector("body[data-loaded=true]")
    expected = api(site, "token_usage_totals", f"{RANGE}&service=support-agent")["rows"][0]["total_tokens"]
    unfiltered = api(site, "token_usage_totals")["rows"][0]["total_tokens"]
    assert expected != unfiltered
    expect(page.locator("[data-metric=total_tokens]")).to_have_attribute("data-value", str(expected))
    page.reload()
    page.wait_for_selector("body[data-loaded=true]")
    expect(page.locator("[data-metric=total_tokens]")).to_have_attribute("data-value", str(expected))
    assert "support-agent" in page.locator("details[data-filter=service] summary").inner_text()


def test_time_range_preset_updates_url(page: Page, site: dict[str, Any]) -> None:
    open_dashboard(page, site, "")
    page.select_option("#range", "now-7d")
    page.wait_for_url("**start=now-7d**")
    page.select_option("#refresh", "30s")
    page.wait_for_url("**refresh=30s**")


def test_error_group_opens_its_occurrences_and_each_its_span(page: Page, site: dict[str, Any]) -> None:
    open_dashboard(page, site)
    group = api(site, "error_groups", f"{RANGE}&limit=10")["rows"][0]
    occurrences = api(site, "error_records", f"{RANGE}&limit=10&group={group['group']}")["rows"]
    assert len(occurrences) == min(10, group["occurrences"])
    panel = page.locator("section[data-panel=error_groups]")
    panel.locator("tbody tr").first.click()
    expect(panel.locator(".back-to-groups")).to_be_visible()
    expect(panel.locator("tbody tr")).to_have_count(len(occurrences))
    expect(panel.locator("tbody tr").first).to_contain_text(occurrences[0]["message"])
    panel.locator(".back-to-groups").click()
    expect(panel.locator(".back-to-groups")).to_have_count(0)
    panel.locator("tbody tr").first.click()
    panel.locator("tbody tr a.row-link").first.click()
    first = occurrences[0]
    page.wait_for_url(f"**/traces/{first['trace_id']}?span={first['span_id']}")
    spans = httpx.get(f"{site['url']}/api/v1/traces/{first['trace_id']}").json()["spans"]
    expect(page.locator(".wf-row")).to_have_count(len(spans))
    expect(page.locator(".wf-row.selected.linked")).to_have_attribute("data-span-id", first["span_id"])
    assert page.locator(".span-detail h2").inner_text() == first["span_name"]
    assert page.locator(".wf-row.error").count() >= 1


def chart_series(page: Page, panel: str) -> list[dict[str, Any]]:
    """What a panel's chart draws: ECharts' own option, as set (a point is [time, value]; `dots` the
    times drawn with a dot of their own)."""
    return list(
        page.evaluate(
            """(panel) => document.querySelector(`section[data-panel=${panel}] .chart`).lkdChart.getOption()
                 .series.map((s) => ({name: s.name, type: s.type, stack: s.stack ?? null,
                                      data: s.data.map((d) => (Array.isArray(d) ? d : d.value)),
                                      dots: s.data.filter((d) => !Array.isArray(d) && d.symbol !== "none")
                                                  .map((d) => d.value[0])}))""",
            panel,
        )
    )


@pytest.mark.parametrize(
    ("panel", "value", "empty"),
    [
        ("conversations_over_time", "calls", 0),
        ("requests_over_time", "requests", 0),
        ("latency_p95_over_time", "p95_ms", None),
        ("turn_taking", "interruption_rate", None),
    ],
)
def test_charts_draw_exactly_what_the_api_returns(
    page: Page, site: dict[str, Any], panel: str, value: str, empty: int | None
) -> None:
    """Sparse, interleaved services: every series holds every bucket of the range in the same order
    (stacked bars stack by position), a bucket the API did not return is 0 for a count and a gap
    for a latency or a rate (no calls is not a 0% rate), and every returned value is drawn at its own
    bucket."""
    # the range is relative (now-2d): the page and the API agree on its buckets when the bucket it starts
    # in is the same before and after the page loaded (else a bucket boundary passed: load again)
    for _ in range(3):
        data = api(site, panel)
        step = data["range"]["step_s"]
        first = data["range"]["start_unix_nano"] // 10**9 // step * step
        open_dashboard(page, site)
        if api(site, panel)["range"]["start_unix_nano"] // 10**9 // step * step == first:
            break
    rows = data["rows"]
    assert len({r["service"] for r in rows}) >= 2
    buckets = list(range(first, -(-data["range"]["end_unix_nano"] // 10**9), step))
    assert len({r["bucket"] for r in rows}) < len(buckets)  # sparse
    # one series per service (the latency chart: its p95 line per service; interruptions: the rate)
    series_of = {s["name"]: s for s in chart_series(page, panel)}
    drawn = {
        name.split(" · ")[0]: s
        for name, s in series_of.items()
        if empty == 0 or name.endswith((" · p95", " · interrupted"))
    }
    assert set(drawn) == {r["service"] for r in rows}
    lone_points = 0
    for service, series in drawn.items():
        assert [point[0] for point in series["data"]] == [b * 1000 for b in buckets]
        expected = {r["bucket"] * 1000: r[value] for r in rows if r["service"] == service}
        for at, shown in series["data"]:
            if at in expected:
                assert shown == pytest.approx(expected[at])
            else:
                assert shown == empty
        if (
            empty is None and len(buckets) >= 40
        ):  # a value between two gaps has a dot, or it would not show; no other has one
            values = [v for _, v in series["data"]]
            lone = [
                series["data"][i][0]
                for i, v in enumerate(values)
                if v is not None
                and (i == 0 or values[i - 1] is None)
                and (i == len(values) - 1 or values[i + 1] is None)
            ]
            assert series["dots"] == lone
            lone_points += len(lone)
    if empty is None and len(buckets) >= 40:
        assert lone_points  # the sparse data has values between gaps (else the check above proves nothing)
        if panel == "conversations_over_time":
            assert (series["type"], series["stack"]) == ("bar", "total")
    if panel == "conversations_over_time":  # the stacked height of a bucket is the API's sum for it
        for b in {r["bucket"] for r in rows}:
            total = sum(s["data"][buckets.index(b)][1] for s in drawn.values())
            assert total == sum(r["calls"] for r in rows if r["bucket"] == b)


def test_charts_name_stages_as_the_call_page_does_and_count_in_whole_units(page: Page, site: dict[str, Any]) -> None:
    """The per-stage latency chart names each stage as the call page and the slowest replies do ("LLM
    TTFT", not llm_ttft), and a chart of counts has no fractional ticks ("0.5 calls")."""
    open_dashboard(page, site)
    stages = {r["stage"] for r in api(site, "latency_stages_over_time")["rows"]}
    assert {"llm_ttft", "end_of_turn"} <= stages
    names = {s["name"] for s in chart_series(page, "latency_stages_over_time")}
    assert {"LLM TTFT", "end of turn"} <= names
    assert not names & stages - {"transcription", "on_user_turn_completed"}  # keys that read as names
    min_interval = page.evaluate(
        """() => document.querySelector("section[data-panel=conversations_over_time] .chart").lkdChart
             .getOption().yAxis[0].minInterval"""
    )
    assert min_interval == 1


def test_telemetry_text_is_never_executed(page: Page, site: dict[str, Any]) -> None:
    open_dashboard(page, site, f"{RANGE}&service={quote(HOSTILE)}")
    logs = page.locator("section[data-panel=logs] tbody")
    expect(logs).to_contain_text(XSS)
    groups = page.locator("section[data-panel=error_groups]")
    expect(groups.locator("tbody")).to_contain_text(f"failed: {XSS}")
    groups.locator("tbody tr").first.click()
    expect(groups.locator(".back-to-groups")).to_be_visible()
    expect(groups.locator("tbody")).to_contain_text(f"failed: {XSS}")
    # every chart's tooltip names series and slices by telemetry text: hover each one
    pie = page.locator("section[data-panel=model_distribution] canvas").first
    pie.scroll_into_view_if_needed()
    box = pie.bounding_box()
    assert box is not None
    pie.hover(position={"x": box["width"] * 0.36, "y": box["height"] * 0.2})  # on the ring
    tooltip = page.locator("section[data-panel=model_distribution] .lkd-tooltip")
    expect(tooltip).to_contain_text("<b>m</b>")
    assert tooltip.locator("b").count() == 0
    charts = page.locator("section[data-panel$=_over_time] .chart")
    assert charts.count() >= 2
    for i in range(charts.count()):
        chart = charts.nth(i)
        chart.scroll_into_view_if_needed()
        box = chart.bounding_box()
        assert box is not None
        chart.hover(position={"x": box["width"] - 24, "y": box["height"] / 2})  # the newest bucket
        tip = chart.locator(".lkd-tooltip")
        expect(tip).to_contain_text(HOSTILE)
        assert tip.locator("i, img, script").count() == 0  # (values are set in <b> by our formatter)
    page.goto(f"{site['url']}/traces/{site['xss_trace']}")
    expect(page.locator(".span-detail")).to_contain_text(XSS)
    log_id = httpx.get(f"{site['url']}/api/v1/logs", params={"trace_id": site["xss_trace"]}).json()["logs"][0]["log_id"]
    page.goto(f"{site['url']}/logs/{log_id}")
    expect(page.locator(".log-body")).to_have_text(XSS)
    expect(page.locator(".log-view")).to_contain_text("<script>alert(2)</script>")
    page.wait_for_timeout(300)
    assert page.locator("main img, main script, main b, main i").count() == 0
    assert page.dialogs == []  # type: ignore[attr-defined]


def test_unknown_trace_shows_an_error_state(page: Page, site: dict[str, Any]) -> None:
    page.goto(f"{site['url']}/traces/{'ab' * 16}")
    expect(page.locator(".page-error")).to_contain_text("not found")


def test_ui_asks_for_a_key_when_the_server_requires_one(browser: Browser, make_server: Any) -> None:
    server = make_server(auth="required", admin_key="browser-admin-key-0123456789")
    # some data, or the dashboard shows how to connect instead of its panels
    spans = encode_spans(make_spans()).SerializeToString()
    assert httpx.post(
        f"{server.base_url}/v1/traces",
        content=spans,
        headers={"Content-Type": "application/x-protobuf", "Authorization": "Bearer browser-admin-key-0123456789"},
    ).is_success
    created = httpx.post(
        f"{server.base_url}/api/v1/keys",
        json={"name": "ui", "role": "viewer"},
        headers={"Authorization": "Bearer browser-admin-key-0123456789"},
    ).json()
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{server.base_url}/")
    expect(page.locator(".key-form")).to_be_visible()
    page.fill("#api-key", "lkd_0000000000_wrong-key-wrong-key-wrong")
    page.click(".key-form button")
    expect(page.locator(".key-form .error")).to_contain_text("invalid or revoked")
    page.fill("#api-key", created["key"])
    page.click(".key-form button")
    page.wait_for_selector("body[data-loaded=true]")
    assert page.locator("section.panel").count() == len(dashboard_panels({"url": server.base_url}, created["key"]))
    page.reload()  # the key is kept for the browser session
    page.wait_for_selector("body[data-loaded=true]")
    assert page.locator(".key-form").count() == 0
    context.close()


def test_a_key_has_one_colour_in_every_chart_and_axes_keep_one_unit(page: Page, site: dict[str, Any]) -> None:
    open_dashboard(page, site)
    colours = {
        name: {s["name"]: s["color"] for s in page.evaluate(SERIES_COLOURS, name)}
        for name in ("requests_over_time", "conversations_over_time")
    }
    # a service's input and output bars (stacked: no dash to tell them apart) have colours of their own
    tokens = page.evaluate(SERIES_COLOURS, "token_usage_over_time")
    assert len({s["name"].split(" · ")[0] for s in tokens}) < len(tokens)
    for chart in [*colours.values(), {s["name"]: s["color"] for s in tokens}]:
        assert len(set(chart.values())) == len(chart), "two series of one chart share a colour"
    shared = set(colours["requests_over_time"]) & set(colours["conversations_over_time"])
    assert len(shared) >= 2
    assert all(colours["requests_over_time"][k] == colours["conversations_over_time"][k] for k in shared)
    # a service's p50, p95 and p99 share its colour (the one it has in the other charts) and differ by
    # their dash; the series come ordered by service, then percentile
    latency = page.evaluate(
        """() => document.querySelector("section[data-panel=latency_p95_over_time] .chart").lkdChart.getOption()
            .series.map((s) => ({name: s.name, color: s.color, dash: s.lineStyle.type}))"""
    )
    drawn = [s["name"] for s in latency]
    assert drawn == sorted(drawn, key=lambda n: (n.split(" · ")[0], ["p50", "p95", "p99"].index(n.split(" · ")[1])))
    by_service: dict[str, list[dict[str, str]]] = {}
    for s in latency:
        by_service.setdefault(s["name"].split(" · ")[0], []).append(s)
    assert len(by_service) >= 2
    for service, lines in by_service.items():
        assert len({line["color"] for line in lines}) == 1
        assert [line["dash"] for line in lines] == ["dashed", "solid", "dotted"]
        if service in colours["requests_over_time"]:
            assert lines[0]["color"] == colours["requests_over_time"][service]
    # the labels ECharts drew on each latency axis: one unit per axis, never "0.0 ms", never "1800 ms"
    # (the stacked stages chart: its top is the highest bucket's sum, not its highest stage)
    names = ("latency_p95_over_time", "latency_stages_over_time", "http_request_duration_over_time")
    for name in (*names, "tts_duration_over_time"):
        labels = page.evaluate(AXIS_LABELS, name)
        assert len(labels) >= 3
        units = {label.split(" ")[-1] for label in labels}
        assert len(units) == 1, (name, labels)
        assert units <= {"ms", "s", "min"}
        unit = units.pop()
        assert labels[0] == f"0 {unit}"  # not "0.0 ms"
        if unit == "ms":
            assert float(labels[-1].split(" ")[0]) < 1000, (name, labels)
    # dollar ticks share their decimals ($0.05, $0.10, not $0.0500 beside $0.100)
    labels = page.evaluate(AXIS_LABELS, "cost_over_time")
    assert len(labels) >= 3
    assert all(label.startswith("$") for label in labels), labels
    assert len({len(label.split(".")[1]) for label in labels if "." in label}) == 1, labels


SERIES_COLOURS = """(panel) => document.querySelector(`section[data-panel=${panel}] .chart`).lkdChart.getOption()
    .series.map((s) => ({name: s.name, color: s.color}))"""
EN_DASH = "\u2013"
AXIS_LABELS = """(panel) => document.querySelector(`section[data-panel=${panel}] .chart`).lkdChart.getModel()
    .getComponent("yAxis", 0).axis.getViewLabels().map((l) => l.formattedLabel)"""


def test_the_top_bar_says_which_time_zone_times_are_in(browser: Browser, site: dict[str, Any]) -> None:
    """Every time is the browser's local time: the top bar names the zone and its offset, and a time on
    the page is that zone's."""
    import datetime
    from zoneinfo import ZoneInfo

    zone = ZoneInfo("America/Sao_Paulo")  # UTC-3 all year (no daylight saving since 2019)
    context = browser.new_context(timezone_id="America/Sao_Paulo")
    try:
        page = context.new_page()
        open_dashboard(page, site)
        expect(page.locator("#tz")).to_have_text("times in America/Sao_Paulo (UTC\u221203:00)")
        first = api(site, "logs", f"{RANGE}&limit=25")["rows"][0]
        local = datetime.datetime.fromtimestamp(first["time_unix_nano"] / 1e9, zone)
        expect(page.locator("section[data-panel=logs] tbody tr").first).to_contain_text(
            local.strftime("%Y-%m-%d %H:%M:%S")
        )
        # a chart's tooltip names its bucket, start to end, in the same zone and format (not 12-hour)
        first_line = page.evaluate(
            """() => document.querySelector("section[data-panel=requests_over_time] .chart").lkdChart.getOption()
                .tooltip[0].formatter([{ value: [Date.UTC(2026, 10, 28, 3), 1], marker: "", seriesName: "s" }])
                .split("<br>")[0]"""
        )
        step_s = api(site, "requests_over_time")["range"]["step_s"]
        end = datetime.datetime(2026, 11, 28, tzinfo=zone) + datetime.timedelta(seconds=step_s)
        end_text = end.strftime("%H:%M" if end.day == 28 else "%Y-%m-%d %H:%M")
        assert first_line == f"2026-11-28 00:00 {EN_DASH} {end_text}"
        across = page.evaluate(
            """() => import("/static/format.js").then((f) => f.formatBucket(Date.UTC(2026, 10, 28, 21), 21600))"""
        )
        assert across == f"2026-11-28 18:00 {EN_DASH} 2026-11-29 00:00"
    finally:
        context.close()


def test_a_range_every_panel_refuses_is_said_once(page: Page, site: dict[str, Any]) -> None:
    page.goto(f"{site['url']}/?start=now-7d&end=now-8d")
    page.wait_for_selector("body[data-loaded=true]")
    reason = httpx.get(f"{site['url']}/api/v1/panels/logs?start=now-7d&end=now-8d", timeout=30)
    assert reason.status_code == 400
    banner = page.locator(".all-failed")
    expect(banner).to_have_count(1)
    expect(banner).to_contain_text("No panel could load")
    detail = reason.json()["detail"]
    expect(banner).to_contain_text(detail if isinstance(detail, str) else detail[0]["msg"])
    assert page.locator("section.panel[data-state=error]").count() == page.locator("section.panel").count()
    visible = [e for e in page.locator(".dashboard .error").all() if e.is_visible()]
    assert len(visible) == 1  # the banner, not one copy per panel
