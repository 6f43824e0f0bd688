"""`EvalData`: the validated bundle of results, models and task info a forecast reads.

The cut-off is applied here, in one place (:meth:`EvalData.restrict`): every row of a
model whose compute exceeds the cut-off is dropped from the results, the group, score and
step tables *and* the models table before any forecasting method sees the data.  Models
whose ``role`` says they are never fitted (the targets of a model ladder, its re-run
twins) are dropped at every cut-off.
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
    validate_steps,
    validate_tasks,
)
from forecast.errors import InputError

#: how a model's scale is measured
FLOPS = "flops"
PARAMS = "params"

#: model roles (``models.role``) that are never fitted, at any cut-off: a model ladder's
#: targets and their variants (scored as held-out models), and re-run twins (a noise estimate)
UNFITTED_ROLES = ("target", "target_variant", "rerun")
#: the roles scored as held-out models at every cut-off
TARGET_ROLES = ("target", "target_variant")
#: every table that holds one row per model (and task)
_TABLES = ("results", "groups", "scores", "steps")
#: attributes derived from the tables (cached on first use), left out of a pickle
_DERIVED_ATTRS = ("derived", "task_names", "_models_by_task", "_models_indexed")


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
        Whole-task scores ``task, model, prob_renormalized, metric, value`` (task-level
        data: one row per model, task and metric, e.g. ``accuracy`` and ``bpb``).
    name : str
        A label for messages (a dataset name or file path).
    notes : tuple of str
        What the loader changed or left out.
    steps : DataFrame, optional
        Intermediate checkpoints of task-level data: ``task, model, step, tokens,
        accuracy`` and optional continuous metrics (``bpb``, ...), one row per checkpoint.
        A model's final checkpoint is its row in ``scores``; ``steps`` may leave models out.
    unfitted_roles : tuple of str
        Values of ``models.role`` never fitted at any cut-off (:data:`UNFITTED_ROLES`).
    axis : {"flops", "params"} or None
        The compute axis of every fit; ``None``: FLOPs when every model has them,
        parameters when none has (a mixture is refused).
    default_cutoffs : str, optional
        The data set's own backtest cut-off rule (a ``--cutoffs`` item such as
        ``grid:20.5:24.5:0.5``), used where no cut-offs are given; None: rolling origin.
    multi_family : bool
        Data of many model families (public models): a backtest job sees every task (a
        held-out model's own scores on the other tasks, ``pool_``), and emergence is scored
        per held-out model whose family has no fitted model at or above the threshold, not
        by a pooled crossing of all families.
    """

    models: pd.DataFrame
    tasks: pd.DataFrame
    results: pd.DataFrame | None = None
    groups: pd.DataFrame | None = None
    scores: pd.DataFrame | None = None
    name: str = "data"
    notes: tuple[str, ...] = field(default_factory=tuple)
    steps: pd.DataFrame | None = None
    unfitted_roles: tuple[str, ...] = UNFITTED_ROLES
    axis: str | None = None
    default_cutoffs: str | None = None
    multi_family: bool = False

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
        steps: pd.DataFrame | None = None,
        axis: str | None = None,
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
        if steps is not None:
            steps = validate_steps(steps, f"{name}: steps")
        if results is None and groups is None and scores is None:
            raise InputError(f"{name}: no results, groups or scores were given")
        known_models = set(models["model"])
        known_tasks = set(tasks["task"])
        for label, table in (("results", results), ("groups", groups), ("scores", scores),
                             ("steps", steps)):
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
        return cls(models, tasks, results, groups, scores, name, tuple(notes), steps, axis=axis)

    def __getstate__(self) -> dict:
        """The state pickled (sent to a worker process with a backtest job): the tables and
        settings only, not what is derived from them (:attr:`derived` and the cached views).

        A subset's :attr:`derived` names its parent (``"origin"``), whose own holds every
        subset and table memoised on it: pickled, one job's data would carry the whole data
        set and all of them (35 MB a job on BIG-G, and a worker's memory growing with each).
        The receiver rebuilds what it reads from the subset's own tables (the same tables)."""
        state = dict(self.__dict__)
        for name in _DERIVED_ATTRS:
            state.pop(name, None)
        return state

    def __repr__(self) -> str:
        """One line of counts (the tables are attributes: ``.results``, ``.models``...)."""
        s = self.summary()
        axis = f", axis={self.axis!r}" if self.axis else ""
        return (f"EvalData(name={s['name']!r}, kind={s['kind']!r}, tasks={s['tasks']}, "
                f"models={s['models']}, rows={s['rows']}{axis})")

    # ------------------------------------------------------------------ views
    @functools.cached_property
    def task_names(self) -> list[str]:
        """Tasks with any data, sorted."""
        if self.derived.get("origin") is not None:  # the same tables: the same tasks
            return sorted(self._models_by_task)
        names: set[str] = set()
        for table in (self.results, self.groups, self.scores):
            if table is not None:
                names |= set(table["task"])
        return sorted(names)

    @property
    def kind(self) -> str:
        """``"per_question"`` when per-question results exist, ``"groups"`` with slice
        groups, else ``"task_level"`` (one score per model and task, optional steps)."""
        if self.results is not None:
            return "per_question"
        return "groups" if self.groups is not None else "task_level"

    def roles(self) -> pd.Series:
        """Role of every model (index: model); ``"ladder"`` where the models table has none."""
        role = self.models["role"] if "role" in self.models.columns else None
        out = pd.Series("ladder", index=self.models["model"].to_numpy(), dtype=object)
        if role is not None:
            out[:] = role.fillna("ladder").astype(str).to_numpy()
        return out

    def unfitted_models(self) -> set[str]:
        """Models never fitted at any cut-off (their role is in ``unfitted_roles``)."""
        def build() -> frozenset[str]:
            roles = self.roles()
            return frozenset(roles.index[roles.isin(self.unfitted_roles)])
        return set(self.memo(("unfitted_models",), build))

    def held_out_models(self, cutoff: float, task: str | None = None) -> list[str]:
        """Models a forecast at ``cutoff`` is scored on: every model above the cut-off and
        every target (role in :data:`TARGET_ROLES`); a re-run twin (``twin`` column) is held
        out exactly when its twin is."""
        table = self.compute_table(task)
        present = set(table["model"])
        above = set(table.loc[table["compute"] > cutoff * (1 + 1e-12), "model"])
        roles = self.roles()
        held = (above | set(roles.index[roles.isin(TARGET_ROLES)])) & present
        if "twin" in self.models.columns:
            for model, twin in zip(self.models["model"], self.models["twin"]):
                if isinstance(twin, str) and twin:
                    held.discard(model)
                    if twin in held and model in present:
                        held.add(model)
        return sorted(held)

    @functools.cached_property
    def derived(self) -> dict:
        """Tables derived from this data, built once per instance (the data are immutable):
        compute tables, task tables, subsets by task and cut-off.  A subset made by
        :meth:`for_task`, :meth:`drop_models` or :meth:`restrict` records where it came from
        under ``"origin"`` (``(parent, dropped models, task)``), so that what it derives can
        be read off its parent's tables by a row mask where that gives the same table."""
        return {}

    def memo(self, key: tuple, build):
        """``build()``, computed once per instance and ``key`` (see :attr:`derived`)."""
        store = self.derived
        if key not in store:
            store[key] = build()
        return store[key]

    @functools.cached_property
    def _models_by_task(self) -> dict[str, list[str]]:
        origin = self.derived.get("origin")
        if origin is not None:
            parent, dropped, only = origin
            if only is not None:
                return {only: list(parent._models_by_task.get(only, []))}
            kept = {t: [m for m in ms if m not in dropped] for t, ms in parent._models_by_task.items()}
            return {t: ms for t, ms in kept.items() if ms}
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
        chances = self.memo(("chance",), lambda: dict(zip(self.tasks["task"].tolist(), self.tasks["chance"].tolist())))
        if task not in chances:
            raise InputError(f"{self.name}: unknown task {task!r}")
        return float(chances[task])

    def rows_of(self, label: str, task: str) -> pd.DataFrame:
        """The rows of ``task`` in table ``label`` (``"results"``, ``"groups"``, ...), as
        ``table[table["task"] == task]`` (positions found once per instance and table)."""
        table = getattr(self, label)
        where = self.memo(("rows_of", label), lambda: table.groupby("task", sort=False, observed=True).indices)
        idx = where.get(task)
        return table.iloc[idx] if idx is not None else table.iloc[:0]

    def task_groups(self) -> pd.Series:
        """The unit of per-task averages and task bootstraps for every task (index: task).

        Variants of one task (the optional ``task_group`` column of the task table) share a
        group; a task without one is its own group.
        """
        groups = pd.Series(self.tasks["task"].to_numpy(), index=self.tasks["task"].to_numpy(), dtype=object)
        if "task_group" in self.tasks.columns:
            groups[:] = self.tasks["task_group"].astype(str).to_numpy()
        return groups

    def emergence_scored(self, task: str) -> bool:
        """False for a task marked ``emergence_scored = False`` (no meaningful chance)."""
        if "emergence_scored" not in self.tasks.columns:
            return True
        row = self.tasks[self.tasks["task"] == task]
        return bool(row["emergence_scored"].iloc[0]) if not row.empty else True

    def n_questions(self, task: str) -> float:
        """Question count of ``task`` from the task table (NaN where unknown)."""
        if "n_questions" not in self.tasks.columns:
            return float("nan")
        row = self.tasks[self.tasks["task"] == task]
        return float(row["n_questions"].iloc[0]) if not row.empty else float("nan")

    def compute_table(self, task: str | None = None) -> pd.DataFrame:
        """``model, compute, log10_compute`` for the models with data, on one scale.

        The scale is :attr:`axis` if set, else training FLOPs when every model has them,
        parameters when none has; a mixture is refused (the two scales cannot share one fit).
        """
        table = self.memo(("compute_table", task), lambda: self._compute_table(task))
        return table.copy()

    def compute_range(self, task: str | None = None) -> tuple[float, float, str]:
        """The smallest and largest compute of :meth:`compute_table` and its scale (read off
        the table built once, without copying it)."""
        table = self.memo(("compute_table", task), lambda: self._compute_table(task))
        compute = table["compute"].to_numpy(dtype=float)
        return float(compute.min()), float(compute.max()), str(table.attrs["scale"])

    @functools.cached_property
    def _models_indexed(self) -> pd.DataFrame:
        return self.models.set_index("model")

    def _compute_table(self, task: str | None) -> pd.DataFrame:
        names = self.models_of(task)
        m = self._models_indexed.loc[names]
        has_flops = m["flops"].notna()
        if self.axis == PARAMS:
            has_flops[:] = False
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
        return self.memo(("for_task", task), lambda: self._for_task(task))

    def _for_task(self, task: str) -> EvalData:
        pick = {}
        for label in _TABLES:
            table = getattr(self, label)
            pick[label] = None if table is None else self.rows_of(label, task).reset_index(drop=True)
        models = self.models[self.models["model"].isin(self.models_of(task))].reset_index(drop=True)
        tasks = self.tasks[self.tasks["task"] == task].reset_index(drop=True)
        out = replace(self, models=models, tasks=tasks, **pick)
        out.derived["origin"] = (self, frozenset(), task)
        return out

    def drop_models(self, names: list[str] | set[str]) -> EvalData:
        """Remove ``names`` from every table."""
        names = set(names)
        if not names & (set(self.models["model"].tolist()) | set(self.models_of())) and all(
                isinstance(t.index, pd.RangeIndex) and t.index.start == 0 and t.index.step == 1
                for t in (self.models, *(getattr(self, label) for label in _TABLES)) if t is not None):
            return self  # nothing to drop
        pick = {}
        for label in _TABLES:
            table = getattr(self, label)
            pick[label] = (
                None if table is None else table[~table["model"].isin(names)].reset_index(drop=True)
            )
        models = self.models[~self.models["model"].isin(names)].reset_index(drop=True)
        out = replace(self, models=models, **pick)
        out.derived["origin"] = (self, frozenset(names), None)
        return out

    def restrict(self, cutoff: float, task: str | None = None) -> EvalData:
        """Keep only models with compute ``<= cutoff`` (raw FLOPs or parameters).

        This is the single place where held-out models are removed: results, groups,
        scores, steps (a run above the cut-off loses its early checkpoints too) and the
        models table all lose their rows.  Models whose role is in ``unfitted_roles`` (a
        ladder's targets, re-run twins) are removed at every cut-off.

        A cut-off at or below the one this data were restricted to gives the same object as
        restricting the unrestricted data there (the same models are left either way), so
        that what is derived and memoised at one cut-off is shared by every route to it.
        """
        parent = self.derived.get("restricted_from")
        if task is None and parent is not None and float(cutoff) <= parent[1]:
            return parent[0].restrict(cutoff)
        return self.memo(("restrict", float(cutoff), task), lambda: self._restrict(float(cutoff), task))

    def _restrict(self, cutoff: float, task: str | None) -> EvalData:
        table = self.compute_table(task)
        above = set(table.loc[table["compute"] > cutoff * (1 + 1e-12), "model"])
        out = self.drop_models(above | self.unfitted_models())
        if out is not self and task is None:
            out.derived["restricted_from"] = (self, cutoff)
        return out

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
