"""Dispatch, coordinate and cancel on the in-memory fakes (tests/support/fakes.py).

The handlers' decisions without a runtime: what a dispatch refuses and publishes, how
step outcomes advance the DAG and finish the run, what cancel closes, and that
redelivered messages change nothing. The test plays the step runner (it claims the
published attempts itself), so every step is explicit and each test takes milliseconds.
The fakes pass the StateStore and MessageBus contract suites (tests/contract/).
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest

from shared.adapters.clock import FixedClock
from shared.config.catalog import PipelineCatalog
from shared.domain.errors import Conflict, Forbidden, NotFound, QuotaExceeded, TemplateError
from shared.domain.messages import StepEvent, StepRequest
from shared.domain.models import Org, Run
from shared.domain.notifications import EventType
from shared.domain.quota import QuotaLimits, SubscriptionStatus
from shared.domain.states import RunStatus, StepStatus
from shared.handlers.cancel import cancel_run
from shared.handlers.coordinate import coordinate
from shared.handlers.dispatch import RunRequest, dispatch_run
from shared.handlers.services import Services
from shared.processors import PROCESSORS
from tests.support.fakes import FakeStateStore, RecordingBus, RecordingEvents, fake_services
from tests.support.runtime import record_pipeline, write_configs

T0 = datetime(2026, 10, 5, 12, tzinfo=UTC)
DAY = date(2026, 10, 1)
ROOMY = QuotaLimits(daily=100, monthly=1000, concurrent=10)


def _step(step_id: str, *deps: str, **config: Any) -> dict[str, Any]:
    return {
        "step_id": step_id,
        "ps_type": "test.record",
        "depends_on": list(deps),
        "config": config,
    }


def _pipeline(name: str, steps: list[dict[str, Any]]) -> dict[str, Any]:
    return {**record_pipeline(name), "steps": steps}


DIAMOND = {"extract": (), "left": ("extract",), "right": ("extract",), "merge": ("left", "right")}
PIPELINES = {
    "subscription/costs/diamond": _pipeline(
        "diamond", [_step(step, *deps) for step, deps in DIAMOND.items()]
    ),
    "subscription/costs/single": _pipeline(
        "single", [{**_step("only"), "retry": {"max_attempts": 3, "backoff_seconds": 2}}]
    ),
    "subscription/costs/bad_template": _pipeline(
        "bad_template", [_step("oops", label="{{no_such_variable}}")]
    ),
}


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> PipelineCatalog:
    configs = write_configs(tmp_path_factory.mktemp("logic"), PIPELINES)
    return PipelineCatalog(configs, ps_types=PROCESSORS.keys())


@pytest.fixture
def services(catalog: PipelineCatalog, tmp_path: Path) -> Services:
    return fake_services(catalog, FixedClock(T0), tmp_path)


def _store(services: Services) -> FakeStateStore:
    return cast(FakeStateStore, services.store)


def _bus(services: Services) -> RecordingBus:
    return cast(RecordingBus, services.bus)


def _events(services: Services) -> list[EventType]:
    return [e.event for e in cast(RecordingEvents, services.events).events]


def _org(
    services: Services,
    slug: str = "acme",
    limits: QuotaLimits = ROOMY,
    status: SubscriptionStatus = SubscriptionStatus.ACTIVE,
) -> Org:
    org = Org(slug, slug.title(), status, "scale", limits, "sha256:unused", T0)
    services.store.create_org(org)
    return org


def _dispatch(services: Services, org: Org, pipeline: str, **request: Any) -> Run:
    run_request = RunRequest(org.org_slug, "subscription", "costs", pipeline, DAY, DAY, **request)
    return dispatch_run(services, org, run_request)


def _started(services: Services, pipeline: str) -> tuple[Org, Run, list[StepRequest]]:
    """Org acme's run of ``pipeline``, dispatched: the org, the run, what it published."""
    org = _org(services)
    run = _dispatch(services, org, pipeline)
    return org, run, _taken(services)


def _claim(services: Services, request: StepRequest) -> bool:
    """The runner's claim of a published attempt (its lease: a minute)."""
    now = services.clock.now()
    lease = now + timedelta(minutes=1)
    claimed = services.store.claim_step_attempt(
        request.run_id, request.step_id, request.attempt, lease, now
    )
    return claimed is not None


def _outcome(
    request: StepRequest, *, error: str | None = None, retryable: bool = False
) -> StepEvent:
    succeeded = error is None
    return StepEvent(
        **dataclasses.asdict(request),
        succeeded=succeeded,
        error=error,
        retryable=retryable,
        rows_written=1 if succeeded else 0,
    )


def _run_step(services: Services, request: StepRequest, **outcome: Any) -> StepEvent:
    """Claim ``request``, report its outcome to the coordinator; the event it handled."""
    assert _claim(services, request), request
    event = _outcome(request, **outcome)
    coordinate(services, event)
    return event


def _taken(services: Services) -> list[StepRequest]:
    """The step requests published since the last look (dispatch and coordinate publish
    nothing else)."""
    requests = _bus(services).take()
    assert all(isinstance(m, StepRequest) for m in requests), requests
    return cast(list[StepRequest], requests)


def _published(services: Services) -> list[tuple[str, int]]:
    """(step, attempt) of every StepRequest published since the last look."""
    return [(m.step_id, m.attempt) for m in _taken(services)]


def _statuses(services: Services, run: Run) -> dict[str, StepStatus]:
    return services.store.step_statuses(run.run_id)


def _run_status(services: Services, run: Run) -> RunStatus:
    current = services.store.get_run(run.org_slug, run.run_id, with_steps=False)
    assert current is not None
    return current.status


def _concurrent(services: Services, org: Org) -> int:
    return services.store.quota_usage(org.org_slug, services.clock.now()).concurrent


# -- dispatch ------------------------------------------------------------------------------


def test_dispatch_starts_the_run_and_publishes_only_the_steps_without_dependencies(
    services: Services,
) -> None:
    org = _org(services)
    run = _dispatch(services, org, "diamond")
    assert run.status is RunStatus.RUNNING
    assert _published(services) == [("extract", 1)]
    assert set(_statuses(services, run).values()) == {StepStatus.PENDING}
    moves = [
        (t.from_status, t.to_status) for t in services.store.list_transitions("acme", run.run_id)
    ]
    assert moves == [(None, "pending"), ("pending", "validating"), ("validating", "running")]
    assert _concurrent(services, org) == 1
    assert _events(services) == [EventType.PIPELINE_STARTED]


def test_dispatch_refuses_past_the_concurrent_limit_and_takes_nothing(services: Services) -> None:
    org = _org(services, limits=QuotaLimits(daily=100, monthly=1000, concurrent=1))
    first = _dispatch(services, org, "single")
    _published(services)
    with pytest.raises(QuotaExceeded) as refused:
        _dispatch(services, org, "single")
    details = refused.value.details
    assert (details["limit"], details["allowed"], details["used"]) == ("concurrent", 1, 1)
    assert _published(services) == []  # nothing for the refused run
    assert [r.run_id for r in services.store.list_runs("acme")] == [first.run_id]
    usage = services.store.quota_usage("acme", T0)
    assert (usage.concurrent, usage.daily, usage.monthly) == (1, 1, 1)

    _run_step(services, StepRequest(first.run_id, "acme", "only", 1))  # frees the slot
    assert _run_status(services, first) is RunStatus.COMPLETED
    assert _dispatch(services, org, "single").status is RunStatus.RUNNING


def test_dispatch_refuses_past_the_daily_limit(services: Services) -> None:
    org = _org(services, limits=QuotaLimits(daily=2, monthly=1000, concurrent=10))
    for _ in range(2):
        _dispatch(services, org, "single")
    with pytest.raises(QuotaExceeded) as refused:
        _dispatch(services, org, "single")
    assert (refused.value.details["limit"], refused.value.details["used"]) == ("daily", 2)
    assert len(services.store.list_runs("acme")) == 2


def test_an_org_without_an_active_subscription_is_forbidden_and_takes_no_quota(
    services: Services,
) -> None:
    org = _org(services, status=SubscriptionStatus.SUSPENDED)
    with pytest.raises(Forbidden):
        _dispatch(services, org, "single")
    assert services.store.quota_usage("acme", T0).daily == 0
    assert services.store.list_runs("acme") == []
    assert _bus(services).published == []


def test_a_template_error_fails_the_run_before_start_and_frees_its_slot(
    services: Services,
) -> None:
    org = _org(services)
    with pytest.raises(TemplateError):
        _dispatch(services, org, "bad_template")
    [run] = services.store.list_runs("acme")
    assert run.status is RunStatus.FAILED
    assert run.error is not None
    assert "no_such_variable" in run.error
    assert _statuses(services, run) == {"oops": StepStatus.SKIPPED}
    assert _concurrent(services, org) == 0
    assert _published(services) == []
    assert _events(services) == [EventType.PIPELINE_FAILURE]


def test_a_redelivered_run_request_returns_the_same_run(services: Services) -> None:
    org = _org(services)
    first = _dispatch(services, org, "single", run_id="pubsub-run-1")
    again = _dispatch(services, org, "single", run_id="pubsub-run-1")
    assert again.run_id == first.run_id == "pubsub-run-1"
    assert again.status is RunStatus.RUNNING
    assert _published(services) == [("only", 1)]  # published once
    assert services.store.quota_usage("acme", T0).daily == 1


# -- coordinate ----------------------------------------------------------------------------


def test_depends_on_advances_the_dag_and_the_last_step_completes_the_run(
    services: Services,
) -> None:
    org = _org(services)
    run = _dispatch(services, org, "diamond")
    extract = StepRequest(run.run_id, "acme", "extract", 1)
    assert _published(services) == [("extract", 1)]

    _run_step(services, extract)
    assert _published(services) == [("left", 1), ("right", 1)]  # both, at once
    _run_step(services, dataclasses.replace(extract, step_id="left"))
    assert _published(services) == []  # merge still waits for right
    assert _statuses(services, run)["merge"] is StepStatus.PENDING
    _run_step(services, dataclasses.replace(extract, step_id="right"))
    assert _published(services) == [("merge", 1)]
    assert _run_status(services, run) is RunStatus.RUNNING

    _run_step(services, dataclasses.replace(extract, step_id="merge"))
    assert _published(services) == []
    assert _run_status(services, run) is RunStatus.COMPLETED
    assert set(_statuses(services, run).values()) == {StepStatus.SUCCEEDED}
    assert _concurrent(services, org) == 0
    assert _events(services) == [EventType.PIPELINE_STARTED, EventType.PIPELINE_SUCCESS]


def test_a_retryable_failure_is_retried_with_backoff_then_fails_the_run(
    services: Services,
) -> None:
    org, run, [attempt] = _started(services, "single")
    published = _bus(services).published
    mark = len(published)
    for number in (1, 2, 3):  # max_attempts 3
        failed = dataclasses.replace(attempt, attempt=number)
        _run_step(services, failed, error="HTTP 503", retryable=True)
        if number < 3:
            assert _statuses(services, run)["only"] is StepStatus.RUNNING
    retries = [(p.message.attempt, p.delay_seconds) for p in published[mark:]]
    assert retries == [(2, 2.0), (3, 4.0)]  # backoff 2 s, doubling; no attempt 4
    assert _run_status(services, run) is RunStatus.FAILED
    assert _statuses(services, run) == {"only": StepStatus.FAILED}
    warnings = [e.message for e in services.store.list_logs("acme", run.run_id)]
    assert warnings == [
        "attempt 1 failed, retrying in 2 s: HTTP 503",
        "attempt 2 failed, retrying in 4 s: HTTP 503",
    ]
    assert _concurrent(services, org) == 0
    assert _events(services)[-2:] == [EventType.STEP_FAILURE, EventType.PIPELINE_FAILURE]


def test_a_failed_step_skips_everything_downstream_and_fails_the_run(
    services: Services,
) -> None:
    org, run, [extract] = _started(services, "diamond")
    _run_step(services, extract, error="HTTP 403")
    assert _published(services) == []
    assert _statuses(services, run) == {
        "extract": StepStatus.FAILED,
        "left": StepStatus.SKIPPED,
        "right": StepStatus.SKIPPED,
        "merge": StepStatus.SKIPPED,
    }
    failed = services.store.get_run("acme", run.run_id)
    assert failed is not None
    assert failed.status is RunStatus.FAILED
    assert failed.error == "test.record: HTTP 403"
    assert _concurrent(services, org) == 0


def test_redelivered_events_of_a_finished_run_change_nothing(services: Services) -> None:
    org = _org(services)
    run = _dispatch(services, org, "diamond")
    events = []
    while requests := _taken(services):
        events += [_run_step(services, r) for r in requests]
    assert _run_status(services, run) is RunStatus.COMPLETED
    history = services.store.list_transitions("acme", run.run_id)

    for event in events:  # every event delivered again
        coordinate(services, event)

    assert services.store.list_transitions("acme", run.run_id) == history
    assert _taken(services) == []
    assert _concurrent(services, org) == 0
    assert _events(services).count(EventType.PIPELINE_SUCCESS) == 1


def test_a_duplicate_event_mid_run_republishes_only_pending_steps_and_copies_are_refused(
    services: Services,
) -> None:
    org, run, [extract] = _started(services, "diamond")
    event = _run_step(services, extract)
    first = _taken(services)
    assert [r.step_id for r in first] == ["left", "right"]

    coordinate(services, event)  # the extract event again, before any runner took them
    copies = _taken(services)
    assert copies == first  # at least once: the still-pending steps go out again
    assert all(_claim(services, r) for r in first)
    assert not any(_claim(services, r) for r in copies)  # refused: a live lease holds each

    coordinate(services, event)  # and again, now that they run
    assert _taken(services) == []
    assert _statuses(services, run)["extract"] is StepStatus.SUCCEEDED
    assert _run_status(services, run) is RunStatus.RUNNING
    assert _concurrent(services, org) == 1


def test_a_redelivered_event_finishes_what_a_dead_coordinator_recorded(
    services: Services,
) -> None:
    """The first coordinator recorded the outcome and died before publishing."""
    _, run, [extract] = _started(services, "diamond")
    assert _claim(services, extract)
    store = services.store
    assert store.finish_step_attempt(run.run_id, "extract", 1, StepStatus.SUCCEEDED, T0)
    assert _taken(services) == []

    coordinate(services, _outcome(extract))  # the redelivery

    assert _published(services) == [("left", 1), ("right", 1)]
    assert _statuses(services, run)["extract"] is StepStatus.SUCCEEDED


def test_an_event_for_an_unknown_run_is_dropped(services: Services) -> None:
    _org(services)
    coordinate(services, _outcome(StepRequest("no-such-run", "acme", "only", 1)))
    assert _bus(services).published == []


# -- cancel --------------------------------------------------------------------------------


def test_cancel_of_a_running_run_closes_every_step_and_ignores_the_late_outcome(
    services: Services,
) -> None:
    org, run, [extract] = _started(services, "diamond")
    assert _claim(services, extract)  # extract is running

    cancelled = cancel_run(services, "acme", run.run_id, reason="wrong window")

    assert cancelled.status is RunStatus.CANCELLED
    assert {s: step.status for s, step in cancelled.steps.items()} == {
        "extract": StepStatus.CANCELLED,
        "left": StepStatus.SKIPPED,
        "right": StepStatus.SKIPPED,
        "merge": StepStatus.SKIPPED,
    }
    assert _concurrent(services, org) == 0
    last = services.store.list_transitions("acme", run.run_id)[-1]
    assert last.reason == "cancelled: wrong window"

    coordinate(services, _outcome(extract))  # the runner's late success
    assert _statuses(services, run)["extract"] is StepStatus.CANCELLED
    assert _run_status(services, run) is RunStatus.CANCELLED
    assert _taken(services) == []  # nothing starts after a cancel
    assert not _claim(services, StepRequest(run.run_id, "acme", "left", 1))


def test_cancel_before_any_step_ran_skips_them_all(services: Services) -> None:
    org = _org(services)
    run = _dispatch(services, org, "diamond")
    cancel_run(services, "acme", run.run_id, reason="not needed")
    assert set(_statuses(services, run).values()) == {StepStatus.SKIPPED}
    [extract] = _taken(services)
    assert not _claim(services, extract)  # the published request arrives too late
    assert _concurrent(services, org) == 0


def test_cancel_refuses_a_finished_run_and_another_orgs_run(services: Services) -> None:
    org = _org(services)
    _org(services, "globex")
    run = _dispatch(services, org, "single")
    with pytest.raises(NotFound):
        cancel_run(services, "globex", run.run_id, reason="not mine")
    assert _run_status(services, run) is RunStatus.RUNNING
    cancel_run(services, "acme", run.run_id, reason="once")
    with pytest.raises(Conflict) as again:
        cancel_run(services, "acme", run.run_id, reason="twice")
    assert again.value.details["status"] == "cancelled"
