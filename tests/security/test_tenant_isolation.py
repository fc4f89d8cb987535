"""Tenant isolation matrix: every route of the HTTP API x every method.

The routes come from the API's Flask app (shared/entrypoints/http/routes.py), so a route added
there gets a case here at once, and fails until it is classified in ACCESS and given a
positive call in OWN_CALLS. For each case org A's key goes at org B's resources (B's org in
the path, and B's ids under A's own org) and must be refused (401/403/404, 405 for a method
not served) with nothing of B's in the answer; then A's key on A's own resources must work,
so a refusal means something.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from shared.bootstrap.embedded import EmbeddedRuntime
from shared.domain.focus import COST_TABLE, COST_TABLE_COLUMNS
from shared.handlers import backfill, scheduler
from shared.handlers.credentials import set_credential
from tests.support.focus_rows import good_row
from tests.support.http import Answer, api_rules, call_api, endpoint_name
from tests.support.receivers import smtp_server
from tests.support.runtime import (
    make_runtime,
    new_org,
    record_pipeline,
    with_notifications,
    write_configs,
)

pytestmark = pytest.mark.warehouse

A, B = "iso_acme", "iso_globex"
ROOT_KEY = "root-key-isolation-matrix"
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
DAY = "2026-10-01"

PIPELINES: dict[str, dict[str, Any]] = {
    "subscription/costs/quick": record_pipeline("quick"),
    "subscription/costs/broken": record_pipeline("broken", "boom", {"fail_permanently": 1}),
}

# Who may call each endpoint:
#   public  - no org data at all (health, OpenAPI, the pipeline catalog);
#   org     - the org is in the path and the key must be that org's;
#   key     - no org in the path: the key's own org is the scope;
#   admin   - the operator's root key (X-CA-Root-Key) only; an org key is 401.
ACCESS: dict[str, str] = {
    "health": "public",
    "openapi": "public",
    "catalog": "public",
    "run": "org",
    "status": "org",
    "history": "org",
    "logs": "org",
    "log_steps": "org",
    "log_transitions": "org",
    "log_download": "org",
    "focus_export": "org",
    "cancel": "org",
    "backfill": "org",
    "backfill_progress": "org",
    "validate": "org",
    "notify_settings": "org",
    "notify_settings_update": "org",
    "notify_deliveries": "org",
    "notify_test": "org",
    "runs": "key",
    "run_detail": "key",
    "quota_job": "admin",
    "schedules": "admin",
    "schedule_create": "admin",
    "schedule": "admin",
    "schedule_update": "admin",
    "scheduler_queue": "admin",
    "scheduler_trigger": "admin",
    "process_queue": "admin",
    "notify_summary": "admin",
    "procedures": "admin",
    "procedures_sync": "admin",
    "migration_execute": "admin",
}


@dataclass
class Tenant:
    slug: str
    key: str
    run_ok: str = ""
    run_failed: str = ""
    backfill_id: str = ""
    schedule_id: str = ""
    credential_id: str = ""
    email: str = ""

    def markers(self) -> set[str]:
        """Values only this tenant's data contains."""
        return {
            self.slug,
            self.key,
            self.run_ok,
            self.run_failed,
            self.backfill_id,
            self.schedule_id,
            self.credential_id,
            self.email,
            f"secret-{self.slug}-provider-key",
        }


@dataclass(frozen=True)
class Call:
    """A's positive call on its own resources: query, body and the expected status."""

    status: int
    body: Callable[[Tenant], dict[str, Any]] | None = None
    query: Callable[[Tenant], dict[str, str]] | None = None
    shows_own: bool = True  # the answer names one of A's own values
    cross_org: bool = False  # an operator job over every org: its answer may name B


OWN_CALLS: dict[str, Call] = {
    "health": Call(200, shows_own=False),
    "openapi": Call(200, shows_own=False),
    "catalog": Call(200, shows_own=False),
    "run": Call(202, body=lambda t: {"date": DAY}, shows_own=False),  # a new run id
    "status": Call(200),
    "history": Call(200),
    "logs": Call(200),
    "log_steps": Call(200),
    "log_transitions": Call(200),
    "log_download": Call(200),
    "focus_export": Call(200),
    "cancel": Call(409),  # A's run is found (not 404) but has finished
    "backfill": Call(202, body=lambda t: {"start_date": "2026-08-01", "end_date": "2026-08-01"}),
    "backfill_progress": Call(200),
    "validate": Call(
        200, body=lambda t: {"pipeline": "subscription/costs/quick", "date": DAY}, shows_own=False
    ),
    "notify_settings": Call(200),
    "notify_settings_update": Call(200, body=lambda t: {"email": {"to": [t.email]}}),
    "notify_deliveries": Call(200),
    "notify_test": Call(200),
    "runs": Call(200),
    "run_detail": Call(200),
    "quota_job": Call(200, shows_own=False, cross_org=True),
    "schedules": Call(200, query=lambda t: {"org": t.slug}),
    "schedule_create": Call(
        201,
        body=lambda t: {
            "org_slug": t.slug,
            "pipeline": "subscription/costs/broken",
            "cron": "0 4 * * *",
        },
    ),
    "schedule": Call(200),
    "schedule_update": Call(200, body=lambda t: {"enabled": True}),
    "scheduler_queue": Call(200, shows_own=False, cross_org=True),
    "scheduler_trigger": Call(200, body=lambda t: {"schedule_id": t.schedule_id}),
    "process_queue": Call(200, shows_own=False, cross_org=True),
    "notify_summary": Call(200, shows_own=False, cross_org=True),
    "procedures": Call(200, query=lambda t: {"org": t.slug}, shows_own=False),
    # the root key passes (400 on the empty body, not 401) without syncing every procedure
    # into A's dataset, seconds of emulator work the query-scope suite already covers
    "procedures_sync": Call(400, body=lambda t: {}, shows_own=False),
    # no migration ships yet: the operator's dry run names the unknown one (404)
    "migration_execute": Call(404, body=lambda t: {"org": t.slug}, shows_own=False),
}


def _path_args(tenant: Tenant) -> dict[str, str]:
    """A value for every path variable a route may take, pointing at ``tenant``'s data."""
    return {
        "org": tenant.slug,
        "run_id": tenant.run_ok,
        "backfill_id": tenant.backfill_id,
        "schedule_id": tenant.schedule_id,
        "provider": "subscription",
        "domain": "costs",
        "pipeline": "quick",
        "job": "reset-stale",
        "period": "day",
        "name": "no_such_migration",
    }


def _endpoints_by_path() -> dict[str, dict[str, str]]:
    """rule path -> {method: endpoint} (one path may be served by several rules)."""
    served: dict[str, dict[str, str]] = {}
    for rule in api_rules():
        for method in rule.methods or ():
            served.setdefault(rule.rule, {})[method] = endpoint_name(rule)
    return served


def _cases() -> list[tuple[str, str]]:
    return sorted((path, method) for path in _endpoints_by_path() for method in METHODS)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, session_warehouse: Any) -> Iterator[World]:
    root = tmp_path_factory.mktemp("isolation")
    with smtp_server() as (_, port), pytest.MonkeyPatch.context() as mp:
        mp.setenv("PIPELINES_ROOT_KEY", ROOT_KEY)
        configs = with_notifications(write_configs(root, PIPELINES), port)
        with make_runtime(root / "home", configs, warehouse=session_warehouse) as rt:
            world = World(rt, _seed(rt, A), _seed(rt, B))
            assert rt.bus.drain(30)
            world.b_before = _snapshot(rt, world.b)
            yield world


class World:
    def __init__(self, runtime: EmbeddedRuntime, a: Tenant, b: Tenant) -> None:
        self.runtime, self.a, self.b = runtime, a, b
        self.b_before: dict[str, Any] = {}

    def call(
        self,
        method: str,
        path: str,
        *,
        key: str | None = None,
        root: bool = False,
        body: dict[str, Any] | None = None,
        query: dict[str, str] | None = None,
    ) -> Answer:
        headers = {"x-api-key": key} if key else {}
        if root:
            headers["x-ca-root-key"] = ROOT_KEY
        raw = json.dumps(body).encode() if body is not None else b""
        return call_api(self.runtime.services, method, path, headers, query, raw)


def _seed(rt: EmbeddedRuntime, slug: str) -> Tenant:
    """One org with real runs (completed and failed), logs, a credential, a backfill,
    a schedule, notification settings and deliveries, all made through the handlers."""
    _, key = new_org(rt, slug)
    tenant = Tenant(slug, key, email=f"ops-{slug}@tenant.test")
    world = World(rt, tenant, tenant)
    tenant.credential_id = set_credential(
        rt.services, slug, "openai", f"secret-{slug}-provider-key"
    ).credential_id

    def post(path: str, body: dict[str, Any], expect: int, *, root: bool = False) -> Any:
        response = world.call("POST", path, key=None if root else key, root=root, body=body)
        assert response.status == expect, response.body
        return response.body

    base = f"/api/v1/pipelines/run/{slug}/subscription/costs"
    tenant.run_ok = post(f"{base}/quick", {"date": DAY}, 202)["run_id"]
    tenant.run_failed = post(f"{base}/broken", {"date": DAY}, 202)["run_id"]
    assert rt.bus.drain(30)
    assert (
        world.call(
            "PUT",
            f"/api/v1/notifications/{slug}/settings",
            key=key,
            body={"email": {"to": [tenant.email]}},
        ).status
        == 200
    )
    post(f"/api/v1/notifications/{slug}/test", {}, 200)
    backfill = post(
        f"/api/v1/pipelines/backfill/{slug}/subscription/costs/quick",
        {"start_date": "2026-09-01", "end_date": "2026-09-02"},
        202,
    )
    tenant.backfill_id = backfill["backfill_id"]
    schedule = post(
        "/api/v1/scheduler/schedules",
        {"org_slug": slug, "pipeline": "subscription/costs/quick", "cron": "0 3 * * *"},
        201,
        root=True,
    )
    tenant.schedule_id = schedule["schedule_id"]
    # FOCUS rows of the tenant's own (the export route reads them), marked by its run id
    dataset = rt.settings.org_dataset(slug)
    rt.warehouse.ensure_dataset(dataset)
    rt.warehouse.ensure_table(dataset, COST_TABLE, COST_TABLE_COLUMNS)
    focus_row = good_row(slug, x_run_id=tenant.run_ok)
    rt.warehouse.load_rows(dataset, COST_TABLE, COST_TABLE_COLUMNS, [focus_row], replace=True)
    return tenant


def _path(rule: str, args: dict[str, str]) -> str:
    path = rule
    for part in rule.split("<")[1:]:
        name = part.split(">", 1)[0].split(":")[-1]
        assert name in args, f"path variable <{name}> of {rule} has no value in _path_args"
        path = path.replace(f"<{part.split('>', 1)[0]}>", args[name])
    return path


def _endpoint(rule: str, method: str) -> str | None:
    """The endpoint serving ``method`` on ``rule``; None if the method is not served."""
    return _endpoints_by_path()[rule].get(method)


def _any_endpoint(rule: str) -> str:
    return next(iter(_endpoints_by_path()[rule].values()))


def test_every_route_is_classified() -> None:
    endpoints = {endpoint_name(rule) for rule in api_rules()}
    assert endpoints == set(ACCESS), "classify new routes in ACCESS (and remove stale ones)"
    assert endpoints == set(OWN_CALLS), "give new routes a positive call in OWN_CALLS"
    assert set(ACCESS.values()) <= {"public", "org", "key", "admin"}


@pytest.mark.parametrize(("rule", "method"), _cases())
def test_org_a_cannot_reach_org_b(world: World, rule: str, method: str) -> None:
    served = _endpoint(rule, method)
    endpoint = served or _any_endpoint(rule)  # an unserved method: bodies of a sibling
    assert endpoint in ACCESS, f"route {rule} ({endpoint}) is not classified"
    a, b = world.a, world.b
    b_args = _path_args(b)
    # B's ids under B's org, and B's ids under A's own org (a key of A naming B's run)
    attempts = [_path(rule, b_args)]
    if "<org>" in rule and ("<run_id>" in rule or "<backfill_id>" in rule):
        attempts.append(_path(rule, {**b_args, "org": a.slug}))
    call = OWN_CALLS[endpoint]
    for path in attempts:
        body = call.body(b) if call.body else None
        query = call.query(b) if call.query else None
        response = world.call(method, path, key=a.key, body=body, query=query)
        sent = path + json.dumps(body) + json.dumps(query)
        leaked = {m for m in b.markers() if m and m not in sent and m in response.text()}
        assert not leaked, f"{method} {path} with A's key shows B's {leaked}"
        if not served:
            assert response.status == 405, (path, response.body)
        elif ACCESS[endpoint] == "public":
            assert response.status == 200, (path, response.body)
        elif ACCESS[endpoint] == "key" and "<" not in rule:  # a listing of the key's own org
            assert response.status == 200, (path, response.body)
            assert {r["org_slug"] for r in response.body["runs"]} == {a.slug}
        else:
            assert response.status in (401, 403, 404), (path, response.status, response.body)


@pytest.mark.parametrize(("rule", "method"), [c for c in _cases() if _endpoint(*c)])
def test_org_a_reaches_its_own(world: World, rule: str, method: str) -> None:
    endpoint = _endpoint(rule, method)
    assert endpoint in ACCESS, f"route {rule} ({endpoint}) is not classified"
    a, b = world.a, world.b
    call = OWN_CALLS[endpoint]
    path = _path(rule, _path_args(a))
    admin = ACCESS[endpoint] == "admin"
    body = call.body(a) if call.body else None
    query = call.query(a) if call.query else None
    if admin:  # A's org key is not enough; the root key is
        refused = world.call(method, path, key=a.key, body=body, query=query)
        assert refused.status == 401, refused.body
    response = world.call(
        method, path, key=None if admin else a.key, root=admin, body=body, query=query
    )
    assert response.status == call.status, (path, response.body)
    text = response.text()
    if call.shows_own:
        assert any(m in text for m in a.markers() if m), (path, text[:300])
    if not call.cross_org:
        sent = path + json.dumps(body) + json.dumps(query)
        leaked = {m for m in b.markers() if m and m not in sent and m in text}
        assert not leaked, f"{method} {path} for A shows B's {leaked}"


def _snapshot(rt: EmbeddedRuntime, tenant: Tenant) -> dict[str, Any]:
    """Everything of ``tenant`` that a refused write could have changed."""
    services, slug = rt.services, tenant.slug
    schedule = scheduler.get_schedule(services, tenant.schedule_id).to_public()
    return {
        "runs": sorted((r.run_id, r.status.value) for r in services.store.list_runs(slug)),
        "settings": rt.notifier.store.get_org_settings(slug),
        "deliveries": len(rt.notifier.store.list_deliveries(slug, limit=500)),
        "schedule": {k: v for k, v in schedule.items() if k != "next_fire_at"},
        "backfill": backfill.progress(services, slug, tenant.backfill_id).to_public(),
        "credentials": [c.credential_id for c in services.credentials.list(slug)],
    }


def test_zz_b_is_unchanged_after_the_matrix(world: World) -> None:
    """Runs last (file order): no refused call changed any of B's data."""
    assert world.b_before["runs"], "B was seeded with runs"
    assert _snapshot(world.runtime, world.b) == world.b_before
