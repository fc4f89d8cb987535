"""Pipeline and provider config models, and their validation. No file I/O.

Everything a YAML author can get wrong surfaces as ``ConfigError(file, field, message)``
with ``field`` a path such as ``steps[1].depends_on[0]``. Structural rules live in the
pydantic models; rules that need the provider/processor registries read them from the
validation context that :func:`parse_pipeline` passes, so a model built without one
(e.g. in a test) skips only those.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Mapping
from datetime import date, datetime
from typing import Annotated, Any, Literal

from croniter import croniter
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

from shared.domain.dag import find_cycle
from shared.domain.errors import BadRequest, ConfigError, NotFound

SLUG_PATTERN = r"^[a-z][a-z0-9_]{0,62}$"
Slug = Annotated[str, Field(pattern=SLUG_PATTERN)]
NonEmpty = Annotated[str, Field(min_length=1)]
ParamType = Literal["string", "integer", "number", "boolean", "date"]

# Configs are written by hand: unknown keys are typos, and strict types stop YAML
# surprises (a quoted "3" for an integer, ``1.0`` for a version string) passing silently.
_MODEL_CONFIG = ConfigDict(extra="forbid", strict=True, frozen=True)
_ISO_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TRUE = frozenset({"true", "yes", "1"})
_FALSE = frozenset({"false", "no", "0"})
_EXPECTED: dict[str, str] = {
    "string": "a string",
    "integer": "an integer",
    "number": "a finite number",
    "boolean": "true or false",
    "date": "a YYYY-MM-DD date",
}


class FieldProblem(ValueError):
    """A model validator's complaint about one of its sub-fields.

    Pydantic only knows the model's own location; ``loc`` carries the rest, and
    :func:`_to_config_error` joins the two.
    """

    def __init__(self, loc: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.loc = loc
        self.message = message


class RetryPolicy(BaseModel):
    model_config = _MODEL_CONFIG

    max_attempts: int = Field(default=3, ge=1, le=10)
    backoff_seconds: float = Field(default=2.0, ge=0, le=3600)


class ParameterSpec(BaseModel):
    model_config = _MODEL_CONFIG

    type: ParamType = "string"
    required: bool = False
    default: Any = None
    description: str = ""
    choices: list[Any] | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _default_and_choices_fit_type(self) -> ParameterSpec:
        # Normalise both to the coerced form so run requests compare like with like
        # (object.__setattr__ because the model is frozen once built).
        choices = None
        if self.choices is not None:
            choices = [
                _coerce_or_problem(self.type, c, ("choices", i)) for i, c in enumerate(self.choices)
            ]
            object.__setattr__(self, "choices", choices)
        if self.default is not None:
            if self.required:
                raise FieldProblem(("default",), "a required parameter cannot have a default")
            default = _coerce_or_problem(self.type, self.default, ("default",))
            if choices is not None and default not in choices:
                raise FieldProblem(("default",), f"default {default!r} is not one of {choices}")
            object.__setattr__(self, "default", default)
        return self


class StepConfig(BaseModel):
    model_config = _MODEL_CONFIG

    step_id: Slug
    name: str | None = None
    description: str = ""
    ps_type: NonEmpty
    config: dict[str, Any] = {}
    depends_on: list[str] = []
    timeout_seconds: int = Field(default=300, ge=1, le=21600)
    retry: RetryPolicy = RetryPolicy()

    @field_validator("ps_type")
    @classmethod
    def _known_ps_type(cls, value: str, info: ValidationInfo) -> str:
        return _known(value, info, "ps_types", "ps_type")

    @model_validator(mode="after")
    def _not_own_dependency(self) -> StepConfig:
        if self.step_id in self.depends_on:
            raise FieldProblem(
                ("depends_on", self.depends_on.index(self.step_id)),
                f"step '{self.step_id}' depends on itself",
            )
        return self


class PipelineConfig(BaseModel):
    model_config = _MODEL_CONFIG

    pipeline_id: Slug
    name: NonEmpty
    description: str = ""
    provider: NonEmpty
    domain: NonEmpty
    version: Annotated[str, Field(pattern=r"^\d+\.\d+\.\d+$")]
    schedule: str | None = None
    parameters: dict[Slug, ParameterSpec] = {}
    steps: list[StepConfig] = Field(min_length=1)

    @field_validator("schedule")
    @classmethod
    def _valid_cron(cls, value: str | None) -> str | None:
        if value is not None and (len(value.split()) != 5 or not croniter.is_valid(value)):
            raise ValueError(
                f"invalid cron expression '{value}': expected 5 fields "
                "(minute hour day-of-month month day-of-week)"
            )
        return value

    @field_validator("provider")
    @classmethod
    def _known_provider(cls, value: str, info: ValidationInfo) -> str:
        return _known(value, info, "providers", "provider")

    @model_validator(mode="after")
    def _steps_form_a_dag(self, info: ValidationInfo) -> PipelineConfig:
        first_at: dict[str, int] = {}
        for i, step in enumerate(self.steps):
            if step.step_id in first_at:
                raise FieldProblem(
                    ("steps", i, "step_id"),
                    f"duplicate step_id '{step.step_id}' "
                    f"(first at steps[{first_at[step.step_id]}])",
                )
            first_at[step.step_id] = i
        for i, step in enumerate(self.steps):
            for j, dep in enumerate(step.depends_on):
                if dep not in first_at:
                    raise FieldProblem(
                        ("steps", i, "depends_on", j),
                        f"unknown step '{dep}'; steps in this pipeline: {_listing(first_at)}",
                    )
        if cycle := find_cycle({s.step_id: s.depends_on for s in self.steps}):
            raise FieldProblem(
                ("steps", first_at[cycle[0]], "depends_on"),
                f"dependency cycle: {' -> '.join(cycle)}",
            )
        providers: Mapping[str, ProviderSpec] | None = _context(info, "providers")
        if providers is not None and self.domain not in providers[self.provider].domains:
            raise FieldProblem(
                ("domain",),
                f"provider '{self.provider}' has no domain '{self.domain}'; "
                f"its domains: {_listing(providers[self.provider].domains)}",
            )
        return self

    @property
    def step_ids(self) -> list[str]:
        """Step ids in file order."""
        return [s.step_id for s in self.steps]

    def step(self, step_id: str) -> StepConfig:
        for s in self.steps:
            if s.step_id == step_id:
                return s
        raise NotFound(f"Step not found: {self.pipeline_id}/{step_id}", available=self.step_ids)


class ProviderSpec(BaseModel):
    model_config = _MODEL_CONFIG

    provider: Slug
    name: NonEmpty
    category: Literal["genai", "cloud", "saas"]
    requires_credential: bool
    domains: list[Slug] = Field(min_length=1)
    description: str = ""


class _ProvidersFile(BaseModel):
    model_config = _MODEL_CONFIG

    providers: list[ProviderSpec]

    @model_validator(mode="after")
    def _unique(self) -> _ProvidersFile:
        seen: set[str] = set()
        for i, p in enumerate(self.providers):
            if p.provider in seen:
                raise FieldProblem(
                    ("providers", i, "provider"), f"duplicate provider '{p.provider}'"
                )
            seen.add(p.provider)
        return self


def parse_providers(data: object, *, file: str) -> dict[str, ProviderSpec]:
    """The provider registry (a top-level ``providers:`` list), keyed by provider."""
    try:
        parsed = _ProvidersFile.model_validate(data)
    except ValidationError as exc:
        raise _to_config_error(exc, file) from None
    return {p.provider: p for p in parsed.providers}


def parse_pipeline(
    data: object,
    *,
    file: str,
    providers: Mapping[str, ProviderSpec],
    ps_types: Collection[str],
) -> PipelineConfig:
    """A validated pipeline config; the first problem found raises ConfigError."""
    try:
        return PipelineConfig.model_validate(
            data, context={"providers": providers, "ps_types": ps_types}
        )
    except ValidationError as exc:
        raise _to_config_error(exc, file) from None


def coerce_parameters(config: PipelineConfig, given: Mapping[str, Any]) -> dict[str, Any]:
    """Run-request parameters checked against the specs, coerced, defaults applied.

    Every declared parameter is in the result (None when optional and unset). Values
    arrive as JSON or as CLI ``k=v`` strings; dates come back as ISO strings so the
    result stays JSON-serialisable. ``None`` counts as not given.
    """
    specs = config.parameters
    for name in given:
        if name not in specs:
            raise BadRequest(
                f"unknown parameter '{name}'; allowed: {_listing(specs) or '(none)'}",
                field=f"parameters.{name}",
            )
    resolved: dict[str, Any] = {}
    for name, spec in specs.items():
        raw = given.get(name)
        if raw is None:
            if spec.required:
                raise BadRequest(f"missing required parameter '{name}'", field=f"parameters.{name}")
            resolved[name] = spec.default
            continue
        try:
            value = _coerce(spec.type, raw)
        except ValueError as exc:
            raise BadRequest(f"parameter '{name}': {exc}", field=f"parameters.{name}") from None
        if spec.choices is not None and value not in spec.choices:
            raise BadRequest(
                f"parameter '{name}' must be one of {spec.choices}, got {value!r}",
                field=f"parameters.{name}",
            )
        resolved[name] = value
    return resolved


def _coerce(kind: ParamType, value: Any) -> Any:
    """``value`` as a ``kind`` parameter, accepting the string form the CLI sends."""
    if kind == "string":
        if isinstance(value, str):
            return value
    elif kind == "integer":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and re.fullmatch(r"\s*[-+]?\d+\s*", value):
            return int(value)
    elif kind == "number":
        number: float | None = None
        if isinstance(value, int | float) and not isinstance(value, bool):
            number = float(value)
        elif isinstance(value, str):
            try:
                number = float(value)
            except ValueError:
                number = None
        if number is not None and math.isfinite(number):
            return number
    elif kind == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
    elif kind == "date":
        # YAML turns an unquoted 2024-01-31 into a date; a datetime is not a date here.
        if isinstance(value, date) and not isinstance(value, datetime):
            return value.isoformat()
        if isinstance(value, str) and _ISO_DATE_RE.fullmatch(value):
            try:
                return date.fromisoformat(value).isoformat()
            except ValueError:
                pass
    raise ValueError(f"expected {_EXPECTED[kind]}, got {value!r}")


def _coerce_or_problem(kind: ParamType, value: Any, loc: tuple[str | int, ...]) -> Any:
    try:
        return _coerce(kind, value)
    except ValueError as exc:
        raise FieldProblem(loc, str(exc)) from None


def _context(info: ValidationInfo, key: str) -> Any:
    return info.context.get(key) if isinstance(info.context, dict) else None


def _known(value: str, info: ValidationInfo, key: str, what: str) -> str:
    """``value``, if the validation context's ``key`` (when given) names it."""
    known = _context(info, key)
    if known is not None and value not in known:
        raise ValueError(f"unknown {what} '{value}'; known: {_listing(known)}")
    return value


def _listing(names: Collection[str]) -> str:
    return ", ".join(sorted(names))


def _to_config_error(exc: ValidationError, file: str) -> ConfigError:
    """The first pydantic error as a ConfigError with a ``steps[1].retry.x`` path."""
    err = exc.errors()[0]
    loc: tuple[str | int, ...] = tuple(p for p in err["loc"] if p != "[key]")
    cause = (err.get("ctx") or {}).get("error")
    if isinstance(cause, FieldProblem):
        loc, message = (*loc, *cause.loc), cause.message
    elif isinstance(cause, ValueError):
        message = str(cause)
    else:
        message = _describe(err)
    return ConfigError(file, _path(loc), message)


def _describe(err: ErrorDetails) -> str:
    kind, loc = err["type"], err["loc"]
    name = loc[-1] if loc else ""
    if kind == "missing":
        return f"missing required field '{name}'"
    if kind == "extra_forbidden":
        return f"unknown key '{name}'"
    if kind == "model_type" or kind == "dict_type":
        return f"expected a mapping, got {_type_name(err['input'])}"
    value = err["input"]
    if kind.endswith("_type"):
        return f"{err['msg']} (got {_type_name(value)})"
    if isinstance(value, str | int | float):
        return f"{err['msg']} (got {value!r})"
    return err["msg"]


def _type_name(value: object) -> str:
    return "null" if value is None else type(value).__name__


def _path(loc: tuple[str | int, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif not part or any(c in part for c in ".[]'\""):  # "" or "a.b[0]" is no path
            path += f"[{part!r}]"
        else:
            path += f".{part}" if path else part
    return path
