"""Building an embedded runtime on a temporary home with a chosen configs tree."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from shared.catalog import PipelineCatalog
from shared.domain.models import Org
from shared.domain.quota import SubscriptionStatus
from shared.handlers.onboarding import create_org
from shared.processors import PROCESSORS
from shared.runtime import EmbeddedRuntime
from shared.settings import Settings

REPO = Path(__file__).resolve().parents[2]


def write_configs(root: Path, pipelines: dict[str, dict[str, object]]) -> Path:
    """A configs tree with the real registry plus the given pipelines (key: p/d/name)."""
    configs = root / "configs"
    shutil.copytree(REPO / "configs" / "system", configs / "system")
    for key, body in pipelines.items():
        path = configs / f"{key}.yml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(body))
    return configs


def make_runtime(home: Path, configs: Path | None = None, **kwargs: object) -> EmbeddedRuntime:
    settings = Settings(home=home, env="test", project_id="local", runtime="embedded")
    catalog = PipelineCatalog(configs, ps_types=PROCESSORS.keys()) if configs else None
    return EmbeddedRuntime(settings, catalog=catalog, **kwargs)  # type: ignore[arg-type]


def new_org(
    runtime: EmbeddedRuntime,
    slug: str,
    *,
    plan: str = "scale",
    status: SubscriptionStatus = SubscriptionStatus.ACTIVE,
) -> tuple[Org, str]:
    return create_org(runtime.services, slug, name=slug.title(), plan=plan, status=status)
