-- Cost: each settled call keeps its usage split per model (lines) and what it cost, priced with the
-- prices in force when the call started (query/prices.py resolves them; domain/prices.py says how).
-- A line is one model's usage on the call, for one purpose: 'call' (production), 'judge' (an
-- evaluation judge's LLM calls) or 'probe' (a fallback adapter's recovery probe); only 'call' lines
-- add up to cost_usd, the others to cost_excluded_usd. line_usage holds, per line, the usage
-- components in domain/prices.py's COMPONENTS order: uncached input text/audio tokens, cached
-- text/audio tokens, cache-write tokens, output text/audio tokens, TTS characters, TTS seconds, STT
-- seconds. A line's cost is sum(usage x USD per unit); usage no price covers is left out of it and the
-- line is marked unpriced (line_priced = 0, its stage|provider|model in unpriced_models): never $0.

ALTER TABLE lk_call_records {{on_cluster}}
    ADD COLUMN IF NOT EXISTS line_keys Array(String),
    ADD COLUMN IF NOT EXISTS line_purpose Array(LowCardinality(String)),
    ADD COLUMN IF NOT EXISTS line_usage Array(Array(Float64)),
    ADD COLUMN IF NOT EXISTS line_cost_usd Array(Float64),
    ADD COLUMN IF NOT EXISTS line_priced Array(UInt8),
    ADD COLUMN IF NOT EXISTS line_source Array(LowCardinality(String)),
    ADD COLUMN IF NOT EXISTS cost_usd Float64,
    ADD COLUMN IF NOT EXISTS cost_items Array(Float64),
    ADD COLUMN IF NOT EXISTS cost_llm_usd Float64,
    ADD COLUMN IF NOT EXISTS cost_realtime_usd Float64,
    ADD COLUMN IF NOT EXISTS cost_tts_usd Float64,
    ADD COLUMN IF NOT EXISTS cost_stt_usd Float64,
    ADD COLUMN IF NOT EXISTS cost_excluded_usd Float64,
    ADD COLUMN IF NOT EXISTS unpriced_models Array(String);

-- The prices users set themselves (the admin API; a prices file is read at start and not stored):
-- one row per provider, model and effective date, the newest write wins, Deleted = 1 removes it.
-- Prices in voice-prices' field names and units (USD per million tokens, per thousand characters or
-- seconds); NULL where the price has no such meter.
-- retention: none (prices are kept until deleted)
CREATE TABLE IF NOT EXISTS lk_price_overrides {{on_cluster}} (
    Provider String,
    Model String,
    EffectiveFrom DateTime64(3, 'UTC'),
    Prices Map(String, Float64),
    Note String,
    Deleted UInt8,
    WrittenAt DateTime64(3, 'UTC')
) ENGINE = {{replacing_engine}}(WrittenAt)
ORDER BY (Provider, Model, EffectiveFrom);

-- What the settled calls were last priced with (the catalogue's version and the prices file): when it
-- differs at start, every call is priced again. One row; the newest write wins.
-- retention: none (one row)
CREATE TABLE IF NOT EXISTS lk_price_state {{on_cluster}} (
    Fingerprint String,
    WrittenAt DateTime64(3, 'UTC')
) ENGINE = {{replacing_engine}}(WrittenAt)
ORDER BY tuple();

-- calls settled before this migration are settled again (with their lines and cost) by the first round
INSERT INTO lk_call_touch (TouchedAt, TraceId, CallId) SELECT now64(3) AS TouchedAt, trace_id, call_id FROM lk_call_records FINAL;
