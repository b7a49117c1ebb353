"""The alert runner: evaluates every enabled rule on a timer inside the server (domain/alerts.py says when
a rule fires and resolves), records each event, and hands it to the notifier, which delivers it to the
rule's channels — webhooks (the documented JSON payload), Slack incoming webhooks, and the many services
the apprise library reaches — retrying with backoff and logging every attempt (the delivery log).

Rules come from a rules file read at start (alerts as code: read-only through the API) and from the API
(stored). A rule's state (ok / pending / firing) lives in this process; after a restart a rule whose
measure is still beyond its threshold fires again once its `for` has passed.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

from livekit_dashboard.domain.alerts import (
    MEASURES,
    Channel,
    Rule,
    RuleError,
    RuleState,
    calls_query,
    event_id,
    parse_rule,
    slack_message,
    step,
    summary,
    webhook_payload,
)
from livekit_dashboard.query import AlertEvent, AlertStore, measure_value
from livekit_dashboard.store import Engine

__all__ = ["AlertRunner", "Notifier", "read_rules_file"]

log = logging.getLogger(__name__)


def read_rules_file(path: Path) -> list[Rule]:
    """Rules from a YAML file (`rules: [...]`, each as the API takes it); RuleError naming the rule."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise RuleError(f"{path}: {exc}") from None
    raw = (data or {}).get("rules") if isinstance(data, Mapping) else None
    if not isinstance(raw, list):
        raise RuleError(f"{path}: expected a mapping with a `rules` list")
    rules: list[Rule] = []
    for i, item in enumerate(raw):
        try:
            rule = parse_rule(item, source="file")
        except RuleError as exc:
            raise RuleError(f"{path}: rules[{i}]: {exc}") from None
        if any(r.id == rule.id for r in rules):
            raise RuleError(f"{path}: rules[{i}]: id {rule.id!r} is used twice")
        rules.append(rule)
    return rules


class Notifier:
    """Delivers events to channels on a thread of its own: each channel up to `attempts` times, waiting
    `backoff_s`, 2x, 4x… between tries; every attempt goes to the delivery log."""

    def __init__(
        self, store: AlertStore, *, attempts: int = 4, backoff_s: float = 2.0, timeout_s: float = 10.0
    ) -> None:
        self._store = store
        self._attempts = attempts
        self._backoff_s = backoff_s
        self._timeout_s = timeout_s
        self._queue: queue.Queue[tuple[AlertEvent, dict[str, Any]] | None] = queue.Queue()
        self._counts_lock = threading.Lock()
        self._deliveries: Counter[str] = Counter()  # delivered, failed (a channel after all its attempts)
        self._thread = threading.Thread(target=self._run, name="alert-notifier", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._queue.put(None)
        if self._thread.is_alive():
            self._thread.join(5)

    def send(self, event: AlertEvent, payload: dict[str, Any]) -> None:
        self._queue.put((event, payload))

    def _run(self) -> None:
        while (job := self._queue.get()) is not None:
            event, payload = job
            for channel in event.rule.channels:
                self.deliver(event, channel, payload)

    def deliver(self, event: AlertEvent, channel: Channel, payload: dict[str, Any]) -> bool:
        """Deliver now, retrying with backoff; whether it got through. Every attempt is logged."""
        for attempt in range(1, self._attempts + 1):
            try:
                detail = self._post(channel, payload)
                ok = True
            except Exception as exc:  # any failure of the receiver or the network is logged, then retried
                detail, ok = f"{type(exc).__name__}: {exc}", False
            try:
                self._store.log_delivery(event, channel.label, attempt, ok, detail)
            except Exception:
                log.exception("could not write the alert delivery log")
            if ok:
                self._count("delivered")
                return True
            if attempt < self._attempts:
                time.sleep(self._backoff_s * 2 ** (attempt - 1))
        log.warning("alert %s: %s not delivered after %d attempts", event.rule.id, channel.label, self._attempts)
        self._count("failed")
        return False

    def _count(self, outcome: str) -> None:
        with self._counts_lock:
            self._deliveries[outcome] += 1

    def delivery_counts(self) -> dict[str, int]:
        with self._counts_lock:
            return dict(self._deliveries)

    def _post(self, channel: Channel, payload: dict[str, Any]) -> str:
        if channel.kind == "apprise":
            import apprise

            sender = apprise.Apprise()
            if not sender.add(channel.url):
                raise ValueError("apprise does not recognise this URL")
            title = f"[{str(payload['state']).upper()}] {payload['rule']['name']}"
            if not sender.notify(title=title, body=str(payload["summary"])):
                raise RuntimeError("apprise could not deliver it")
            return "sent"
        body = slack_message(payload) if channel.kind == "slack" else payload
        response = httpx.post(channel.url, json=body, timeout=self._timeout_s)
        if response.status_code >= 300:
            raise RuntimeError(f"HTTP {response.status_code}: {response.text[:200]}")
        return f"HTTP {response.status_code}"


class AlertRunner:
    """Evaluates the rules every `interval_s` and sends what they raise."""

    def __init__(
        self,
        engine: Engine,
        store: AlertStore,
        notifier: Notifier,
        *,
        file_rules: list[Rule],
        ingest_counts: Callable[[], Mapping[str, Any]],
        public_url: Callable[[], str],
        interval_s: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._engine = engine
        self.store = store
        self._notifier = notifier
        self.file_rules = file_rules
        self._ingest_counts = ingest_counts
        self._public_url = public_url
        self._interval_s = interval_s
        self._clock = clock
        self._lock = threading.Lock()
        self._states: dict[str, RuleState] = {}
        self._restored = False  # the states carried on from the stored events (see _restore)
        self._counts: deque[tuple[float, int, int]] = deque(maxlen=20_000)  # (time, rejected, refused)
        self._tally: Counter[str] = Counter()  # rounds, evaluations, failed evaluations, events by state
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="alerts", daemon=True)

    # -- rules ---------------------------------------------------------------------------------------

    def rules(self) -> list[Rule]:
        """The file's rules, then the API's (an API rule cannot take a file rule's id)."""
        taken = {r.id for r in self.file_rules}
        return [*self.file_rules, *(r for r in self.store.rules() if r.id not in taken)]

    def counts(self) -> dict[str, int]:
        """Since start: rounds, evaluations, evaluation_errors, events_<state>, and the notifier's
        delivered / failed (channels, after all attempts); and how many rules fire now."""
        with self._lock:
            out = dict(self._tally)
            out["firing"] = sum(1 for s in self._states.values() if s.status == "firing")
        deliveries = self._notifier.delivery_counts()
        out["delivered"], out["delivery_failures"] = deliveries.get("delivered", 0), deliveries.get("failed", 0)
        return out

    def state(self, rule_id: str) -> RuleState:
        self._restore()
        with self._lock:
            found = self._states.get(rule_id)
            return RuleState(found.status, found.since, found.clear_since, found.value) if found else RuleState()

    # -- evaluation ----------------------------------------------------------------------------------

    def start(self, *, evaluate: bool = True) -> None:
        """Start delivering; and evaluating the rules every interval unless `evaluate` is off (another
        replica of the same storage evaluates them)."""
        self._notifier.start()
        if evaluate:
            self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(10)
        self._notifier.stop()

    def _run(self) -> None:
        while not self._stopping.wait(self._interval_s):
            try:
                self.evaluate()
            except Exception:
                log.exception("alert evaluation failed")

    def measure(self, rule: Rule, now: float) -> float | None:
        """The rule's measure over the window ending `now` (unix seconds)."""
        end_ns = int(now * 1e9)
        start_ns = end_ns - rule.window_s * 10**9
        if MEASURES[rule.measure].source == "ingest":
            return self._ingest_increase(rule, now)
        return measure_value(self._engine, rule, start_ns, end_ns)

    def _note_counts(self, now: float) -> None:
        counts = self._ingest_counts()
        rejected = sum(int(counts[s]["rejected"]) for s in ("traces", "logs", "metrics"))
        with self._lock:
            self._counts.append((now, rejected, int(counts["refused_requests"])))

    def _ingest_increase(self, rule: Rule, now: float) -> float:
        column = 1 if rule.measure == "ingest_rejected" else 2
        with self._lock:
            if not self._counts:
                return 0.0
            latest = self._counts[-1][column]
            base = next((c for c in reversed(self._counts) if c[0] <= now - rule.window_s), self._counts[0])
            return float(latest - base[column])

    def _restore(self) -> None:
        """Rules firing when this server last stopped (or on another replica) are firing now: a rule
        still beyond its threshold does not fire again, one that came back while no server watched
        resolves. The state is the stored events', so a restart or a move loses nothing."""
        if self._restored:
            return
        firing = {
            row["rule_id"]: RuleState("firing", row["at_ms"] / 1000, None, row["value"])
            for row in self.store.last_transitions()
            if row["state"] == "firing"
        }
        with self._lock:
            for rule_id, state in firing.items():
                self._states.setdefault(rule_id, state)
            self._restored = True

    def evaluate(self, now: float | None = None) -> list[AlertEvent]:
        """One round: every enabled rule's measure, its transition, the events recorded and sent."""
        now = self._clock() if now is None else now
        self._restore()
        self._note_counts(now)
        events = []
        rules = self.rules()
        with self._lock:
            self._tally["rounds"] += 1
        with self._lock:
            for gone in set(self._states) - {r.id for r in rules}:
                del self._states[gone]
        for rule in rules:
            if not rule.enabled:
                continue
            try:
                value = self.measure(rule, now)
            except Exception as exc:
                log.warning("alert %s: could not compute %s: %s", rule.id, rule.measure, exc)
                with self._lock:
                    self._tally["evaluation_errors"] += 1
                continue
            with self._lock:
                self._tally["evaluations"] += 1
                state = self._states.setdefault(rule.id, RuleState(since=now))
                transition = step(rule, state, value, now)
            if transition is not None:
                events.append(self._raise(rule, transition.state, transition.value, now))
        return events

    def test_fire(self, rule: Rule) -> AlertEvent:
        """Send a `test` event with the measure's current value to the rule's channels (muted or not)."""
        now = self._clock()
        self._note_counts(now)
        return self._raise(rule, "test", self.measure(rule, now), now, force=True)

    def _raise(self, rule: Rule, state: str, value: float | None, now: float, *, force: bool = False) -> AlertEvent:
        at_ms = int(now * 1000)
        window = (at_ms - rule.window_s * 1000, at_ms)
        event = AlertEvent(event_id(rule, state, at_ms), rule, state, at_ms, value, summary(rule, state, value), window)
        self.store.record(event)
        with self._lock:
            self._tally[f"events_{state}"] += 1
        if rule.channels and (force or not rule.muted):
            self._notifier.send(event, webhook_payload(rule, state, value, at_ms, window, self.links(rule, window)))
        log.info("alert %s", event.summary if state != "firing" else f"FIRING {event.summary}")
        return event

    def links(self, rule: Rule, window: tuple[int, int]) -> dict[str, str]:
        """Where a reader of the notification looks: the calls behind it and the rule."""
        base = self._public_url().rstrip("/")
        calls = urlencode(calls_query(rule.measure, rule.filters, window))
        return {"calls": f"{base}/calls?{calls}", "rule": f"{base}/api/v1/alerts/{rule.id}"}

    def events(self, rule_id: str = "", limit: int = 100) -> list[dict[str, Any]]:
        """The history, newest first, each event with the call list's path to the calls behind it
        (with its rule's filters while the rule exists)."""
        filters = {r.id: r.filters for r in self.rules()}
        rows = self.store.events(rule_id, limit)
        for row in rows:
            window = (row["window_start_ms"], row["window_end_ms"])
            row["calls_path"] = "/calls?" + urlencode(
                calls_query(row["measure"], filters.get(row["rule_id"], {}), window)
            )
        return rows
