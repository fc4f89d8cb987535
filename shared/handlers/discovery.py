"""Discovery: which pipelines exist and what they take, and would a run be admitted now."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.domain.bodies import pipeline_ref, reject_unknown
from shared.domain.config import PipelineConfig, coerce_parameters
from shared.domain.errors import BadRequest, ConfigError, NotFound, shown
from shared.domain.models import Org
from shared.domain.quota import decide
from shared.domain.run_window import parse_run_window
from shared.handlers.services import Services

VALIDATE_BODY_KEYS = frozenset({"pipeline", "date", "start_date", "end_date", "parameters"})


def describe_pipeline(key: str, config: PipelineConfig) -> dict[str, Any]:
    """A pipeline as discovery lists it: the product's clients' PipelineConfig (name,
    display_name, parameters as a list) and this API's own fields."""
    return {
        "pipeline": key,
        "pipeline_id": config.pipeline_id,
        "name": key.split("/")[2],
        "display_name": config.name,
        "description": config.description,
        "provider": config.provider,
        "domain": config.domain,
        "version": config.version,
        "schedule": config.schedule,
        "parameters": [
            {
                "name": name,
                "type": spec.type,
                "required": spec.required,
                "default": spec.default,
                "description": spec.description,
                "choices": spec.choices,
            }
            for name, spec in config.parameters.items()
        ],
        "steps": [step.step_id for step in config.steps],
    }


def list_pipelines(services: Services, provider: str | None = None) -> dict[str, Any]:
    """Every valid pipeline (optionally one provider's); invalid files listed apart."""
    catalog = services.catalog
    if provider is not None and provider not in catalog.providers:
        raise NotFound(
            f"provider {shown(provider)} is not in the registry",
            available=sorted(catalog.providers),
        )
    pipelines, invalid = [], []
    keys = catalog.keys()  # a list, sorted (not a dict view)
    for key in keys:
        if provider is not None and key.split("/")[0] != provider:
            continue
        try:
            pipelines.append(describe_pipeline(key, catalog.get(*key.split("/"))))
        except ConfigError as exc:
            invalid.append({"pipeline": key, "error": exc.message})
    return {"pipelines": pipelines, "invalid": invalid}


def would_admit(services: Services, org: Org, body: Mapping[str, Any]) -> dict[str, Any]:
    """Check subscription, pipeline, parameters, window and quota WITHOUT reserving.

    A malformed request is a 400 naming the field; reasons a well-formed run would
    be refused come back as ``admitted: false`` with every reason, not just the first.
    """
    reject_unknown(body, VALIDATE_BODY_KEYS)
    parts = pipeline_ref(body)
    ref = "/".join(parts)
    parameters = body.get("parameters", {})
    if not isinstance(parameters, dict):
        raise BadRequest("parameters must be an object", field="parameters")
    start, end = parse_run_window(body, services.clock.now().date())
    config = services.catalog.get(*parts)  # 404 naming the pipeline

    reasons: list[dict[str, Any]] = []
    if not org.status.may_run:
        reasons.append(
            {
                "code": "subscription",
                "message": org.status.refusal,
            }
        )
    try:
        coerced = coerce_parameters(config, parameters)
    except BadRequest as exc:
        reasons.append({"code": "parameters", "message": exc.message, **exc.details})
        coerced = None
    usage = services.store.quota_usage(org.org_slug, services.clock.now())
    decision = decide(org.limits, usage)
    if not decision.admitted:
        reasons.append({"code": "quota", "message": decision.message, "limit": decision.limit_hit})
    return {
        "admitted": not reasons,
        "reasons": reasons,
        "pipeline": ref,
        "start_date": start.isoformat(),
        "end_date": end.isoformat(),
        "parameters": coerced,
        "quota": {
            "plan": org.plan,
            "limits": {
                "daily": org.limits.daily,
                "monthly": org.limits.monthly,
                "concurrent": org.limits.concurrent,
            },
            "used": {
                "daily": usage.daily,
                "monthly": usage.monthly,
                "concurrent": usage.concurrent,
            },
        },
    }
