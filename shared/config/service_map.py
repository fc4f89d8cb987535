"""ServiceName -> FOCUS ServiceCategory/ServiceSubcategory, from configs/system/mappings/.

One YAML file per provider (``{provider}_services.yml``): ``provider``, ``default`` (the
pair for a service not listed) and ``services`` (name -> [category, subcategory]). Every
pair is checked against the FOCUS lists when read, so a typo fails with the file and key
instead of producing non-conformant rows. The rows are loaded into the org's
``focus_service_mappings`` table for the conversion SQL to join (``service_key`` ``*`` is
the default).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from shared.config.catalog import CONFIGS_DIR_ENV, DEFAULT_CONFIGS_DIR
from shared.domain.errors import ConfigError
from shared.domain.focus_rules import SERVICE_SUBCATEGORIES

DEFAULT_KEY = "*"


def mappings_dir() -> Path:
    env_dir = os.environ.get(CONFIGS_DIR_ENV)
    return (Path(env_dir) if env_dir else DEFAULT_CONFIGS_DIR) / "system" / "mappings"


def load_service_mappings(directory: Path | None = None) -> list[dict[str, Any]]:
    """Rows for focus_service_mappings from every ``*_services.yml`` in ``directory``."""
    rows: list[dict[str, Any]] = []
    for path in sorted((directory or mappings_dir()).glob("*_services.yml")):
        rows += _read(path)
    return rows


def _read(path: Path) -> list[dict[str, Any]]:
    name = path.name
    try:
        body = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(name, "", f"not valid YAML: {exc}") from exc
    if not isinstance(body, dict) or not isinstance(body.get("provider"), str):
        raise ConfigError(name, "provider", "must be a mapping with a provider name")
    services = body.get("services")
    if not isinstance(services, dict):
        raise ConfigError(name, "services", "must map service names to [category, subcategory]")
    provider = body["provider"]
    pairs = {DEFAULT_KEY: body.get("default", ["Other", "Other (Other)"]), **services}
    rows = []
    for key, pair in pairs.items():
        field = "default" if key == DEFAULT_KEY else f"services.{key}"
        category, subcategory = _pair(name, field, pair)
        rows.append(
            {
                "provider": provider,
                "service_key": str(key),
                "service_category": category,
                "service_subcategory": subcategory,
            }
        )
    return rows


def _pair(file: str, field: str, pair: Any) -> tuple[str, str]:
    if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(p, str) for p in pair)):
        raise ConfigError(file, field, "must be [ServiceCategory, ServiceSubcategory]")
    category, subcategory = pair
    if category not in SERVICE_SUBCATEGORIES:
        raise ConfigError(file, field, f"{category!r} is not a FOCUS ServiceCategory")
    allowed = (*SERVICE_SUBCATEGORIES[category], f"Other ({category})")
    if subcategory not in allowed:
        raise ConfigError(
            file, field, f"{subcategory!r} is not a FOCUS ServiceSubcategory of {category}"
        )
    return category, subcategory
