"""Dispatcher -> step runner -> coordinator on the embedded runtime, with test processors."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from shared.adapters.clock import FixedClock
from shared.bootstrap.embedded import EmbeddedRuntime
from shared.domain.errors import QuotaExceeded, TemplateError
from shared.domain.messages import StepEvent, StepRequest
from shared.domain.models import Org, Run, StepRun
from shared.domain.states import RunStatus, StepStatus
from shared.handlers.cancel import cancel_run
from shared.handlers.dispatch import RunRequest, dispatch_run
from shared.handlers.run_step import Dropped, run_step
from shared.ports import StateStore
from tests.support.processors import RecordingProcessor
from tests.support.runtime import RuntimeFactory, new_org, run_to_end, stored_run


def _step(step_id: str, *deps: str, **config: Any) -> dict[str, Any]:
    return {
        "step_id": step_id,
        "ps_type": "test.record",
        "depends_on": list(deps),
        "retry": {"max_attempts": 3, "backoff_seconds": 0.01},
        "timeout_seconds": 5,
        "config": config,
    }


def _pipeline(name: str, steps: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "pipeline_id": name,
        "name": name,
        "provider": "subscription",
        "domain": "costs",
        "version": "1.0.0",
        "steps": steps,
    }


PIPELINES = {
    "subscription/costs/diamond": _pipeline(
        "diamond",
        [
            _step("extract"),
            _step("left", "extract"),
            _step("right", "extract"),
            _step("merge", "left", "right"),
        ],
    ),
    "subscription/costs/flaky": _pipeline(
        "flaky", [_step("first", fail_times=2), _step("second", "first")]
    ),
    "subscription/costs/broken": _pipeline(
        "broken",
        [
            _step("ok"),
            _step("bad", "ok", fail_permanently=True),
            _step("after", "bad"),
            _step("sibling", "ok"),
        ],
    ),
    "subscription/costs/slow": _pipeline(
        "slow",
        [
            {
                **_step("sleepy", sleep_seconds=3),
                "timeout_seconds": 1,
                "retry": {"max_attempts": 1, "backoff_seconds": 0},
            },
        ],
    ),
    "subscription/costs/single": _pipeline("single", [_step("only")]),
    "subscription/costs/templated": _pipeline(
        "templated", [_step("uses_vars", label="{{org_dataset}}:${start_date}")]
    ),
    "subscription/costs/bad_template": _pipeline(
        "bad_template", [_step("oops", label="{{no_such_variable}}")]
    ),
}


pytestmark = pytest.mark.pipelines(PIPELINES)


@pytest.fixture(params=["clean", "chaos"])
def runtime(request: pytest.FixtureRequest, runtime_factory: RuntimeFactory) -> EmbeddedRuntime:
    return runtime_factory(chaos=request.param == "chaos")


def _run(rt: EmbeddedRuntime, org: Org, pipeline: str) -> Run:
    days = (date(2026, 10, 1), date(2026, 10, 3))
    return run_to_end(rt, org.org_slug, f"subscription/costs/{pipeline}", *days, seconds=30)


def _concurrent_in_use(rt: EmbeddedRuntime, org: Org) -> int:
    return rt.services.store.quota_usage(org.org_slug, rt.services.clock.now()).concurrent


def test_diamond_runs_in_dependency_order(runtime: EmbeddedRuntime) -> None:
    org, _ = new_org(runtime, "diamond_org")
    run = _run(runtime, org, "diamond")
    assert run.status is RunStatus.COMPLETED
    order = RecordingProcessor.steps_run(run.run_id)
    assert sorted(order) == ["extract", "left", "merge", "right"]  # each exactly once
    assert order[0] == "extract"
    assert order[-1] == "merge"
    assert all(s.status is StepStatus.SUCCEEDED for s in run.steps.values())
    assert _concurrent_in_use(runtime, org) == 0


def test_transient_failures_are_retried_with_backoff(runtime: EmbeddedRuntime) -> None:
    org, _ = new_org(runtime, "flaky_org")
    run = _run(runtime, org, "flaky")
    assert run.status is RunStatus.COMPLETED
    assert run.steps["first"].attempt == 3
    logs = [e.message for e in runtime.services.store.list_logs(org.org_slug, run.run_id)]
    assert sum("retrying in" in m for m in logs) == 2


def test_permanent_failure_skips_dependents_and_fails_run(runtime: EmbeddedRuntime) -> None:
    org, _ = new_org(runtime, "broken_org")
    run = _run(runtime, org, "broken")
    assert run.status is RunStatus.FAILED
    assert "bad failed on purpose" in (run.error or "")
    statuses = {s.step_id: s.status for s in run.steps.values()}
    assert statuses == {
        "ok": StepStatus.SUCCEEDED,
        "bad": StepStatus.FAILED,
        "after": StepStatus.SKIPPED,
        "sibling": StepStatus.SUCCEEDED,
    }
    assert run.steps["bad"].attempt == 1  # not retryable: tried once
    assert _concurrent_in_use(runtime, org) == 0


def test_step_timeout_fails_the_step(runtime: EmbeddedRuntime) -> None:
    org, _ = new_org(runtime, "slow_org")
    run = _run(runtime, org, "slow")
    assert run.status is RunStatus.FAILED
    assert "Pipeline execution timed out after 1s" in (run.steps["sleepy"].error or "")


def test_templates_resolve_before_the_processor_sees_them(runtime: EmbeddedRuntime) -> None:
    org, _ = new_org(runtime, "tmpl_org")
    run = _run(runtime, org, "templated")
    assert run.status is RunStatus.COMPLETED
    labels = [label for rid, _, label in RecordingProcessor.calls if rid == run.run_id]
    assert labels == ["tmpl_org_test:2026-10-01"]


def test_unknown_template_variable_fails_run_in_validation(runtime: EmbeddedRuntime) -> None:
    org, _ = new_org(runtime, "badtmpl_org")
    with pytest.raises(TemplateError, match="no_such_variable"):
        dispatch_run(
            runtime.services,
            org,
            RunRequest(
                org.org_slug,
                "subscription",
                "costs",
                "bad_template",
                date(2026, 10, 1),
                date(2026, 10, 1),
            ),
        )
    [run] = runtime.services.store.list_runs(org.org_slug)
    assert run.status is RunStatus.FAILED
    transitions = [
        t.to_status
        for t in runtime.services.store.list_transitions(org.org_slug, run.run_id)
        if t.step_id is None
    ]
    assert transitions == ["pending", "validating", "failed"]
    assert _concurrent_in_use(runtime, org) == 0


def test_concurrent_limit_refuses_with_429_detail(runtime: EmbeddedRuntime) -> None:
    org, _ = new_org(runtime, "tiny_org", plan="starter")  # concurrent limit 1
    request = RunRequest(
        org.org_slug, "subscription", "costs", "slow", date(2026, 10, 1), date(2026, 10, 1)
    )
    dispatch_run(runtime.services, org, request)
    with pytest.raises(QuotaExceeded) as refused:
        dispatch_run(runtime.services, org, request)
    assert refused.value.http_status == 429
    assert refused.value.details["limit"] == "concurrent"
    assert runtime.bus.drain(30)


def _stored_running_run(
    rt: EmbeddedRuntime, org_slug: str, run_id: str, at: datetime
) -> StateStore:
    """A running run of the one-step pipeline, written straight to the store (no step
    request published): the test plays the runner. Returns the store."""
    new_org(rt, org_slug)
    store = rt.services.store
    run = stored_run(run_id, "subscription/costs/single", ["only"], at, org=org_slug)
    store.create_run(run, at)
    for status in (RunStatus.VALIDATING, RunStatus.RUNNING):
        store.transition_run(org_slug, run_id, status, "dispatched", at)
    return store


def test_a_lease_expiring_just_after_a_refused_claim_still_counts_as_held(
    runtime_factory: RuntimeFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A redelivery refused by a live lease must be redelivered (on Pub/Sub: answered
    500), even when the lease expires before the runner looks at it again; acknowledged,
    the step of a dead runner would be lost (the run hung in CI this way)."""
    t0 = datetime(2026, 10, 5, 12, tzinfo=UTC)
    clock = FixedClock(t0)
    rt = runtime_factory(clock=clock)
    store = _stored_running_run(rt, "leases", "run-lease", t0)
    # A runner claimed attempt 1 and died: its lease runs out 10 s later.
    assert store.claim_step_attempt("run-lease", "only", 1, t0 + timedelta(seconds=10), t0)
    request = StepRequest("run-lease", "leases", "only", 1)

    clock.set(t0 + timedelta(seconds=9.9))
    claim = store.claim_step_attempt

    def claim_then_time_passes(*args: Any, **kwargs: Any) -> StepRun | None:
        claimed = claim(*args, **kwargs)
        clock.advance(1)  # the lease expires while the refusal comes back
        return claimed

    monkeypatch.setattr(store, "claim_step_attempt", claim_then_time_passes)
    assert run_step(rt.services, request) is Dropped.LEASE_HELD
    monkeypatch.undo()

    # The redelivery after the lease expired reclaims the attempt and runs it.
    event = run_step(rt.services, request)
    assert isinstance(event, StepEvent)
    assert event.succeeded, event
    assert rt.bus.drain(30)
    assert run_step(rt.services, request) is Dropped.RUN_FINISHED


def test_a_step_claimed_while_the_run_is_cancelled_ends_cancelled(
    runtime_factory: RuntimeFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cancel reads the step pending; a runner claims it before cancel moves it: the
    refused pending -> skipped is retried as running -> cancelled, so the step's late
    outcome is ignored (it used to stay running and then record "succeeded")."""
    t0 = datetime(2026, 10, 5, 12, tzinfo=UTC)
    rt = runtime_factory()
    store = _stored_running_run(rt, "racing", "run-race", t0)
    transition = store.transition_step
    claimed: list[StepRun | None] = []

    def runner_claims_first(*args: Any, **kwargs: Any) -> bool:
        if not claimed:
            lease = rt.services.clock.now() + timedelta(seconds=60)
            claimed.append(
                store.claim_step_attempt("run-race", "only", 1, lease, rt.services.clock.now())
            )
        return bool(transition(*args, **kwargs))

    monkeypatch.setattr(store, "transition_step", runner_claims_first)
    cancel_run(rt.services, "racing", "run-race", reason="not needed")
    monkeypatch.undo()

    [claim] = claimed
    assert claim is not None  # the runner did get the step first
    assert store.get_steps("run-race")["only"].status is StepStatus.CANCELLED
    # The runner's late success is ignored.
    finished = store.finish_step_attempt(
        "run-race", "only", 1, StepStatus.SUCCEEDED, rt.services.clock.now()
    )
    assert store.get_steps("run-race")["only"].status is StepStatus.CANCELLED, finished
