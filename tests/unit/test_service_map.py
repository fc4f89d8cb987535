"""The ServiceCategory mapping files: the real ones load, a wrong pair names file and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.config.service_map import load_service_mappings
from shared.domain.errors import ConfigError
from shared.domain.focus_rules import SERVICE_SUBCATEGORIES


def test_shipped_mappings_are_focus_values() -> None:
    rows = load_service_mappings()
    providers = {r["provider"] for r in rows}
    assert {"gcp", "aws"} <= providers
    keys = [(r["provider"], r["service_key"]) for r in rows]
    assert len(keys) == len(set(keys))  # one category per service
    for row in rows:
        category = row["service_category"]
        assert row["service_subcategory"] in (
            *SERVICE_SUBCATEGORIES[category],
            f"Other ({category})",
        )
    assert ("gcp", "*") in keys


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        pytest.param(
            "provider: x\nservices:\n  VMs: [Compute, Object Storage]\n",
            "services.VMs",
            "Object",
            id="subcategory of another category",
        ),
        pytest.param(
            "provider: x\nservices:\n  VMs: [Servers, Other (Servers)]\n",
            "services.VMs",
            "Servers",
            id="unknown category",
        ),
        pytest.param(
            "provider: x\nservices:\n  VMs: Compute\n", "services.VMs", "must be", id="not a pair"
        ),
        pytest.param(
            "provider: x\ndefault: [Other]\nservices: {}\n", "default", "must be", id="bad default"
        ),
        pytest.param("services: {}\n", "provider", "provider", id="no provider"),
    ],
)
def test_bad_mapping_names_file_and_key(
    tmp_path: Path, body: str, field: str, message: str
) -> None:
    (tmp_path / "x_services.yml").write_text(body)
    with pytest.raises(ConfigError) as info:
        load_service_mappings(tmp_path)
    assert info.value.file == "x_services.yml"
    assert info.value.field == field
    assert message in info.value.message
