from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from shared.domain.config import (
    PipelineConfig,
    StepConfig,
    coerce_parameters,
    parse_pipeline,
    parse_providers,
)
from shared.domain.errors import BadRequest, ConfigError, NotFound

FILE = "configs/gcp/cost/billing.yml"
PS_TYPES = {"generic.procedure_executor", "gcp.bq_export"}
PROVIDERS = parse_providers(
    {
        "providers": [
            {
                "provider": "gcp",
                "name": "Google Cloud",
                "category": "cloud",
                "requires_credential": True,
                "domains": ["cost"],
            },
            {
                "provider": "subscription",
                "name": "SaaS",
                "category": "saas",
                "requires_credential": False,
                "domains": ["costs"],
            },
        ]
    },
    file="configs/system/providers.yml",
)

VALID: dict[str, Any] = {
    "pipeline_id": "billing",
    "name": "GCP billing",
    "provider": "gcp",
    "domain": "cost",
    "version": "1.0.0",
    "schedule": "0 3 * * *",
    "parameters": {
        "limit": {"type": "integer", "default": 10},
        "mode": {"choices": ["full", "delta"], "default": "delta"},
    },
    "steps": [
        {"step_id": "extract", "ps_type": "gcp.bq_export", "config": {"table": "x"}},
        {
            "step_id": "transform",
            "ps_type": "generic.procedure_executor",
            "depends_on": ["extract"],
            "retry": {"max_attempts": 5, "backoff_seconds": 1},
        },
        {"step_id": "load", "ps_type": "generic.procedure_executor", "depends_on": ["transform"]},
    ],
}


def parse(data: object) -> PipelineConfig:
    return parse_pipeline(data, file=FILE, providers=PROVIDERS, ps_types=PS_TYPES)


def edited(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    data = copy.deepcopy(VALID)
    change(data)
    return data


def test_valid_config_round_trips() -> None:
    config = parse(VALID)
    assert config.step_ids == ["extract", "transform", "load"]
    assert config.step("transform").retry.max_attempts == 5
    assert config.step("load").timeout_seconds == 300
    again = parse(config.model_dump())
    assert again == config


def test_step_lookup_of_unknown_id_is_not_found() -> None:
    with pytest.raises(NotFound) as exc:
        parse(VALID).step("nope")
    assert exc.value.details["available"] == ["extract", "transform", "load"]


REJECTIONS: list[tuple[str, Callable[[dict[str, Any]], None], str, str]] = [
    ("unknown_key", lambda d: d.update(owner="me"), "owner", "unknown key 'owner'"),
    (
        "unknown_nested_key",
        lambda d: d["steps"][2].update(retry={"jitter": 1}),
        "steps[2].retry.jitter",
        "unknown key 'jitter'",
    ),
    ("missing_field", lambda d: d.pop("version"), "version", "missing required field 'version'"),
    (
        "missing_step_field",
        lambda d: d["steps"][1].pop("ps_type"),
        "steps[1].ps_type",
        "missing required field 'ps_type'",
    ),
    (
        "wrong_type",
        lambda d: d["steps"][2].update(retry={"max_attempts": "3"}),
        "steps[2].retry.max_attempts",
        "valid integer (got str)",
    ),
    (
        "out_of_range",
        lambda d: d["steps"][2].update(retry={"max_attempts": 11}),
        "steps[2].retry.max_attempts",
        "less than or equal to 10",
    ),
    ("version_not_string", lambda d: d.update(version=1.0), "version", "valid string"),
    (
        "bad_step_id",
        lambda d: d["steps"][0].update(step_id="Extract"),
        "steps[0].step_id",
        "'Extract'",
    ),
    ("no_steps", lambda d: d.update(steps=[]), "steps", "at least 1 item"),
    (
        "duplicate_step_id",
        lambda d: d["steps"][2].update(step_id="extract", depends_on=[]),
        "steps[2].step_id",
        "duplicate step_id 'extract' (first at steps[0])",
    ),
    (
        "unknown_ps_type",
        lambda d: d["steps"][1].update(ps_type="nope"),
        "steps[1].ps_type",
        "unknown ps_type 'nope'; known: gcp.bq_export, generic.procedure_executor",
    ),
    (
        "unknown_dependency",
        lambda d: d["steps"][1].update(depends_on=["extract", "ghost"]),
        "steps[1].depends_on[1]",
        "unknown step 'ghost'",
    ),
    (
        "self_dependency",
        lambda d: d["steps"][1].update(depends_on=["transform"]),
        "steps[1].depends_on[0]",
        "step 'transform' depends on itself",
    ),
    (
        "cycle",
        lambda d: d["steps"][0].update(depends_on=["load"]),
        "steps[0].depends_on",
        "dependency cycle: extract -> load -> transform -> extract",
    ),
    ("bad_cron", lambda d: d.update(schedule="61 * * * *"), "schedule", "invalid cron"),
    ("six_field_cron", lambda d: d.update(schedule="0 0 3 * * *"), "schedule", "5 fields"),
    (
        "unknown_provider",
        lambda d: d.update(provider="aws"),
        "provider",
        "unknown provider 'aws'; known: gcp, subscription",
    ),
    (
        "domain_not_of_provider",
        lambda d: d.update(domain="costs"),
        "domain",
        "provider 'gcp' has no domain 'costs'; its domains: cost",
    ),
    (
        "bad_parameter_default",
        lambda d: d["parameters"]["limit"].update(default="ten"),
        "parameters.limit.default",
        "expected an integer, got 'ten'",
    ),
    (
        "default_not_a_choice",
        lambda d: d["parameters"]["mode"].update(default="all"),
        "parameters.mode.default",
        "not one of ['full', 'delta']",
    ),
    (
        "required_with_default",
        lambda d: d["parameters"]["limit"].update(required=True),
        "parameters.limit.default",
        "cannot have a default",
    ),
    (
        "bad_parameter_name",
        lambda d: d["parameters"].update({"Bad-Name": {}}),
        "parameters.Bad-Name",
        "pattern",
    ),
]


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [pytest.param(c, f, m, id=name) for name, c, f, m in REJECTIONS],
)
def test_rejections_name_file_and_field(
    change: Callable[[dict[str, Any]], None], field: str, message: str
) -> None:
    with pytest.raises(ConfigError) as exc:
        parse(edited(change))
    assert exc.value.file == FILE
    assert exc.value.field == field
    assert message in exc.value.reason
    assert str(exc.value).startswith(f"{FILE}: {field}: ")


def test_top_level_must_be_a_mapping() -> None:
    with pytest.raises(ConfigError, match="expected a mapping, got null") as exc:
        parse(None)
    assert exc.value.field == ""


def test_registry_checks_are_skipped_without_context() -> None:
    # Models built directly (tests, tools) still check structure, not the registries.
    step = StepConfig(step_id="a", ps_type="anything")
    assert step.retry.max_attempts == 3


def _provider(provider: str, category: str, domains: list[str]) -> dict[str, Any]:
    """A registry entry of ``provider`` that needs a credential."""
    return {
        "provider": provider,
        "name": provider.upper(),
        "category": category,
        "requires_credential": True,
        "domains": domains,
    }


def test_duplicate_provider_rejected() -> None:
    entry = _provider("gcp", "cloud", ["cost"])
    with pytest.raises(ConfigError) as exc:
        parse_providers({"providers": [entry, entry]}, file="providers.yml")
    assert (exc.value.file, exc.value.field) == ("providers.yml", "providers[1].provider")


def test_provider_category_must_be_known() -> None:
    entry = _provider("x", "iot", ["a"])
    with pytest.raises(ConfigError) as exc:
        parse_providers({"providers": [entry]}, file="providers.yml")
    assert exc.value.field == "providers[0].category"


# -- coerce_parameters --------------------------------------------------------

PARAMS: dict[str, Any] = {
    "pipeline_id": "p",
    "name": "P",
    "provider": "gcp",
    "domain": "cost",
    "version": "1.0.0",
    "parameters": {
        "account": {"required": True},
        "limit": {"type": "integer", "default": 10},
        "ratio": {"type": "number"},
        "dry_run": {"type": "boolean", "default": False},
        "as_of": {"type": "date", "default": date(2024, 1, 31)},
        "mode": {"choices": ["full", "delta"], "default": "delta"},
    },
    "steps": [{"step_id": "a", "ps_type": "gcp.bq_export"}],
}


def test_coerce_applies_defaults_and_keeps_json_types() -> None:
    resolved = coerce_parameters(parse(PARAMS), {"account": "acme"})
    assert resolved == {
        "account": "acme",
        "limit": 10,
        "ratio": None,
        "dry_run": False,
        "as_of": "2024-01-31",
        "mode": "delta",
    }


def test_coerce_converts_cli_strings() -> None:
    given = dict(
        account="acme", limit="25", ratio="0.5", dry_run="TRUE", as_of="2024-02-29", mode="full"
    )
    resolved = coerce_parameters(parse(PARAMS), given)
    assert resolved == {
        "account": "acme",
        "limit": 25,
        "ratio": 0.5,
        "dry_run": True,
        "as_of": "2024-02-29",
        "mode": "full",
    }


@pytest.mark.parametrize(
    ("given", "field", "message"),
    [
        ({"account": "a", "bogus": 1}, "parameters.bogus", "allowed: account, as_of, dry_run"),
        ({}, "parameters.account", "missing required parameter 'account'"),
        ({"account": "a", "limit": "1.5"}, "parameters.limit", "expected an integer"),
        ({"account": "a", "limit": True}, "parameters.limit", "expected an integer"),
        ({"account": "a", "ratio": "nan"}, "parameters.ratio", "finite number"),
        ({"account": "a", "dry_run": "maybe"}, "parameters.dry_run", "true or false"),
        ({"account": "a", "as_of": "2024-02-30"}, "parameters.as_of", "YYYY-MM-DD"),
        ({"account": "a", "as_of": "20240101"}, "parameters.as_of", "YYYY-MM-DD"),
        ({"account": "a", "mode": "all"}, "parameters.mode", "must be one of ['full', 'delta']"),
        ({"account": 7}, "parameters.account", "expected a string"),
    ],
)
def test_coerce_rejects(given: dict[str, Any], field: str, message: str) -> None:
    with pytest.raises(BadRequest) as exc:
        coerce_parameters(parse(PARAMS), given)
    assert exc.value.details["field"] == field
    assert message in exc.value.message
