"""The layout of shared/: one folder per layer, no import cycles, a pure domain, and no
demo or developer code reachable from what is deployed.

Module-level imports only (an import inside a function is a deliberate, lazy edge: the
CLI's `demo` verb, say). ``if TYPE_CHECKING:`` blocks are not runtime edges either.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from shared import REPO_ROOT

SHARED = REPO_ROOT / "shared"
UNDEPLOYED = ("shared.demo", "shared.devtools")


def _modules() -> dict[str, Path]:
    found = {}
    for path in SHARED.rglob("*.py"):
        parts = path.relative_to(REPO_ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


MODULES = _modules()


def _imports(path: Path) -> Iterator[str]:
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                yield full if full in MODULES else node.module
        elif isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)


GRAPH = {
    name: {dep for dep in _imports(path) if dep in MODULES and dep != name}
    for name, path in MODULES.items()
}


def _cycles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for dep in GRAPH[node]:
            if dep not in index:
                visit(dep)
                low[node] = min(low[node], low[dep])
            elif dep in stack:
                low[node] = min(low[node], index[dep])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(GRAPH):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycles() -> None:
    assert _cycles() == []


def test_the_domain_imports_nothing_of_ours_outside_it() -> None:
    outside = {
        name: sorted(d for d in deps if not d.startswith("shared.domain"))
        for name, deps in GRAPH.items()
        if name.startswith("shared.domain")
    }
    assert {name: deps for name, deps in outside.items() if deps} == {}


def test_deployed_code_never_reaches_demo_or_devtools() -> None:
    deployed = [n for n in GRAPH if not n.startswith(UNDEPLOYED)]
    reach = {n: d for n in deployed for d in GRAPH[n] if d.startswith(UNDEPLOYED)}
    assert reach == {}


def test_only_ports_lies_loose_at_the_top_of_shared() -> None:
    loose = sorted(p.name for p in SHARED.glob("*.py"))
    assert loose == ["__init__.py", "ports.py"]
    folders = {path.parent for path in SHARED.rglob("*.py")}
    for folder in sorted(folders):
        init = folder / "__init__.py"
        assert init.is_file(), folder
        assert ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))), init
