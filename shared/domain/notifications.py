"""Notifications: events, settings (root file overridden per org), pure decisions."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from shared.domain.errors import BadRequest, SecretBoxError


class EventType(StrEnum):
    PIPELINE_STARTED = "PIPELINE_STARTED"
    PIPELINE_SUCCESS = "PIPELINE_SUCCESS"
    PIPELINE_FAILURE = "PIPELINE_FAILURE"
    STEP_FAILURE = "STEP_FAILURE"
    COST_THRESHOLD = "COST_THRESHOLD"
    ANOMALY_DETECTED = "ANOMALY_DETECTED"
    SUMMARY_SCHEDULED = "SUMMARY_SCHEDULED"


Channel = Literal["email", "slack"]


@dataclass(frozen=True, slots=True)
class PipelineEvent:
    event: EventType
    org_slug: str
    run_id: str
    pipeline_ref: str
    at: datetime
    message: str
    step_id: str | None = None
    # Cost and summary events are about a period, not a pipeline: ``key`` names it (the
    # cooldown is then per period), ``cooldown_seconds`` spaces repeats of it (a day's
    # threshold crossed by three runs is said once).
    key: str | None = None
    cooldown_seconds: int | None = None

    @property
    def trigger_key(self) -> str:
        """What the cooldown is per: this event of this pipeline (and step), or its key."""
        if self.key is not None:
            return f"{self.event.value}:{self.key}"
        return f"{self.event.value}:{self.pipeline_ref}:{self.step_id or ''}"

    @property
    def subject(self) -> str:
        if self.key is not None:
            return f"[{self.org_slug}] {self.event.value}: {self.key}"
        where = f" step {self.step_id}" if self.step_id else ""
        return f"[{self.org_slug}] {self.event.value}: {self.pipeline_ref}{where}"

    @property
    def body(self) -> str:
        return (
            f"{self.subject}\n\nrun: {self.run_id}\nat: {self.at.isoformat()}\n\n{self.message}\n"
        )


class DeliveryStatus(StrEnum):
    SENT = "sent"
    FAILED = "failed"  # every attempt failed
    SUPPRESSED = "suppressed"  # within the trigger's cooldown: not sent


@dataclass(frozen=True, slots=True)
class Delivery:
    """One entry of the delivery history."""

    org_slug: str
    event: EventType
    channel: str
    target: str  # recipients or redacted webhook: never a secret
    run_id: str
    trigger_key: str
    status: DeliveryStatus
    attempts: int
    error: str | None
    at: datetime

    def to_public(self) -> dict[str, Any]:
        return {
            "event": self.event.value,
            "channel": self.channel,
            "target": self.target,
            "run_id": self.run_id,
            "status": self.status.value,
            "attempts": self.attempts,
            "error": self.error,
            "at": self.at.isoformat(),
        }


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EmailSettings(_Model):
    smtp_host: str = "localhost"
    smtp_port: int = Field(default=25, ge=1, le=65535)
    starttls: bool = False
    username: str | None = None
    password_env: str | None = None  # the password is read from this env var, never stored
    sender: str = "pipelines@localhost"
    to: list[str] = []
    timeout_seconds: float = Field(default=10.0, gt=0, le=120)


class SlackSettings(_Model):
    # A secret: never logged nor returned whole. An org's is stored sealed (see
    # seal_webhook) and only opened to post; the root file's is the URL itself.
    webhook_url: str | None = None
    timeout_seconds: float = Field(default=10.0, gt=0, le=120)


class RetrySettings(_Model):
    max_attempts: int = Field(default=3, ge=1, le=10)
    backoff_seconds: float = Field(default=1.0, ge=0, le=300)


Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]  # ISO 4217
Amount = Annotated[Decimal, Field(gt=0, max_digits=20, decimal_places=9)]


class CostThresholdSettings(_Model):
    """BilledCost per currency above which COST_THRESHOLD fires (a day, a calendar month)."""

    daily: dict[Currency, Amount] = {}
    monthly: dict[Currency, Amount] = {}


class AnomalySettings(_Model):
    """ANOMALY_DETECTED: a service's day costs more than ``factor`` times its previous day
    and at least ``min_amount`` more (so a jump from 0.10 to 0.50 is not news)."""

    factor: float = Field(default=2.0, gt=1, le=1000)
    min_amount: Decimal = Field(default=Decimal(50), ge=0, max_digits=20, decimal_places=9)


class NotificationSettings(_Model):
    enabled: bool = True
    cooldown_seconds: int = Field(default=900, ge=0, le=7 * 24 * 3600)
    retry: RetrySettings = RetrySettings()
    events: dict[EventType, list[Channel]] = {}
    email: EmailSettings = EmailSettings()
    slack: SlackSettings = SlackSettings()
    cost_threshold: CostThresholdSettings = CostThresholdSettings()
    anomaly: AnomalySettings = AnomalySettings()

    def routes(self, event: EventType) -> bool:
        return self.enabled and bool(self.events.get(event))


@dataclass(frozen=True, slots=True)
class PeriodCost:
    """Billed cost of one org over a period (a day or a calendar month) in one currency."""

    period: Literal["daily", "monthly"]
    start: date
    currency: str
    total: Decimal


def crossed_thresholds(
    totals: list[PeriodCost], thresholds: CostThresholdSettings
) -> list[tuple[PeriodCost, Decimal]]:
    """Each period total above its configured threshold, with that threshold."""
    crossed = []
    for cost in totals:
        limit = getattr(thresholds, cost.period).get(cost.currency)
        if limit is not None and cost.total > limit:
            crossed.append((cost, limit))
    return crossed


def merge_settings(
    root: Mapping[str, Any], override: Mapping[str, Any] | None, *, source: str
) -> NotificationSettings:
    """Root settings with an org's override on top: mappings merge, other values replace."""
    merged = _deep_merge(root, override or {})
    try:
        return NotificationSettings.model_validate(merged)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise BadRequest(f"{source}: {where}: {first['msg']}", field=where) from None


def _deep_merge(base: Mapping[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in top.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def redact_url(url: str | None) -> str | None:
    """A webhook URL is its own credential: show only where it points.

    A sealed webhook shows the redacted form kept beside its ciphertext (never the
    ciphertext), so settings and delivery history read the same as before sealing.
    """
    if not url:
        return url
    if url.startswith(SEALED_WEBHOOK_PREFIX):
        shown = url[len(SEALED_WEBHOOK_PREFIX) :].partition(":")[2]
        return shown or "(sealed)"
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}/…"


# A sealed webhook is a string, so stored overrides still validate as settings:
# "sealed:v1:" + base64url(SecretBox ciphertext) + ":" + redact_url(the URL).
# No http(s) URL starts with "sealed:", so anything else is a URL in clear.
SEALED_WEBHOOK_PREFIX = "sealed:v1:"


def webhook_associated_data(org_slug: str) -> bytes:
    """Binds a sealed webhook to its org and to this use: another org's ciphertext, or
    a provider credential's, does not open as this org's webhook."""
    return f"notification\x00{org_slug}\x00slack.webhook_url".encode()


def seal_webhook(ciphertext: bytes, url: str) -> str:
    """The stored form of a webhook URL, from its SecretBox ciphertext."""
    encoded = base64.urlsafe_b64encode(ciphertext).decode().rstrip("=")
    return f"{SEALED_WEBHOOK_PREFIX}{encoded}:{redact_url(url)}"


def unseal_parts(value: str) -> tuple[bytes, str] | None:
    """(ciphertext, redacted URL) of a sealed webhook; None if ``value`` is not sealed."""
    if not value.startswith(SEALED_WEBHOOK_PREFIX):
        return None
    encoded, _, shown = value[len(SEALED_WEBHOOK_PREFIX) :].partition(":")
    try:
        ciphertext = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    except (binascii.Error, ValueError):
        raise SecretBoxError("the stored slack webhook is not valid sealed data") from None
    return ciphertext, shown
