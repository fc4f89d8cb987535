from __future__ import annotations

import pytest

from shared.domain.config import StepConfig
from shared.domain.dag import (
    blocked_steps,
    dependents_and_their_deps,
    find_cycle,
    ready_steps,
    topological_order,
)
from shared.domain.states import StepStatus

PENDING, RUNNING, SUCCEEDED = StepStatus.PENDING, StepStatus.RUNNING, StepStatus.SUCCEEDED
FAILED, SKIPPED, CANCELLED = StepStatus.FAILED, StepStatus.SKIPPED, StepStatus.CANCELLED


def steps(**deps: list[str]) -> list[StepConfig]:
    """Steps in keyword order: ``steps(a=[], b=["a"])``."""
    return [StepConfig(step_id=sid, ps_type="t", depends_on=d) for sid, d in deps.items()]


# load depends on both branches; report is independent.
DIAMOND = steps(
    load=["clean", "enrich"], extract=[], clean=["extract"], enrich=["extract"], report=[]
)


def test_topological_order_puts_dependencies_first_and_keeps_file_order() -> None:
    assert topological_order(DIAMOND) == ["extract", "clean", "enrich", "load", "report"]
    assert topological_order(steps(b=[], a=[], c=[])) == ["b", "a", "c"]


def test_topological_order_names_a_cycle() -> None:
    with pytest.raises(ValueError, match="dependency cycle: a -> b -> a"):
        topological_order(steps(a=["b"], b=["a"], c=[]))


def test_topological_order_rejects_unknown_dependency() -> None:
    with pytest.raises(ValueError, match="'a' depends on an unknown step"):
        topological_order(steps(a=["ghost"]))


@pytest.mark.parametrize(
    ("deps", "cycle"),
    [
        ({"a": [], "b": ["a"]}, None),
        ({"a": ["a"]}, ["a", "a"]),
        ({"a": ["b"], "b": ["c"], "c": ["a"]}, ["a", "b", "c", "a"]),
        ({"x": [], "a": ["b"], "b": ["c"], "c": ["b"]}, ["b", "c", "b"]),
        ({"a": ["unknown"]}, None),
        ({"a": ["b", "c"], "b": ["c"], "c": []}, None),  # diamond, not a cycle
    ],
)
def test_find_cycle(deps: dict[str, list[str]], cycle: list[str] | None) -> None:
    assert find_cycle(deps) == cycle


def test_ready_steps() -> None:
    assert ready_steps(DIAMOND, {}) == ["extract", "report"]
    assert ready_steps(DIAMOND, {"extract": SUCCEEDED, "report": RUNNING}) == ["clean", "enrich"]
    statuses = {"extract": SUCCEEDED, "clean": SUCCEEDED, "enrich": RUNNING, "report": SUCCEEDED}
    assert ready_steps(DIAMOND, statuses) == []
    statuses["enrich"] = SUCCEEDED
    assert ready_steps(DIAMOND, statuses) == ["load"]


def test_ready_steps_narrowed_to_the_dependents_of_a_finished_step() -> None:
    statuses = {"extract": SUCCEEDED}
    assert ready_steps(DIAMOND, statuses, dependents_of="extract") == ["clean", "enrich"]
    assert ready_steps(DIAMOND, statuses, dependents_of="report") == []  # report: a leaf
    statuses |= {"clean": SUCCEEDED, "enrich": RUNNING}
    assert ready_steps(DIAMOND, statuses, dependents_of="clean") == []  # load waits on enrich
    statuses["enrich"] = SUCCEEDED
    assert ready_steps(DIAMOND, statuses, dependents_of="enrich") == ["load"]


def test_ready_steps_accepts_plain_status_strings() -> None:
    assert ready_steps(DIAMOND, {"extract": "succeeded", "report": "running"}) == [  # type: ignore[dict-item]
        "clean",
        "enrich",
    ]


@pytest.mark.parametrize("dead", [FAILED, SKIPPED, CANCELLED])
def test_blocked_steps_follow_ancestors(dead: StepStatus) -> None:
    statuses = {"extract": SUCCEEDED, "clean": dead, "enrich": PENDING}
    # load waits on clean (dead); enrich and report can still run.
    assert blocked_steps(DIAMOND, statuses) == ["load"]
    assert blocked_steps(DIAMOND, {"extract": dead}) == ["clean", "enrich", "load"]


def test_running_or_finished_steps_are_never_blocked() -> None:
    statuses = {"extract": FAILED, "clean": CANCELLED, "enrich": RUNNING, "load": SKIPPED}
    assert blocked_steps(DIAMOND, statuses) == []


def test_dependents_and_their_deps_is_what_a_success_can_make_ready() -> None:
    graph = steps(a=[], b=[], c=["a"], d=["a", "b"], e=["d"])
    assert dependents_and_their_deps(graph, "a") == {"a", "b", "c", "d"}
    assert dependents_and_their_deps(graph, "d") == {"d", "e"}
    assert dependents_and_their_deps(graph, "e") == set()  # a sink makes nothing ready
