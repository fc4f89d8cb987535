"""Notifications to a real local SMTP server and a local webhook receiver."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from shared.adapters.clock import FixedClock
from shared.adapters.firestore.ops import FirestoreNotificationStore
from shared.adapters.local_secrets import LocalKeySecretBox
from shared.adapters.sqlite.ops import SqliteNotificationStore
from shared.bootstrap.embedded import EmbeddedRuntime
from shared.domain.notifications import DeliveryStatus, EventType, PipelineEvent
from shared.handlers.notify import Notifier
from shared.ports import NotificationStore
from tests.support.emulators import firestore_client
from tests.support.http import post_run
from tests.support.receivers import MailBox, Webhook, webhook_receiver
from tests.support.runtime import new_org, record_pipeline, with_notifications, write_configs

PIPELINES: dict[str, dict[str, Any]] = {
    "subscription/costs/broken": record_pipeline("broken", "boom", {"fail_permanently": True}),
    "subscription/costs/fine": record_pipeline("fine"),
}
T0 = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


pytestmark = pytest.mark.clock(T0)


@pytest.fixture
def configs(tmp_path: Path, mail: tuple[MailBox, int]) -> Path:
    """The real root settings file, pointed at the local SMTP server."""
    return with_notifications(write_configs(tmp_path, PIPELINES), mail[1])


def _configure(client: FlaskClient, key: str, hook: Webhook, org: str = "acme") -> Any:
    return client.put(
        f"/api/v1/notifications/{org}/settings",
        json={"email": {"to": ["ops@acme.test"]}, "slack": {"webhook_url": hook.url}},
        headers={"X-API-Key": key},
    )


def _run(client: FlaskClient, key: str, pipeline: str, runtime: EmbeddedRuntime) -> None:
    day = {"date": "2026-03-09"}
    assert post_run(client, key, "acme", f"subscription/costs/{pipeline}", day).status_code == 202
    assert runtime.bus.drain(10)
    assert runtime.notifier.flush(10)


def test_failures_reach_smtp_and_webhook_and_cooldown_holds(
    client: FlaskClient,
    runtime: EmbeddedRuntime,
    clock: FixedClock,
    mail: tuple[MailBox, int],
    hook: Webhook,
) -> None:
    box, _ = mail
    _, key = new_org(runtime, "acme")
    assert _configure(client, key, hook).status_code == 200

    _run(client, key, "broken", runtime)
    [email] = box.messages
    assert email["Subject"] == "[acme] PIPELINE_FAILURE: subscription/costs/broken"
    assert email["To"] == "ops@acme.test"
    assert "boom failed on purpose" in email.get_payload()
    texts = sorted(p["text"].split("\n")[0] for p in hook.posts)
    assert texts == [
        "*[acme] PIPELINE_FAILURE: subscription/costs/broken*",
        "*[acme] STEP_FAILURE: subscription/costs/broken step boom*",
    ]

    _run(client, key, "fine", runtime)  # success is routed nowhere by the root file
    _run(client, key, "broken", runtime)  # within the 900 s cooldown: suppressed
    assert len(box.messages) == 1
    assert len(hook.posts) == 2

    clock.advance(901)
    _run(client, key, "broken", runtime)
    assert len(box.messages) == 2
    assert len(hook.posts) == 4

    history = client.get(
        "/api/v1/notifications/acme/deliveries", headers={"X-API-Key": key}
    ).get_json()["deliveries"]
    seen = [(d["event"], d["channel"], d["status"]) for d in history[::-1]]
    # One group per failing run; within a run the two events are delivered in parallel.
    groups = [sorted(seen[i : i + 3]) for i in range(0, len(seen), 3)]
    assert groups == [
        [
            ("PIPELINE_FAILURE", "email", status),
            ("PIPELINE_FAILURE", "slack", status),
            ("STEP_FAILURE", "slack", status),
        ]
        for status in ("sent", "suppressed", "sent")
    ]
    assert all("SECRET" not in d["target"] for d in history)  # the webhook path is a secret


def _event(at: datetime = T0) -> PipelineEvent:
    return PipelineEvent(
        EventType.PIPELINE_FAILURE, "acme", "run-1", "aws/cost/billing", at, "it broke"
    )


@pytest.fixture
def direct(
    tmp_path: Path, configs: Path, clock: FixedClock
) -> Iterator[tuple[Notifier, list[float]]]:
    sleeps: list[float] = []
    store = SqliteNotificationStore(tmp_path / "notify.db")
    secrets = LocalKeySecretBox(tmp_path / "secret.key")
    notifier = Notifier(store, clock, configs, secrets=secrets, sleep=sleeps.append)
    yield notifier, sleeps
    notifier.close()


def test_webhook_retries_with_exponential_backoff(
    direct: tuple[Notifier, list[float]], hook: Webhook
) -> None:
    notifier, sleeps = direct
    notifier.set_org_settings(
        "acme",
        {
            "events": {"PIPELINE_FAILURE": ["slack"]},
            "slack": {"webhook_url": hook.url},
            "retry": {"max_attempts": 4, "backoff_seconds": 0.5},
        },
    )
    hook.fail_next = 2
    [delivery] = notifier.deliver(_event())
    assert (delivery.status, delivery.attempts, delivery.error) == (DeliveryStatus.SENT, 3, None)
    assert sleeps == [0.5, 1.0]
    assert hook.requests == 3


def test_a_delivery_that_never_succeeds_is_failed_and_not_cooled_down(
    direct: tuple[Notifier, list[float]], hook: Webhook
) -> None:
    notifier, sleeps = direct
    notifier.set_org_settings(
        "acme", {"events": {"PIPELINE_FAILURE": ["slack"]}, "slack": {"webhook_url": hook.url}}
    )
    hook.fail_next = 3
    [failed] = notifier.deliver(_event())
    assert (failed.status, failed.attempts) == (DeliveryStatus.FAILED, 3)
    assert failed.error == "webhook answered HTTP 500"
    assert sleeps == [2.0, 4.0]  # the root file's 2 s base, doubled
    [retried] = notifier.deliver(_event())  # not suppressed: nothing was delivered before
    assert retried.status is DeliveryStatus.SENT


def test_an_event_emitted_after_close_is_delivered_not_raised_or_lost(
    direct: tuple[Notifier, list[float]], hook: Webhook
) -> None:
    notifier, _ = direct
    notifier.set_org_settings("acme", _slack_only(hook.url))
    notifier.close()  # the runtime stopping while a handler still finishes
    notifier.emit(_event())  # the executor refuses new work: delivered in this thread
    assert hook.requests == 1
    [delivery] = notifier.store.list_deliveries("acme", limit=10)
    assert delivery.status is DeliveryStatus.SENT


def test_unconfigured_channel_is_recorded_as_failed(direct: tuple[Notifier, list[float]]) -> None:
    notifier, _ = direct
    deliveries = notifier.deliver(_event())  # root routes email+slack; acme set neither
    assert [(d.channel, d.status, d.error) for d in deliveries] == [
        ("email", DeliveryStatus.FAILED, "email is not configured for this org"),
        ("slack", DeliveryStatus.FAILED, "slack is not configured for this org"),
    ]


def test_settings_api_auth_wrong_org_and_redaction(
    client: FlaskClient, runtime: EmbeddedRuntime, hook: Webhook, mail: tuple[MailBox, int]
) -> None:
    _, acme = new_org(runtime, "acme")
    _, globex = new_org(runtime, "globex")
    assert _configure(client, acme, hook).status_code == 200
    shown = client.get(
        "/api/v1/notifications/acme/settings", headers={"X-API-Key": acme}
    ).get_json()
    assert shown["effective"]["email"]["to"] == ["ops@acme.test"]
    assert shown["effective"]["cooldown_seconds"] == 900  # from the root file
    assert "SECRET" not in str(shown)
    # the stored override holds ciphertext; it is shown by its host, like the effective one
    host = hook.url.split("/hooks/")[0]
    assert shown["override"]["slack"]["webhook_url"] == f"{host}/…"
    assert shown["effective"]["slack"]["webhook_url"] == f"{host}/…"
    assert "sealed" not in str(shown)
    theirs = client.get("/api/v1/notifications/globex/settings", headers={"X-API-Key": globex})
    assert theirs.get_json()["effective"]["email"]["to"] == []  # acme's override is acme's
    for path in ("settings", "deliveries"):
        assert client.get(f"/api/v1/notifications/acme/{path}").status_code == 401
        assert (
            client.get(
                f"/api/v1/notifications/acme/{path}", headers={"X-API-Key": globex}
            ).status_code
            == 401
        )
    assert _configure(client, globex, hook, org="acme").status_code == 401
    test = client.post("/api/v1/notifications/acme/test", json={}, headers={"X-API-Key": acme})
    assert [d["status"] for d in test.get_json()["deliveries"]] == ["sent", "sent"]
    assert mail[0].messages[0]["Subject"] == "[acme] PIPELINE_FAILURE: test/notification/sample"
    none = client.get("/api/v1/notifications/globex/deliveries", headers={"X-API-Key": globex})
    assert none.get_json()["deliveries"] == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": {"smtp_host": "evil.example"}}, "email.smtp_host"),
        ({"slack": {"webhook_url": "http://10.0.0.5/hook"}}, "slack.webhook_url"),
        ({"slack": {"webhook_url": "file:///etc/passwd"}}, "slack.webhook_url"),
        ({"cooldown_seconds": -1}, "cooldown_seconds"),
        ({"events": {"SOMETHING": ["email"]}}, "events.SOMETHING.[key]"),
        ({"events": {"STEP_FAILURE": ["pager"]}}, "events.STEP_FAILURE.0"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_settings_are_400_naming_the_field(
    client: FlaskClient, runtime: EmbeddedRuntime, body: dict[str, Any], field: str
) -> None:
    _, key = new_org(runtime, "acme")
    response = client.put(
        "/api/v1/notifications/acme/settings", json=body, headers={"X-API-Key": key}
    )
    assert response.status_code == 400, response.get_json()
    assert response.get_json()["error"]["details"]["field"] == field
    assert runtime.notifier.store.get_org_settings("acme") is None


def test_test_endpoint_rejects_unknown_events(
    client: FlaskClient, runtime: EmbeddedRuntime
) -> None:
    _, key = new_org(runtime, "acme")
    response = client.post(
        "/api/v1/notifications/acme/test", json={"event": "NOPE"}, headers={"X-API-Key": key}
    )
    assert response.status_code == 400
    assert response.get_json()["error"]["details"]["field"] == "event"


# -- the webhook URL at rest: sealed with the SecretBox, bound to its org ------------------

STORES = ("sqlite", "firestore")


@dataclass
class AtRest:
    notifier: Notifier
    raw: Callable[[], str]  # everything the store holds, read raw
    settle: Callable[[], None]  # what time does to the store (SQLite: a WAL checkpoint)


@pytest.fixture(params=STORES)
def at_rest(
    request: pytest.FixtureRequest, tmp_path: Path, configs: Path, clock: FixedClock
) -> Iterator[AtRest]:
    """A notifier over each store; raw reads the bytes of the SQLite files (WAL
    included), or every notification_settings document of the Firestore emulator."""
    store: NotificationStore
    if request.param == "firestore":
        request.getfixturevalue("clean_firestore")
        client = firestore_client()
        store = FirestoreNotificationStore(client)

        def raw() -> str:
            docs = client.collection("notification_settings").stream()
            return "\n".join(f"{d.id} {d.to_dict()!r}" for d in docs)

        def settle() -> None:
            pass
    else:
        path = tmp_path / "notify.db"
        store = SqliteNotificationStore(path)

        def raw() -> str:
            files = sorted(tmp_path.glob("notify.db*"))
            return "\n".join(f.read_bytes().decode("latin-1") for f in files)

        def settle() -> None:
            with sqlite3.connect(path) as conn:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    secrets = LocalKeySecretBox(tmp_path / "secret.key")
    notifier = Notifier(store, clock, configs, secrets=secrets, sleep=lambda _: None)
    yield AtRest(notifier, raw, settle)
    notifier.close()
    getattr(store, "close", lambda: None)()


def _slack_only(url: str) -> dict[str, Any]:
    return {"events": {"PIPELINE_FAILURE": ["slack"]}, "slack": {"webhook_url": url}}


def _org_event(org: str) -> PipelineEvent:
    return PipelineEvent(EventType.PIPELINE_FAILURE, org, "run-1", "aws/cost/billing", T0, "x")


def test_the_stored_webhook_is_ciphertext_and_still_posts(at_rest: AtRest, hook: Webhook) -> None:
    notifier, raw = at_rest.notifier, at_rest.raw
    notifier.set_org_settings("acme", {**_slack_only(hook.url), "email": {"to": ["ops@a.test"]}})
    stored = raw()
    assert "ops@a.test" in stored
    assert "sealed:v1:" in stored
    assert "/hooks/T000/SECRET" not in stored
    assert "SECRET" not in stored
    [delivery] = notifier.deliver(_event())
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.SENT, 1)
    assert delivery.target == hook.url.split("/hooks/")[0] + "/…"
    assert [p["text"].split("\n")[0] for p in hook.posts] == [
        "*[acme] PIPELINE_FAILURE: aws/cost/billing*"
    ]


def test_another_orgs_ciphertext_does_not_open(at_rest: AtRest, hook: Webhook) -> None:
    notifier = at_rest.notifier
    with webhook_receiver() as theirs:
        notifier.set_org_settings("acme", _slack_only(hook.url))
        notifier.set_org_settings("globex", _slack_only(theirs.url))
        store = notifier.store
        acme, globex = store.get_org_settings("acme"), store.get_org_settings("globex")
        assert acme is not None
        assert globex is not None
        # someone with write access to the store swaps the two orgs' settings
        store.set_org_settings("acme", globex, T0)
        store.set_org_settings("globex", acme, T0)
        for org in ("acme", "globex"):
            [refused] = notifier.deliver(_org_event(org))
            assert (refused.status, refused.attempts) == (DeliveryStatus.FAILED, 0)
            assert refused.error is not None
            assert refused.error == (
                "slack webhook cannot be decrypted: ciphertext failed authentication: "
                "tampered, wrong key, or wrong org/provider"
            )
            for sealed in (acme, globex):  # neither URL nor ciphertext is echoed
                assert sealed["slack"]["webhook_url"].split(":")[2] not in refused.error
        assert hook.requests == theirs.requests == 0  # nothing was posted anywhere
        # the org saves its webhook again: it posts, and the failure claimed no cooldown
        notifier.set_org_settings("acme", _slack_only(hook.url))
        [sent] = notifier.deliver(_org_event("acme"))
        assert sent.status is DeliveryStatus.SENT
        assert len(hook.posts) == 1
        assert theirs.requests == 0


def test_a_tampered_shown_host_is_refused(at_rest: AtRest, hook: Webhook) -> None:
    notifier = at_rest.notifier
    notifier.set_org_settings("acme", _slack_only(hook.url))
    stored = notifier.store.get_org_settings("acme")
    assert stored is not None
    sealed = stored["slack"]["webhook_url"]
    ciphertext = ":".join(sealed.split(":")[:3])  # sealed:v1:<ciphertext>:<shown host>
    edited = f"{ciphertext}:https://hooks.slack.com/…"
    notifier.store.set_org_settings("acme", {**stored, "slack": {"webhook_url": edited}}, T0)
    [refused] = notifier.deliver(_event())
    assert refused.status is DeliveryStatus.FAILED
    assert refused.error == (
        "slack webhook cannot be decrypted: the stored slack webhook does not match its shown host"
    )
    assert hook.requests == 0


def test_a_webhook_stored_in_clear_by_an_older_version_posts_and_is_sealed_on_write(
    at_rest: AtRest, hook: Webhook
) -> None:
    notifier, raw = at_rest.notifier, at_rest.raw
    notifier.store.set_org_settings("acme", _slack_only(hook.url), T0)  # as before sealing
    at_rest.settle()  # the old version's write is long in the file
    assert "/hooks/T000/SECRET" in raw()
    [delivery] = notifier.deliver(_event())
    assert delivery.status is DeliveryStatus.SENT
    assert len(hook.posts) == 1
    notifier.set_org_settings("acme", {**_slack_only(hook.url), "cooldown_seconds": 0})
    at_rest.settle()
    stored = raw()
    assert "sealed:v1:" in stored
    assert "SECRET" not in stored
    [delivery] = notifier.deliver(_event())
    assert delivery.status is DeliveryStatus.SENT
    assert len(hook.posts) == 2
