"""The package's import directions (ARCHITECTURE.md): no circles, the core never reaches up, strategies never
reach the store.

Every ``import`` in every file of ``alkit/`` counts, function-level ones included (a lazy import is still a
dependency). The checker is tried on small made-up packages first, so a broken checker cannot pass silently.
"""

from __future__ import annotations

import ast
import base64
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

PKG = Path(__file__).resolve().parent.parent / "alkit"

#: What a folder (or root module) of alkit may import, by group. The core is everything a run needs.
CORE = {"device", "seeding", "learner", "loop", "oracle", "metrics", "presets", "data", "models", "strategies",
        "theory", "store"}
ALLOWED = {
    **{g: CORE for g in CORE},
    "testing": CORE,
    "viz": CORE | {"viz"},
    "experiments": CORE | {"viz", "testing", "experiments"},
    "lessons": CORE | {"viz", "experiments", "lessons", "api"},
    "app": CORE | {"viz", "experiments", "app", "api"},
    "api": CORE | {"experiments"},  # alkit/__init__.py; run_comparison is loaded on first use
    "cli": CORE | {"viz", "experiments", "app", "api", "testing"},
}
#: Within the core: strategies see a PoolView, never the run store (the loop hands them PoolView.cache_dir).
FORBIDDEN_INSIDE = {("strategies", "store")}
#: Old names kept so that code written against them keeps working; each only re-exports its new home.
ALIASES = {"alkit.notebook": "lessons"}


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(source: str, module: str, is_package: bool, known: set[str]) -> set[str]:
    """Every alkit module ``source`` imports (module level and inside functions), resolved to a known module."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.split(".")[0] == "alkit"}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "alkit":
                continue
            for a in node.names:
                sub = f"{target}.{a.name}"
                out.add(sub if sub in known else target)
    return {m for m in out if m != module}


def import_graph(root: Path) -> dict[str, set[str]]:
    files = {module_name(p, root): p for p in sorted(root.rglob("*.py"))}
    known = set(files)
    return {m: imports_of(p.read_text(), m, p.name == "__init__.py", known) for m, p in files.items()}


def group(module: str) -> str:
    if module in ALIASES:
        return ALIASES[module]
    parts = module.split(".")
    return "api" if len(parts) == 1 else parts[1]


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in graph:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def forbidden(graph: dict[str, set[str]]) -> list[str]:
    bad = []
    for m, deps in sorted(graph.items()):
        g = group(m)
        for d in sorted(deps):
            h = group(d)
            if h == g and (g, h) not in FORBIDDEN_INSIDE:
                continue
            if h not in ALLOWED.get(g, set()) or (g, h) in FORBIDDEN_INSIDE:
                bad.append(f"{m} ({g}) imports {d} ({h})")
    return bad


def _package(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "alkit"
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


# ------------------------------------------------------------------ the checker on made-up packages


def test_checker_finds_a_circle_through_a_function_level_import(tmp_path):
    root = _package(tmp_path, {
        "__init__.py": "",
        "cli.py": "from alkit.experiments import timing\n",
        "experiments/__init__.py": "",
        "experiments/timing.py": "def f():\n    from alkit.testing import synthetic_view\n",
        "testing.py": "def g():\n    from alkit.cli import main\n",
    })
    graph = import_graph(root)
    assert graph["alkit.experiments.timing"] == {"alkit.testing"}
    assert circles(graph) == [["alkit.cli", "alkit.experiments.timing", "alkit.testing"]]
    assert forbidden(graph) == ["alkit.testing (testing) imports alkit.cli (cli)"]


def test_checker_resolves_relative_and_from_package_imports(tmp_path):
    root = _package(tmp_path, {
        "__init__.py": "from alkit import loop\n",
        "loop.py": "from .app import worker\n",
        "app/__init__.py": "",
        "app/worker.py": "from alkit.store import RunStore\n",
        "store/__init__.py": "",
        "strategies/__init__.py": "",
        "strategies/_gan.py": "from ..store.workspace import resolve_workspace\n",
        "store/workspace.py": "",
    })
    graph = import_graph(root)
    assert graph["alkit"] == {"alkit.loop"} and graph["alkit.loop"] == {"alkit.app.worker"}
    assert graph["alkit.strategies._gan"] == {"alkit.store.workspace"}
    assert forbidden(graph) == ["alkit.loop (loop) imports alkit.app.worker (app)",
                                "alkit.strategies._gan (strategies) imports alkit.store.workspace (store)"]
    assert circles(graph) == []


# ------------------------------------------------------------------ alkit itself


@pytest.fixture(scope="module")
def graph():
    return import_graph(PKG)


def test_no_import_circles(graph):
    assert circles(graph) == []


def test_import_directions(graph):
    assert forbidden(graph) == []


def test_every_folder_has_a_rule(graph):
    assert {group(m) for m in graph} <= set(ALLOWED)


def test_aliases_only_re_export(graph):
    """An old name is a shim: it imports its new home and defines nothing of its own."""
    for alias, home in ALIASES.items():
        path = PKG.joinpath(*alias.split(".")[1:]).with_suffix(".py")
        if not path.exists():
            continue
        tree = ast.parse(path.read_text())
        body = [n for n in tree.body if not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant))]
        assert body and all(isinstance(n, ast.ImportFrom) for n in body), alias
        assert {group(d) for d in graph[alias]} == {home}, alias


def test_importing_the_core_loads_nothing_above_it():
    """At run time too: ``import alkit`` and the core modules load no app / experiments / lessons / viz code."""
    code = ("import sys, alkit, alkit.loop, alkit.store, alkit.strategies, alkit.learner, alkit.seeding\n"
            "print(sorted(m for m in sys.modules if m.split('.')[:2] and len(m.split('.')) > 1 and m.split('.')[0] "
            "== 'alkit' and m.split('.')[1] in ('app', 'experiments', 'lessons', 'viz', 'testing', 'cli', "
            "'notebook')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == "[]"


# ------------------------------------------------------------------ ARCHITECTURE.md's examples run


def _examples() -> list[str]:
    text = (PKG.parent / "ARCHITECTURE.md").read_text()
    return [block.split("\n", 1)[1] for block in text.split("```")[1::2] if block.startswith("python")]


def test_the_strategy_and_dataset_examples_run_a_round():
    strategy, dataset, _ = _examples()
    code = strategy + "\n" + dataset + "\n" + (
        "import alkit\n"
        "cfg = alkit.ALConfig(dataset='two_lines', strategy='farthest_from_mean', initial=10, query=5, rounds=1,\n"
        "                     train=alkit.TrainConfig(epochs=1, min_steps=5), device='cpu')\n"
        "run = alkit.ALRun(cfg)\n"
        "h = run.run()\n"
        "view = run.view_for()\n"
        "e = view.embeddings\n"
        "assert [r.n_labeled for r in h] == [10, 15] and view.n_unlabeled == 185, h\n"
        "print('ok')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]


def test_the_page_example_draws_a_stored_run(tmp_path, monkeypatch):
    pytest.importorskip("streamlit")
    from streamlit.testing.v1 import AppTest

    from alkit.app.launch import dashboard_app
    from alkit.store import RunStore

    *_, page = _examples()
    with RunStore(tmp_path) as store:
        rid = store.create_run({}, 0, strategy="random", dataset="digits")
        for r, acc in enumerate([0.5, 0.75]):
            store.log_round(rid, r, n_labeled=10 * (r + 1), metrics={"accuracy": acc}, timings={}, selected=[r])
    monkeypatch.setenv("ALKIT_WORKSPACE", str(tmp_path))
    monkeypatch.syspath_prepend(str(dashboard_app().parent))
    at = AppTest.from_string(page, default_timeout=60).run()
    assert not at.exception
    (chart,) = at.get("plotly_chart")
    (trace,) = [t for t in json.loads(chart.proto.spec)["data"] if t.get("legendgroup") == "random"]
    y = trace["y"]
    if isinstance(y, dict):  # plotly 6 sends arrays as base64 ("bdata") with their dtype
        y = np.frombuffer(base64.b64decode(y["bdata"]), dtype=y["dtype"]).tolist()
    assert y == [0.5, 0.75]
