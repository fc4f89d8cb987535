from __future__ import annotations

from pathlib import Path

import pytest

from shared.config.catalog import DEFAULT_CONFIGS_DIR, PipelineCatalog
from shared.domain.errors import BadRequest, ConfigError, NotFound

PS = {"generic.procedure_executor"}

PROVIDERS_YML = """\
providers:
  - {provider: gcp, name: GCP, category: cloud, requires_credential: true, domains: [cost]}
  - {provider: genai, name: GenAI, category: genai, requires_credential: true, domains: [payg]}
  - {provider: subscription, name: SaaS, category: saas, requires_credential: false,
     domains: [costs]}
"""


def pipeline_yml(provider: str, domain: str, pipeline_id: str = "p") -> str:
    return f"""\
pipeline_id: {pipeline_id}
name: Test
provider: {provider}
domain: {domain}
version: "1.0.0"
steps:
  - step_id: only
    ps_type: generic.procedure_executor
"""


def write(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.fixture
def configs(tmp_path: Path) -> Path:
    root = tmp_path / "configs"
    write(root, "system/providers.yml", PROVIDERS_YML)
    write(root, "system/plans.yml", "plans: {}\n")  # not a pipeline: skipped
    write(root, "pricing/openai.yml", "models: []\n")  # not a pipeline: skipped
    write(root, "genai/payg/openai.yml", pipeline_yml("genai", "payg", "openai"))
    write(root, "genai/payg/anthropic.yml", pipeline_yml("genai", "payg", "anthropic"))
    write(root, "cloud/gcp/cost/billing.yml", pipeline_yml("gcp", "cost", "billing"))
    write(root, "subscription/costs/subscription_cost.yml", pipeline_yml("subscription", "costs"))
    return root


def test_loads_a_tree(configs: Path) -> None:
    catalog = PipelineCatalog(configs, ps_types=PS)
    assert catalog.keys() == [
        "gcp/cost/billing",
        "genai/payg/anthropic",
        "genai/payg/openai",
        "subscription/costs/subscription_cost",
    ]
    assert set(catalog.providers) == {"gcp", "genai", "subscription"}
    billing = catalog.get("gcp", "cost", "billing")
    assert billing.pipeline_id == "billing"
    assert catalog.get("gcp", "cost", "billing") is billing  # cached
    assert catalog.validate_all() == []


def test_configs_dir_from_environment(configs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIPELINES_CONFIGS_DIR", str(configs))
    assert PipelineCatalog(ps_types=PS).get("gcp", "cost", "billing").pipeline_id == "billing"


def test_duplicate_key_is_an_error(configs: Path) -> None:
    write(configs, "gcp/cost/billing.yml", pipeline_yml("gcp", "cost", "billing"))
    with pytest.raises(ConfigError, match="'gcp/cost/billing' is also defined by") as exc:
        PipelineCatalog(configs, ps_types=PS).get("gcp", "cost", "billing")
    assert exc.value.file in {"configs/cloud/gcp/cost/billing.yml", "configs/gcp/cost/billing.yml"}


@pytest.mark.parametrize("text", [pipeline_yml("genai", "payg"), pipeline_yml("gcp", "cost")])
def test_provider_must_match_path(configs: Path, text: str) -> None:
    write(configs, "subscription/costs/subscription_cost.yml", text)
    with pytest.raises(ConfigError) as exc:
        PipelineCatalog(configs, ps_types=PS).get("subscription", "costs", "subscription_cost")
    assert (exc.value.file, exc.value.field) == (
        "configs/subscription/costs/subscription_cost.yml",
        "provider",
    )
    assert "does not match the folder 'subscription'" in exc.value.reason


def test_domain_must_match_path(configs: Path) -> None:
    write(configs, "gcp/billing/x.yml", pipeline_yml("gcp", "cost"))
    with pytest.raises(ConfigError) as exc:
        PipelineCatalog(configs, ps_types=PS).get("gcp", "billing", "x")
    assert exc.value.field == "domain"
    assert "'cost' does not match the folder 'billing'" in exc.value.reason


def test_category_folder_must_match_provider(configs: Path) -> None:
    write(configs, "saas/gcp/cost/other.yml", pipeline_yml("gcp", "cost"))
    with pytest.raises(ConfigError, match="folder 'saas' does not match provider 'gcp'"):
        PipelineCatalog(configs, ps_types=PS).get("gcp", "cost", "other")


def test_not_found_lists_the_providers_pipelines(configs: Path) -> None:
    with pytest.raises(NotFound) as exc:
        PipelineCatalog(configs, ps_types=PS).get("genai", "payg", "mistral")
    assert exc.value.message == "Pipeline not found: genai/payg/mistral"
    assert exc.value.details["available"] == ["genai/payg/anthropic", "genai/payg/openai"]


@pytest.mark.parametrize(
    ("provider", "domain", "pipeline"),
    [
        pytest.param("..", "payg", "openai", id="parent provider"),
        pytest.param("genai", "../system", "providers", id="into system/"),
        pytest.param("genai", "payg", "../x", id="parent pipeline"),
        pytest.param("genai", "payg", "open ai", id="space"),
        pytest.param("genai", "payg", "OpenAI", id="upper case"),
        pytest.param("genai", "payg", "", id="empty"),
        pytest.param("genai", "payg%2f", "x", id="encoded slash"),
    ],
)
def test_odd_path_components_are_rejected(
    configs: Path, provider: str, domain: str, pipeline: str
) -> None:
    with pytest.raises(BadRequest) as exc:
        PipelineCatalog(configs, ps_types=PS).get(provider, domain, pipeline)
    assert not isinstance(exc.value, ConfigError | NotFound)


def test_validate_all_collects_every_error(configs: Path) -> None:
    write(configs, "genai/payg/openai.yml", "pipeline_id: openai\nsteps: [\n")  # YAML syntax
    write(configs, "gcp/cost/bad.yml", pipeline_yml("gcp", "cost").replace("only", "Only"))
    write(configs, "subscription/costs/subscription_cost.yml", pipeline_yml("gcp", "cost"))
    write(configs, "loose.yml", pipeline_yml("gcp", "cost"))  # not at a pipeline depth
    write(configs, "gcp/cost/Bad Name.yml", pipeline_yml("gcp", "cost"))
    catalog = PipelineCatalog(configs, ps_types=PS)
    errors = {e.file: e for e in catalog.validate_all()}
    assert set(errors) == {
        "configs/genai/payg/openai.yml",
        "configs/gcp/cost/bad.yml",
        "configs/subscription/costs/subscription_cost.yml",
        "configs/loose.yml",
        "configs/gcp/cost/Bad Name.yml",
    }
    assert "invalid YAML at line 3" in errors["configs/genai/payg/openai.yml"].reason
    assert errors["configs/gcp/cost/bad.yml"].field == "steps[0].step_id"
    assert errors["configs/subscription/costs/subscription_cost.yml"].field == "provider"
    # The good ones still load.
    assert catalog.get("genai", "payg", "anthropic").pipeline_id == "anthropic"
    assert len(catalog.validate_all()) == 5  # stable on a second call


def test_bad_registry_is_reported(configs: Path) -> None:
    write(configs, "system/providers.yml", "providers:\n  - {provider: gcp}\n")
    catalog = PipelineCatalog(configs, ps_types=PS)
    [error] = catalog.validate_all()
    assert (error.file, error.field) == ("configs/system/providers.yml", "providers[0].name")


def test_missing_registry_is_reported(tmp_path: Path) -> None:
    [error] = PipelineCatalog(tmp_path / "configs", ps_types=PS).validate_all()
    assert error.file == "configs/system/providers.yml"
    assert "cannot read file" in error.reason


def test_real_repo_configs_are_valid() -> None:
    from shared.processors import PROCESSORS  # the real configs use every real processor

    catalog = PipelineCatalog(DEFAULT_CONFIGS_DIR, ps_types=PROCESSORS.keys())
    assert catalog.validate_all() == []
    assert {"openai", "gcp", "subscription", "genai"} <= set(catalog.providers)
