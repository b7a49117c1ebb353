"""Runs one worker job in a process of its own (OpenTelemetry providers are process-global) and
writes what the framework counted: a real livekit-agents AgentSession, offline, with the fake
providers of scripts/record_livekit_fakes.py inside `fake_job_context()`.

    python tests/agents/helper_session.py worker <module.py> <out.json>
        executes the worker module's code as the worker would import it (so setup code at module level
        runs before any job, as in a worker process), then runs one job through its `entrypoint`:
        its `AgentSession(...)` is the offline session (scripted microphone and speaker instead of a
        room) and its `Assistant` the scenarios' agent (it has the get_weather tool the scripted LLM
        calls); then what the job process does at the end (session end, shutdown callbacks).
    python tests/agents/helper_session.py cloud <out.json>
        one job in LiveKit-Cloud mode, recording on: the environment (LIVEKIT_OBSERVABILITY_URL,
        LIVEKIT_API_KEY, LIVEKIT_API_SECRET) is all the configuration.

The output: {"usage": session.usage as model_dump()s, "report": SessionReport.to_dict(), "ids": {...}}.
The test-side helpers (`run`, `snippet`) are below; they import nothing of livekit-agents.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts"
DOCS = ROOT / "docs"
TURNS = ["hello", "weather"]  # two short turns (the second calls a tool, which logs a line)
DOCS_ENDPOINT = "http://127.0.0.1:4318"


# --------------------------------------------------------------------------------------------
# the test side


def snippet(name: str) -> str:
    """The fenced block after `<!-- snippet: name -->` in docs/connect.md."""
    text = (DOCS / "connect.md").read_text()
    found = re.findall(rf"<!-- snippet: {re.escape(name)} -->\n```\w+\n(.*?)```", text, re.DOTALL)
    assert len(found) == 1, f"docs/connect.md has {len(found)} snippets named {name!r}"
    return str(found[0])


def run(out_dir: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 180) -> dict[str, Any]:
    """Run this script in a new process; its output JSON. The environment is the test's without any
    LiveKit or OpenTelemetry variable (the worker's configuration is only what the test gives)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("LIVEKIT_", "OTEL_"))}
    out = out_dir / "session.json"
    done = subprocess.run(
        [sys.executable, __file__, *args, str(out)],
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, f"the worker failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-6000:]}"
    result: dict[str, Any] = json.loads(out.read_text())
    result["stderr"] = done.stderr
    return result


def usage_totals(usage: list[dict[str, Any]]) -> dict[str, Any]:
    """The framework's session.usage as the dashboard's usage fields (a pipeline LLM's tokens are text)."""
    totals: dict[str, Any] = {
        "llm_input_text_tokens": 0,
        "llm_input_cached_text_tokens": 0,
        "llm_output_text_tokens": 0,
        "tts_characters": 0,
        "tts_audio_duration": 0.0,
        "stt_audio_duration": 0.0,
    }
    for u in usage:
        if u["type"] == "llm_usage":
            totals["llm_input_text_tokens"] += u["input_tokens"]
            totals["llm_input_cached_text_tokens"] += u["input_cached_tokens"]
            totals["llm_output_text_tokens"] += u["output_tokens"]
        elif u["type"] == "tts_usage":
            totals["tts_characters"] += u["characters_count"]
            totals["tts_audio_duration"] += u["audio_duration"]
        elif u["type"] == "stt_usage":
            totals["stt_audio_duration"] += u["audio_duration"]
    return totals


# --------------------------------------------------------------------------------------------
# the worker side (runs in the subprocess)


def _scripts(name: str) -> Any:
    sys.path.insert(0, str(SCRIPTS))
    return importlib.import_module(name)


def _write(out: Path, result: Any) -> None:
    out.write_text(json.dumps({"usage": result.usage, "report": result.report, "ids": result.ids}, default=str))


async def _job(ctx: Any, module: dict[str, Any], scen: Any) -> Any:
    session, mic, fakes, turns = scen.voice_session(TURNS, tts_failure=False)
    start = session.start

    async def offline_start(agent: Any, **options: Any) -> Any:
        # a fake job has no room connection: the scripted microphone and speaker are the session's I/O
        options.pop("room", None)
        return await start(agent, **options)

    session.start = offline_start
    module["AgentSession"] = lambda *args, **kwargs: session
    module["Assistant"] = scen.make_agent
    await module["entrypoint"](ctx)
    await scen.speak_turns(session, mic, turns, None)
    mic.close()
    await session.aclose()
    # what the job process does after the entrypoint (ipc/job_proc_lazy_main.py): the session's end
    # (which records the lk.agents.turn.* histograms), then the shutdown callbacks
    await ctx._on_session_end()
    for callback in list(ctx._shutdown_callbacks):
        await callback("job finished")
    return scen.session_result(ctx, session, fakes)


def worker(module_path: Path, out: Path) -> None:
    import asyncio
    import logging

    scen = _scripts("record_livekit_session")
    logging.getLogger().setLevel(logging.INFO)  # the worker CLI's default --log-level
    module: dict[str, Any] = {"__name__": "agent_under_test", "__file__": str(module_path)}
    exec(compile(module_path.read_text(), str(module_path), "exec"), module)  # the worker's import
    with scen.fake_job(module_path.stem, dispatched=True) as ctx:
        result = asyncio.run(_job(ctx, module, scen))
    _write(out, result)


def cloud(out: Path) -> None:
    scen = _scripts("record_livekit_cloud")
    result = scen.cloud_session("connect_docs_environment", TURNS, record=True)
    _write(out, result)


if __name__ == "__main__":
    if sys.argv[1] == "worker":
        worker(Path(sys.argv[2]), Path(sys.argv[3]))
    elif sys.argv[1] == "cloud":
        cloud(Path(sys.argv[2]))
    else:
        raise SystemExit(f"unknown mode {sys.argv[1]!r}")
