-- query: error_records_compact
-- Merge the settled error records into one version per record (after a bulk settle round, which writes a part per day per chunk), so reads with FINAL have nothing left to merge.
-- params: (none)
-- returns: nothing
OPTIMIZE TABLE lk_error_records FINAL
