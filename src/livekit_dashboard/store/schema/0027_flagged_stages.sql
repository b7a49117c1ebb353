-- note: every stored call settles again in the background after start, about 1.3 s per thousand calls on 2 cores
-- A call's flagged_latencies counts every latency the flag rule left out (docs/panels.md, latency flag
-- rule): its stages' (end of turn, transcription, on_user_turn_completed, LLM time to first token, TTS
-- time to first byte) as well as its response latencies', which were all it counted before; and its
-- response_p50_s is the median halfway between the two middle values of an even count (it was the upper
-- one). The calls settled before this migration settle again in the first round, so every record counts
-- alike.
INSERT INTO lk_call_touch (TouchedAt, TraceId, CallId)
SELECT now64(3) AS TouchedAt, trace_id, call_id FROM lk_call_records FINAL;
