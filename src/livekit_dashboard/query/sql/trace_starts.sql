-- query: trace_starts
-- These traces in the order their first span started: a bulk settle round (a migration, an import, a restart's backlog) settles them in chunks of neighbouring times, so each chunk looks its rows up in a short window instead of the whole retention. Traces with no stored span are not listed.
-- params: traces Array(String)
-- returns: t String
SELECT TraceId AS t
FROM otel_traces_trace_id_ts
WHERE TraceId IN {traces:Array(String)}
GROUP BY TraceId
ORDER BY min(Start), t
