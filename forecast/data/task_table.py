"""One row per model for one task: compute, accuracy (the forecast target), question count,
and every other metric of :func:`forecast.metrics.task_table_metrics` the data carry (TC
Brier today), each scored by the metric layer (:mod:`forecast.metrics.registry`)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecast.data.dataset import EvalData
from forecast.errors import InputError, NotApplicable
from forecast.metrics.registry import DEFAULT_TARGET, forecast_accuracy, get_metric, task_table_metrics


#: filters preferred when a task's answers were scored under several (lm-eval names)
PREFERRED_FILTERS = ("none", "strict-match")


def one_row_per_answer(results: pd.DataFrame) -> pd.DataFrame:
    """Reduce per-question results to one row per (task, question, model).

    lm-eval logs may hold one row per filter and generated answers one row per metric.
    Per task one filter is kept: among the filters every model of the task has, ``none``,
    then ``strict-match``, then the first in sorted order; when no filter is shared, each
    model keeps its own first filter in that order.
    """
    out = results
    if "filter" in out.columns and out["filter"].nunique() > 1:
        keep = []
        for _, rows in out.groupby("task", sort=False):
            filters = rows["filter"].astype(str)
            per_model = rows.assign(_f=filters).groupby("model")["_f"].agg(set)
            shared = set.intersection(*per_model) if len(per_model) else set()
            rank = {f: i for i, f in enumerate(PREFERRED_FILTERS)}

            def best(options: set[str]) -> str:
                return sorted(options, key=lambda f: (rank.get(f, len(rank)), f))[0]

            if shared:
                keep.append(rows[filters == best(shared)])
            else:
                chosen = per_model.map(best)
                keep.append(rows[filters.to_numpy() == rows["model"].map(chosen).to_numpy()])
        out = pd.concat(keep)
    return out.drop_duplicates(["task", "question_id", "model"])


def task_table(data: EvalData, task: str, prob_renormalized: bool = True) -> pd.DataFrame:
    """Per-model table of ``task`` (see :func:`build_task_table`), built once per data
    instance; on a subset of other data (:meth:`EvalData.restrict`, ``for_task``) read off
    the parent's table by a row mask wherever that is the same table."""
    key = ("task_table", task, bool(prob_renormalized))
    store = data.derived
    if key not in store:
        table = _from_parent(data, task, prob_renormalized)
        store[key] = build_task_table(data, task, prob_renormalized) if table is None else table
    out = store[key].copy()
    out.attrs["scale"] = store[key].attrs["scale"]
    return out


def single_answer(data: EvalData) -> bool:
    """Whether per-model aggregates of ``data.results`` cannot change when models are dropped:
    one filter at most, and ``p_correct`` either absent or known everywhere."""
    def check() -> bool:
        r = data.results
        if "filter" in r.columns and r["filter"].nunique() > 1:
            return False
        return "p_correct" not in r.columns or bool(r["p_correct"].notna().all())
    return data.memo(("single_answer",), check)


def _from_parent(data: EvalData, task: str, prob_renormalized: bool) -> pd.DataFrame | None:
    """The task table of a subset read off its parent's (None: build it anew)."""
    origin = data.derived.get("origin")
    if origin is None:
        return None
    parent, dropped, only = origin
    if only is not None:  # one task's data: that task's table is the parent's
        if only != task:
            return None
        try:
            return task_table(parent, task, prob_renormalized)
        except (InputError, NotApplicable):
            return None
    if parent.results is not None:
        if not single_answer(parent):
            return None
    try:
        full = task_table(parent, task, prob_renormalized)
    except (InputError, NotApplicable):
        return None
    keep = np.array([m not in dropped for m in full["model"].tolist()], dtype=bool)
    if not keep.any():
        return None
    out = full[keep].reset_index(drop=True)
    if parent.results is None and parent.groups is not None:
        # the question count is a maximum over the models: over the kept models' counts
        per_model = group_question_counts(parent, task)
        if per_model is None:
            return None
        kept = per_model[~per_model.index.get_level_values("model").isin(dropped)]
        if kept.empty:
            return None
        out["n_questions"] = float(kept.max())
    if any(m in out.columns and not out[m].notna().any() for m in other_metrics()):
        return None  # without the dropped models the column may be absent
    out.attrs["scale"] = full.attrs["scale"]
    return out


def group_question_counts(data: EvalData, task: str) -> pd.Series | None:
    """Question count of each (slicing, model) of ``task``'s TC-Brier slice groups (the sum
    over a slicing's groups); the task table's ``n_questions`` is its maximum.  None when the
    data have no such groups for ``task``."""
    def build() -> pd.Series | None:
        g = data.groups[(data.groups["task"] == task) & (data.groups["metric"] == "tc_brier")]
        if g.empty:
            return None
        keys = ["n_groups", "difficulty_flops_max_1e21", "prob_renormalized", "model"]
        if "group_metric_file" in g.columns:
            keys.append("group_metric_file")
        return g.groupby(keys).n_questions.sum()
    return data.memo(("group_question_counts", task), build)


def other_metrics() -> tuple[str, ...]:
    """The task table's metrics besides the target (accuracy)."""
    return tuple(m for m in task_table_metrics() if m != DEFAULT_TARGET)


def _per_model_answers(data: EvalData, task: str | None):
    """``model, accuracy, n_questions[, tc_brier, ...]`` of ``task`` from the per-question
    results (``task=None``: of every task at once, a dict by task; only where no task's filter
    choice depends on the others, :func:`single_answer`)."""
    rows = one_row_per_answer(data.results if task is None else data.rows_of("results", task))
    if "n_samples" in rows.columns:  # sampled answers: expected one-sample accuracy
        rows = rows.assign(correct=forecast_accuracy(rows))
    elif "correct" not in rows.columns:
        raise NotApplicable(
            f"{data.name}: task {task!r} has probabilities only (no column 'correct'): "
            "accuracy needs the argmax of the choices; use forecast mirage for p_correct"
        )
    agg = {"accuracy": ("correct", "mean"), "n_questions": ("question_id", "size")}
    for name in other_metrics():  # each the mean of its per-question scores, where every row has them
        metric = get_metric(name)
        if metric.available(rows):
            rows = rows.assign(**{name: metric.score(rows)})
            agg[name] = (name, "mean")
    if task is not None:
        return rows.groupby("model", sort=True).agg(**agg).reset_index()
    every = rows.groupby(["task", "model"], sort=True).agg(**agg).reset_index()
    return {str(t): part.drop(columns="task").reset_index(drop=True)
            for t, part in every.groupby("task", sort=False)}


def build_task_table(data: EvalData, task: str, prob_renormalized: bool = True) -> pd.DataFrame:
    """Per-model table of ``task``: ``model, compute, log10_compute, accuracy, n_questions``.

    For sampled answers (``n_samples, n_correct``) accuracy is the mean per-question success
    rate ``n_correct / n_samples`` (the expected accuracy of one sample, pass@1); results with
    probabilities only raise :class:`NotApplicable`.
    A column per other metric of :func:`forecast.metrics.task_table_metrics` (``tc_brier``,
    the higher-is-better whole-task TC Brier) is added when the data carry it: the mean of its
    per-question scores (:attr:`forecast.metrics.Metric.score`) for per-question data, the
    whole-task value of the score table otherwise.
    """
    compute = data.compute_table(task)
    if data.results is not None:
        if len(data.task_names) > 1 and single_answer(data) and (
                "n_samples" in data.results.columns or "correct" in data.results.columns):
            # every task's per-model aggregates in one pass (the same rows in the same order
            # per model as one task's own pass)
            per_model = data.memo(("per_model_answers",), lambda: _per_model_answers(data, None))
            per_model = per_model.get(task)
            if per_model is None:
                per_model = _per_model_answers(data, task)
            else:
                per_model = per_model.copy()
        else:
            per_model = _per_model_answers(data, task)
    else:
        if data.scores is None:
            raise InputError(
                f"{data.name}: task {task!r} has slice groups but no whole-task scores "
                "(pass --scores FILE with task, model, prob_renormalized, metric, value)"
            )
        s = data.scores[data.scores["task"] == task]
        acc = s[s["metric"] == "accuracy"]
        if acc.empty:
            raise InputError(f"{data.name}: no whole-task accuracy for task {task!r} in the scores")
        acc = acc.sort_values("prob_renormalized", ascending=not prob_renormalized)
        per_model = (
            acc.drop_duplicates("model")[["model", "value"]].rename(columns={"value": "accuracy"})
        )
        for name in other_metrics():
            given = s[(s["metric"] == name) & (s["prob_renormalized"] == prob_renormalized)]
            if not given.empty:
                per_model = per_model.merge(
                    given[["model", "value"]].rename(columns={"value": name}), on="model", how="left"
                )
        n = np.nan
        counts = group_question_counts(data, task) if data.groups is not None else None
        if counts is not None:
            n = float(counts.max())
        if not np.isfinite(n):
            n = data.n_questions(task)  # the task table's count, where the data declare one
        per_model["n_questions"] = n
    out = compute.merge(per_model, on="model", how="inner")
    out = out.sort_values(["log10_compute", "model"]).reset_index(drop=True)
    out.attrs["scale"] = compute.attrs["scale"]
    return out
