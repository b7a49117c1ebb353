-- query: call_records_compact
-- Merge the settled call records into one version per call (after a bulk settle round), so reads with FINAL have nothing left to merge.
-- params: (none)
-- returns: nothing
OPTIMIZE TABLE lk_call_records FINAL
