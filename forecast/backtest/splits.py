"""Backtest splits: which cut-offs each task is backtested at.

A split is one (dataset, task, cut-off): the models with compute ``<= cutoff`` are fitted,
every larger model is held out and scored.  Cut-offs are *raw* compute (training FLOPs or
parameters, whatever scale the task's models are on).

Cut-off specification (``--cutoffs``, or ``cutoffs=`` as a string or list): comma-separated
items, each one of

``3.16e22``
    a raw cut-off;
``largest:K``
    hold out the ``K`` largest models (the cut-off is the compute of the next largest one);
``expanding:N``
    an expanding series of ``N`` cut-offs per task, evenly spaced in log10 compute from the
    median model to the second-largest one, each snapped down to a model's compute (so
    every cut-off fits at least half the models and holds out at least one);
``rolling``
    rolling origin, the same rule for every method: a cut-off at every
    model size that leaves at least :data:`~forecast.tuning.MIN_FITTED_SIZES` distinct
    fitted sizes and at least one larger model (no cut-off placed where one knows a task
    jumps); a method that cannot fit at one of them is skipped there;
``grid:LO:HI:STEP[:MIN_MODELS]``
    a fixed grid of cut-offs ``10**LO, 10**(LO+STEP), ..., 10**HI`` (raw compute), each
    used for a task only where it leaves at least ``MIN_MODELS`` (default
    :data:`GRID_MIN_MODELS`) fitted models with scores, at least
    :data:`~forecast.tuning.MIN_FITTED_SIZES` distinct fitted compute values and at least
    one held-out model (for data of many families, where every distinct size would give
    hundreds of near-duplicate splits);
``default``
    the data set's own rule where it declares one (``EvalData.default_cutoffs``; the
    ``obsscaling`` data: ``grid:20.5:24.5:0.5:10``; a model ladder: a quarter-decade grid
    plus its largest ladder run, :func:`forecast.data.ladder.ladder_default_cutoffs`),
    else ``rolling``;
``paper``
    the Slice-and-Sandwich paper's cut-offs and two earlier ones per task
    (:data:`forecast.data.facts.PAPER_CUTOFFS`, declared beside each data set; the paper chose them knowing where each task jumps, so they
    are for comparison with its figures, not for honest headline numbers); tasks without
    paper cut-offs get none.

An item may be scoped to one task or one dataset with ``NAME=``, e.g.
``mmlu=3.1622777e22,bigbench_bigg=largest:2``.  A task uses the items scoped to it, else
those scoped to its dataset, else the unscoped items, else ``default``.  A cut-off that
holds out no model, or lies below the smallest model of a task, is refused.  Held-out
targets count: on data whose models include never-fitted targets (role ``target``, e.g. a
ladder's targets or the Pythia across-family sets, where the other family's larger models
have the same compute as the known family's largest), a cut-off at or above the largest
compute is accepted when the task has such a target to score
(:meth:`forecast.data.dataset.EvalData.held_out_models`).

Group data (slice-level difficulty groups, no per-question results): a group-slicing
method can use only the groups sorted with models at or below the cut-off, so no cut-off
may lie below the task's smallest difficulty horizon (``difficulty_flops_max_1e21 * 1e21``
of its TC Brier groups with the methods' ``n_slices``, default 3).  A cut-off a rule
(``largest``, ``expanding``, ``default``) puts below it is raised to it (rule label
``...^horizon``; duplicates dropped); a raw cut-off below it is refused, naming the smallest
legal cut-off, and so is a task whose smallest legal cut-off holds out no model.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecast.data.dataset import EvalData
from forecast.data.facts import PAPER_CUTOFFS, paper_cutoff_datasets, paper_cutoffs
from forecast.data.task_table import task_table
from forecast.errors import InputError
from forecast.slicing import legal_group_horizons
from forecast.tuning import MIN_FITTED_SIZES, rolling_cutoffs


#: kept for older code (the paper's cut-offs per data set and task, declared beside each data
#: set, :mod:`forecast.data.facts`): the default is now the rolling origin
DEFAULT_CUTOFFS = PAPER_CUTOFFS
_RULE = re.compile(r"^(largest|expanding):(\d+)$")
_GRID = re.compile(r"^grid:([^:]+):([^:]+):([^:]+)(?::(\d+))?$")
#: fewest fitted models (with scores on the task) a grid cut-off needs
GRID_MIN_MODELS = 10


@dataclass(frozen=True)
class CutoffItem:
    """One parsed item of a cut-off specification."""

    kind: str  # "raw", "largest", "expanding", "rolling", "grid", "default" or "paper"
    value: float | int | tuple[float, float, float, int] | None = None
    scope: str | None = None

    @property
    def label(self) -> str:
        if self.kind == "raw":
            return "raw"
        if self.kind in ("rolling", "paper", "default"):
            return self.kind
        if self.kind == "grid":
            return "grid"
        return f"{self.kind}:{self.value}"


@dataclass(frozen=True)
class Split:
    """One backtest split: fit models with compute ``<= cutoff``, score the rest.

    ``order`` is the position of the cut-off in the task's series (0 = the first, the
    headline cut-off used by the forecast plots); ``rule`` says where it came from.
    """

    dataset: str
    task: str
    cutoff: float
    order: int
    rule: str


def _parse_item(text: str) -> CutoffItem:
    scope = None
    if "=" in text:
        scope, text = (part.strip() for part in text.split("=", 1))
        if not scope:
            raise InputError(f"cut-off item {text!r}: empty scope before '='")
    low = text.lower()
    if low == "default":
        return CutoffItem("default", None, scope)
    if low == "rolling":
        return CutoffItem("rolling", None, scope)
    grid = _GRID.match(low)
    if grid:
        try:
            lo, hi, step = (float(grid.group(i)) for i in (1, 2, 3))
        except ValueError:
            raise InputError(f"cut-off rule {text!r}: use grid:LO:HI:STEP[:MIN_MODELS] with log10 compute") from None
        if not (np.isfinite([lo, hi, step]).all() and step > 0 and hi >= lo):
            raise InputError(f"cut-off rule {text!r}: needs LO <= HI and STEP > 0 (log10 compute)")
        n_min = int(grid.group(4)) if grid.group(4) else GRID_MIN_MODELS
        return CutoffItem("grid", (lo, hi, step, n_min), scope)
    if low == "paper":
        return CutoffItem("paper", None, scope)
    match = _RULE.match(low)
    if match:
        k = int(match.group(2))
        if k < 1:
            raise InputError(f"cut-off rule {text!r}: the count must be at least 1")
        return CutoffItem(match.group(1), k, scope)
    try:
        value = float(text)
    except ValueError:
        raise InputError(
            f"cut-off {text!r} is not raw compute (e.g. 3.16e22), largest:K, expanding:N, "
            "grid:LO:HI:STEP, rolling, default or paper"
        ) from None
    if not np.isfinite(value) or value <= 0:
        raise InputError(f"cut-off {text!r} must be a positive raw compute value")
    return CutoffItem("raw", value, scope)


def parse_cutoffs(spec: str | float | Sequence | Mapping | None) -> list[CutoffItem]:
    """Parse a cut-off specification (see the module docstring) into items.

    ``spec`` may be None (``default``), a string, a number, a list of strings/numbers, or a
    mapping ``{task_or_dataset: spec}``.
    """
    if spec is None:
        return [CutoffItem("default")]
    if isinstance(spec, Mapping):
        items: list[CutoffItem] = []
        for scope, sub in spec.items():
            for item in parse_cutoffs(sub):
                if item.scope is not None:
                    raise InputError(f"cut-off {item.label!r}: nested scope under {scope!r}")
                items.append(CutoffItem(item.kind, item.value, str(scope)))
        return items
    if isinstance(spec, (int, float, np.floating, np.integer)):
        return [_parse_item(repr(float(spec)))]
    if isinstance(spec, str):
        parts = [p.strip() for p in spec.split(",") if p.strip()]
    elif isinstance(spec, Iterable):
        parts = []
        for p in spec:
            parts.extend(
                [repr(float(p))] if isinstance(p, (int, float, np.floating, np.integer))
                else [q.strip() for q in str(p).split(",") if q.strip()]
            )
    else:
        raise InputError(f"cutoffs must be a string, number or list, got {type(spec).__name__}")
    if not parts:
        raise InputError("no cut-offs given")
    return [_parse_item(p) for p in parts]


def _distinct_compute(table: pd.DataFrame) -> np.ndarray:
    return np.unique(table["compute"].to_numpy(dtype=float))


def _expand(item: CutoffItem, dataset: str, task: str, table: pd.DataFrame,
            fittable: pd.DataFrame | None = None) -> list[tuple[float, str]]:
    """Raw cut-offs of one item for one task, with their rule labels.

    ``fittable``: the models that can ever be fitted (a ladder's targets never are); rolling
    cut-offs are placed among them, up to the largest one when never-fitted models remain.
    """
    comp = _distinct_compute(table)
    if item.kind == "raw":
        return [(float(item.value), "raw")]
    if item.kind == "grid":
        return _grid(item, table if fittable is None else fittable, comp)
    if item.kind == "paper":
        values = paper_cutoffs(dataset, task)
        return [(float(v), "paper") for v in values] if values is not None else []
    if item.kind == "rolling":
        if fittable is None or len(fittable) == len(table):
            return [(c, "rolling") for c in rolling_cutoffs(comp)]
        sizes = _distinct_compute(fittable)
        # the never-fitted models (targets) are held out at every cut-off, so the largest
        # fittable size is a cut-off too
        cuts = [float(c) for c in sizes[MIN_FITTED_SIZES - 1:]] if sizes.size >= MIN_FITTED_SIZES else []
        return [(c, "rolling") for c in cuts]
    k = int(item.value)
    if comp.size < 3:
        raise InputError(f"task {task!r} of {dataset}: {comp.size} distinct model sizes, too few to backtest")
    if item.kind == "largest":
        if k >= comp.size - 1:
            raise InputError(
                f"cut-off largest:{k} for task {task!r} of {dataset}: only {comp.size} distinct "
                f"model sizes (at most largest:{comp.size - 2})"
            )
        return [(float(comp[-(k + 1)]), item.label)]
    # expanding: from the median model to the second-largest, evenly in log10 compute
    lo = np.log10(comp[(comp.size - 1) // 2])
    hi = np.log10(comp[-2])
    points = np.linspace(lo, hi, k) if k > 1 else np.array([hi])
    picked: list[float] = []
    for p in points:
        snapped = float(comp[comp <= 10.0**p * (1 + 1e-12)].max())
        if snapped not in picked:
            picked.append(snapped)
    return [(c, f"{item.label}#{i + 1}") for i, c in enumerate(picked)]


def _grid(item: CutoffItem, fittable: pd.DataFrame, comp: np.ndarray) -> list[tuple[float, str]]:
    """The grid cut-offs of one task that leave enough fitted models and one held out."""
    lo, hi, step, n_min = item.value
    n = int(np.floor((hi - lo) / step + 1e-9)) + 1
    fitted_compute = fittable["compute"].to_numpy(dtype=float)
    out = []
    for log_c in lo + step * np.arange(n):
        cutoff = float(10.0 ** round(float(log_c), 9))
        fitted = fitted_compute[fitted_compute <= cutoff * (1 + 1e-12)]
        if (fitted.size >= n_min and np.unique(fitted).size >= MIN_FITTED_SIZES
                and comp[-1] > cutoff * (1 + 1e-12)):
            out.append((cutoff, f"grid:{float(log_c):g}"))
    return out


def resolve_default(items: list[CutoffItem], data: EvalData) -> list[CutoffItem]:
    """``default`` items replaced by ``data``'s declared rule (else rolling)."""
    out = []
    for item in items:
        if item.kind != "default":
            out.append(item)
            continue
        declared = parse_cutoffs(data.default_cutoffs) if data.default_cutoffs else [CutoffItem("rolling")]
        out.extend(CutoffItem(d.kind, d.value, item.scope) for d in declared)
    return out


def group_floor(data: EvalData, task: str, n_groups: Sequence[int] | int | None = (3,)) -> float | None:
    """Smallest legal cut-off of ``task`` on group data (raw FLOPs), or None.

    The largest, over ``n_groups``, of the smallest difficulty horizon of the task's TC Brier
    groups with that many groups; None for per-question data, no ``n_groups``, or a task
    without such groups (its jobs then report what is missing).
    """
    if data.results is not None or data.groups is None or not n_groups:
        return None
    counts = [int(n_groups)] if isinstance(n_groups, (int, np.integer)) else [int(n) for n in n_groups]
    g = data.groups[data.groups["task"] == task]
    if g.empty:
        return None
    floors = [h[0] for h in (legal_group_horizons(g, n) for n in counts) if h.size]
    return float(max(floors)) if floors else None


def _items_for(items: list[CutoffItem], dataset: str, task: str) -> list[CutoffItem]:
    for scope in (task, dataset):
        scoped = [i for i in items if i.scope == scope]
        if scoped:
            return scoped
    plain = [i for i in items if i.scope is None]
    return plain or [CutoffItem("default")]


def plan_splits(
    datasets: Sequence[EvalData],
    tasks: Sequence[str] | None = None,
    cutoffs: str | float | Sequence | Mapping | None = None,
    tables: Mapping[tuple[str, str], pd.DataFrame] | None = None,
    n_groups: Sequence[int] | int | None = (3,),
) -> list[Split]:
    """Every (dataset, task, cut-off) split to backtest, in a stable order.

    ``n_groups``: the ``n_slices`` of the run's group-slicing methods; on group data the
    cut-offs are kept at or above the smallest difficulty horizon they can use (see the
    module docstring).  None or empty: no such method, no limit.

    Raises
    ------
    InputError
        For an unknown task, a malformed specification, a scope naming no task or dataset,
        a cut-off below a task's smallest model or at/above its largest (unless the task
        has a held-out target there), or a raw cut-off
        below a group task's smallest legal cut-off.
    """
    items = parse_cutoffs(cutoffs)
    names = {d.name for d in datasets}
    all_tasks = {t for d in datasets for t in d.task_names}
    wanted = None if tasks is None else list(dict.fromkeys(tasks))
    if wanted is not None:
        unknown = [t for t in wanted if t not in all_tasks]
        if unknown:
            raise InputError(
                f"unknown task {unknown[0]!r} (the data hold: {', '.join(sorted(all_tasks)[:8])}"
                + (", ..." if len(all_tasks) > 8 else "") + ")"
            )
    bad_scope = sorted({i.scope for i in items if i.scope is not None} - names - all_tasks)
    if bad_scope:
        raise InputError(f"cut-off scope {bad_scope[0]!r} names no dataset or task of the data")
    splits: list[Split] = []
    for data in datasets:
        for task in data.task_names:
            if wanted is not None and task not in wanted:
                continue
            table = tables[(data.name, task)] if tables is not None else task_table(data, task)
            comp = _distinct_compute(table)
            unfitted = data.unfitted_models()
            fittable = table[~table["model"].isin(unfitted)] if unfitted else table
            floor = group_floor(data, task, n_groups)
            seen: list[float] = []
            for item in resolve_default(_items_for(items, data.name, task), data):
                for cutoff, rule in _expand(item, data.name, task, table, fittable):
                    below_floor = floor is not None and cutoff < floor * (1 - 1e-9)
                    if below_floor and rule.startswith("grid"):
                        continue  # a grid point the difficulty groups cannot serve: not used
                    if below_floor and rule != "rolling":
                        if rule == "raw":
                            raise InputError(
                                f"cut-off {cutoff:.4g} of task {task!r} of {data.name} lies below its "
                                f"difficulty groups' horizon (groups sorted with models up to "
                                f"{floor:.6g} FLOPs would leak); the smallest legal cut-off is {floor:.6g}"
                            )
                        cutoff, rule = floor, f"{rule}^horizon"
                        if floor >= comp[-1] * (1 - 1e-12) and not data.held_out_models(floor, task):
                            raise InputError(
                                f"task {task!r} of {data.name}: no legal cut-off; the smallest legal "
                                f"cut-off (the difficulty groups' horizon) is {floor:.6g} FLOPs, which "
                                f"holds out no model (largest: {comp[-1]:.4g})"
                            )
                    if cutoff < comp[0] * (1 - 1e-12):
                        raise InputError(
                            f"cut-off {cutoff:.4g} is below the smallest model of task {task!r} of "
                            f"{data.name} ({comp[0]:.4g} {table.attrs.get('scale', '')}); cut-offs "
                            "are raw compute (scope it with TASK= or DATASET=)"
                        )
                    if cutoff >= comp[-1] * (1 - 1e-12) and not data.held_out_models(cutoff, task):
                        raise InputError(
                            f"cut-off {cutoff:.4g} holds out no model of task {task!r} of "
                            f"{data.name} (largest: {comp[-1]:.4g}, no held-out target); pick one "
                            "below the largest model"
                        )
                    if cutoff not in seen:
                        seen.append(cutoff)
                        splits.append(Split(data.name, task, float(cutoff), len(seen) - 1, rule))
    if not splits:
        if any(i.kind == "paper" for i in items):
            raise InputError("no task of the data has paper cut-offs (--cutoffs paper is for the "
                             f"{', '.join(paper_cutoff_datasets())} data set); use rolling or raw cut-offs")
        if any(i.kind == "grid" for i in items) or any(d.default_cutoffs for d in datasets):
            raise InputError(
                "no task has a grid cut-off with enough fitted models (each needs at least "
                f"{GRID_MIN_MODELS} fitted models, 4 distinct fitted sizes and one larger model)")
        if any(i.kind in ("rolling", "default") for i in items):
            raise InputError(
                "no task has enough model sizes for a rolling cut-off (each needs at least "
                "4 distinct fitted sizes and one larger model)")
        raise InputError("no task to backtest")
    return splits
