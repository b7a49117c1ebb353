"""A short run of the atheris fuzz target (fuzz/fuzz_decode.py) seeded with the recorded LiveKit bodies;
the long run is the same command with more -runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).parent.parent.parent


def test_fuzz_target_short_run(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for signal, name in enumerate(("traces", "logs", "metrics")):
        body = (ROOT / "tests" / "fixtures" / "livekit" / f"{name}.pb").read_bytes()
        (corpus / name).write_bytes(bytes([signal, 0, 0]) + body)
    result = subprocess.run(
        [sys.executable, str(ROOT / "fuzz" / "fuzz_decode.py"), str(corpus), "-runs=20000", "-max_total_time=120"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Done 20000 runs" in result.stderr
    assert not list(tmp_path.glob("crash-*"))
