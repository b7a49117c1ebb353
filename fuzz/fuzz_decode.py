"""Coverage-guided fuzzing (atheris / libFuzzer) of the OTLP decoders: gunzip, protobuf and OTLP/JSON
parsing, and conversion to rows. Any exception other than DecodeError is a crash.

    python fuzz/fuzz_decode.py -runs=200000            # a long run
    python fuzz/fuzz_decode.py -max_total_time=60      # a minute
    python fuzz/fuzz_decode.py CORPUS_DIR -runs=5000   # start from recorded bodies (see tests)

libFuzzer writes a crashing input to crash-<hash> in the working directory.
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports():
    from livekit_dashboard.ingest.decode import DecodeError, Encoding, Signal, decompress, parse_request
    from livekit_dashboard.ingest.logs import prepare_logs
    from livekit_dashboard.ingest.metrics import prepare_metrics
    from livekit_dashboard.ingest.spans import prepare_spans

SIGNALS = list(Signal)
PREPARE = {Signal.TRACES: prepare_spans, Signal.LOGS: prepare_logs, Signal.METRICS: prepare_metrics}
LIMIT = 1 << 20


def test_one_input(data: bytes) -> None:
    provider = atheris.FuzzedDataProvider(data)
    signal = SIGNALS[provider.ConsumeIntInRange(0, 2)]
    encoding = Encoding.JSON if provider.ConsumeBool() else Encoding.PROTOBUF
    gzipped = provider.ConsumeBool()
    body = provider.ConsumeBytes(provider.remaining_bytes())
    try:
        raw = decompress(body, "gzip" if gzipped else None, LIMIT)
        PREPARE[signal](parse_request(signal, encoding, raw))
    except DecodeError as err:
        if err.status not in (400, 413):
            raise


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
