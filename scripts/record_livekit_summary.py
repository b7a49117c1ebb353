"""What a recording writes beside the OTLP bodies: the framework's own accounting (session.usage,
SessionReport) and summary.json, the numbers a replay test asserts (tests/fixtures/livekit/README.md)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from record_livekit_session import OtelCapture, SessionResult

# --------------------------------------------------------------------------------------------
# summaries


def write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=1, default=str, sort_keys=False) + "\n")


def _span_summary(spans: Any) -> dict[str, Any]:
    from opentelemetry.trace import StatusCode

    names = sorted(s.name for s in spans)
    errors = [
        {
            "span": s.name,
            "error.type": (s.attributes or {}).get("error.type"),
            "status_message": s.status.description,
        }
        for s in sorted(spans, key=lambda s: s.start_time or 0)
        if s.status.status_code == StatusCode.ERROR
    ]
    roots = sorted(s.name for s in spans if s.parent is None)
    traces = sorted({format(s.context.trace_id, "032x") for s in spans})
    ordered = sorted(spans, key=lambda s: s.start_time or 0)
    agent_turns = [s for s in ordered if s.name == "agent_turn"]
    user_turns = [s for s in ordered if s.name == "user_turn"]

    def attr(s: Any, key: str) -> Any:
        return (s.attributes or {}).get(key)

    llm_requests = [s for s in ordered if s.name == "llm_request"]
    tts_requests = [s for s in ordered if s.name == "tts_request"]
    tts_chars = 0
    tts_audio = 0.0
    for s in tts_requests:
        if blob := attr(s, "lk.tts_metrics"):
            m = json.loads(blob)
            tts_chars += m["characters_count"]
            tts_audio += m["audio_duration"]
    return {
        "spans": names,
        "span_counts": dict(sorted(Counter(names).items())),
        "root_spans": roots,
        "trace_ids": traces,
        "error_spans": errors,
        "user_turn_spans": [
            {
                k: attr(s, k)
                for k in (
                    "lk.pii.user_transcript",
                    "lk.transcription_delay",
                    "lk.end_of_turn_delay",
                    "lk.transcript_confidence",
                )
            }
            for s in user_turns
        ],
        "agent_turn_spans": [
            {
                "status": s.status.status_code.name,
                **{
                    k: attr(s, k)
                    for k in (
                        "lk.pii.user_input",
                        "lk.pii.response.text",
                        "lk.e2e_latency",
                        "lk.transcription_delay",
                        "lk.end_of_turn_delay",
                        "lk.generation_count",
                    )
                },
            }
            for s in agent_turns
        ],
        "llm_request_spans": {
            "count": len(llm_requests),
            "ok": sum(1 for s in llm_requests if s.status.status_code != StatusCode.ERROR),
            "input_tokens": sum(attr(s, "gen_ai.usage.input_tokens") or 0 for s in llm_requests),
            "output_tokens": sum(attr(s, "gen_ai.usage.output_tokens") or 0 for s in llm_requests),
            "cache_read_input_tokens": sum(attr(s, "gen_ai.usage.cache_read.input_tokens") or 0 for s in llm_requests),
        },
        "tts_request_spans": {
            "count": len(tts_requests),
            "ok": sum(1 for s in tts_requests if s.status.status_code != StatusCode.ERROR),
            "characters_from_lk.tts_metrics": tts_chars,
            "audio_duration_from_lk.tts_metrics": round(tts_audio, 6),
        },
        "tts_node_ttfb": [attr(s, "lk.response.ttfb") for s in ordered if s.name == "tts_node"],
    }


def _metric_summary(batches: list[Any]) -> dict[str, Any]:
    """Counter totals (summed over batches and series) and histogram counts, by metric name."""
    sums: dict[str, float] = {}
    histograms: dict[str, int] = {}
    temporality: set[str] = set()
    attrs: dict[str, list[str]] = {}
    for batch in batches:
        for rm in batch.resource_metrics:
            for sm in rm.scope_metrics:
                for m in sm.metrics:
                    kind = type(m.data).__name__
                    temporality.add(m.data.aggregation_temporality.name)
                    for p in m.data.data_points:
                        attrs.setdefault(m.name, sorted(set(attrs.get(m.name, [])) | set((p.attributes or {}).keys())))
                        if kind == "Sum":
                            sums[m.name] = sums.get(m.name, 0) + p.value
                        elif kind == "Histogram":
                            histograms[m.name] = histograms.get(m.name, 0) + p.count
    per_batch = [
        {
            m.name: round(sum(p.value for p in m.data.data_points), 6)
            for rm in batch.resource_metrics
            for sm in rm.scope_metrics
            for m in sm.metrics
            if type(m.data).__name__ == "Sum"
        }
        for batch in batches
    ]
    return {
        "temporality": sorted(temporality),
        "batches": len(batches),
        "counter_values_per_batch": per_batch,
        "counter_totals": {k: round(v, 6) for k, v in sorted(sums.items())},
        "histogram_counts": dict(sorted(histograms.items())),
        "point_attribute_keys": dict(sorted(attrs.items())),
    }


_CONTENT_KEYS = {
    "gen_ai.input.messages",
    "gen_ai.output.messages",
    "gen_ai.system_instructions",
    "gen_ai.tool.definitions",
    "gen_ai.tool.call.arguments",
    "gen_ai.tool.call.result",
    "gen_ai.tool.description",
}


def _pii_keys(spans: Any) -> list[str]:
    """lk.pii.* and GenAI content attribute keys found on any span (allow_pii=False strips them)."""
    keys = {k for s in spans for k in (s.attributes or {})}
    return sorted(k for k in keys if "pii" in k.split(".") or k in _CONTENT_KEYS)


def _log_summary(records: Any, spans: Any) -> dict[str, Any]:
    span_names = {s.context.span_id: s.name for s in spans}
    out = []
    for r in records:
        lr = r.log_record
        out.append(
            {
                "severity": lr.severity_text,
                "body": str(lr.body)[:120],
                "scope": r.instrumentation_scope.name if r.instrumentation_scope else None,
                "has_trace": bool(lr.trace_id),
                "span": span_names.get(lr.span_id) if lr.span_id else None,
                "exception.type": (lr.attributes or {}).get("exception.type"),
            }
        )
    return {"count": len(out), "by_severity": dict(Counter(o["severity"] for o in out)), "records": out}


def usage_by_type(usage: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for u in usage:
        key = f"{u['type']}:{u.get('provider')}/{u.get('model')}"
        out[key] = {k: v for k, v in u.items() if k not in ("type", "provider", "model") and v}
    return out


def _chat_turns(history: dict[str, Any]) -> dict[str, Any]:
    items = history.get("items", [])
    users = [i for i in items if i.get("type") == "message" and i.get("role") == "user"]
    assistants = [i for i in items if i.get("type") == "message" and i.get("role") == "assistant"]
    return {
        "user_messages": [" ".join(c for c in i["content"] if isinstance(c, str)) for i in users],
        "assistant_messages": [" ".join(c for c in i["content"] if isinstance(c, str)) for i in assistants],
        "function_calls": [i.get("name") for i in items if i.get("type") == "function_call"],
        "e2e_latency_per_reply": [i.get("metrics", {}).get("e2e_latency") for i in assistants],
        "transcription_delay_per_user_turn": [i.get("metrics", {}).get("transcription_delay") for i in users],
        "end_of_turn_delay_per_user_turn": [i.get("metrics", {}).get("end_of_turn_delay") for i in users],
    }


def base_summary(name: str, result: SessionResult, capture: OtelCapture | None, files: dict[str, Any]) -> dict:
    import livekit.agents

    summary: dict[str, Any] = {
        "scenario": name,
        "livekit_agents_version": livekit.agents.__version__,
        "command": f"/tmp/lk/bin/python scripts/record_livekit.py --scenario {name} tests/fixtures/livekit/{name}",
        "files": files,
        **result.ids,
        "ground_truth": {
            "usage": usage_by_type(result.usage),
            "user_turns": result.report["user_turns"] if result.report else None,
            "errors": result.report["errors"] if result.report else None,
            "close_reason": result.report["close_reason"] if result.report else None,
            "tags": result.report["tags"] if result.report else None,
            **_chat_turns(result.history),
        },
    }
    if "llm" in result.fakes:
        summary["provider_calls"] = {"llm": result.fakes["llm"].log}
    if "tts" in result.fakes:
        summary["provider_calls"]["tts"] = result.fakes["tts"].requests
    if "stt" in result.fakes:
        summary["provider_calls"]["stt_usage_events_seconds"] = result.fakes["stt"].usage_reported
    if capture is not None:
        spans = capture.spans.get_finished_spans()
        summary["traces"] = _span_summary(spans)
        summary["metrics"] = _metric_summary(capture.metric_batches)
        summary["logs"] = _log_summary(capture.logs.get_finished_logs(), spans)
        summary["trace_ids"] = summary["traces"]["trace_ids"]
        summary["pii_attribute_keys_present"] = _pii_keys(spans)
        counts = summary["traces"]["span_counts"]
        summary["counts"] = {
            "user_turns_report": summary["ground_truth"]["user_turns"],
            "user_turn_spans": counts.get("user_turn", 0),
            "agent_turn_spans": counts.get("agent_turn", 0),
            "agent_replies_spoken": len(summary["ground_truth"]["assistant_messages"]),
            "llm_request_spans": counts.get("llm_request", 0),
            "realtime_inference_spans": counts.get("realtime_inference", 0),
            "tts_request_spans": counts.get("tts_request", 0),
            "function_tool_spans": counts.get("function_tool", 0),
            "error_spans": len(summary["traces"]["error_spans"]),
        }
    return summary


def write_ground_truth(out_dir: Path, result: SessionResult) -> None:
    write_json(out_dir / "session_usage.json", result.usage)
    if result.report is not None:
        write_json(out_dir / "session_report.json", result.report)
