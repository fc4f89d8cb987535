"""Pure pieces of operations: cron arithmetic, derived ids, settings merge, key layout."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from shared.domain.api_keys import new_api_key
from shared.domain.bodies import (
    bool_field,
    key_value_params,
    pipeline_ref,
    reject_unknown,
    split_pipeline_ref,
)
from shared.domain.errors import BadRequest, SecretBoxError
from shared.domain.notifications import (
    EventType,
    merge_settings,
    redact_url,
    seal_webhook,
    unseal_parts,
)
from shared.domain.schedules import derived_run_id, next_fire, validate_cron
from shared.handlers.access import org_slug_of_key


def test_next_fire_is_strictly_after_and_in_utc() -> None:
    at = datetime(2026, 3, 10, 4, 0, tzinfo=UTC)
    assert next_fire("0 4 * * *", at) == datetime(2026, 3, 11, 4, 0, tzinfo=UTC)
    assert next_fire("0 4 * * *", at - timedelta(seconds=1)) == at
    plus_two = datetime(2026, 3, 10, 5, 0, tzinfo=timezone(timedelta(hours=2)))  # 03:00 UTC
    assert next_fire("0 4 * * *", plus_two) == at
    assert next_fire("0 0 1 * *", at) == datetime(2026, 4, 1, tzinfo=UTC)


@pytest.mark.parametrize("cron", ["61 * * * *", "* * * *", "@daily", "", None, 5])
def test_invalid_cron_is_400_naming_the_field(cron: object) -> None:
    with pytest.raises(BadRequest) as info:
        validate_cron(cron)
    assert info.value.details["field"] == "cron"


def test_derived_run_ids_are_stable_and_distinct() -> None:
    a = derived_run_id("schedule", "s1", "2026-03-10T04:00:00+00:00")
    assert a == derived_run_id("schedule", "s1", "2026-03-10T04:00:00+00:00")
    assert a != derived_run_id("schedule", "s1", "2026-03-11T04:00:00+00:00")
    assert a != derived_run_id("backfill", "s1", "2026-03-10T04:00:00+00:00")


def test_org_slug_is_read_from_the_key_layout() -> None:
    for slug in ("acme", "a_b_c", "x" * 50):
        assert org_slug_of_key(new_api_key(slug)) == slug
    for bad in (None, "", "pk_", "pk_acme", "sk_acme_" + "x" * 43, "pk_Acme_" + "x" * 43):
        assert org_slug_of_key(bad) is None


def test_body_helpers_name_the_field() -> None:
    reject_unknown({"a": 1}, {"a", "b"})
    with pytest.raises(BadRequest) as info:
        reject_unknown({"a": 1, "zz": 2, "c": 3}, {"a"})
    assert info.value.details == {"field": "c", "allowed": ["a"]}
    assert bool_field({}, "enabled", default=True) is True
    with pytest.raises(BadRequest):
        bool_field({"enabled": "true"}, "enabled", default=True)
    assert pipeline_ref({"pipeline": "a/b/c"}) == ("a", "b", "c")
    for bad in ("a/b", "a//c", 3, None):
        with pytest.raises(BadRequest):
            pipeline_ref({"pipeline": bad})
    # the CLI's positional PROVIDER/DOMAIN/PIPELINE goes through the same check
    with pytest.raises(BadRequest, match="pipeline must be 'provider/domain/pipeline', got 'a/b'"):
        split_pipeline_ref("a/b")
    assert key_value_params(["a=1", "b=x=y", "c="]) == {"a": "1", "b": "x=y", "c": ""}
    for pair in ("novalue", "=1"):
        with pytest.raises(BadRequest, match="--param must be KEY=VALUE"):
            key_value_params([pair])


def test_org_override_merges_into_root_settings() -> None:
    root = {
        "cooldown_seconds": 900,
        "events": {"PIPELINE_FAILURE": ["email"]},
        "email": {"smtp_host": "mail", "to": ["root@x"]},
    }
    merged = merge_settings(
        root, {"email": {"to": ["ops@acme"]}, "cooldown_seconds": 60}, source="t"
    )
    assert merged.email.smtp_host == "mail"  # kept from root
    assert merged.email.to == ["ops@acme"]  # lists replace
    assert merged.cooldown_seconds == 60
    assert merged.events == {EventType.PIPELINE_FAILURE: ["email"]}
    with pytest.raises(BadRequest) as info:
        merge_settings(root, {"retry": {"max_attempts": 0}}, source="t")
    assert info.value.details["field"] == "retry.max_attempts"


def test_webhook_urls_are_redacted_to_their_host() -> None:
    assert (
        redact_url("https://hooks.slack.com/services/T0/B0/SECRET") == "https://hooks.slack.com/…"
    )
    assert redact_url(None) is None


def test_a_sealed_webhook_shows_its_host_and_parses_back() -> None:
    url = "https://hooks.slack.com/services/T0/B0/SECRET"
    sealed = seal_webhook(b"\x01\xfe\xffciphertext", url)
    assert "SECRET" not in sealed
    assert redact_url(sealed) == "https://hooks.slack.com/…"  # never the ciphertext
    assert unseal_parts(sealed) == (b"\x01\xfe\xffciphertext", "https://hooks.slack.com/…")
    assert unseal_parts(url) is None  # a URL in clear (legacy or the root file's)
    with pytest.raises(SecretBoxError):
        unseal_parts("sealed:v1:A:https://x/…")  # one base64 character: not decodable
