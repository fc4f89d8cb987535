from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.domain.api_keys import api_key_matches, hash_api_key, new_api_key
from shared.domain.errors import BadRequest
from shared.domain.messages import StepEvent, StepRequest, Topic, attributes, decode, encode
from shared.domain.sql import literal, table_ref, validate_identifier, validate_org_slug


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "NULL"),
        (True, "TRUE"),
        (42, "42"),
        (Decimal("1.50"), "NUMERIC '1.50'"),
        (date(2026, 10, 1), "DATE '2026-10-01'"),
        (datetime(2026, 10, 1, tzinfo=UTC), "TIMESTAMP '2026-10-01T00:00:00+00:00'"),
        ("it's", "'it\\'s'"),
        ("a\\'; DROP TABLE x; --", "'a\\\\\\'; DROP TABLE x; --'"),
    ],
)
def test_literals(value: object, expected: str) -> None:
    assert literal(value) == expected


@given(st.text())
def test_string_literal_is_one_closed_token(text: str) -> None:
    quoted = literal(text)
    inner = quoted[1:-1]
    assert quoted[0] == quoted[-1] == "'"
    # every quote inside is escaped, and no escape is left dangling at the end
    i = 0
    while i < len(inner):
        if inner[i] == "\\":
            i += 2
            continue
        assert inner[i] not in "'\n\r"
        i += 1
    assert i == len(inner)


@pytest.mark.parametrize("bad", ["Acme", "a", "1acme", "acme-corp", "acme;drop", "../etc", ""])
def test_bad_org_slugs_are_refused(bad: str) -> None:
    with pytest.raises(BadRequest):
        validate_org_slug(bad)


@pytest.mark.parametrize("bad", ["a-b", "a.b", "a`b", "1; DROP", ""])
def test_bad_identifiers_are_refused(bad: str) -> None:
    with pytest.raises(BadRequest):
        validate_identifier(bad)
    with pytest.raises(BadRequest):
        table_ref("local", bad, "t")


def test_table_ref() -> None:
    assert table_ref("local", "acme_local", "costs") == "`local.acme_local.costs`"


def test_api_keys_are_random_and_checked_against_the_hash() -> None:
    key = new_api_key("acme")
    assert key.startswith("pk_acme_")
    assert key != new_api_key("acme")
    stored = hash_api_key(key)
    assert key not in stored
    assert api_key_matches(key, stored)
    assert not api_key_matches(key + "x", stored)
    assert not api_key_matches(None, stored)
    assert not api_key_matches("", stored)


def test_messages_round_trip_and_carry_routing_attributes() -> None:
    request = StepRequest("r1", "acme", "extract", 2)
    assert decode(Topic.STEP_REQUESTS, encode(request)) == request
    event = StepEvent("r1", "acme", "extract", 2, succeeded=False, error="boom", retryable=True)
    assert decode(Topic.STEP_EVENTS, encode(event)) == event
    assert attributes(request) == {
        "run_id": "r1",
        "org_slug": "acme",
        "step_id": "extract",
        "attempt": "2",
    }


@pytest.mark.parametrize(
    "data",
    [
        b"not json",
        b"[]",
        b'{"run_id": "r"}',
        b'{"run_id":"r","org_slug":"a","step_id":"s","attempt":0}',
        b'{"run_id":"r","org_slug":"a","step_id":"s","attempt":1,"x":1}',
    ],
)
def test_malformed_messages_are_bad_requests(data: bytes) -> None:
    with pytest.raises(BadRequest, match="malformed step-requests message"):
        decode(Topic.STEP_REQUESTS, data)
