"""Building an embedded runtime on a temporary home with a chosen configs tree."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from shared.bootstrap.embedded import EmbeddedRuntime
from shared.config.catalog import PipelineCatalog
from shared.config.settings import Settings
from shared.domain.models import Org
from shared.domain.quota import SubscriptionStatus
from shared.handlers.credentials import set_credential
from shared.handlers.onboarding import create_org
from shared.ports import Clock, Warehouse
from shared.processors import PROCESSORS
from tests.support import processors as _test_processors  # noqa: F401 - registers test ps_types

REPO = Path(__file__).resolve().parents[2]


def record_pipeline(
    pipeline_id: str,
    step_id: str = "only",
    config: Mapping[str, Any] | None = None,
    *,
    provider: str = "subscription",
    domain: str = "costs",
) -> dict[str, Any]:
    """A one-step pipeline config of the test.record processor (tests/support/processors.py)."""
    return {
        "pipeline_id": pipeline_id,
        "name": pipeline_id,
        "provider": provider,
        "domain": domain,
        "version": "1.0.0",
        "steps": [{"step_id": step_id, "ps_type": "test.record", "config": dict(config or {})}],
    }


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
