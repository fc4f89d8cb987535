"""The pipeline catalog: YAML configs on disk, validated and cached.

Layout (under ``configs/``, or ``$PIPELINES_CONFIGS_DIR``)::

    system/providers.yml                          the provider registry
    {provider}/{domain}/{pipeline}.yml            key "provider/domain/pipeline"
    {category}/{provider}/{domain}/{pipeline}.yml same key; category must match the
                                                  provider's (e.g. cloud/gcp/cost/billing.yml)

Top-level folders in :data:`NON_PIPELINE_DIRS` hold other kinds of config and are
skipped, as are hidden files and folders. Files end in ``.yml`` (``.yaml`` is read
too, so a misnamed file is not silently ignored).
"""

from __future__ import annotations

import os
import re
from collections.abc import Collection
from pathlib import Path
from typing import Any

import yaml

from shared import REPO_ROOT
from shared.domain.config import PipelineConfig, ProviderSpec, parse_pipeline, parse_providers
from shared.domain.errors import BadRequest, ConfigError, NotFound, shown

DEFAULT_CONFIGS_DIR = REPO_ROOT / "configs"
CONFIGS_DIR_ENV = "PIPELINES_CONFIGS_DIR"
PROVIDERS_FILE = Path("system") / "providers.yml"
# Registries and non-pipeline settings, not pipelines.
NON_PIPELINE_DIRS = frozenset({"system", "pricing", "notifications"})
# One path component of a pipeline key: it also arrives from URLs, so no dots or slashes.
_COMPONENT_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


class PipelineCatalog:
    """Pipelines by ``provider/domain/pipeline``. Files are read lazily, each once."""

    def __init__(self, configs_dir: Path | None = None, *, ps_types: Collection[str]) -> None:
        env_dir = os.environ.get(CONFIGS_DIR_ENV)
        self.configs_dir = configs_dir or (Path(env_dir) if env_dir else DEFAULT_CONFIGS_DIR)
        self._ps_types = frozenset(ps_types)
        self._providers: dict[str, ProviderSpec] | None = None
        self._files: dict[str, list[Path]] | None = None  # key -> files (several = a clash)
        self._layout_errors: list[ConfigError] = []
        self._parsed: dict[str, PipelineConfig | ConfigError] = {}

    @property
    def providers(self) -> dict[str, ProviderSpec]:
        if self._providers is None:
            path = self.configs_dir / PROVIDERS_FILE
            self._providers = parse_providers(self._load_yaml(path), file=self._name(path))
        return self._providers

    def keys(self) -> list[str]:
        """Every pipeline key found on disk, sorted (including invalid ones)."""
        return sorted(self._index())

    def get(self, provider: str, domain: str, pipeline: str) -> PipelineConfig:
        for field, value in (("provider", provider), ("domain", domain), ("pipeline", pipeline)):
            if not _COMPONENT_RE.fullmatch(value):
                raise BadRequest(f"invalid {field} name {shown(value)}", field=field)
        if provider not in self.providers:
            raise NotFound(f"Unknown provider: {provider}", available=sorted(self.providers))
        key = f"{provider}/{domain}/{pipeline}"
        if key not in self._parsed:
            files = self._index().get(key)
            if not files:
                raise NotFound(
                    f"Pipeline not found: {key}",
                    available=[k for k in self.keys() if k.startswith(f"{provider}/")],
                )
            try:
                self._parsed[key] = self._parse(key, files)
            except ConfigError as exc:
                self._parsed[key] = exc  # files are read once, bad ones included
        result = self._parsed[key]
        if isinstance(result, ConfigError):
            raise result.with_traceback(None)  # a cached error: don't grow its traceback
        return result

    def validate_all(self) -> list[ConfigError]:
        """Every problem in the tree (registry, layout, each pipeline), not just the first."""
        try:
            _ = self.providers
        except ConfigError as exc:
            return [exc]  # without the registry no pipeline can be checked
        index = self._index()
        errors = list(self._layout_errors)
        for key in sorted(index):
            try:
                self.get(*key.split("/"))
            except ConfigError as exc:
                errors.append(exc)
        return errors

    # -- internals ------------------------------------------------------------

    def _index(self) -> dict[str, list[Path]]:
        if self._files is None:
            files: dict[str, list[Path]] = {}
            for path in sorted(self.configs_dir.rglob("*")):
                rel = path.relative_to(self.configs_dir)
                if not _is_pipeline_file(path, rel):
                    continue
                if (key := self._key_for(path, rel)) is not None:
                    files.setdefault(key, []).append(path)
            self._files = files
        return self._files

    def _key_for(self, path: Path, rel: Path) -> str | None:
        """The key for a file, or None (and a recorded error) if it is misplaced."""
        parts = [*rel.parent.parts, path.stem]
        problem = None
        if len(parts) not in (3, 4):
            problem = (
                "pipeline files live at {provider}/{domain}/{pipeline}.yml "
                "or {category}/{provider}/{domain}/{pipeline}.yml"
            )
        elif bad := [p for p in parts if not _COMPONENT_RE.fullmatch(p)]:
            problem = (
                f"invalid name {bad[0]!r}: use lowercase letters, digits, '_' or '-' "
                "(it becomes part of the pipeline's URL)"
            )
        if problem:
            self._layout_errors.append(ConfigError(self._name(path), "", problem))
            return None
        return "/".join(parts[-3:])

    def _parse(self, key: str, files: list[Path]) -> PipelineConfig:
        file = self._name(files[0])
        if len(files) > 1:
            others = ", ".join(self._name(f) for f in files[1:])
            raise ConfigError(file, "", f"pipeline key '{key}' is also defined by {others}")
        config = parse_pipeline(
            self._load_yaml(files[0]),
            file=file,
            providers=self.providers,
            ps_types=self._ps_types,
        )
        rel_parts = files[0].relative_to(self.configs_dir).parts
        path_provider, path_domain = rel_parts[-3], rel_parts[-2]
        if config.provider != path_provider:
            raise ConfigError(
                file, "provider", f"'{config.provider}' does not match the folder '{path_provider}'"
            )
        if config.domain != path_domain:
            raise ConfigError(
                file, "domain", f"'{config.domain}' does not match the folder '{path_domain}'"
            )
        if len(rel_parts) == 4 and rel_parts[0] != self.providers[config.provider].category:
            raise ConfigError(
                file,
                "",
                f"folder '{rel_parts[0]}' does not match provider '{config.provider}' "
                f"category '{self.providers[config.provider].category}'",
            )
        return config

    def _load_yaml(self, path: Path) -> Any:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(self._name(path), "", f"cannot read file: {exc.strerror}") from None
        except UnicodeDecodeError as exc:
            raise ConfigError(
                self._name(path), "", f"cannot read file: not UTF-8 at byte {exc.start}"
            ) from None
        try:
            return yaml.safe_load(text)
        except RecursionError:  # the YAML composer recurses once per nesting level
            raise ConfigError(self._name(path), "", "invalid YAML: nested too deeply") from None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            problem = getattr(exc, "problem", None) or str(exc)
            raise ConfigError(self._name(path), "", f"invalid YAML{where}: {problem}") from None

    def _name(self, path: Path) -> str:
        """How files are named in errors: ``configs/genai/payg/openai.yml``."""
        return str(Path(self.configs_dir.name) / path.relative_to(self.configs_dir))


def _is_pipeline_file(path: Path, rel: Path) -> bool:
    return (
        path.suffix in (".yml", ".yaml")
        and path.is_file()
        and rel.parts[0] not in NON_PIPELINE_DIRS
        and not any(p.startswith(".") for p in rel.parts)
    )
