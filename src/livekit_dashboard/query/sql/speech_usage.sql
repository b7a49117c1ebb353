-- panel: speech_usage
-- TTS requests, characters and audio seconds (from TTS request spans) and STT audio seconds (from livekit-agents' usage counters) per service with any in the range; unattributed_stt_s is STT counted by sessions without a job (no job or room id), which no call's usage record can hold.
-- params: start DateTime64(9, 'UTC'), end DateTime64(9, 'UTC'), services Array(String), languages Array(String), simulated String
-- returns: service String, tts_requests UInt64, tts_characters UInt64, tts_audio_s Float64, stt_audio_s Float64, unattributed_stt_s Float64
SELECT
    service,
    toUInt64(sum(tts_requests)) AS tts_requests,
    toUInt64(sum(tts_characters)) AS tts_characters,
    sum(tts_audio_s) AS tts_audio_s,
    sum(stt_s) AS stt_audio_s,
    sum(unattributed_s) AS unattributed_stt_s
FROM (
    SELECT
        ServiceName AS service, countIf(IsRequest = 1) AS tts_requests, sum(TtsCharacters) AS tts_characters,
        sum(TtsAudioS) AS tts_audio_s, 0 AS stt_s, 0 AS unattributed_s
    FROM lk_requests
    WHERE Stage = 'tts'
        AND {{in_range}}
        AND {{service_language}}
    GROUP BY service
    UNION ALL
    -- a counter series (one per attributes and start time: a reset starts a new one) adds its increase in
    -- the range: delta points their sum, cumulative points the last value minus the last before the range
    SELECT
        service, 0, 0, 0,
        sum(increase) AS stt_s,
        sumIf(increase, NOT attributed) AS unattributed_s
    FROM (
        SELECT
            ServiceName AS service,
            Attributes['job_id'] != '' OR Attributes['room_id'] != '' AS attributed,
            if(AggregationTemporality = 2,
                argMaxIf(Value, TimeUnix, TimeUnix < {end:DateTime64(9, 'UTC')})
                    - argMaxIf(Value, TimeUnix, TimeUnix < {start:DateTime64(9, 'UTC')}),
                sumIf(Value, TimeUnix >= {start:DateTime64(9, 'UTC')} AND TimeUnix < {end:DateTime64(9, 'UTC')})
            ) AS increase
        FROM otel_metrics_sum
        WHERE MetricName = 'lk.agents.usage.stt_audio_duration'
            AND TimeUnix >= {start:DateTime64(9, 'UTC')} - INTERVAL 1 DAY AND TimeUnix < {end:DateTime64(9, 'UTC')}
            AND (empty({services:Array(String)}) OR ServiceName IN {services:Array(String)})
            AND (empty({languages:Array(String)}) OR ResourceAttributes['telemetry.sdk.language'] IN {languages:Array(String)})
        GROUP BY ServiceName, Attributes, StartTimeUnix, AggregationTemporality
    )
    GROUP BY service
)
GROUP BY service
-- a service with nothing in the range has no row (a counter whose last point before the range is its last
-- point in it adds 0: the lookback finds it, but it counted nothing here)
HAVING tts_requests != 0 OR tts_characters != 0 OR tts_audio_s != 0 OR stt_audio_s != 0 OR unattributed_stt_s != 0
ORDER BY service
