"""The key inbox between `keys create` and a running server: a record handed in travels without its
secret, is stored once, and answered; a record not claimed can be withdrawn, a claimed one cannot; a
key store takes only records new_key() could have made."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from livekit_dashboard.domain.roles import Role
from livekit_dashboard.store import Engine, KeyInbox, KeyStore, new_key


def test_a_handed_in_key_is_stored_and_answered(tmp_path: Path, engine: Engine) -> None:
    inbox = KeyInbox(tmp_path, "otel")
    record, plaintext = new_key("first admin", "super-admin")
    inbox.post(record)
    files = list(inbox.root.iterdir())
    assert [f.name for f in files] == [f"{record.key_id}.key"]
    assert plaintext not in files[0].read_text()  # only the hash travels
    assert inbox.outcome(record.key_id) is None  # not answered yet

    keys = KeyStore(engine)
    claimed = inbox.claim()
    assert claimed == [record]
    assert inbox.claim() == []  # claimed once
    assert not inbox.withdraw(record.key_id)  # too late to take it back
    keys.add(claimed[0])
    inbox.answer(record.key_id)
    assert inbox.outcome(record.key_id) == (True, "")
    assert inbox.outcome(record.key_id) is None  # read once
    assert list(inbox.root.iterdir()) == []
    found = keys.verify(plaintext)
    assert found is not None
    assert found.role is Role.SUPER_ADMIN
    assert KeyStore(engine).verify(plaintext) is not None  # stored, not only in memory


def test_a_withdrawn_key_is_never_claimed(tmp_path: Path) -> None:
    inbox = KeyInbox(tmp_path, "otel")
    record, _ = new_key("worker", "ingest")
    inbox.post(record)
    assert inbox.withdraw(record.key_id)
    assert inbox.claim() == []


def test_failures_are_answered_with_why(tmp_path: Path, engine: Engine) -> None:
    inbox = KeyInbox(tmp_path, "otel")
    inbox.root.mkdir(parents=True)
    (inbox.root / "0123456789.key").write_text("not json")
    assert inbox.claim() == []
    answer = inbox.outcome("0123456789")
    assert answer is not None
    assert answer[0] is False
    assert "unreadable key record" in answer[1]
    # a record whose id is taken already is refused by the store
    keys = KeyStore(engine)
    record, _ = keys.create("worker", "viewer")
    with pytest.raises(ValueError, match="exists already"):
        keys.add(record)


@pytest.mark.parametrize(
    "change",
    [
        {"key_id": "bootstrap"},  # the bootstrap key is the environment's, not a handed-in one
        {"secret_hash": "abc"},
        {"name": " "},
        {"revoked_at_ms": 1},
    ],
)
def test_the_store_takes_only_records_new_key_makes(engine: Engine, change: dict[str, object]) -> None:
    record, _ = new_key("worker", "viewer")
    with pytest.raises(ValueError, match="new_key"):
        KeyStore(engine).add(dataclasses.replace(record, **change))  # type: ignore[arg-type]
