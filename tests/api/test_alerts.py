"""Alerts end to end on a real server: rules made through the API and from a YAML file, evaluated on real
telemetry (made by the OpenTelemetry SDK), firing and resolving to a local webhook receiver (our JSON
payload) and a Slack-format receiver, a receiver that is down (retries with backoff, the delivery log),
muting, test-firing; and the rule semantics (no flapping at the threshold) on the pure state machine."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Status, StatusCode

from livekit_dashboard.api.alerting import Notifier
from livekit_dashboard.domain.alerts import Channel, RuleError, RuleState, parse_rule, step
from livekit_dashboard.query import AlertEvent, AlertStore
from livekit_dashboard.server import DashboardServer

ADMIN = "admin-key-for-alert-tests-0123456789"
AUTH = {"Authorization": f"Bearer {ADMIN}"}
PB = {"Content-Type": "application/x-protobuf"}


class Receiver:
    """A local HTTP receiver: records every POST body; answers `fail_first` requests with 500 first."""

    def __init__(self, fail_first: int = 0) -> None:
        self.bodies: list[tuple[str, Any]] = []
        self.fail_first = fail_first
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if owner.fail_first > 0:
                    owner.fail_first -= 1
                    self.send_response(500)
                else:
                    owner.bodies.append((self.path, json.loads(body)))
                    self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_port}"
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def wait(self, count: int, timeout_s: float = 15.0) -> list[tuple[str, Any]]:
        deadline = time.monotonic() + timeout_s
        while len(self.bodies) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(self.bodies) >= count, self.bodies
        return list(self.bodies)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    yield found
    found.close()


def turns_body(ok: int, failed: int, service: str = "support-agent", latency_s: float = 0.8) -> bytes:
    """One call with `ok` good and `failed` failed agent turns, made by the real SDK tracer."""
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("livekit-agents")
    with tracer.start_as_current_span("agent_session", attributes={"lk.job_id": f"AJ_{time.time_ns()}"}):
        for i in range(ok + failed):
            with tracer.start_as_current_span("agent_turn", attributes={"lk.e2e_latency": latency_s}) as turn:
                if i >= ok:
                    turn.set_status(Status(StatusCode.ERROR, "TTS failed"))
    spans: list[ReadableSpan] = list(memory.get_finished_spans())
    return bytes(encode_spans(spans).SerializeToString())


def send(server: DashboardServer, body: bytes) -> None:
    r = httpx.post(f"{server.base_url}/v1/traces", content=body, headers=PB, timeout=30)
    assert r.status_code == 200, r.text


def rule_spec(receiver: Receiver, **over: Any) -> dict[str, Any]:
    return {
        "id": "turn-errors",
        "name": "Failing turns",
        "measure": "error_rate_turns",
        "op": ">",
        "threshold": 0.3,
        "window": "10m",
        "filters": {"service": "support-agent"},
        "channels": [
            {"kind": "webhook", "url": f"{receiver.url}/hook"},
            {"kind": "slack", "url": f"{receiver.url}/slack"},
        ],
        **over,
    }


def test_a_rule_fires_and_resolves_to_a_webhook_and_slack(make_server: Any, receiver: Receiver) -> None:
    server = make_server(admin_key=ADMIN, alert_interval_s=3600)  # rounds run by the test
    r = httpx.post(f"{server.base_url}/api/v1/alerts", json=rule_spec(receiver), headers=AUTH, timeout=30)
    assert r.status_code == 201, r.text
    assert r.json()["state"]["status"] == "ok"
    assert server.alerts.evaluate() == []  # no turns yet: no data is not beyond the threshold
    send(server, turns_body(ok=1, failed=1))  # 50 % of turns failed
    send(server, turns_body(ok=0, failed=3, service="other-agent"))  # not the rule's service
    (fired,) = server.alerts.evaluate()
    assert (fired.state, fired.value) == ("firing", 0.5)
    hook, slack = sorted(receiver.wait(2), key=lambda b: b[0])
    assert hook[0] == "/hook"
    payload = hook[1]
    assert payload["version"] == 1
    assert (payload["state"], payload["value"], payload["event_id"]) == ("firing", 0.5, fired.event_id)
    assert payload["rule"] == {
        "id": "turn-errors",
        "name": "Failing turns",
        "measure": "error_rate_turns",
        "unit": "ratio",
        "op": ">",
        "threshold": 0.3,
        "window_s": 600,
        "for_s": 0,
        "filters": {"service": "support-agent"},
    }
    assert "50.0%" in payload["summary"]
    assert payload["links"]["calls"].startswith(f"{server.base_url}/calls?")
    assert "has_errors=true" in payload["links"]["calls"]
    assert "service=support-agent" in payload["links"]["calls"]
    # the calls link lists the call behind the firing
    listed = httpx.get(payload["links"]["calls"].replace("/calls?", "/api/v1/calls?"), timeout=30).json()
    assert listed["total"] == 1
    assert slack[0] == "/slack"
    assert slack[1]["text"].startswith(":rotating_light: *FIRING* Failing turns")
    # still beyond: no second notification
    assert server.alerts.evaluate() == []
    send(server, turns_body(ok=8, failed=0))  # 1 of 10 failed
    (resolved,) = server.alerts.evaluate()
    assert (resolved.state, resolved.value) == ("resolved", 0.1)
    bodies = receiver.wait(4)
    assert {b[1]["state"] for b in bodies if b[0] == "/hook"} == {"firing", "resolved"}
    # the history and the delivery log
    events = httpx.get(f"{server.base_url}/api/v1/alerts/events", headers=AUTH, timeout=30).json()["events"]
    assert [(e["state"], e["delivered"], e["failed"]) for e in events] == [("resolved", 2, 0), ("firing", 2, 0)]
    # each event's path to its calls is the notification's link
    assert events[1]["calls_path"] == payload["links"]["calls"].removeprefix(server.base_url)
    log = httpx.get(
        f"{server.base_url}/api/v1/alerts/deliveries", params={"event_id": fired.event_id}, headers=AUTH, timeout=30
    ).json()["deliveries"]
    assert sorted(d["channel"] for d in log) == [f"slack:{receiver.url}", f"webhook:{receiver.url}"]
    assert all(d["ok"] == 1 and d["attempt"] == 1 for d in log)
    state = httpx.get(f"{server.base_url}/api/v1/alerts/turn-errors", headers=AUTH, timeout=30).json()["state"]
    assert (state["status"], state["value"]) == ("ok", 0.1)
    # and an operator's Prometheus sees it
    from tests.api.test_metrics import scrape, value

    samples = scrape(server)
    assert value(samples, "livekit_dashboard_alert_events_total", state="firing") == 1
    assert value(samples, "livekit_dashboard_alert_events_total", state="resolved") == 1
    assert value(samples, "livekit_dashboard_alert_notifications_total", outcome="delivered") == 4
    assert value(samples, "livekit_dashboard_alert_notifications_total", outcome="failed") == 0
    assert value(samples, "livekit_dashboard_alert_evaluations_total", outcome="ok") == 4
    assert value(samples, "livekit_dashboard_alerts_firing") == 0


def test_a_restarted_server_carries_on_where_the_rules_were(make_server: Any, receiver: Receiver) -> None:
    """The rules' states are the stored events': after a restart (or on another replica of one
    cluster) a rule still beyond its threshold does not fire again, and it resolves when it comes back."""
    first = make_server(admin_key=ADMIN, alert_interval_s=3600)
    assert (
        httpx.post(f"{first.base_url}/api/v1/alerts", json=rule_spec(receiver), headers=AUTH, timeout=30).status_code
        == 201
    )
    send(first, turns_body(ok=1, failed=1))
    (fired,) = first.alerts.evaluate()
    assert fired.state == "firing"
    receiver.wait(2)
    deadline = time.monotonic() + 10  # the delivery log is written after the receiver answered
    while len(first.alerts.store.deliveries(fired.event_id)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    first.stop()

    second = make_server(admin_key=ADMIN, alert_interval_s=3600, database=first.settings.database)
    state = httpx.get(f"{second.base_url}/api/v1/alerts/turn-errors", headers=AUTH, timeout=30).json()["state"]
    assert (state["status"], state["value"]) == ("firing", 0.5)
    assert second.alerts.evaluate() == []  # still beyond: no second notification
    send(second, turns_body(ok=8, failed=0))
    (resolved,) = second.alerts.evaluate()
    assert (resolved.state, resolved.value) == ("resolved", 0.1)
    events = httpx.get(f"{second.base_url}/api/v1/alerts/events", headers=AUTH, timeout=30).json()["events"]
    assert [e["state"] for e in events] == ["resolved", "firing"]


def test_slow_responses_fire_and_recover_on_slack(make_server: Any, receiver: Receiver) -> None:
    """The p95 response latency crosses 2.5 s: one Slack message; it comes back: another."""
    server = make_server(admin_key=ADMIN, alert_interval_s=3600)
    spec = {
        "name": "Slow responses",
        "measure": "response_p95_s",
        "threshold": 2.5,
        "window": "10m",
        "channels": [{"kind": "slack", "url": f"{receiver.url}/slack"}],
    }
    assert httpx.post(f"{server.base_url}/api/v1/alerts", json=spec, headers=AUTH, timeout=30).status_code == 201
    send(server, turns_body(ok=4, failed=0, latency_s=3.2))
    (fired,) = server.alerts.evaluate()
    assert (fired.state, fired.value) == ("firing", pytest.approx(3.2))
    send(server, turns_body(ok=96, failed=0, latency_s=0.9))  # 4 slow of 100: p95 back under 2.5 s
    (resolved,) = server.alerts.evaluate()
    assert (resolved.state, resolved.value) == ("resolved", pytest.approx(0.9))
    texts = [body["text"] for _, body in receiver.wait(2)]
    assert texts[0].startswith(":rotating_light: *FIRING* Slow responses: response_p95_s is 3.20 s")
    assert texts[1].startswith(":white_check_mark: *RESOLVED* Slow responses: response_p95_s is back at 0.90 s")


def test_the_servers_own_rounds_fire_and_mute_silences(make_server: Any, receiver: Receiver) -> None:
    """The evaluation loop runs by itself; a muted rule still records its events but sends nothing;
    test-firing sends whatever the mute says."""
    server = make_server(admin_key=ADMIN, alert_interval_s=0.3)
    spec = rule_spec(receiver, id="muted", muted=True, channels=[{"kind": "webhook", "url": f"{receiver.url}/m"}])
    assert httpx.post(f"{server.base_url}/api/v1/alerts", json=spec, headers=AUTH, timeout=30).status_code == 201
    spec = rule_spec(receiver, channels=[{"kind": "webhook", "url": f"{receiver.url}/hook"}])
    assert httpx.post(f"{server.base_url}/api/v1/alerts", json=spec, headers=AUTH, timeout=30).status_code == 201
    send(server, turns_body(ok=0, failed=2))
    (path, payload), *_ = receiver.wait(1)
    assert (path, payload["state"], payload["value"]) == ("/hook", "firing", 1.0)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        events = httpx.get(
            f"{server.base_url}/api/v1/alerts/events", params={"rule_id": "muted"}, headers=AUTH, timeout=30
        ).json()["events"]
        if events:
            break
        time.sleep(0.2)
    assert [(e["state"], e["delivered"], e["failed"]) for e in events] == [("firing", 0, 0)]
    r = httpx.post(f"{server.base_url}/api/v1/alerts/muted/test", headers=AUTH, timeout=30)
    assert r.status_code == 200, r.text
    test_bodies = [b for b in receiver.wait(2) if b[0] == "/m"]
    assert [(b[1]["state"], b[1]["value"]) for b in test_bodies] == [("test", 1.0)]
    assert all(path != "/m" or body["state"] == "test" for path, body in receiver.bodies)
    r = httpx.post(f"{server.base_url}/api/v1/alerts/muted/mute", json={"muted": False}, headers=AUTH, timeout=30)
    assert (r.status_code, r.json()["muted"]) == (200, False)


def test_a_replica_with_alerts_off_evaluates_nothing_but_still_test_fires(make_server: Any, receiver: Receiver) -> None:
    server = make_server(admin_key=ADMIN, alert_interval_s=0.2, alerts_enabled=False)
    spec = rule_spec(receiver, channels=[{"kind": "webhook", "url": f"{receiver.url}/hook"}])
    assert httpx.post(f"{server.base_url}/api/v1/alerts", json=spec, headers=AUTH, timeout=30).status_code == 201
    send(server, turns_body(ok=0, failed=2))
    time.sleep(1.5)  # several intervals: an evaluating server would have fired by now
    assert server.alerts.counts().get("rounds", 0) == 0
    r = httpx.post(f"{server.base_url}/api/v1/alerts/turn-errors/test", headers=AUTH, timeout=30)
    assert r.status_code == 200, r.text
    assert [(path, body["state"]) for path, body in receiver.wait(1)] == [("/hook", "test")]


def test_a_receiver_that_is_down_is_retried_with_backoff_and_logged(make_server: Any) -> None:
    server = make_server(admin_key=ADMIN, alert_interval_s=3600)
    store = AlertStore(server.storage)
    notifier = Notifier(store, attempts=3, backoff_s=0.05)
    rule = parse_rule({"name": "Tokens", "measure": "tokens", "threshold": 1, "window": "5m"})
    event = AlertEvent("e1", rule, "firing", int(time.time() * 1000), 2.0, "s", (0, 1))
    down = Receiver()
    down.close()  # nothing listens there any more
    started = time.monotonic()
    assert notifier.deliver(event, Channel("webhook", f"{down.url}/x"), {"state": "firing"}) is False
    assert time.monotonic() - started >= 0.05 + 0.1  # waited between attempts, longer each time
    failed = store.deliveries("e1")
    assert sorted(d["attempt"] for d in failed) == [1, 2, 3]
    assert all(d["ok"] == 0 and "ConnectError" in d["detail"] for d in failed)
    # a receiver that fails twice, then takes it
    flaky = Receiver(fail_first=2)
    try:
        event2 = AlertEvent("e2", rule, "firing", int(time.time() * 1000), 2.0, "s", (0, 1))
        assert notifier.deliver(event2, Channel("webhook", f"{flaky.url}/y"), {"state": "firing"}) is True
        assert [(d["attempt"], d["ok"]) for d in sorted(store.deliveries("e2"), key=lambda d: d["attempt"])] == [
            (1, 0),
            (2, 0),
            (3, 1),
        ]
        assert flaky.bodies == [("/y", {"state": "firing"})]
    finally:
        flaky.close()


def test_rules_from_a_file_are_read_only_and_bad_rules_are_refused(make_server: Any, tmp_path: Path) -> None:
    rules = tmp_path / "alerts.yaml"
    rules.write_text(
        "rules:\n"
        "  - id: slow\n"
        "    name: Slow responses\n"
        "    measure: response_p95_s\n"
        "    threshold: 2.5\n"
        "    window: 10m\n"
        "    for: 5m\n"
    )
    server = make_server(admin_key=ADMIN, alerts_file=rules)
    listed = httpx.get(f"{server.base_url}/api/v1/alerts", headers=AUTH, timeout=30).json()
    (slow,) = listed["rules"]
    assert (slow["id"], slow["source"], slow["window"], slow["for"]) == ("slow", "file", 600, 300)
    assert {m["name"] for m in listed["measures"]} >= {"response_p95_s", "cost_usd", "outcome_failure_rate"}
    r = httpx.put(f"{server.base_url}/api/v1/alerts/slow", json={**slow, "threshold": 3}, headers=AUTH, timeout=30)
    assert r.status_code == 409
    assert "rules file" in r.text
    # what is wrong is named
    bad = [
        ({"name": "x", "measure": "nope", "threshold": 1}, "measure: one of"),
        ({"name": "x", "measure": "tokens", "threshold": "a lot"}, "threshold: a number"),
        ({"name": "x", "measure": "tokens", "threshold": 1, "window": "10s"}, "window: at least 60 s"),
        ({"name": "x", "measure": "response_p95_s", "threshold": 1, "filters": {"user": "a@b.c"}}, "filters.user"),
        ({"name": "x", "measure": "tokens", "threshold": 1, "channels": [{"kind": "fax", "url": "x"}]}, "kind"),
    ]
    for body, message in bad:
        r = httpx.post(f"{server.base_url}/api/v1/alerts", json=body, headers=AUTH, timeout=30)
        assert r.status_code == 400, (body, r.text)
        assert message in r.text, (message, r.text)
    assert httpx.get(f"{server.base_url}/api/v1/alerts", timeout=30).status_code == 401  # super-admin only
    # a rules file with a bad rule stops the start, naming it
    rules.write_text("rules:\n  - name: Bad\n    measure: tokens\n    threshold: 1\n    window: 1s\n")
    with pytest.raises(RuleError, match=r"rules\[0\]: window"):
        make_server(admin_key=ADMIN, alerts_file=rules)


def test_cost_and_tokens_measures_equal_the_panels(make_server: Any) -> None:
    """A rule's measure is the panel's number for the same window (numbers reconcile)."""
    from tests.helpers import make_spans

    server = make_server(admin_key=ADMIN, alert_interval_s=3600)
    send(server, bytes(encode_spans(make_spans(n_turns=3)).SerializeToString()))
    now = time.time()
    window = {"start": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 600)), "end": "now", "step": "10m"}
    for measure, panel, field in (("tokens", "token_usage_totals", None), ("cost_usd", "cost_totals", "cost_usd")):
        rule = parse_rule({"name": measure, "measure": measure, "threshold": 0, "window": "10m"})
        value = server.alerts.measure(rule, now)
        (row,) = httpx.get(f"{server.base_url}/api/v1/panels/{panel}", params=window, timeout=30).json()["rows"]
        expected = row["input_tokens"] + row["output_tokens"] if field is None else row[field]
        assert value == pytest.approx(expected)
        assert value > 0


def test_no_flapping_at_the_threshold() -> None:
    """The state machine: beyond for `for` fires once; back for `for` resolves once; a value that
    crosses back and forth faster than that changes nothing; exactly at the threshold is not beyond."""
    rule = parse_rule({"name": "p95", "measure": "response_p95_s", "threshold": 2.0, "window": "10m", "for": "2m"})
    state = RuleState(since=0)
    events = []
    # oscillating every 30 s around the threshold, and sitting on it: never fires
    for i, value in enumerate([2.5, 1.5, 2.5, 1.5, 2.0, 2.0, 2.5, 1.9] * 3):
        transition = step(rule, state, value, 30.0 * i)
        events.append(transition)
    assert [e for e in events if e] == []
    assert state.status in ("ok", "pending")
    # beyond for 2 minutes: fires once
    t = 1000.0
    fired = [step(rule, state, 3.0, t + 30 * i) for i in range(6)]
    assert [e.state for e in fired if e] == ["firing"]
    # dipping below for less than `for`, again and again: stays firing
    t = 2000.0
    dips = [step(rule, state, 1.0 if i % 2 else 3.0, t + 30 * i) for i in range(10)]
    assert [e for e in dips if e] == []
    assert str(state.status) == "firing"
    # back for 2 minutes: resolves once
    t = 3000.0
    back = [step(rule, state, 1.0, t + 30 * i) for i in range(6)]
    assert [(e.state, e.value) for e in back if e] == [("resolved", 1.0)]
    # no data is not beyond a threshold
    assert step(rule, state, None, 5000.0) is None
    assert str(state.status) == "ok"


def test_an_apprise_channel_delivers_through_apprise(make_server: Any, receiver: Receiver) -> None:
    """Any service apprise reaches; here its generic JSON notification (json://) to the local receiver."""
    server = make_server(admin_key=ADMIN, alert_interval_s=3600)
    store = AlertStore(server.storage)
    rule = parse_rule({"name": "Spend", "measure": "cost_usd", "threshold": 10, "window": "1h"})
    event = AlertEvent("e3", rule, "firing", int(time.time() * 1000), 12.5, "Spend: cost_usd is $12.50", (0, 1))
    host = receiver.url.removeprefix("http://")
    payload = {"state": "firing", "summary": event.summary, "rule": {"name": "Spend"}}
    delivered = Notifier(store, attempts=1).deliver(event, Channel("apprise", f"json://{host}/apprise"), payload)
    assert delivered is True, store.deliveries("e3")
    ((path, body),) = receiver.wait(1)
    assert path == "/apprise"
    assert body["title"] == "[FIRING] Spend"
    assert body["message"] == "Spend: cost_usd is $12.50"
    (logged,) = store.deliveries("e3")
    assert (logged["channel"], logged["ok"]) == ("apprise:json", 1)
