"""Property-based: the pipeline config loader (shared/config/catalog.py + shared/domain/config.py).

Whatever a YAML file holds - arbitrary documents, raw bytes, or a real config from configs/
with one thing changed - loading it gives a PipelineConfig or a ConfigError that names the
file and a field path. Never another exception type, and a YAML tag never runs code.
"""

from __future__ import annotations

import copy
import re
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.config.catalog import NON_PIPELINE_DIRS, PipelineCatalog
from shared.domain.config import PipelineConfig
from shared.domain.errors import ConfigError
from shared.processors import PROCESSORS
from tests.support.runtime import REPO

CONFIGS = REPO / "configs"
REAL = sorted(
    p.relative_to(CONFIGS)
    for p in CONFIGS.rglob("*.yml")
    if p.relative_to(CONFIGS).parts[0] not in NON_PIPELINE_DIRS
)
# A field path as ConfigError reports it: steps[1].retry.max_attempts, parameters['a.b']
SEGMENT = r"(?:\[\d+\]|\[(?:'.*?'|\".*?\")\]|\.?[^.\[\]'\"]+)"
FIELD_PATH = re.compile(rf"^(?:{SEGMENT})*$")
PIPELINE_KEYS = [
    "pipeline_id", "name", "description", "provider", "domain", "version", "schedule",
    "parameters", "steps", "step_id", "ps_type", "config", "depends_on", "timeout_seconds",
    "retry", "max_attempts", "backoff_seconds", "type", "required", "default", "choices",
]  # fmt: skip
SETTINGS = settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()  # nan and inf included
    | st.text(max_size=12)
    | st.dates(min_value=date(1, 1, 1))
    | st.sampled_from(["1.0.0", "0 3 * * *", "test.record", "subscription", "costs", "x"])
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(PIPELINE_KEYS) | st.text(max_size=8), inner, max_size=5)
    ),
    max_leaves=25,
)


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A configs tree with the real registry; each example writes one pipeline file."""
    root = tmp_path_factory.mktemp("config_fuzz") / "configs"
    shutil.copytree(CONFIGS / "system", root / "system")
    return root


def _load(tree: Path, rel: Path, content: bytes) -> PipelineConfig | ConfigError:
    path = tree / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    catalog = PipelineCatalog(tree, ps_types=[*PROCESSORS, "test.record"])
    name = f"configs/{rel.as_posix()}"
    provider, domain, pipeline = (*rel.parent.parts[-2:], rel.stem)
    try:
        config = catalog.get(provider, domain, pipeline)
    except ConfigError as exc:  # anything else escapes and fails the test
        error = exc
    else:
        assert (config.provider, config.domain) == (provider, domain)
        return config
    finally:
        path.unlink()
    assert error.file == name
    assert error.message.startswith(f"{name}: ")
    assert FIELD_PATH.fullmatch(error.field), error.field
    assert error.reason
    return error


FUZZ = Path("subscription/costs/fuzz.yml")


@SETTINGS
@given(document=values)
def test_any_yaml_document_is_a_config_or_a_config_error(tree: Path, document: Any) -> None:
    _load(tree, FUZZ, yaml.safe_dump(document).encode())


@SETTINGS
@given(
    document=st.fixed_dictionaries(
        {"steps": st.lists(st.dictionaries(st.sampled_from(PIPELINE_KEYS), values), max_size=3)},
        optional={k: values for k in PIPELINE_KEYS[:8]},
    )
)
def test_pipeline_shaped_documents_fail_at_a_named_field(tree: Path, document: Any) -> None:
    result = _load(tree, FUZZ, yaml.safe_dump(document).encode())
    if isinstance(result, ConfigError) and result.field:
        root = re.split(r"[.\[]", result.field)[0]
        assert root in document or root in ("pipeline_id", "name", "provider", "domain", "version")


@SETTINGS
@given(content=st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_raw_bytes_are_a_config_error_naming_the_file(tree: Path, content: bytes) -> None:
    assert isinstance(_load(tree, FUZZ, content), ConfigError)


@pytest.mark.parametrize(
    ("content", "says"),
    [
        # just past Python's recursion limit (PyYAML takes seconds to get that deep)
        (b"a: " + b"{b: " * 1050 + b"1" + b"}" * 1050, "nested too deeply"),
        (b"!!python/object/apply:os.system ['touch /tmp/pwned-by-yaml']", "invalid YAML"),
        (b"pipeline_id: x\n\tname: tab", "invalid YAML at line 2"),
        (b"\xff\xfe\x00p", "cannot read file: not UTF-8 at byte 0"),
        (b"", "expected a mapping, got null"),
        (b"- a\n- b", "expected a mapping, got list"),
    ],
)
def test_nasty_files_name_the_problem(tree: Path, content: bytes, says: str) -> None:
    result = _load(tree, FUZZ, content)
    assert isinstance(result, ConfigError)
    assert says in result.reason
    assert not Path("/tmp/pwned-by-yaml").exists()  # the tag was refused, never run


# -- mutations of the real configs -------------------------------------------------------
def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += _paths(value, (*prefix, i))
    return found


def _at(node: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        node = node[part]
    return node


@pytest.fixture(scope="module")
def real_documents() -> dict[Path, Any]:
    return {rel: yaml.safe_load((CONFIGS / rel).read_text()) for rel in REAL}


def test_the_real_configs_load(tree: Path, real_documents: dict[Path, Any]) -> None:
    """Control for the mutations below: every unmutated config is valid."""
    assert len(real_documents) >= 8
    for rel, document in real_documents.items():
        assert isinstance(_load(tree, rel, yaml.safe_dump(document).encode()), PipelineConfig)


def _models(document: Any) -> list[tuple[Any, ...]]:
    """Where a config has a model (fixed keys): the pipeline, each step, retry, parameter."""
    found: list[tuple[Any, ...]] = [()]
    for i, step in enumerate(document["steps"]):
        found.append(("steps", i))
        if "retry" in step:
            found.append(("steps", i, "retry"))
    found += [("parameters", name) for name in document.get("parameters", {})]
    return found


def _field(path: tuple[Any, ...]) -> str:
    out = ""
    for p in path:
        if isinstance(p, int) or not p or any(c in p for c in ".[]'\""):
            out += f"[{p!r}]"
        else:
            out += f".{p}" if out else p
    return out


@settings(SETTINGS, max_examples=80)
@given(data=st.data(), operation=st.sampled_from(["replace", "delete"]))
def test_one_change_to_a_real_config_loads_or_names_the_field(
    tree: Path, real_documents: dict[Path, Any], data: st.DataObject, operation: str
) -> None:
    rel = data.draw(st.sampled_from(REAL), label="file")
    document = copy.deepcopy(real_documents[rel])
    path = data.draw(st.sampled_from(_paths(document)[1:]), label="path")
    parent, last = _at(document, path[:-1]), path[-1]
    if operation == "replace":
        parent[last] = data.draw(values, label="value")
    else:
        del parent[last]
    _load(tree, rel, yaml.safe_dump(document).encode())


@settings(SETTINGS, max_examples=30)
@given(
    data=st.data(), key=st.text(min_size=1, max_size=10).filter(lambda k: k not in PIPELINE_KEYS)
)
def test_an_unknown_key_is_refused_by_its_path(
    tree: Path, real_documents: dict[Path, Any], data: st.DataObject, key: str
) -> None:
    rel = data.draw(st.sampled_from(REAL), label="file")
    document = copy.deepcopy(real_documents[rel])
    where = data.draw(st.sampled_from(_models(document)), label="where")
    target = _at(document, where)
    if key in target:
        return
    target[key] = 1
    result = _load(tree, rel, yaml.safe_dump(document).encode())
    assert isinstance(result, ConfigError)
    assert result.field == _field((*where, key))
    assert result.reason == f"unknown key '{key}'"
