"""Plain data and pure functions shared by every layer; no I/O here."""
