"""Delivery channels: email over SMTP (stdlib smtplib) and Slack incoming webhooks."""

from __future__ import annotations

import json
import os
import smtplib
import urllib.request
from email.message import EmailMessage
from urllib.error import HTTPError, URLError

from shared.domain.notifications import EmailSettings, PipelineEvent, SlackSettings


class DeliveryError(Exception):
    """A failed attempt; the message never contains credentials or webhook paths."""


class EmailChannel:
    def send(self, settings: EmailSettings, event: PipelineEvent) -> None:
        message = EmailMessage()
        message["Subject"] = event.subject
        message["From"] = settings.sender
        message["To"] = ", ".join(settings.to)
        message.set_content(event.body)
        try:
            with smtplib.SMTP(
                settings.smtp_host, settings.smtp_port, timeout=settings.timeout_seconds
            ) as smtp:
                if settings.starttls:
                    smtp.starttls()
                if settings.username:
                    password = os.environ.get(settings.password_env or "", "")
                    smtp.login(settings.username, password)
                smtp.send_message(message)
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"SMTP {settings.smtp_host}:{settings.smtp_port}: {exc}") from None


class SlackChannel:
    def send(self, settings: SlackSettings, event: PipelineEvent) -> None:
        url = settings.webhook_url or ""
        if not url.startswith(("https://", "http://")):  # checked on input too
            raise DeliveryError("webhook_url must be an http(s) URL")
        payload = json.dumps({"text": f"*{event.subject}*\n{event.message}\nrun `{event.run_id}`"})
        request = urllib.request.Request(  # noqa: S310 - scheme checked above
            url,
            data=payload.encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=settings.timeout_seconds) as response:  # noqa: S310
                status = response.status
        except HTTPError as exc:
            raise DeliveryError(f"webhook answered HTTP {exc.code}") from None
        except (URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise DeliveryError(f"webhook unreachable: {reason}") from None
        if not 200 <= status < 300:
            raise DeliveryError(f"webhook answered HTTP {status}")
