-- fragment: error_group
-- An error record's group key (16 hex characters): records with the same kind, service, stage,
-- provider, model, error type and message pattern (ids and numbers in the message replaced) are one
-- root cause. error_groups lists the groups; error_records?group=<key> their occurrences.
-- params: (none)
lower(hex(cityHash64(Kind, ServiceName, Stage, Provider, Model, ErrorType, {{error_pattern}})))
