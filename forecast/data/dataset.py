"""`EvalData`: the validated bundle of results, models and task info a forecast reads.

The cut-off is applied here, in one place (:meth:`EvalData.restrict`): every row of a
model whose compute exceeds the cut-off is dropped from the results, the group and score
tables *and* the models table before any forecasting method sees the data.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from forecast.data.schema import (
    validate_groups,
    validate_models,
    validate_results,
    validate_scores,
    validate_tasks,
)
from forecast.errors import InputError

#: how a model's scale is measured
FLOPS = "flops"
PARAMS = "params"


@dataclass(frozen=True)
class EvalData:
    """Evaluation results with the metadata needed to forecast them.

    Parameters
    ----------
    models : DataFrame
        ``model, family, params, tokens, flops`` (raw counts).
    tasks : DataFrame
        ``task, format, n_choices, chance``.
    results : DataFrame, optional
        Per-question long table ``task, question_id, model, correct[, p_correct, ...]``.
    groups : DataFrame, optional
        Slice-level aggregates (pre-sliced difficulty groups).
    scores : DataFrame, optional
        Whole-task scores ``task, model, prob_renormalized, metric, value``.
    name : str
        A label for messages (a dataset name or file path).
    """

    models: pd.DataFrame
    tasks: pd.DataFrame
    results: pd.DataFrame | None = None
    groups: pd.DataFrame | None = None
    scores: pd.DataFrame | None = None
    name: str = "data"
    notes: tuple[str, ...] = field(default_factory=tuple)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_frames(
        cls,
        models: pd.DataFrame,
        tasks: pd.DataFrame,
        results: pd.DataFrame | None = None,
        groups: pd.DataFrame | None = None,
        scores: pd.DataFrame | None = None,
        name: str = "data",
        notes: tuple[str, ...] = (),
    ) -> EvalData:
        """Validate every table and check that they refer to each other consistently."""
        models = validate_models(models, f"{name}: models")
        tasks = validate_tasks(tasks, f"{name}: tasks")
        if results is not None:
            results = validate_results(results, f"{name}: results")
        if groups is not None:
            groups = validate_groups(groups, f"{name}: groups")
        if scores is not None:
            scores = validate_scores(scores, f"{name}: scores")
        if results is None and groups is None and scores is None:
            raise InputError(f"{name}: no results, groups or scores were given")
        known_models = set(models["model"])
        known_tasks = set(tasks["task"])
        for label, table in (("results", results), ("groups", groups), ("scores", scores)):
            if table is None:
                continue
            unknown = sorted(set(table["model"]) - known_models)
            if unknown:
                raise InputError(
                    f"{name}: {label} name model {unknown[0]!r} that is not in the models table"
                    + (f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else "")
                )
            missing = sorted(set(table["task"]) - known_tasks)
            if missing:
                raise InputError(
                    f"{name}: {label} name task {missing[0]!r} that is not in the task info "
                    "(pass --task-info FILE with columns task, format, n_choices, chance)"
                )
        return cls(models, tasks, results, groups, scores, name, tuple(notes))

    # ------------------------------------------------------------------ views
    @functools.cached_property
    def task_names(self) -> list[str]:
        """Tasks with any data, sorted."""
        names: set[str] = set()
        for table in (self.results, self.groups, self.scores):
            if table is not None:
                names |= set(table["task"])
        return sorted(names)

    @property
    def kind(self) -> str:
        """``"per_question"`` when per-question results exist, else ``"groups"``."""
        return "per_question" if self.results is not None else "groups"

    @functools.cached_property
    def _models_by_task(self) -> dict[str, list[str]]:
        names: dict[str, set[str]] = {}
        for table in (self.results, self.groups, self.scores):
            if table is not None:
                pairs = table[["task", "model"]].drop_duplicates()
                for task, model in zip(pairs["task"], pairs["model"]):
                    names.setdefault(task, set()).add(model)
        return {task: sorted(models) for task, models in names.items()}

    def models_of(self, task: str | None = None) -> list[str]:
        """Models with data (on ``task`` if given)."""
        if task is None:
            return sorted(set().union(*self._models_by_task.values())) if self._models_by_task else []
        return list(self._models_by_task.get(task, []))

    def chance(self, task: str) -> float:
        """Chance accuracy of ``task``."""
        row = self.tasks[self.tasks["task"] == task]
        if row.empty:
            raise InputError(f"{self.name}: unknown task {task!r}")
        return float(row["chance"].iloc[0])

    def compute_table(self, task: str | None = None) -> pd.DataFrame:
        """``model, compute, log10_compute`` for the models with data, on one scale.

        The scale is training FLOPs when every model has them, parameters when none has;
        a mixture is refused (the two scales cannot share one fit).
        """
        names = self.models_of(task)
        m = self.models.set_index("model").loc[names]
        has_flops = m["flops"].notna()
        where = f" on task {task!r}" if task else ""
        if has_flops.all():
            compute, scale = m["flops"], FLOPS
        elif not has_flops.any():
            if m["params"].isna().any():
                bad = m.index[m["params"].isna()][0]
                raise InputError(f"{self.name}: model {bad!r} has neither flops nor params")
            compute, scale = m["params"], PARAMS
        else:
            lacking = list(m.index[~has_flops])
            raise InputError(
                f"{self.name}: models{where} mix training FLOPs and parameter counts "
                f"({lacking[0]!r}{' and %d more' % (len(lacking) - 1) if len(lacking) > 1 else ''}"
                " has no FLOPs); give tokens or flops for every model, or drop these"
            )
        out = pd.DataFrame({"model": names, "compute": compute.to_numpy(dtype=float)})
        out["log10_compute"] = np.log10(out["compute"])
        out.attrs["scale"] = scale
        return out

    def scale(self, task: str | None = None) -> str:
        """``"flops"`` or ``"params"``: how compute is measured for ``task``."""
        return str(self.compute_table(task).attrs["scale"])

    # ------------------------------------------------------------------ subsets
    def for_task(self, task: str) -> EvalData:
        """The data of one task (the models table keeps only that task's models)."""
        if task not in self.task_names:
            raise InputError(
                f"{self.name}: unknown task {task!r} (known: {', '.join(self.task_names[:8])}"
                + (", ..." if len(self.task_names) > 8 else "")
                + ")"
            )
        pick = {}
        for label in ("results", "groups", "scores"):
            table = getattr(self, label)
            pick[label] = None if table is None else table[table["task"] == task].reset_index(drop=True)
        models = self.models[self.models["model"].isin(self.models_of(task))].reset_index(drop=True)
        tasks = self.tasks[self.tasks["task"] == task].reset_index(drop=True)
        return replace(self, models=models, tasks=tasks, **pick)

    def drop_models(self, names: list[str] | set[str]) -> EvalData:
        """Remove ``names`` from every table."""
        names = set(names)
        pick = {}
        for label in ("results", "groups", "scores"):
            table = getattr(self, label)
            pick[label] = (
                None if table is None else table[~table["model"].isin(names)].reset_index(drop=True)
            )
        models = self.models[~self.models["model"].isin(names)].reset_index(drop=True)
        return replace(self, models=models, **pick)

    def restrict(self, cutoff: float, task: str | None = None) -> EvalData:
        """Keep only models with compute ``<= cutoff`` (raw FLOPs or parameters).

        This is the single place where held-out models are removed: results, groups,
        scores and the models table all lose their rows.
        """
        table = self.compute_table(task)
        above = set(table.loc[table["compute"] > cutoff * (1 + 1e-12), "model"])
        return self.drop_models(above)

    def summary(self) -> dict[str, object]:
        """Counts for ``forecast datasets``."""
        rows = sum(len(t) for t in (self.results, self.groups, self.scores) if t is not None)
        return {
            "name": self.name,
            "kind": self.kind,
            "tasks": len(self.task_names),
            "models": len(self.models_of()),
            "rows": rows,
        }
