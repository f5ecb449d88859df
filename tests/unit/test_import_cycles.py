"""Layers point one way: no runtime import cycle inside hkai_qa, and `__all__` names exactly what loads."""

from __future__ import annotations

import ast
from pathlib import Path

import hkai_qa

PACKAGE = Path(hkai_qa.__file__).parent


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def runtime_imports(path: Path, modules: set[str]) -> set[str]:
    """Modules of the package that `path` imports when it runs: at the top or in a function, not for type checkers."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = {
        id(n)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for n in ast.walk(node)
    }
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if id(node) in typing_only or not isinstance(node, ast.Import | ast.ImportFrom):
            continue
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
            target = ".".join(p for p in (base if node.level else "", node.module or "") if p)
            targets = [f"{target}.{alias.name}" for alias in node.names] + [target]
        for target in targets:
            # Importing a.b.c runs a/__init__ and a/b/__init__ first.
            found.update(".".join(target.split(".")[:i]) for i in range(2, target.count(".") + 2))
    return {m for m in found & modules if m != name and not name.startswith(m + ".")}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt, [*path, nxt])):
                return cycle
        state[node] = 2
        return None

    return next((c for m in sorted(graph) if m not in state and (c := visit(m, [m]))), None)


def import_graph() -> dict[str, set[str]]:
    files = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {name: runtime_imports(path, set(files)) for name, path in files.items()}


def test_no_runtime_import_cycle_inside_the_package():
    cycle = find_cycle(import_graph())
    assert cycle is None, "runtime import cycle: " + " -> ".join(cycle or [])


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_the_graph_sees_function_level_imports_and_ignores_type_checking():
    graph = import_graph()
    assert "hkai_qa.stores.milvus" in graph["hkai_qa.stores"], "new_store imports it inside a function"
    assert "hkai_qa.qa" not in graph["hkai_qa.evaluation"], "only under TYPE_CHECKING"


def test_all_names_exactly_the_public_names_and_each_loads():
    assert sorted(hkai_qa.__all__) == sorted(hkai_qa._PUBLIC)
    for name in hkai_qa.__all__:
        value = getattr(hkai_qa, name)
        assert getattr(value, "__name__", name) == name
        assert value.__module__.startswith("hkai_qa.")
    assert set(hkai_qa.__all__) <= set(dir(hkai_qa))
