"""Subscription plans (configs/system/plans.yml) and the quota limits each grants."""

from __future__ import annotations

import functools
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared import REPO_ROOT
from shared.domain.errors import BadRequest, ConfigError
from shared.domain.quota import QuotaLimits

PLANS_FILE = REPO_ROOT / "configs" / "system" / "plans.yml"


class _Limits(BaseModel):
    model_config = ConfigDict(extra="forbid")
    daily: int = Field(ge=1)
    monthly: int = Field(ge=1)
    concurrent: int = Field(ge=1)


class _PlansFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    plans: dict[str, _Limits]


@functools.cache
def load_plans(path: Path = PLANS_FILE) -> dict[str, QuotaLimits]:
    try:
        parsed = _PlansFile.model_validate(yaml.safe_load(path.read_text()))
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ConfigError(str(path), ".".join(map(str, first["loc"])), first["msg"]) from exc
    return {name: QuotaLimits(**limits.model_dump()) for name, limits in parsed.plans.items()}


def plan_limits(plan: str) -> QuotaLimits:
    plans = load_plans()
    if plan not in plans:
        raise BadRequest(f"unknown plan {plan!r}; plans: {', '.join(plans)}", field="plan")
    return plans[plan]
