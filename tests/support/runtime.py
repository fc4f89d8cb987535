"""Building an embedded runtime on a temporary home with a chosen configs tree."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from shared.bootstrap.embedded import EmbeddedRuntime
from shared.config.catalog import PipelineCatalog
from shared.config.settings import Settings
from shared.domain.models import Org, Run, StepRun
from shared.domain.quota import SubscriptionStatus
from shared.domain.sql import table_ref
from shared.domain.states import RunStatus
from shared.handlers.credentials import set_credential
from shared.handlers.dispatch import RunRequest, dispatch_run
from shared.handlers.onboarding import create_org
from shared.ports import Clock, Warehouse
from shared.processors import PROCESSORS
from tests.support import processors as _test_processors  # noqa: F401 - registers test ps_types

REPO = Path(__file__).resolve().parents[2]
# tests/conftest.py's runtime_factory: (configs=, *, chaos=, clock=, home=) -> a runtime.
RuntimeFactory = Callable[..., EmbeddedRuntime]


def record_pipeline(
    pipeline_id: str,
    step_id: str = "only",
    config: Mapping[str, Any] | None = None,
    *,
    provider: str = "subscription",
    domain: str = "costs",
    **fields: Any,
) -> dict[str, Any]:
    """A one-step pipeline config of the test.record processor (tests/support/processors.py);
    ``fields`` add top-level keys (schedule, parameters)."""
    return {
        "pipeline_id": pipeline_id,
        "name": pipeline_id,
        "provider": provider,
        "domain": domain,
        "version": "1.0.0",
        **fields,
        "steps": [{"step_id": step_id, "ps_type": "test.record", "config": dict(config or {})}],
    }


def wait_then_after(pipeline_id: str) -> dict[str, Any]:
    """A pipeline whose first step ("wait") sleeps 60 s, until its run is cancelled, and
    whose second ("after") depends on it: a run to cancel while a step runs."""
    body = record_pipeline(pipeline_id, "wait", {"sleep_seconds": 60})
    body["steps"].append({"step_id": "after", "ps_type": "test.record", "depends_on": ["wait"]})
    return body


# The daily pipeline of the scheduler, backfill and CLI tests: one quick step, a region.
REGION = {"region": {"type": "string", "choices": ["eu", "us"], "default": "eu"}}
DAILY_SCHEDULE = "0 4 * * *"


def fast_pipeline(
    path: str,
    *,
    attempts: int,
    backoff: float,
    page_attempts: int | None = None,
    page_delay: float = 1,
) -> dict[str, Any]:
    """A real pipeline config (``path`` below configs/, without .yml) that does not wait:
    each step runs at most ``attempts`` times, ``backoff`` s apart, and the steps that
    fetch pages try each page ``page_attempts`` times (default ``attempts``) 0.01 s apart,
    no wait (a Retry-After too) longer than ``page_delay`` s."""
    body: dict[str, Any] = yaml.safe_load((REPO / "configs" / f"{path}.yml").read_text())
    for step in body["steps"]:
        step["retry"] = {"max_attempts": attempts, "backoff_seconds": backoff}
        if step["ps_type"] in PAGED_PS_TYPES:
            step["config"].update(
                max_attempts=page_attempts or attempts,
                backoff_seconds=0.01,
                max_delay_seconds=page_delay,
            )
    return body


PAGED_PS_TYPES = frozenset(
    {
        "genai.openai_admin",
        "genai.anthropic_admin",
        "openai.usage",
        "openai.cost",
        "anthropic.usage",
    }
)


def write_configs(root: Path, pipelines: Mapping[str, Mapping[str, Any]]) -> Path:
    """A configs tree with the real registry plus the given pipelines (key: p/d/name)."""
    configs = root / "configs"
    shutil.copytree(REPO / "configs" / "system", configs / "system")
    for key, body in pipelines.items():
        path = configs / f"{key}.yml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(body))
    return configs


def make_runtime(
    home: Path,
    configs: Path | None = None,
    *,
    warehouse: Warehouse,
    chaos: bool = False,
    clock: Clock | None = None,
) -> EmbeddedRuntime:
    # Tests write their billing files under pytest's tmp dirs.
    settings = Settings(
        home=home,
        env="test",
        project_id=warehouse.project_id,
        runtime="embedded",
        files_root=Path(tempfile.gettempdir()),
    )
    catalog = PipelineCatalog(configs, ps_types=PROCESSORS.keys()) if configs else None
    return EmbeddedRuntime(settings, warehouse=warehouse, catalog=catalog, chaos=chaos, clock=clock)


def new_org(
    runtime: EmbeddedRuntime,
    slug: str,
    *,
    plan: str = "scale",
    status: SubscriptionStatus = SubscriptionStatus.ACTIVE,
    credentials: Sequence[str] = (),
) -> tuple[Org, str]:
    """A new org; ``credentials`` names providers to give a (test) credential."""
    org, api_key = create_org(runtime.services, slug, name=slug.title(), plan=plan, status=status)
    for provider in credentials:
        set_credential(runtime.services, slug, provider, f"test-{provider}-credential")
    return org, api_key


def with_notifications(
    configs: Path, smtp_port: int, events: Mapping[str, Sequence[str]] | None = None
) -> Path:
    """Add the repository's root notification settings to ``configs``, mailing through
    the local SMTP server on ``smtp_port``; ``events`` reroutes some events."""
    root = configs / "notifications" / "default.yml"
    root.parent.mkdir(parents=True, exist_ok=True)
    settings = yaml.safe_load((REPO / "configs" / "notifications" / "default.yml").read_text())
    settings["email"].update(smtp_host="127.0.0.1", smtp_port=smtp_port)
    settings["events"].update({event: list(channels) for event, channels in (events or {}).items()})
    root.write_text(yaml.safe_dump(settings))
    return configs


def lend_runtime(monkeypatch: pytest.MonkeyPatch, verbs: ModuleType, rt: EmbeddedRuntime) -> None:
    """Make the CLI verbs of ``verbs`` (a module with a ``_runtime()``) use ``rt``: the
    verbs close their runtime, this one outlives each verb."""

    @contextmanager
    def borrowed() -> Iterator[EmbeddedRuntime]:
        yield rt

    monkeypatch.setattr(verbs, "_runtime", borrowed)


def run_to_end(
    rt: EmbeddedRuntime,
    slug: str,
    pipeline: str,
    start: date,
    end: date,
    parameters: Mapping[str, Any] | None = None,
    *,
    seconds: float = 120,
) -> Run:
    """Dispatch ``pipeline`` (provider/domain/name) for the org, wait until every message
    is handled, and read the finished run."""
    org = rt.services.store.get_org(slug)
    assert org is not None
    provider, domain, name = pipeline.split("/")
    request = RunRequest(slug, provider, domain, name, start, end, dict(parameters or {}))
    run = dispatch_run(rt.services, org, request)
    assert rt.bus.drain(seconds)
    final = rt.services.store.get_run(slug, run.run_id)
    assert final is not None
    return final


def org_table(rt: EmbeddedRuntime, slug: str, table: str) -> str:
    """The quoted reference of one of the org's warehouse tables."""
    return table_ref(rt.warehouse.project_id, rt.settings.org_dataset(slug), table)


def stored_run(
    run_id: str,
    pipeline: str,
    steps: Sequence[str],
    at: datetime,
    *,
    org: str = "acme",
    days: tuple[date, date] | None = None,
    status: RunStatus = RunStatus.PENDING,
    trigger: str = "api",
    credential_id: str = "internal",
    pipeline_id: str | None = None,
) -> Run:
    """A Run record of ``pipeline`` (provider/domain/name) created at ``at``, for a test
    to write straight to a store; ``days`` defaults to the day of ``at``."""
    provider, _, name = pipeline.split("/")
    start, end = days or (at.date(), at.date())
    return Run(
        run_id,
        org,
        pipeline,
        pipeline_id or name,
        provider,
        status,
        trigger,
        start,
        end,
        credential_id,
        {},
        at,
        steps={s: StepRun(run_id=run_id, step_id=s) for s in steps},
    )
