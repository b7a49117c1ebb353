-- Outcomes and evaluations (livekit-agents 1.8): what the agent's tagger said about the call
-- (`ctx.tagger.success/fail(reason)`, tags) and the LLM judges' verdicts, which the framework logs at
-- session end through its `evaluations` logger (records `outcome`, `tag`, `evaluation`; sent with
-- LIVEKIT_OBSERVABILITY_URL). Settled onto the call: outcome (success, fail or ''), its reason, the
-- tags, and the verdicts as name:verdict.

ALTER TABLE lk_call_records {{on_cluster}}
    ADD COLUMN IF NOT EXISTS outcome LowCardinality(String),
    ADD COLUMN IF NOT EXISTS outcome_reason String,
    ADD COLUMN IF NOT EXISTS tags Array(String),
    ADD COLUMN IF NOT EXISTS evaluations Array(String);

-- evaluation records touch their call too (not only ERROR logs), so a call is settled again with them
DROP VIEW IF EXISTS lk_call_touch_logs_mv {{on_cluster}};
CREATE MATERIALIZED VIEW IF NOT EXISTS lk_call_touch_logs_mv {{on_cluster}} TO lk_call_touch AS
SELECT now64(3) AS TouchedAt, TraceId, '' AS CallId FROM otel_logs
WHERE TraceId != '' AND (SeverityNumber >= 17 OR ScopeName = 'evaluations')
GROUP BY TraceId;

-- calls whose evaluation records are already stored are settled again by the first round
INSERT INTO lk_call_touch (TouchedAt, TraceId, CallId)
SELECT now64(3) AS TouchedAt, TraceId, '' AS CallId FROM otel_logs
WHERE ScopeName = 'evaluations' AND TraceId != ''
GROUP BY TraceId;
