"""Prices: unit prices measured with voice-prices' own calculation, the matching rule, versioned and
user prices, and precise errors for a price that is not one."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from voice_prices import data_snapshot
from voice_prices import types as vp

from livekit_dashboard.domain.prices import (
    ModelKey,
    PriceError,
    parse_override,
    resolve,
)
from livekit_dashboard.query.prices import read_prices_file

counts = st.integers(min_value=0, max_value=50_000)


@settings(max_examples=60, deadline=None)
@given(text=counts, audio=counts, cached_text=counts, cached_audio=counts, out_text=counts, out_audio=counts)
def test_unit_prices_add_up_to_the_packages_own_price(
    text: int, audio: int, cached_text: int, cached_audio: int, out_text: int, out_audio: int
) -> None:
    """The ten unit prices are linear: any mix of usage costs what the package says it costs."""
    (period,) = resolve(ModelKey("realtime", "openai", "gpt-realtime"))
    _, model = data_snapshot.get_snapshot().find_provider_model("gpt-realtime", None, "openai", None)
    usage = vp.Usage(
        input_tokens=text + audio + cached_text + cached_audio,
        input_audio_tokens=audio + cached_audio,
        cache_read_tokens=cached_text + cached_audio,
        cache_audio_read_tokens=cached_audio,
        output_tokens=out_text + out_audio,
        output_audio_tokens=out_audio,
    )
    package = model.get_prices(dt.datetime.now(dt.UTC)).calc_price(usage)["total_price"]
    u = {c: v or 0.0 for c, v in period.usd_per_unit.items()}
    assert all(period.usd_per_unit[c] is not None for c in ("input_text", "input_audio", "output_audio"))
    ours = (
        text * u["input_text"]
        + audio * u["input_audio"]
        + cached_text * u["cached_text"]
        + cached_audio * u["cached_audio"]
        + out_text * u["output_text"]
        + out_audio * u["output_audio"]
    )
    assert ours == pytest.approx(float(package), rel=1e-9, abs=1e-12)


def test_matching_rule() -> None:
    def ref(stage: str, provider: str, model: str) -> str | None:
        periods = resolve(ModelKey(stage, provider, model))
        return periods[-1].reference if periods else None

    # a dated model name is the catalogue's model; the provider picks the catalogue
    assert ref("llm", "openai", "gpt-4o-mini-2024-07-18") == "openai/gpt-4o-mini"
    # canonical provider names the catalogue spells differently
    assert ref("llm", "google", "gemini-2.5-flash") == "google/gemini-2.5-flash"
    # LiveKit Inference's vendor/model names
    assert ref("stt", "livekit", "deepgram/nova-3") == "livekit/deepgram/nova-3"
    # a provider the catalogue does not know: by the model name alone
    assert ref("llm", "my-proxy", "gpt-4o-mini") == "openai/gpt-4o-mini"
    # nothing matches, or the match has no rate for what the stage bills: unpriced
    assert ref("llm", "acme", "acme-llm") is None
    assert ref("tts", "openai", "gpt-4o-mini-tts") is None  # priced per token, TTS bills characters
    assert ref("llm", "", "") is None


def test_tts_bills_one_unit() -> None:
    (period,) = resolve(ModelKey("tts", "cartesia", "sonic-2"))
    assert period.usd_per_unit["tts_characters"] == pytest.approx(5e-5)
    assert period.usd_per_unit["tts_seconds"] == 0.0  # covered by the per-character price
    assert period.usd_per_unit["stt_seconds"] is None


def test_user_prices_replace_from_their_date() -> None:
    key = ModelKey("llm", "openai", "gpt-4o-mini")
    later = parse_override(
        {"provider": "openai", "model": "GPT-4o-mini", "effective_from": "2026-11-01", "input_mtok": 0.12}, source="api"
    )
    periods = resolve(key, [later])
    assert [p.source for p in periods] == ["catalogue", "api"]
    assert periods[1].effective_from == dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    assert periods[1].usd_per_unit["input_text"] == pytest.approx(0.12e-6)
    assert periods[1].usd_per_unit["cached_text"] == pytest.approx(0.12e-6)  # no cache rate: bills as input
    assert periods[1].usd_per_unit["output_text"] is None  # no output rate: unpriced
    always = parse_override({"provider": "openai", "model": "gpt-4o-mini", "output_mtok": 1}, source="file")
    assert [p.source for p in resolve(key, [always, later])] == ["file", "api"]
    # another provider's model of the same name is not affected
    assert [p.source for p in resolve(ModelKey("llm", "azure", "gpt-4o-mini"), [later])] == ["catalogue"]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"provider": "x", "input_mtok": 1}, "needs the model"),
        ({"model": "m"}, "at least one of"),
        ({"model": "m", "input_mtok": -1}, "zero or more"),
        ({"model": "m", "input_mtok": "cheap"}, "number of US dollars"),
        ({"model": "m", "input_mtok": True}, "number of US dollars"),
        ({"model": "m", "input_mtok": float("nan")}, "zero or more"),
        ({"model": "m", "per_token": 1}, "unknown price fields: per_token"),
        ({"model": "m", "input_mtok": 1, "effective_from": "last week"}, "effective_from"),
    ],
)
def test_a_price_that_is_not_one_is_refused_precisely(raw: dict[str, object], message: str) -> None:
    with pytest.raises(PriceError, match=message):
        parse_override(raw, source="api")


def test_prices_file(tmp_path: Path) -> None:
    good = tmp_path / "prices.toml"
    good.write_text('[[price]]\nprovider = "acme"\nmodel = "a"\neffective_from = 2026-11-01\ninput_mtok = 1\n')
    (price,) = read_prices_file(good)
    assert (price.model, price.effective_from.date(), price.source) == ("a", dt.date(2026, 11, 1), "file")
    bad = tmp_path / "bad.toml"
    bad.write_text('[[price]]\nmodel = "a"\ninput_mtok = 1\n[[price]]\nmodel = "b"\noutput_mtok = -2\n')
    with pytest.raises(PriceError, match=r"bad.toml: price #2: output_mtok must be zero or more"):
        read_prices_file(bad)
    with pytest.raises(PriceError, match="cannot read prices file"):
        read_prices_file(tmp_path / "missing.toml")
    (tmp_path / "broken.toml").write_text("[[price]\n")
    with pytest.raises(PriceError, match="cannot read prices file"):
        read_prices_file(tmp_path / "broken.toml")
