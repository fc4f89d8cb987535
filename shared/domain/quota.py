"""Quota decisions: pure arithmetic over usage already counted by a state store."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from shared.domain.errors import Forbidden


class SubscriptionStatus(StrEnum):
    ACTIVE = "ACTIVE"
    TRIAL = "TRIAL"
    PAST_DUE = "PAST_DUE"
    SUSPENDED = "SUSPENDED"
    CANCELLED = "CANCELLED"

    @property
    def may_run(self) -> bool:
        return self in (SubscriptionStatus.ACTIVE, SubscriptionStatus.TRIAL)

    @property
    def refusal(self) -> str:
        """Why a run is refused, in the product's words (CLIENT_CONTRACT.md)."""
        return f"Organization subscription is {self.value}"

    def require_may_run(self) -> None:
        """Forbidden unless runs are allowed (ACTIVE or TRIAL)."""
        if not self.may_run:
            raise Forbidden(
                self.refusal, status=self.value, hint="runs need an ACTIVE or TRIAL subscription"
            )


@dataclass(frozen=True, slots=True)
class QuotaLimits:
    daily: int
    monthly: int
    concurrent: int


@dataclass(frozen=True, slots=True)
class QuotaUsage:
    daily: int
    monthly: int
    concurrent: int


@dataclass(frozen=True, slots=True)
class QuotaDecision:
    admitted: bool
    limit_hit: str | None = None  # "concurrent" | "daily" | "monthly"
    limit: int | None = None
    used: int | None = None

    @property
    def message(self) -> str:
        if self.admitted:
            return "admitted"
        # The wording the product's clients show (../shared/reference/CLIENT_CONTRACT.md);
        # the figures are in the error's details.
        return f"{(self.limit_hit or '').capitalize()} pipeline limit reached"


def decide(limits: QuotaLimits, usage: QuotaUsage) -> QuotaDecision:
    """Admit one more run unless a limit is already used up (checked cheapest-to-free first)."""
    for name in ("concurrent", "daily", "monthly"):
        used, limit = getattr(usage, name), getattr(limits, name)
        if used >= limit:
            return QuotaDecision(False, name, limit, used)
    return QuotaDecision(True)


def day_bucket(now: datetime) -> str:
    """UTC day key, e.g. ``2026-11-22``; quotas reset when it changes."""
    return now.strftime("%Y-%m-%d")


def month_bucket(now: datetime) -> str:
    return now.strftime("%Y-%m")
