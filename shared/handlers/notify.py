"""Notifications: settings per org, cooldown per trigger, retried delivery, history.

The pipeline never waits for a mail server: :meth:`Notifier.emit` hands the event
to a background thread. :meth:`Notifier.deliver` does the work (and is what tests and
the "test notification" endpoint call directly).
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import yaml

from shared.adapters.notify_channels import DeliveryError, EmailChannel, SlackChannel
from shared.domain.errors import (
    BadRequest,
    ConfigError,
    DependencyUnavailable,
    SecretBoxError,
)
from shared.domain.models import Run
from shared.domain.notifications import (
    Delivery,
    DeliveryStatus,
    EmailSettings,
    EventType,
    NotificationSettings,
    PipelineEvent,
    SlackSettings,
    merge_settings,
    redact_url,
    seal_webhook,
    unseal_parts,
    webhook_associated_data,
)
from shared.domain.retry import backoff_delay
from shared.handlers.services import Services
from shared.ports import Clock, NotificationStore, SecretBox

log = logging.getLogger(__name__)

ROOT_FILE = Path("notifications") / "default.yml"  # under the configs directory
# Mail-server settings belong to the operator: an org override must not point the
# server's SMTP client (or its credentials) somewhere else.
ROOT_ONLY_EMAIL_KEYS = frozenset(
    {"smtp_host", "smtp_port", "starttls", "username", "password_env", "sender"}
)


class EmailSender(Protocol):
    def send(self, settings: EmailSettings, event: PipelineEvent) -> None: ...


class SlackSender(Protocol):
    def send(self, settings: SlackSettings, event: PipelineEvent) -> None: ...


class Notifier:
    """The EventSink of a runtime: settings, cooldowns, retries and history.

    An org's Slack webhook URL is a bearer credential: it is sealed with ``secrets``
    (bound to the org) before the store sees it, and opened only to post.
    """

    def __init__(
        self,
        store: NotificationStore,
        clock: Clock,
        configs_dir: Path,
        *,
        secrets: SecretBox,
        email: EmailSender | None = None,
        slack: SlackSender | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.store = store
        self._clock = clock
        self._secrets = secrets
        self._root_file = configs_dir / ROOT_FILE
        self._email: EmailSender = email or EmailChannel()
        self._slack: SlackSender = slack or SlackChannel()
        self._sleep = sleep
        self._executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="notify")
        self._pending: set[Future[list[Delivery]]] = set()
        self._lock = threading.Lock()
        # Called with each delivery once recorded (the BigQuery history mirror, set by
        # shared.handlers.meta_mirror.attach); it must not raise.
        self.on_recorded: Callable[[Delivery], None] | None = None

    # -- settings ------------------------------------------------------------------

    @functools.cached_property
    def root(self) -> dict[str, Any]:
        if not self._root_file.exists():
            return {}  # no root file: nothing is routed anywhere until an org says so
        raw = yaml.safe_load(self._root_file.read_text(encoding="utf-8")) or {}
        if not isinstance(raw, dict):
            raise ConfigError(str(self._root_file), "", "must be a mapping")
        try:
            merge_settings(raw, None, source=str(self._root_file))
        except BadRequest as exc:
            raise ConfigError(
                str(self._root_file), exc.details.get("field", ""), exc.message
            ) from None
        return raw

    def settings_for(self, org_slug: str) -> NotificationSettings:
        override = self.store.get_org_settings(org_slug)
        return merge_settings(self.root, override, source=f"notification settings of {org_slug}")

    def set_org_settings(self, org_slug: str, override: Mapping[str, Any]) -> NotificationSettings:
        """Validate an org's override (400 naming the field) and store it."""
        email = override.get("email")
        if isinstance(email, Mapping) and (bad := sorted(ROOT_ONLY_EMAIL_KEYS & set(email))):
            raise BadRequest(
                f"email.{bad[0]} is set by the operator, not per organization",
                field=f"email.{bad[0]}",
            )
        merged = merge_settings(self.root, override, source="settings")
        _check_webhook(merged.slack.webhook_url)
        self.store.set_org_settings(org_slug, self._sealed(org_slug, override), self._clock.now())
        return merged

    def _sealed(self, org_slug: str, override: Mapping[str, Any]) -> dict[str, Any]:
        """The override as stored: its webhook URL replaced by ciphertext bound to the org.

        Every write seals (input is a URL: _check_webhook refuses anything else), which
        is also how a legacy URL stored in clear gets sealed: on the org's next write.
        """
        slack = override.get("slack")
        if not isinstance(slack, Mapping) or not isinstance(url := slack.get("webhook_url"), str):
            return dict(override)
        ciphertext = self._secrets.encrypt(
            url.encode(), associated_data=webhook_associated_data(org_slug)
        )
        return {**override, "slack": {**slack, "webhook_url": seal_webhook(ciphertext, url)}}

    def _opened(self, org_slug: str, slack: SlackSettings) -> SlackSettings:
        """The Slack settings to post with: the org's webhook decrypted (only here).

        Raises SecretBoxError (never quoting the URL or ciphertext) if the stored value
        was not sealed for this org: moved from another org, tampered with, or another key.
        """
        parts = unseal_parts(slack.webhook_url) if slack.webhook_url else None
        if parts is None:
            # Not our format: the root file's URL, or an org's stored in clear by a version
            # before sealing. It still posts, so alerts keep flowing across the upgrade
            # (refusing it would silence them until every org re-saved); the org's next
            # write seals it.
            return slack
        ciphertext, shown = parts
        url = self._secrets.decrypt(
            ciphertext, associated_data=webhook_associated_data(org_slug)
        ).decode()
        if redact_url(url) != shown:  # the redacted host shown beside it was edited
            raise SecretBoxError("the stored slack webhook does not match its shown host")
        return slack.model_copy(update={"webhook_url": url})

    # -- delivery ------------------------------------------------------------------

    def emit(self, event: PipelineEvent) -> None:
        self._submit(functools.partial(self.deliver, event))

    def emit_computed(self, compute: Callable[[], list[PipelineEvent]]) -> None:
        """Work out events in the background (warehouse queries), then deliver them:
        the coordinator that finished a run does not wait for either."""
        self._submit(lambda: [d for event in compute() for d in self.deliver(event)])

    def _submit(self, work: Callable[[], list[Delivery]]) -> None:
        try:
            future = self._executor.submit(work)
        except RuntimeError:  # closed: a handler still finishing as the runtime stops
            self.deliver_now(work, "emitted after close")  # late rather than lost
            return
        with self._lock:
            self._pending.add(future)
        future.add_done_callback(self._done)

    def _done(self, future: Future[list[Delivery]]) -> None:
        with self._lock:
            self._pending.discard(future)
        if (exc := future.exception()) is not None:
            log.error("notification delivery crashed: %s", exc)

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait for emitted events to be delivered; False on timeout."""
        with self._lock:
            pending = set(self._pending)
        return not wait(pending, timeout=timeout).not_done

    def close(self) -> None:
        self._executor.shutdown(wait=True)

    @staticmethod
    def deliver_now(work: Callable[[], list[Delivery]], about: str) -> None:
        """Run a delivery in this thread; a failure is logged, never raised (EventSink)."""
        try:
            work()
        except Exception:
            log.exception("notification (%s) not delivered", about)

    def deliver(self, event: PipelineEvent) -> list[Delivery]:
        settings = self.settings_for(event.org_slug)
        if not settings.enabled:
            return []
        deliveries = []
        for channel in dict.fromkeys(settings.events.get(event.event, [])):
            deliveries.append(self._deliver_one(settings, channel, event))
        return deliveries

    def _deliver_one(
        self, settings: NotificationSettings, channel: str, event: PipelineEvent
    ) -> Delivery:
        unusable: str | None = None  # why a configured channel cannot be used at all
        if channel == "email":
            target = ", ".join(settings.email.to)
            send: Callable[[], None] = functools.partial(self._email.send, settings.email, event)
            configured = bool(settings.email.to)
        else:
            target = redact_url(settings.slack.webhook_url) or ""
            configured = bool(settings.slack.webhook_url)
            slack = settings.slack
            if configured:
                try:
                    slack = self._opened(event.org_slug, slack)
                except (SecretBoxError, DependencyUnavailable) as exc:
                    unusable = f"slack webhook cannot be decrypted: {exc.message}"
            send = functools.partial(self._slack.send, slack, event)

        def record(status: DeliveryStatus, attempts: int, error: str | None) -> Delivery:
            delivery = Delivery(
                event.org_slug,
                event.event,
                channel,
                target,
                event.run_id,
                event.trigger_key,
                status,
                attempts,
                error,
                self._clock.now(),
            )
            self.store.record_delivery(delivery)
            if self.on_recorded is not None:
                self.on_recorded(delivery)
            return delivery

        if not configured:
            return record(DeliveryStatus.FAILED, 0, f"{channel} is not configured for this org")
        if unusable is not None:  # nothing is sent, and the cooldown is left unclaimed
            log.warning("%s notification for %s not sent: %s", channel, event.org_slug, unusable)
            return record(DeliveryStatus.FAILED, 0, unusable)
        claimed = self._clock.now()
        cooldown = settings.cooldown_seconds
        if event.cooldown_seconds is not None:
            cooldown = max(cooldown, event.cooldown_seconds)
        if not self.store.claim_cooldown(
            event.org_slug, channel, event.trigger_key, claimed, cooldown
        ):
            return record(DeliveryStatus.SUPPRESSED, 0, "within the cooldown")
        error = None
        for attempt in range(1, settings.retry.max_attempts + 1):
            try:
                send()
                return record(DeliveryStatus.SENT, attempt, None)
            except DeliveryError as exc:
                error = str(exc)
                log.warning("%s notification attempt %d failed: %s", channel, attempt, error)
            if attempt < settings.retry.max_attempts:
                self._sleep(backoff_delay(attempt, settings.retry.backoff_seconds, cap_seconds=60))
        # Nothing reached anyone: the next occurrence must not be silenced by the cooldown.
        self.store.release_cooldown(event.org_slug, channel, event.trigger_key, claimed)
        return record(DeliveryStatus.FAILED, settings.retry.max_attempts, error)


def run_event(
    services: Services, event: EventType, run: Run, message: str, **details: Any
) -> PipelineEvent:
    """``event`` about ``run``, happening now; ``details`` are PipelineEvent's ``step_id``,
    ``key`` and ``cooldown_seconds``."""
    at = services.clock.now()
    return PipelineEvent(event, run.org_slug, run.run_id, run.pipeline_ref, at, message, **details)


def emit(
    services: Services,
    event: EventType,
    run: Run,
    message: str,
    *,
    step_id: str | None = None,
) -> None:
    """Hand a pipeline event to the runtime's sink; a failure here never fails the run."""
    if services.events is None:
        return
    try:
        services.events.emit(run_event(services, event, run, message, step_id=step_id))
    except Exception:
        log.exception("could not emit %s for run %s", event.value, run.run_id)


def notifier(services: Services) -> Notifier:
    if not isinstance(services.events, Notifier):
        raise DependencyUnavailable("notifications are not configured in this runtime")
    return services.events


def public_settings(
    effective: NotificationSettings, override: Mapping[str, Any] | None
) -> dict[str, Any]:
    """Settings as the API shows them: the webhook redacted, the override's too."""
    shown = effective.model_dump(mode="json")
    shown["slack"]["webhook_url"] = redact_url(effective.slack.webhook_url)
    own = dict(override or {})
    if isinstance(own.get("slack"), Mapping) and "webhook_url" in own["slack"]:
        own["slack"] = {**own["slack"], "webhook_url": redact_url(own["slack"]["webhook_url"])}
    return {"effective": shown, "override": own}


def send_test(services: Services, org_slug: str, event_name: Any) -> list[Delivery]:
    try:
        event = EventType(event_name)
    except ValueError:
        choices = ", ".join(e.value for e in EventType)
        raise BadRequest(f"event must be one of {choices}", field="event") from None
    sample = PipelineEvent(
        event,
        org_slug,
        "test-notification",
        "test/notification/sample",
        services.clock.now(),
        "This is a test notification.",
    )
    return notifier(services).deliver(sample)


def _check_webhook(url: str | None) -> None:
    """https only, except to this machine (local receivers in development and tests)."""
    if url is None:
        return
    parts = urlsplit(url)
    loopback = parts.hostname == "localhost"
    if not loopback and parts.hostname:
        try:
            loopback = ipaddress.ip_address(parts.hostname).is_loopback
        except ValueError:
            loopback = False
    if (
        not parts.hostname
        or parts.scheme not in ("https", "http")
        or (parts.scheme == "http" and not loopback)
    ):
        raise BadRequest(
            "slack.webhook_url must be an https URL (http only to localhost)",
            field="slack.webhook_url",
        )
