"""The typed HTTP layer: request models refuse unknown fields and bad values naming the
field's path without echoing the input, the models of handler-checked bodies list exactly
the keys those handlers take, and every route has a declared operation."""

from __future__ import annotations

import json
from typing import Any, Literal

import flask
import pytest
from pydantic import BaseModel

from shared.domain.errors import BadRequest, PayloadTooLarge
from shared.entrypoints.http import models
from shared.entrypoints.http.app import create_app
from shared.entrypoints.http.bodies import MAX_BODY_BYTES, parse_body
from shared.entrypoints.http.operations import OPERATIONS
from shared.handlers import backfill, discovery, scheduler

LONG = "x" * 5_000


class Item(BaseModel):
    kind: Literal["a", "b"]


class Nested(models.Body):
    items: list[Item] = []


@pytest.fixture
def app() -> flask.Flask:
    return create_app(lambda: None)  # type: ignore[arg-type,return-value]


def _parse(app: flask.Flask, model: type[models.Body], body: Any) -> models.Body:
    with app.test_request_context():
        flask.g.body = body if isinstance(body, bytes) else json.dumps(body).encode()
        return parse_body(model)


def _refusal(app: flask.Flask, model: type[models.Body], body: Any) -> BadRequest:
    with pytest.raises(BadRequest) as refused:
        _parse(app, model, body)
    return refused.value


def test_an_unknown_field_is_refused_by_name(app: flask.Flask) -> None:
    error = _refusal(app, models.CancelRequest, {"reason": "wrong", "colour": "red"})
    assert error.message == "unknown field(s) in body: colour"
    assert error.details["field"] == "colour"
    assert error.details["allowed"] == ["reason"]


def test_a_run_body_takes_parameters_at_the_top_level_but_not_twice(app: flask.Flask) -> None:
    parsed = _parse(app, models.RunRequest, {"date": "2026-10-01", "region": "eu"})
    assert isinstance(parsed, models.RunRequest)
    assert parsed.run_parameters() == {"region": "eu"}
    twice = _parse(app, models.RunRequest, {"region": "eu", "parameters": {"region": "us"}})
    assert isinstance(twice, models.RunRequest)
    with pytest.raises(BadRequest, match="given twice") as refused:
        twice.run_parameters()
    assert refused.value.details["field"] == "parameters.region"


def test_a_bad_value_names_the_path_of_the_field(app: flask.Flask) -> None:
    error = _refusal(app, Nested, {"items": [{"kind": "a"}, {"kind": "c"}]})
    assert error.details["field"] == "items.1.kind"
    assert error.message.startswith("items.1.kind: ")


def test_the_api_wording_of_a_bad_value_is_kept(app: flask.Flask) -> None:
    error = _refusal(app, models.RunRequest, {"parameters": []})
    assert (error.message, error.details["field"]) == ("parameters must be an object", "parameters")
    error = _refusal(app, models.CancelRequest, {"reason": "  "})
    assert error.message == "reason must be a non-empty string of at most 500 characters"
    error = _refusal(app, models.OrgTarget, {"all": 1})
    assert error.details["field"] == "org"


@pytest.mark.parametrize(
    ("model", "body"),
    [
        (Nested, {"items": [{"kind": LONG}]}),
        (models.TriggerRequest, {"schedule_id": [LONG]}),
        (models.CancelRequest, {"reason": LONG}),
        (models.RunRequest, {"parameters": LONG}),
        (models.NotifyTestRequest, {"event": {LONG: LONG}}),
    ],
)
def test_long_input_is_never_echoed(app: flask.Flask, model: type[models.Body], body: Any) -> None:
    error = _refusal(app, model, body)
    assert len(json.dumps(error.to_dict())) < 1_000, error.message[:200]


def test_a_valid_body_is_the_model(app: flask.Flask) -> None:
    parsed = _parse(app, models.CancelRequest, {"reason": "  enough  "})
    assert isinstance(parsed, models.CancelRequest)
    assert parsed.reason == "enough"
    assert _parse(app, models.RunRequest, b"") == models.RunRequest()


def test_a_body_past_the_limit_is_413(app: flask.Flask) -> None:
    with pytest.raises(PayloadTooLarge):
        _parse(app, models.RunRequest, b" " * (MAX_BODY_BYTES + 1))


def test_models_of_handler_checked_bodies_list_the_handlers_keys() -> None:
    handler_keys: dict[type[models.Body], frozenset[str]] = {
        models.BackfillRequest: backfill.BODY_KEYS,
        models.ValidateRequest: discovery.VALIDATE_BODY_KEYS,
        models.ScheduleCreate: scheduler.CREATE_KEYS,
        models.ScheduleUpdate: scheduler.UPDATE_KEYS,
    }
    for model, keys in handler_keys.items():
        assert set(model.model_fields) == set(keys), model.__name__


def test_every_rule_of_the_app_is_a_declared_operation(app: flask.Flask) -> None:
    served = {
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        for method in rule.methods or ()
        if method != "HEAD"
    }
    assert served == {(op.method, op.rule) for op in OPERATIONS}
