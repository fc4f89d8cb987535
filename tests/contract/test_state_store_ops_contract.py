"""StateStore contract additions used by operations: keyset paging and maintenance reads.

Same adapters and fixtures as test_state_store_contract.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shared.domain.models import Run
from shared.ports import StateStore
from tests.contract import test_state_store_contract as base
from tests.contract.test_state_store_contract import ROOMY, T0, make_org, make_run

# The base suite's fixtures: every adapter in its STORE_FACTORIES runs these tests too.
clock = base.clock
store = base.store


def _ids(runs: list[Run]) -> list[str]:
    return [r.run_id for r in runs]


def test_keyset_cursor_pages_runs_sharing_a_created_at(store: StateStore) -> None:
    # Five runs in the same microsecond: a created_at-only cursor would lose some.
    for i in range(5):
        store.create_run(make_run(f"r{i}"), T0)
    store.create_run(make_run("later", created_at=T0 + timedelta(seconds=1)), T0)
    seen: list[str] = []
    cursor: tuple[datetime, str] | None = None
    while True:
        page = store.list_runs(
            "acme",
            limit=2,
            before=cursor[0] if cursor else None,
            before_run_id=cursor[1] if cursor else None,
        )
        seen += _ids(page)
        if len(page) < 2:
            break
        cursor = (page[-1].created_at, page[-1].run_id)
    assert seen == ["later", "r4", "r3", "r2", "r1", "r0"]


def test_list_orgs_is_sorted_by_slug(store: StateStore) -> None:
    for slug in ("globex", "acme"):
        store.create_org(make_org(slug))
    assert [o.org_slug for o in store.list_orgs()] == ["acme", "globex"]


def test_active_reservations_and_purge(store: StateStore) -> None:
    store.create_org(make_org())
    old = datetime(2026, 1, 20, tzinfo=UTC)
    store.reserve_quota("acme", "old", ROOMY, old)
    store.reserve_quota("acme", "held", ROOMY, old)
    store.reserve_quota("acme", "now", ROOMY, T0)
    assert store.release_concurrent("acme", "old")
    assert [(o, r) for o, r, _ in store.active_reservations()] == [
        ("acme", "held"),
        ("acme", "now"),
    ]
    assert store.active_reservations()[0][2] == old
    # Only released rows of earlier months go; a held slot is never purged.
    assert store.purge_reservations("2026-03") == 1
    assert store.purge_reservations("2026-03") == 0  # idempotent
    assert store.quota_usage("acme", old).monthly == 1  # "held" still counted
    assert store.quota_usage("acme", T0).monthly == 1
