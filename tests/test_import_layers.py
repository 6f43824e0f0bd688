"""The package's import graph: no circles, and no layer importing a higher one.

The graph is read from the source with :mod:`ast` (module-level and function-level
imports alike: a lazy import inside a function is still a dependency; so is a module
named by a string, ``"forecast.x.y"`` or ``"forecast.x.y:Name"``, which code imports with
``importlib`` / ``__import__``, like the CLI's lazy commands).  Importing
``forecast.a.b`` also runs ``forecast/a/__init__.py``, so an edge to ``forecast.a.b``
implies one to the package ``forecast.a`` (unless the importer lives inside it).

Layers, lowest first; a module may import its own layer and the layers below it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

ROOT = Path(__file__).resolve().parents[1] / "forecast"

#: layer of each module, by the longest matching dotted prefix (lowest first)
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("bottom", ("forecast.errors", "forecast.scoring", "forecast.validation", "forecast._validation",
                "forecast.provenance", "forecast.settings_cache", "forecast.learned_settings")),
    # the metrics of the data, each declared once (the task table scores with them)
    ("metrics", ("forecast.metrics", "forecast.sampling")),
    ("data", ("forecast.data",)),
    ("curves", ("forecast.slicing", "forecast.curves", "forecast.sandwich",
                "forecast.threshold", "forecast.irt", "forecast.priors")),
    ("tuning", ("forecast.tuning", "forecast.stacking", "forecast.composite")),
    # predictability flags tasks with a baseline's fit: it sits beside the methods
    ("methods", ("forecast.methods", "forecast.predictability")),
    # the method check runs backtest jobs on every backend
    ("backtest", ("forecast.backtest", "forecast.testing")),
    ("report", ("forecast.report", "forecast.plots", "forecast.plotstyle", "forecast.mirage",
                "forecast.backtest.plots")),
    # forecast.cli_options, forecast.mirage_cli and forecast.backtest.command re-export the
    # forecast.cli package's modules for one release
    ("cli", ("forecast.cli", "forecast.cli_options", "forecast.mirage_cli", "forecast.backtest.command")),
)

#: edges allowed although they break the rule (none: the circles are gone)
KNOWN_EDGES: set[tuple[str, str]] = set()


def module_files() -> dict[str, Path]:
    out = {}
    for path in ROOT.rglob("*.py"):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def import_graph() -> dict[str, set[str]]:
    """``module -> modules of forecast it imports`` (the root package ``forecast`` left out:
    every import of a submodule runs it anyway)."""
    files = module_files()
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets |= {a.name for a in node.names}
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                named = node.value.split(":")[0]
                if named in files and named.startswith("forecast."):
                    targets.add(named)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative import
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(anchor + ([base] if base else []))
                for a in node.names:
                    sub = f"{base}.{a.name}"
                    targets.add(sub if sub in files else base)
        edges: set[str] = set()
        for t in targets:
            if t not in files:
                continue
            if t != name:
                edges.add(t)
            parts = t.split(".")
            for i in range(2, len(parts)):  # the packages the import runs first
                target = ".".join(parts[:i])
                if target != name and not name.startswith(target + "."):
                    edges.add(target)
        graph[name] = edges
    graph.pop("forecast", None)
    return {m: {t for t in ts if t != "forecast"} for m, ts in graph.items()}


def layer_of(module: str) -> int:
    best, rank = -1, None
    for i, (_, prefixes) in enumerate(LAYERS):
        for p in prefixes:
            if (module == p or module.startswith(p + ".")) and len(p) > best:
                best, rank = len(p), i
    if rank is None:
        raise AssertionError(f"{module} has no layer in LAYERS: add it")
    return rank


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (each a circle)."""
    names = sorted(graph)
    index = {n: i for i, n in enumerate(names)}
    rows, cols = [], []
    for a, targets in graph.items():
        for b in targets:
            if b in index:
                rows.append(index[a])
                cols.append(index[b])
    matrix = csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(names), len(names)))
    _, labels = connected_components(matrix, directed=True, connection="strong")
    groups: dict[int, list[str]] = {}
    for n, label in zip(names, labels):
        groups.setdefault(int(label), []).append(n)
    return sorted(g for g in groups.values() if len(g) > 1)


def checked_graph() -> dict[str, set[str]]:
    return {m: {t for t in ts if (m, t) not in KNOWN_EDGES} for m, ts in import_graph().items()}


def test_every_module_has_a_layer():
    for module in import_graph():
        layer_of(module)


def test_no_import_circles():
    found = circles(checked_graph())
    assert not found, "import circles: " + "; ".join(" <-> ".join(c) for c in found)


def test_no_layer_imports_a_higher_one():
    bad = [f"{m} ({LAYERS[layer_of(m)][0]}) imports {t} ({LAYERS[layer_of(t)][0]})"
           for m, targets in sorted(checked_graph().items()) for t in sorted(targets)
           if layer_of(t) > layer_of(m)]
    assert not bad, "\n".join(bad)


def test_known_edges_still_exist():
    """An allow-listed edge that is gone must leave the allow-list (it hides nothing)."""
    graph = import_graph()
    gone = sorted(e for e in KNOWN_EDGES if e[1] not in graph.get(e[0], set()))
    assert not gone, f"remove from KNOWN_EDGES: {gone}"


def test_the_graph_sees_function_level_imports(tmp_path):
    """A lazy import inside a function counts (the check is not blind to it)."""
    graph = import_graph()
    # forecast.cli.fit imports forecast.methods only inside its `fit` command
    assert "forecast.methods" in graph["forecast.cli.fit"]
    # forecast.cli names its lazy commands' modules by string
    assert "forecast.cli.backtest" in graph["forecast.cli"]
    assert circles({"a": {"b"}, "b": {"a"}, "c": set()}) == [["a", "b"]]


def data_set_names_in(path: Path, names: set[str]) -> list[str]:
    """String constants of ``path`` equal to a data set name, outside docstrings and the
    values of ``*METHOD*`` names (a method may share a data set's name)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            skip.add(id(node.value))  # a docstring
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and "METHOD" in t.id for t in targets):
                skip |= {id(n) for n in ast.walk(node.value)}
    return [f"{path.name}:{n.lineno} {n.value!r}" for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and n.value in names and id(n) not in skip]


def test_the_backtest_keeps_no_data_set_facts(tmp_path):
    """A data set's facts (paper cut-offs, tuning halves) live with it in forecast/data/ and
    the backtest asks there: no module of forecast/backtest/ names a shipped data set."""
    from forecast.data.shipped import dataset_names

    names = set(dataset_names())
    found = [hit for path in sorted((ROOT / "backtest").glob("*.py")) for hit in data_set_names_in(path, names)]
    assert not found, "data set names in the backtest: " + "; ".join(found)
    # the check sees a data set named as a dict key
    sample = tmp_path / "layer_probe.py"
    sample.write_text('CUTS = {"slice_sandwich": (1.0,)}\nDEFAULT_METHOD = "slice_sandwich"\n')
    assert data_set_names_in(sample, names) == ["layer_probe.py:1 'slice_sandwich'"]


if __name__ == "__main__":  # pragma: no cover - a listing for humans
    for c in circles(import_graph()):
        print("circle:", " <-> ".join(c))
    pytest.main([__file__, "-q"])
