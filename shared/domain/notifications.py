"""Notifications: events, settings (root file overridden per org), pure decisions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.domain.errors import BadRequest


class EventType(StrEnum):
    PIPELINE_STARTED = "PIPELINE_STARTED"
    PIPELINE_SUCCESS = "PIPELINE_SUCCESS"
    PIPELINE_FAILURE = "PIPELINE_FAILURE"
    STEP_FAILURE = "STEP_FAILURE"


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

    @property
    def trigger_key(self) -> str:
        """What the cooldown is per: this event of this pipeline (and step)."""
        return f"{self.event.value}:{self.pipeline_ref}:{self.step_id or ''}"

    @property
    def subject(self) -> str:
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
    webhook_url: str | None = None  # a secret: never logged nor returned whole
    timeout_seconds: float = Field(default=10.0, gt=0, le=120)


class RetrySettings(_Model):
    max_attempts: int = Field(default=3, ge=1, le=10)
    backoff_seconds: float = Field(default=1.0, ge=0, le=300)


class NotificationSettings(_Model):
    enabled: bool = True
    cooldown_seconds: int = Field(default=900, ge=0, le=7 * 24 * 3600)
    retry: RetrySettings = RetrySettings()
    events: dict[EventType, list[Channel]] = {}
    email: EmailSettings = EmailSettings()
    slack: SlackSettings = SlackSettings()


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
    """A webhook URL is its own credential: show only where it points."""
    if not url:
        return url
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}/…"
