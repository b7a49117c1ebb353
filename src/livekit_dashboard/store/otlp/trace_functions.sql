-- The functions the engine's decode of OTLP trace requests uses (ingest/trace_requests.py): pdata's
-- AsString of an AnyValue (ingest/attributes.py) re-stated over the columns a value is read into (a
-- scalar's fields and `value`, which of them is set). Functions are global to the embedded engine: created
-- (or replaced) with every start, each statement on its own.

-- a double as ECMAScript writes it: ClickHouse writes the same shortest digits, but "1e21" for "1e+21"
CREATE OR REPLACE FUNCTION lkd_otlp_double AS (x) -> multiIf(
    isNaN(x), 'NaN',
    isInfinite(x), if(x > 0, '+Inf', '-Inf'),
    replaceOne(toString(x), 'e', if(abs(x) >= 1, 'e+', 'e')));

-- a scalar value as a map stores it
CREATE OR REPLACE FUNCTION lkd_otlp_scalar AS (v) -> multiIf(
    v.value = 'string_value', v.string_value,
    v.value = 'int_value', toString(v.int_value),
    v.value = 'bool_value', if(v.bool_value, 'true', 'false'),
    v.value = 'double_value', lkd_otlp_double(v.double_value),
    v.value = 'bytes_value', base64Encode(v.bytes_value),
    '');

-- an array's element as Go's JSON writes it (forward slashes unescaped: see the insert's settings)
CREATE OR REPLACE FUNCTION lkd_otlp_json AS (v) -> multiIf(
    v.value = 'string_value', toJSONString(v.string_value),
    v.value = 'int_value', toString(v.int_value),
    v.value = 'bool_value', if(v.bool_value, 'true', 'false'),
    v.value = 'double_value', lkd_otlp_double(v.double_value),
    v.value = 'bytes_value', toJSONString(base64Encode(v.bytes_value)),
    'null');

-- any value the decode takes (lkd_otlp_plain): an array as JSON, "" when it holds a NaN or an infinity
-- (JSON has none: pdata's AsString gives "")
CREATE OR REPLACE FUNCTION lkd_otlp_value AS (v) -> if(
    v.value = 'array_value',
    if(
        arrayExists(e -> e.value = 'double_value' AND NOT isFinite(e.double_value), v.array_value.values),
        '',
        concat('[', arrayStringConcat(arrayMap(e -> lkd_otlp_json(e), v.array_value.values), ','), ']')),
    lkd_otlp_scalar(v));

CREATE OR REPLACE FUNCTION lkd_otlp_map AS (attributes) -> mapFromArrays(
    arrayMap(kv -> kv.key, attributes),
    arrayMap(kv -> lkd_otlp_value(kv.value), attributes));

-- whether lkd_otlp_map renders these attributes as the Python decode does: no key twice (there the last
-- wins), no key-value list, no array in an array, none of the control characters whose JSON escape
-- toJSONString writes in capitals (\u000B) in an array's string (a batch with any is decoded in Python)
CREATE OR REPLACE FUNCTION lkd_otlp_plain AS (attributes) ->
    length(arrayDistinct(arrayMap(kv -> kv.key, attributes))) = length(attributes)
    AND arrayAll(
        kv -> kv.value.value != 'kvlist_value' AND (
            kv.value.value != 'array_value'
            OR arrayAll(
                e -> e.value NOT IN ('array_value', 'kvlist_value') AND NOT match(e.string_value, '[\\x0b\\x0e\\x0f\\x1a-\\x1f]'),
                kv.value.array_value.values)),
        attributes);

-- whether a span's own values (its resource's apart) are all plain
CREATE OR REPLACE FUNCTION lkd_otlp_span_plain AS (s) ->
    lkd_otlp_plain(s.attributes)
    AND arrayAll(e -> lkd_otlp_plain(e.attributes), s.events)
    AND arrayAll(l -> lkd_otlp_plain(l.attributes), s.links);

-- a span ingest/spans.py's invalid_span accepts
CREATE OR REPLACE FUNCTION lkd_otlp_valid AS (s) ->
    length(s.trace_id) = 16 AND s.trace_id != repeat('\0', 16)
    AND length(s.span_id) = 8 AND s.span_id != repeat('\0', 8)
    AND length(s.parent_span_id) IN (0, 8)
    AND s.start_time_unix_nano <= 9223372036854775807 AND s.end_time_unix_nano <= 9223372036854775807
    AND s.name != '';

-- a trace or span id as the Collector stores it (ingest/spans.py's id_hex): lowercase hex, "" when all zero
CREATE OR REPLACE FUNCTION lkd_otlp_id AS (raw) -> if(raw = repeat('\0', length(raw)), '', lower(hex(raw)));
