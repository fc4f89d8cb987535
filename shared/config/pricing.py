"""Reading the GenAI price table from configs/pricing/ (the I/O half of shared.domain.pricing)."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import yaml

from shared.config.catalog import CONFIGS_DIR_ENV, DEFAULT_CONFIGS_DIR
from shared.domain.errors import ConfigError
from shared.domain.pricing import PriceTable, parse_price_table

PRICES_FILE = Path("pricing") / "genai_prices.yml"


def load_price_table(path: Path | None = None) -> PriceTable:
    if path is None:
        env_dir = os.environ.get(CONFIGS_DIR_ENV)
        path = (Path(env_dir) if env_dir else DEFAULT_CONFIGS_DIR) / PRICES_FILE
    return _load(path.resolve(), path.stat().st_mtime_ns if path.exists() else 0)


@lru_cache(maxsize=4)
def _load(path: Path, _mtime: int) -> PriceTable:  # the mtime makes an edited file reload
    name = f"configs/{PRICES_FILE}"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(name, "", f"cannot read file: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(name, "", f"invalid YAML: {exc}") from None
    return parse_price_table(data, file=name)
