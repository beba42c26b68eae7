"""The package reads as its layers: imports point down only, and no two modules import each other.

The layer order is written once, here, lowest first. A module belongs to the longest prefix that
names it. Every import counts: at module level, inside functions (lazy imports) and under
``TYPE_CHECKING`` (a type-only loop is still a loop for a reader).
"""

from __future__ import annotations

import ast
from pathlib import Path

import cognia_nb

PACKAGE = Path(cognia_nb.__file__).parent

LAYERS = [
    "cognia_nb._errors",  # the error classes: imported by everything, imports nothing of ours
    "cognia_nb.triggers",  # when: interval, once, event, cron/ and the zone timelines
    "cognia_nb._model",  # what: Task, Execution, specs, argument codec, calendars
    "cognia_nb.stores",  # where executions go: memory, SQLite
    "cognia_nb.history",  # executions -> DataFrame (pandas lazily)
    "cognia_nb._engine",  # the scheduler: dispatch, firing, runner, hooks, context, clock
    "cognia_nb.executors",  # where handlers run besides in-process: Dask
    "cognia_nb._default",  # the module-level default scheduler and @task
    "cognia_nb.plugins",  # the plugin SDK: Plugin, @scheduled, manifests
    "cognia_nb._tracing",  # OpenTelemetry spans, one per execution
    "cognia_nb.metrics",  # Prometheus metrics (and the switch for the spans)
    "cognia_nb._cli_out",  # what the command line prints: exit codes, tables
    "cognia_nb._cli_run",  # the headless runner
    "cognia_nb._service",  # notebooks as services
    "cognia_nb.cli",  # the command line
    "cognia_nb.jupyter",  # magics, board, cards (IPython, ipywidgets)
    "cognia_nb.testing",  # FakeClock and fixtures: may import anything
    "cognia_nb",  # the public surface (cognia_nb/__init__.py, __main__.py)
]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _layer(module: str) -> int:
    best = max((n for n in LAYERS if module == n or module.startswith(n + ".")), key=len)
    return LAYERS.index(best)


def _imports(module: str) -> set[str]:
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1]
            target = ".".join([*base, node.module] if node.module else base)
            if not node.level:
                target = node.module or ""
            # ``from pkg import submodule`` imports the submodule
            targets = [f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in MODULES]
            targets = targets or [target]
        else:
            continue
        found.update(t for t in targets if t in MODULES and t != module)
    return found


GRAPH = {m: _imports(m) for m in MODULES}


def test_every_module_has_a_layer() -> None:
    assert all(_layer(m) >= 0 for m in MODULES)
    assert "cognia_nb._engine.scheduler" in GRAPH and "cognia_nb.triggers.cron" in GRAPH


def test_imports_point_down_only() -> None:
    upward = sorted(
        f"{m} imports {t}" for m, ts in GRAPH.items() for t in ts if _layer(t) > _layer(m)
    )
    assert upward == []


def _cycles() -> list[list[str]]:
    """Tarjan's strongly connected components with more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(GRAPH[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(GRAPH):
        if v not in index:
            visit(v)
    return found


def test_no_import_loops() -> None:
    assert _cycles() == []


def test_the_checker_sees_a_loop_and_an_upward_import() -> None:
    """The walk itself works: a real lazy import and a real loop are found when planted."""
    saved = {k: set(v) for k, v in GRAPH.items()}
    try:
        GRAPH["cognia_nb._model.task"].add("cognia_nb._engine.scheduler")
        assert any("cognia_nb._model.task" in c for c in _cycles())
    finally:
        GRAPH.clear()
        GRAPH.update(saved)
    assert _layer("cognia_nb._engine.scheduler") > _layer("cognia_nb._model.task")
