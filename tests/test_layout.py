"""The shape of the code: packages that follow the data, and no import cycles.

Every ``import`` counts, wherever it is written: at the top, inside a function,
or under ``if TYPE_CHECKING``. A cycle hidden in a function is still a cycle:
the two modules cannot be understood, tested or moved one without the other.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("smpp", "rules", "gateway", "simulator")
#: gateway/'s root holds only what every room shares (the composition root, the message,
#: the SMPP link, the lifecycle pieces); everything else lives in a package.
MAX_ROOT_MODULES = 8


def _module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(path): path
            for package in PACKAGES for path in sorted((REPO / package).rglob("*.py"))}


def _imports(name: str, path: Path, known: set[str]) -> Iterator[str]:
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[:len(base) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            # "from gateway.ledger import model" imports the module gateway.ledger.model
            targets = [f"{module}.{alias.name}" if f"{module}.{alias.name}" in known else module
                       for alias in node.names]
        else:
            continue
        yield from (target for target in targets if target in known and target != name)


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    return {name: set(_imports(name, path, known)) for name, path in modules.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, edges = work[-1]
            for nxt in edges:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def test_no_module_imports_itself_back_through_others() -> None:
    assert _cycles(_graph()) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]


def test_gateway_root_keeps_only_what_every_package_shares() -> None:
    root = sorted(path.name for path in (REPO / "gateway").glob("*.py")
                  if path.name != "__init__.py")
    assert len(root) <= MAX_ROOT_MODULES, root


def test_the_tools_are_not_part_of_the_gateway() -> None:
    """The gateway runs without the simulator; only the CLI's demo and simulate-carrier
    commands reach it (lazily, when asked for)."""
    graph = _graph()
    users = sorted(name for name, targets in graph.items() if name.startswith("gateway")
                   and any(target.startswith("simulator") for target in targets))
    assert users == ["gateway.cli.main"]


def test_every_gateway_package_has_its_unit_tests_beside_the_others() -> None:
    """tests/gateway mirrors gateway/: a package's unit tests sit in a folder of its name,
    those of a root module (gateway/smpp_link.py) at the root."""
    packages = {path.parent.name for path in (REPO / "gateway").glob("*/__init__.py")}
    root = {f"test_{path.name}" for path in (REPO / "gateway").glob("*.py")}
    loose = {path.name for path in (REPO / "tests" / "gateway").glob("test_*.py")}
    folders = {path.name for path in (REPO / "tests" / "gateway").iterdir() if path.is_dir()}
    assert loose <= root and folders - {"__pycache__"} <= packages
