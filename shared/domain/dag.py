"""Step dependency graph arithmetic: ordering, what can run next, what never will.

Pure functions over ``StepConfig``-shaped steps (``step_id`` + ``depends_on``).
A step with no recorded status counts as PENDING.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from shared.domain.states import StepStatus

if TYPE_CHECKING:  # config.py imports find_cycle from here
    from shared.domain.config import StepConfig

# A step depending on one of these can never run.
_DEAD = frozenset({StepStatus.FAILED, StepStatus.SKIPPED, StepStatus.CANCELLED})


def find_cycle(deps: Mapping[str, Sequence[str]]) -> list[str] | None:
    """One dependency cycle as a closed path (``["a", "b", "a"]``), or None.

    Deterministic: nodes are explored in mapping order. Names absent from ``deps``
    are leaves (unknown names are config.py's problem, not a cycle).
    """
    done: set[str] = set()
    path: list[str] = []  # the current DFS stack, for naming the cycle
    on_path: set[str] = set()

    def visit(node: str) -> list[str] | None:
        if node in on_path:
            return [*path[path.index(node) :], node]
        if node in done or node not in deps:
            return None
        path.append(node)
        on_path.add(node)
        for dep in deps[node]:
            if cycle := visit(dep):
                return cycle
        path.pop()
        on_path.discard(node)
        done.add(node)
        return None

    for node in deps:
        if cycle := visit(node):
            return cycle
    return None


def topological_order(steps: Sequence[StepConfig]) -> list[str]:
    """Step ids, dependencies first; among steps free at the same time, file order.

    Raises ValueError naming the cycle (or the step with an unknown dependency).
    """
    # The coordinator asks on every step event: memoised on the graph's shape, since
    # the ordering below is quadratic in the number of steps.
    return list(_topological_order(tuple((s.step_id, tuple(s.depends_on)) for s in steps)))


@functools.lru_cache(maxsize=256)
def _topological_order(graph: tuple[tuple[str, tuple[str, ...]], ...]) -> tuple[str, ...]:
    steps = [_Node(step_id, depends_on) for step_id, depends_on in graph]
    remaining = list(steps)
    placed: set[str] = set()
    order: list[str] = []
    while remaining:
        # Always take the earliest step in file order whose dependencies are placed.
        nxt = next((s for s in remaining if placed.issuperset(s.depends_on)), None)
        if nxt is None:
            cycle = find_cycle({s.step_id: s.depends_on for s in steps})
            if cycle:
                raise ValueError(f"dependency cycle: {' -> '.join(cycle)}")
            raise ValueError(f"step '{remaining[0].step_id}' depends on an unknown step")
        remaining.remove(nxt)
        placed.add(nxt.step_id)
        order.append(nxt.step_id)
    return tuple(order)


@dataclass(frozen=True, slots=True)
class _Node:
    step_id: str
    depends_on: tuple[str, ...]


def ready_steps(
    steps: Sequence[StepConfig],
    statuses: Mapping[str, StepStatus],
    *,
    dependents_of: str | None = None,
) -> list[str]:
    """PENDING steps whose dependencies have all SUCCEEDED, in topological order.

    ``dependents_of`` narrows it to the steps that depend on that step (what may have
    become ready when it finished), so a coordinator's event costs O(dependents).
    """
    by_id = {s.step_id: s for s in steps}
    order = topological_order(steps)
    if dependents_of is not None:
        order = [sid for sid in order if dependents_of in by_id[sid].depends_on]
    return [
        sid
        for sid in order
        if _status(statuses, sid) == StepStatus.PENDING
        and all(_status(statuses, d) == StepStatus.SUCCEEDED for d in by_id[sid].depends_on)
    ]


def dependents_and_their_deps(steps: Sequence[StepConfig], step_id: str) -> set[str]:
    """The steps whose statuses decide what ``step_id`` finishing made ready: the steps
    that depend on it and everything those depend on (``step_id`` among them)."""
    dependents = [s for s in steps if step_id in s.depends_on]
    return {s.step_id for s in dependents}.union(*(s.depends_on for s in dependents))


def blocked_steps(steps: Sequence[StepConfig], statuses: Mapping[str, StepStatus]) -> list[str]:
    """PENDING steps that can never run: some ancestor FAILED, was SKIPPED or CANCELLED."""
    by_id = {s.step_id: s for s in steps}
    doomed: set[str] = {sid for sid, status in statuses.items() if status in _DEAD}
    if not doomed:
        return []  # the usual case: nothing failed, nothing to walk
    blocked: list[str] = []
    # Topological order means a step's dependencies are judged before it.
    for sid in topological_order(steps):
        if _status(statuses, sid) == StepStatus.PENDING and doomed.intersection(
            by_id[sid].depends_on
        ):
            doomed.add(sid)
            blocked.append(sid)
    return blocked


def _status(statuses: Mapping[str, StepStatus], step_id: str) -> StepStatus:
    # StepStatus is a StrEnum, so callers holding plain strings compare equal too.
    return StepStatus(statuses.get(step_id, StepStatus.PENDING))
