"""The package boundaries, read from the source (AST): the client imports nothing of the server,
and no package module takes part in an import cycle."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("groove_adapter", "wallet_store", "config", "groove_client")
SERVER = ("groove_adapter", "wallet_store", "config")


def modules() -> dict[str, Path]:
    """Every module of :data:`PACKAGES` by dotted name (a package by its ``__init__``)."""
    found: dict[str, Path] = {}
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (
        isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING"
    )


def _imports(nodes: list[ast.stmt], with_typing: bool = False) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement, at module level or deferred inside a function; the ones under
    ``if TYPE_CHECKING:`` (never run) only with ``with_typing``."""
    for node in nodes:
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.If) and _type_checking(node) and not with_typing:
            yield from _imports(node.orelse, with_typing)
        else:
            yield from _imports([c for c in ast.iter_child_nodes(node) if isinstance(c, ast.stmt)], with_typing)


def imported_names(module: str, path: Path, with_typing: bool = False) -> set[str]:
    """Absolute dotted names a module imports (``from . import x`` gives ``pkg`` and ``pkg.x``)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: set[str] = set()
    for node in _imports(ast.parse(path.read_text(encoding="utf-8")).body, with_typing):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
            continue
        base = node.module or ""
        if node.level:
            parts = package.split(".")
            parts = parts[: len(parts) - node.level + 1]
            base = ".".join([*parts, *([node.module] if node.module else [])])
        names.add(base)
        names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def import_graph(with_typing: bool = False) -> dict[str, set[str]]:
    """Module -> the package modules it imports (a name resolves to its longest known module)."""
    mods = modules()
    graph: dict[str, set[str]] = {}
    for module, path in mods.items():
        deps: set[str] = set()
        for name in imported_names(module, path, with_typing):
            while name and name not in mods:
                name = name.rpartition(".")[0]
            if name and name != module:
                deps.add(name)
        graph[module] = deps
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_client_imports_nothing_of_the_server() -> None:
    mods = modules()
    client = [m for m in mods if m.split(".")[0] == "groove_client"]
    assert {"groove_client.certify", "groove_client.simulate"} <= set(client)
    wrong = {
        m: sorted(n for n in imported_names(m, mods[m]) if n.split(".")[0] in SERVER)
        for m in client
        if any(n.split(".")[0] in SERVER for n in imported_names(m, mods[m]))
    }
    assert wrong == {}


def test_the_client_imports_standalone() -> None:
    """Imported in a fresh interpreter, the client tools load no module of the server."""
    code = (
        "import sys\n"
        "import groove_client.certify, groove_client.certify_hub88, groove_client.simulate\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {SERVER!r}))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_no_import_cycle_in_the_packages() -> None:
    graph = import_graph()
    assert "groove_client.certify" in graph["groove_adapter.cli.clients"]  # the server CLI runs the client
    assert cycles(graph) == []


def test_no_import_cycle_even_through_type_annotations() -> None:
    """Counting the imports made for type checking only, the packages still form no circle
    (``keys`` declares the application keys of the core objects only; a face object's key
    lives beside its class: ``events.BUS``, ``observability.METRICS``, ``ws.WS_HUB``)."""
    assert cycles(import_graph(with_typing=True)) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    """The check above can fail: a three-module circle and a deferred import are found."""
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    tree = ast.parse("if TYPE_CHECKING:\n    import x\ndef f():\n    from . import y\n")
    assert [type(n).__name__ for n in _imports(tree.body)] == ["ImportFrom"]
