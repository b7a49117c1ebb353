-- fragment: error_pattern
-- An error message with what varies between occurrences of one cause replaced: long hex ids and UUIDs
-- by <id>, numbers by <n> (first 300 characters).
-- params: (none)
replaceRegexpAll(replaceRegexpAll(left(Message, 300), '[0-9a-fA-F]{8}(-?[0-9a-fA-F]{4}){3}-?[0-9a-fA-F]{12}|[0-9a-fA-F]{16,}|\\b[A-Za-z]+_[A-Za-z0-9]{8,}\\b', '<id>'), '\\d+(\\.\\d+)?', '<n>')
