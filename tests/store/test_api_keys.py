"""The key store: keys are shown once and stored hashed, verify in memory, revoke at once, and the
bootstrap key replaces its predecessor."""

from __future__ import annotations

import pytest

from livekit_dashboard.domain.roles import Role
from livekit_dashboard.store import Engine, KeyStore, is_generated_key


def test_create_verify_revoke(engine: Engine) -> None:
    keys = KeyStore(engine)
    record, plaintext = keys.create("worker", "ingest")
    assert is_generated_key(plaintext)
    assert record.role is Role.INGEST
    assert keys.verify(plaintext) == record
    assert keys.verify(plaintext + "x") is None
    assert keys.verify("lkd_" + record.key_id + "_" + "A" * 32) is None
    stored = engine.query("SELECT SecretHash FROM livekit_dashboard_api_keys")
    assert plaintext not in str(stored)
    keys.revoke(record.key_id)
    assert keys.verify(plaintext) is None
    # another store on the same storage (another process) sees the revocation after a reload
    assert KeyStore(engine).verify(plaintext) is None


@pytest.mark.parametrize(("name", "role", "message"), [("n", "root", "role must be one of"), ("", "viewer", "name")])
def test_bad_keys_are_refused(engine: Engine, name: str, role: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        KeyStore(engine).create(name, role)


def test_bootstrap_key(engine: Engine) -> None:
    keys = KeyStore(engine)
    first = "a-long-bootstrap-key-0001"
    keys.ensure_bootstrap(first)
    assert keys.verify(first) is not None
    assert not is_generated_key(first)
    keys.ensure_bootstrap("a-long-bootstrap-key-0002")
    assert keys.verify(first) is None, "a new bootstrap key replaces the old one"
    with pytest.raises(ValueError, match="at least 16"):
        keys.ensure_bootstrap("short")


def test_last_use_is_recorded_in_batches(engine: Engine) -> None:
    keys = KeyStore(engine)
    _record, plaintext = keys.create("viewer", "viewer")
    keys.verify(plaintext)
    assert engine.query("SELECT max(LastUsedAt) IS NULL AS unset FROM livekit_dashboard_api_keys FINAL") == [
        {"unset": 1}
    ]
    keys.flush_usage()
    assert KeyStore(engine).list()[0].last_used_at_ms is not None
