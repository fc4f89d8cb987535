"""The CredentialStore contract: every adapter must pass this same suite.

To run it against another adapter, add one entry to STORE_FACTORIES.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from shared.adapters.firestore.credentials import FirestoreCredentialStore
from shared.adapters.sqlite.credentials import SqliteCredentialStore
from shared.adapters.sqlite.state import SqliteStateStore
from shared.domain.errors import BadRequest
from shared.ports import CredentialStore
from tests.support.contract import adapters
from tests.support.emulators import firestore_client

StoreFactory = Callable[[Path], CredentialStore]

STORE_FACTORIES: dict[str, StoreFactory] = {
    "sqlite": lambda tmp: SqliteCredentialStore(tmp / "state.db"),
    "firestore": lambda tmp: FirestoreCredentialStore(firestore_client()),
}

T0 = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)

store = adapters(STORE_FACTORIES, "tmp_path")


def test_put_then_get_returns_ciphertext_and_metadata(store: CredentialStore) -> None:
    store.put("acme", "openai", "openai_1", b"\x01sealed", {"base_url": "http://x"}, T0)
    got = store.get("acme", "openai")
    assert got is not None
    assert got.ciphertext == b"\x01sealed"
    assert got.info.credential_id == "openai_1"
    assert dict(got.info.metadata) == {"base_url": "http://x"}
    assert got.info.created_at == got.info.updated_at == T0
    assert store.get("acme", "anthropic") is None


def test_reads_are_scoped_to_the_org(store: CredentialStore) -> None:
    store.put("acme", "openai", "openai_1", b"a", {}, T0)
    store.put("globex", "openai", "openai_2", b"g", {}, T0)
    acme, globex = store.get("acme", "openai"), store.get("globex", "openai")
    assert acme is not None
    assert acme.ciphertext == b"a"
    assert globex is not None
    assert globex.ciphertext == b"g"
    assert [c.org_slug for c in store.list("acme")] == ["acme"]
    assert store.get("initech", "openai") is None
    assert store.list("initech") == []


def test_put_again_replaces_and_keeps_created_at(store: CredentialStore) -> None:
    store.put("acme", "openai", "openai_1", b"old", {"base_url": "http://a"}, T0)
    later = T0 + timedelta(hours=1)
    store.put("acme", "openai", "openai_1", b"new", {}, later)
    got = store.get("acme", "openai")
    assert got is not None
    assert got.ciphertext == b"new"
    assert dict(got.info.metadata) == {}
    assert (got.info.created_at, got.info.updated_at) == (T0, later)


def test_list_is_sorted_and_carries_no_secret(store: CredentialStore) -> None:
    store.put("acme", "openai", "openai_1", b"s1", {}, T0)
    store.put("acme", "anthropic", "anthropic_1", b"s2", {"base_url": "http://b"}, T0)
    listed = store.list("acme")
    assert [c.provider for c in listed] == ["anthropic", "openai"]
    for info in listed:
        assert not hasattr(info, "ciphertext")
        assert b"s1" not in repr(info).encode()
        assert b"s2" not in repr(info).encode()


def test_delete_is_scoped_and_reports_absence(store: CredentialStore) -> None:
    store.put("acme", "openai", "openai_1", b"a", {}, T0)
    store.put("globex", "openai", "openai_2", b"g", {}, T0)
    assert store.delete("acme", "openai") is True
    assert store.delete("acme", "openai") is False
    assert store.get("acme", "openai") is None
    assert store.get("globex", "openai") is not None


def test_invalid_names_are_refused(store: CredentialStore) -> None:
    with pytest.raises(BadRequest):
        store.put("Bad Org!", "openai", "x", b"a", {}, T0)
    with pytest.raises(BadRequest):
        store.put("acme", "Open AI", "x", b"a", {}, T0)


def test_shares_the_state_database(tmp_path: Path) -> None:
    # The state store and the credential store live in one file, side by side.
    SqliteStateStore(tmp_path / "state.db").close()
    store = SqliteCredentialStore(tmp_path / "state.db")
    store.put("acme", "openai", "openai_1", b"a", {}, T0)
    assert SqliteCredentialStore(tmp_path / "state.db").get("acme", "openai") is not None
