"""Cloud mode (LIVEKIT_OBSERVABILITY_URL): a worker's job that ships everything itself, recorded byte
for byte at a local capture server (the cloud_upload fixture), or sent to a live server
(cloud_live, which tests/api/test_livekit_runtime.py runs)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import email.parser
import email.policy
import gzip
import json
import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from record_livekit_session import SessionResult, fake_job, run_voice
from record_livekit_summary import base_summary, write_ground_truth, write_json

# test-only credentials for the cloud_upload scenario (recorded in its summary.json)
CLOUD_API_KEY = "APIrecorderTestKey"
CLOUD_API_SECRET = "recorder-test-secret-0123456789abcdefghijklmnop"


# --------------------------------------------------------------------------------------------
# cloud_upload: LIVEKIT_OBSERVABILITY_URL pointed at a local capture server


@dataclass
class CapturedRequest:
    method: str
    path: str
    headers: list[tuple[str, str]]
    body: bytes
    phase: str
    received_at: float


class _CaptureServer:
    def __init__(self) -> None:
        self.requests: list[CapturedRequest] = []
        self.phase = "session"
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _read_body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    chunks = []
                    while True:
                        size = int(self.rfile.readline().strip().split(b";")[0], 16)
                        if size == 0:
                            self.rfile.readline()
                            break
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()
                    return b"".join(chunks)
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def _handle(self) -> None:
                body = self._read_body()
                server.requests.append(
                    CapturedRequest(
                        method=self.command,
                        path=self.path,
                        headers=list(self.headers.items()),
                        body=body,
                        phase=server.phase,
                        received_at=time.time(),
                    )
                )
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_POST = _handle  # noqa: N815 (http.server's handler naming)
            do_PUT = _handle  # noqa: N815
            do_GET = _handle  # noqa: N815

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_port}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @contextlib.contextmanager
    def running(self) -> Iterator[_CaptureServer]:
        self._thread.start()
        try:
            yield self
        finally:
            self._httpd.shutdown()
            self._httpd.server_close()


def _b64url(part: str) -> dict[str, Any]:
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def _decode_jwt(token: str) -> dict[str, Any]:
    import jwt

    header, claims, _sig = token.split(".")
    verified = jwt.decode(token, CLOUD_API_SECRET, algorithms=["HS256"], options={"verify_exp": False})
    return {"header": _b64url(header), "claims": _b64url(claims), "verifies_with_test_secret": verified is not None}


def _describe_request(req: CapturedRequest) -> dict[str, Any]:
    """Decode a captured body: OTLP (gunzip + protobuf) or the multipart session-report upload."""
    from google.protobuf import json_format
    from livekit.protocol import metrics as proto_metrics
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
    from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
    from opentelemetry.proto.metrics.v1 import metrics_pb2

    headers = {k.lower(): v for k, v in req.headers}
    body = req.body
    if headers.get("content-encoding") == "gzip":
        body = gzip.decompress(body)
    out: dict[str, Any] = {}
    if req.path.endswith("/traces/otlp/v0"):
        msg = ExportTraceServiceRequest.FromString(body)
        spans = [s for rs in msg.resource_spans for ss in rs.scope_spans for s in ss.spans]
        out["otlp"] = {
            "signal": "traces",
            "span_names": sorted(s.name for s in spans),
            "trace_ids": sorted({s.trace_id.hex() for s in spans}),
            "resource": [
                {a.key: json_format.MessageToDict(a.value) for a in rs.resource.attributes} for rs in msg.resource_spans
            ],
        }
    elif req.path.endswith("/logs/otlp/v0"):
        msg = ExportLogsServiceRequest.FromString(body)
        records = []
        for rl in msg.resource_logs:
            for sl in rl.scope_logs:
                for lr in sl.log_records:
                    records.append(
                        {
                            "scope": sl.scope.name,
                            "body": json_format.MessageToDict(lr.body).get("stringValue", "")[:80],
                            "severity": lr.severity_text,
                            "attributes": sorted(a.key for a in lr.attributes),
                        }
                    )
        out["otlp"] = {"signal": "logs", "records": records}
    elif req.path.endswith("/metrics/otlp/v0"):
        msg = ExportMetricsServiceRequest.FromString(body)
        names = []
        temporality = set()
        for rm in msg.resource_metrics:
            for sm in rm.scope_metrics:
                for m in sm.metrics:
                    names.append(m.name)
                    kind = m.WhichOneof("data")
                    if kind in ("sum", "histogram"):
                        temporality.add(getattr(m, kind).aggregation_temporality)
        out["otlp"] = {
            "signal": "metrics",
            "metric_names": sorted(names),
            "aggregation_temporality": sorted(metrics_pb2.AggregationTemporality.Name(t) for t in temporality),
        }
    elif req.path.endswith("/recordings/v0"):
        raw = b"Content-Type: " + headers["content-type"].encode() + b"\r\n\r\n" + body
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(raw)
        parts = []
        for part in message.iter_parts():
            payload = part.get_payload(decode=True) or b""
            info: dict[str, Any] = {
                "name": part.get_param("name", header="content-disposition"),
                "filename": part.get_filename(),
                "content_type": part.get_content_type(),
                "bytes": len(payload),
            }
            if info["name"] == "header":
                hdr = proto_metrics.MetricsRecordingHeader.FromString(payload)
                decoded = json_format.MessageToDict(hdr, preserving_proto_field_name=True)
                decoded["session_summary"] = json.loads(hdr.session_summary)
                info["decoded"] = decoded
            elif info["name"] == "chat_history":
                items = json.loads(payload)["items"]
                info["item_types"] = [i.get("type") for i in items]
            elif info["name"] == "audio":
                info["magic"] = payload[:4].decode("latin-1")
            parts.append(info)
        out["multipart_parts"] = parts
    auth = headers.get("authorization", "")
    if auth.startswith("Bearer "):
        out["jwt"] = _decode_jwt(auth.removeprefix("Bearer "))
    return out


def cloud_session(
    scenario: str,
    turn_keys: list[str],
    *,
    record: Any = True,
    simulation_run: str | None = None,
    on_phase: Callable[[str], None] = lambda _phase: None,
) -> SessionResult:
    """One job of a worker in Cloud mode: LIVEKIT_OBSERVABILITY_URL, LIVEKIT_API_KEY and
    LIVEKIT_API_SECRET are set by the caller, no user providers at all (the zero-code path: the
    framework builds every pipeline itself); the agent tags the call a success with a topic tag. Ends
    as the worker's job process does: session end, job cleanup (per-job flush), process exit."""
    import atexit

    from livekit.agents.telemetry import traces as lk_traces
    from livekit.agents.utils import http_context

    logging.getLogger().setLevel(logging.INFO)

    def tag() -> None:
        ctx.tagger.success(reason="caller got the weather")
        ctx.tagger.add("topic:weather", metadata={"city": "Paris", "source": "recorder"})

    async def end_of_session() -> None:
        on_phase("job_cleanup")
        await ctx._on_cleanup()  # per-job flush of the Cloud exporters (job_proc_lazy_main does this)

    async def main() -> SessionResult:
        http_context._new_session_ctx()  # the job process opens this before the entrypoint
        try:

            def session_end_phase() -> None:
                tag()
                on_phase("session_end")

            return await run_voice(
                ctx,
                turn_keys,
                tts_failure="spell" in turn_keys,
                record=record,
                before_close=session_end_phase,
                end_of_job=end_of_session,
            )
        finally:
            await http_context._close_http_ctx()

    with fake_job(scenario, dispatched=True, simulation_run=simulation_run) as ctx:
        result = asyncio.run(main())
    on_phase("process_exit")
    lk_traces._cloud.shutdown_at_exit()  # what atexit runs in a worker process
    atexit.unregister(lk_traces._cloud.shutdown_at_exit)
    time.sleep(0.5)
    return result


def cloud_upload(out_dir: Path) -> dict[str, Any]:
    server = _CaptureServer()
    with server.running():
        os.environ["LIVEKIT_OBSERVABILITY_URL"] = server.url
        os.environ["LIVEKIT_API_KEY"] = CLOUD_API_KEY
        os.environ["LIVEKIT_API_SECRET"] = CLOUD_API_SECRET

        def phase(name: str) -> None:
            server.phase = name

        result = cloud_session("cloud_upload", ["hello", "weather", "spell", "bye"], on_phase=phase)

    index = []
    for i, req in enumerate(server.requests):
        name = f"request_{i:02d}.bin"
        (out_dir / name).write_bytes(req.body)
        headers = {k.lower(): v for k, v in req.headers}
        index.append(
            {
                "file": name,
                "method": req.method,
                "path": req.path,
                "phase": req.phase,
                "headers": req.headers,
                "content_type": headers.get("content-type"),
                "content_encoding": headers.get("content-encoding"),
                "body_bytes": len(req.body),
                **_describe_request(req),
            }
        )
    write_json(out_dir / "requests.json", index)
    write_ground_truth(out_dir, result)
    files = {"requests": [r["file"] for r in index], "index": "requests.json"}
    summary = base_summary("cloud_upload", result, None, files)
    summary["credentials"] = {
        "LIVEKIT_API_KEY": CLOUD_API_KEY,
        "LIVEKIT_API_SECRET": CLOUD_API_SECRET,
        "LIVEKIT_OBSERVABILITY_URL": "http://127.0.0.1:<ephemeral port>",
    }
    summary["requests"] = [
        {"file": r["file"], "path": r["path"], "phase": r["phase"], "body_bytes": r["body_bytes"]} for r in index
    ]
    summary["endpoints"] = dict(sorted(Counter(r["path"] for r in index).items()))
    summary["jwt"] = next((r["jwt"] for r in index if "jwt" in r), None)
    otlp = [r["otlp"] for r in index if "otlp" in r]
    summary["trace_ids"] = sorted({t for o in otlp if o["signal"] == "traces" for t in o["trace_ids"]})
    summary["spans"] = sorted(n for o in otlp if o["signal"] == "traces" for n in o["span_names"])
    summary["log_records"] = [
        {"scope": rec["scope"], "body": rec["body"], "severity": rec["severity"]}
        for o in otlp
        if o["signal"] == "logs"
        for rec in o["records"]
    ]
    summary["recording_parts"] = [
        {k: v for k, v in part.items() if k != "decoded"} for r in index for part in r.get("multipart_parts", [])
    ]
    return summary


def cloud_live(out_dir: Path) -> dict[str, Any]:
    """Not a fixture: a Cloud-mode job sent to a live server (tests/api/test_livekit_runtime.py).
    The caller sets LIVEKIT_OBSERVABILITY_URL, LIVEKIT_API_KEY and LIVEKIT_API_SECRET;
    LKD_SCENARIO names the job (job id AJ_<name>), LKD_TURNS the scripted turns (comma-separated
    keys of VOICE_TURNS), LKD_RECORD the recording options as JSON (default true), and
    LKD_SIMULATION_RUN makes it a simulation's job. Writes session_usage.json, session_report.json
    and the summary."""
    name = os.environ.get("LKD_SCENARIO", "cloud_live")
    turns = os.environ.get("LKD_TURNS", "hello,weather").split(",")
    record = json.loads(os.environ.get("LKD_RECORD", "true"))
    result = cloud_session(name, turns, record=record, simulation_run=os.environ.get("LKD_SIMULATION_RUN") or None)
    write_ground_truth(out_dir, result)
    return base_summary(name, result, None, {})
