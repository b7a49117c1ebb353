-- fragment: call_lines
-- A call's cost lines (usage and cost per model and purpose) from lk_call_records (aliased r), for the call page (query/calls.py cost_lines reads them).
-- params: (none)
line_keys, line_purpose, line_usage, line_cost_usd, line_priced, line_source
