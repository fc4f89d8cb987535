from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.domain.errors import BadRequest, TemplateError
from shared.domain.templates import resolve
from tests.support.templates import run_variables

VARS = {"org_slug": "acme", "date": "2024-03-01", "org_dataset": "acme_local"}


@pytest.mark.parametrize(
    "text",
    ["{{org_slug}}", "{{ org_slug }}", "{{\torg_slug  }}", "${org_slug}", "${ org_slug }"],
)
def test_both_forms_and_whitespace(text: str) -> None:
    assert resolve(text, VARS) == "acme"


def test_several_templates_in_one_string() -> None:
    sql = "SELECT * FROM `{{org_dataset}}.t` WHERE d = '${date}' -- {{ org_slug }}"
    assert resolve(sql, VARS) == "SELECT * FROM `acme_local.t` WHERE d = '2024-03-01' -- acme"


def test_nested_structures_resolve_and_non_strings_are_untouched() -> None:
    value = {"a": ["{{date}}", 3, None, {"b": "${org_slug}"}], "n": 1.5, "t": True}
    assert resolve(value, VARS) == {
        "a": ["2024-03-01", 3, None, {"b": "acme"}],
        "n": 1.5,
        "t": True,
    }


def test_substituted_values_are_not_rescanned() -> None:
    assert resolve("{{x}}", {"x": "{{y}}"}) == "{{y}}"


@pytest.mark.parametrize(
    ("value", "path"),
    [
        ({"config": {"sql_args": {"start": "{{ start }}"}}}, "config.sql_args.start"),
        ({"config": {"args": [{"value": "ok"}, {"value": "${nope}"}]}}, "config.args[1].value"),
        ("${missing}", "<value>"),
    ],
)
def test_unknown_variable_names_variable_and_path(value: Any, path: str) -> None:
    with pytest.raises(TemplateError) as exc:
        resolve(value, VARS)
    assert exc.value.details["path"] == path
    assert path in exc.value.message
    assert "unknown template variable" in exc.value.message
    assert "known: date, org_dataset, org_slug" in exc.value.message


def test_unknown_variable_path_can_be_prefixed() -> None:
    with pytest.raises(TemplateError, match=r"at steps\[0\]\.config\.x"):
        resolve({"x": "{{nope}}"}, VARS, path="steps[0].config")


@pytest.mark.parametrize("text", ["abc {{ org_slug", "${org_slug", "{{ org_slug }", "x }} {{"])
def test_unterminated_marker_is_an_error(text: str) -> None:
    with pytest.raises(TemplateError, match="unterminated"):
        resolve({"q": text}, VARS)


@pytest.mark.parametrize("text", ["{{ }}", "{{ a b }}", "${1x}", "{{ org_slug | upper }}"])
def test_malformed_expression_is_an_error(text: str) -> None:
    with pytest.raises(TemplateError, match="invalid template expression"):
        resolve(text, VARS)


def test_build_variables_values() -> None:
    assert run_variables() == {
        "org_slug": "acme_corp",
        "env": "local",
        "project_id": "local",
        "org_dataset": "acme_corp_local",
        "date": "2024-03-01",
        "yesterday": "2024-02-29",  # across a (leap) month boundary
        "start_date": "2024-02-01",
        "end_date": "2024-03-01",
        "year": "2024",
        "month": "03",
        "day": "01",
        "run_id": "run-1",
        "pipeline_id": "billing",
        "credential_id": "cred-1",
    }


def test_yesterday_across_a_year_boundary() -> None:
    v = run_variables(start_date=date(2024, 1, 1), end_date=date(2024, 1, 1))
    assert (v["yesterday"], v["month"], v["day"]) == ("2023-12-31", "01", "01")


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"org_slug": "Acme"}, "org_slug"),
        ({"org_slug": "acme; DROP TABLE x"}, "org_slug"),
        ({"env": "prod-eu"}, "env"),
        ({"env": "Prod"}, "env"),
        ({"env": ""}, "env"),
        ({"project_id": "my_project!"}, "project_id"),
        ({"start_date": date(2024, 3, 2)}, "start_date"),
    ],
)
def test_unsafe_identifiers_are_refused(override: dict[str, Any], field: str) -> None:
    with pytest.raises(BadRequest) as exc:
        run_variables(**override)
    assert exc.value.details["field"] == field


@given(st.text().filter(lambda t: "{{" not in t and "${" not in t))
def test_text_without_markers_is_unchanged(text: str) -> None:
    assert resolve(text, VARS) == text
    assert resolve({"k": [text]}, VARS) == {"k": [text]}


_plain = st.text(alphabet=st.characters(blacklist_characters="{}$"))


@given(
    st.lists(
        st.tuples(_plain, st.sampled_from(sorted(VARS)), st.booleans(), st.booleans()),
        max_size=6,
    ),
    _plain,
)
def test_known_variables_leave_no_markers(
    parts: list[tuple[str, str, bool, bool]], tail: str
) -> None:
    text = "".join(
        prefix + (f"{{{{{' ' if spaced else ''}{name}}}}}" if braces else f"${{{name}}}")
        for prefix, name, braces, spaced in parts
    )
    out = resolve(text + tail, VARS)
    assert "{{" not in out
    assert "${" not in out
    assert out == "".join(prefix + VARS[name] for prefix, name, _, _ in parts) + tail
