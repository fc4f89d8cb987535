"""Property-based: the template resolver (shared/domain/templates.py).

Any template and any variable values resolve to plain text splices or fail with a
TemplateError naming where; nothing is ever evaluated or re-scanned; and the values
that become SQL identifiers (org slug, env, project, dataset) are refused unless safe.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.domain.errors import BadRequest, TemplateError
from shared.domain.sql import IDENTIFIER_RE, ORG_SLUG_RE, PROJECT_ID_RE
from shared.domain.templates import resolve
from tests.support.templates import run_variables

NAMES = ["org_slug", "org_dataset", "date", "x", "_y1"]
MARKERS = ["{{", "}}", "${", "}", "{", "$", " ", "|", ".", "(", ")", "*", "%"]
templates = st.lists(
    st.sampled_from(MARKERS) | st.sampled_from(NAMES) | st.text(max_size=5), max_size=12
).map("".join)
variable_values = st.dictionaries(st.sampled_from(NAMES), st.text(max_size=12), max_size=5)
SETTINGS = settings(max_examples=150, deadline=None, database=None)


@SETTINGS
@given(template=templates, variables=variable_values)
def test_any_template_resolves_fully_or_names_the_problem(
    template: str, variables: dict[str, str]
) -> None:
    error: TemplateError | None = None
    try:
        out = resolve({"sql": [template]}, variables, path="steps[0].config")
    except TemplateError as exc:
        error = exc
    if error is not None:
        assert error.details["path"] == "steps[0].config.sql[0]"
        assert "steps[0].config.sql[0]" in error.message
        kinds = r"(unterminated|invalid template expression|unknown template var)"
        assert re.match(kinds, error.message)
        return
    # Every marker was consumed: with marker-free values, no marker is left.
    clean = {name: "\x00" for name in variables}
    assert "{{" not in resolve(template, clean)
    assert "${" not in resolve(template, clean)
    assert isinstance(out["sql"][0], str)


@SETTINGS
@given(
    expression=st.text(min_size=1, max_size=20).filter(
        lambda e: "}" not in e and not re.fullmatch(r"\s*[A-Za-z_][A-Za-z0-9_]*\s*", e)
    ),
    form=st.sampled_from(["{{%s}}", "${%s}"]),
)
def test_anything_but_a_name_is_refused_never_evaluated(expression: str, form: str) -> None:
    """``{{ 7*7 }}``, ``{{ a.__class__ }}``, ``${ __import__('os') }``: errors, not 49."""
    with pytest.raises(TemplateError, match="invalid template expression"):
        resolve(form % expression, {"a": "1", "os": "2"})


@pytest.mark.parametrize(
    "template",
    ["{{ 7*7 }}", "{{ config.__class__ }}", "${__import__('os').system('id')}", "{{ a | e }}"],
)
def test_known_payloads_are_refused(template: str) -> None:
    with pytest.raises(TemplateError, match="invalid template expression"):
        resolve(template, {"a": "x", "config": "y"})


@SETTINGS
@given(value=st.text(max_size=30))
def test_values_are_spliced_verbatim_and_never_rescanned(value: str) -> None:
    """A value holding template syntax, format fields or SQL comes out exactly as given."""
    variables = {"v": value, "org_slug": "acme"}
    assert resolve("[{{ v }}|${v}]", variables) == f"[{value}|{value}]"


# -- values that become identifiers --------------------------------------------------------
hostile = st.text(max_size=40) | st.sampled_from(
    ["acme`; DROP TABLE x; --", "acme' OR '1'='1", "acme.other", "ACME", "acme\u0455", "a" * 51]
)


@SETTINGS
@given(field=st.sampled_from(["org_slug", "env", "project_id"]), value=hostile)
def test_identifier_values_are_safe_or_refused_naming_the_field(field: str, value: str) -> None:
    refused: BadRequest | None = None
    try:
        variables = run_variables(**{field: value})
    except BadRequest as exc:
        refused = exc
    if refused is not None:
        assert refused.details["field"] == field
        return
    assert ORG_SLUG_RE.fullmatch(variables["org_slug"])
    assert IDENTIFIER_RE.fullmatch(variables["org_dataset"])
    assert PROJECT_ID_RE.fullmatch(variables["project_id"])
    assert re.fullmatch(r"[a-z][a-z0-9]*", variables["env"])
    # nothing that could leave a back-quoted `project.dataset.table` or a string literal
    for name in ("org_slug", "org_dataset", "project_id", "env"):
        assert not set(variables[name]) & set("`'\";\\ .\n"), name
