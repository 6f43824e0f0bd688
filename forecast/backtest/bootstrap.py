"""Uncertainty on method comparisons: a paired bootstrap over tasks, and win/loss counts.

Tasks, not held-out points, are the independent units of a backtest (the points of one task
share its questions and its fitted models), so the bootstrap resamples tasks with
replacement.  It is *paired*: a replicate draws one set of tasks and every method is scored on
it, so what is shared between methods (a hard task is hard for all) cancels in their ratio.

Both functions take a tidy frame with one row per (task[, split], method) and a score where
lower is better (an error: MAE, CRPS, ...).  Only the tasks -- and with ``keys`` the splits of
a task -- that every compared method has are used; a task's value is the mean over its
shared splits.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecast.errors import InputError


def paired_table(per_task: pd.DataFrame, methods, value: str, task: str = "task", keys=(),
                 method_col: str = "method") -> pd.DataFrame:
    """Tasks x methods table of ``value``: the mean over the task's splits every method has.

    Parameters
    ----------
    per_task : tidy frame with columns ``task``, ``method_col``, ``value`` and ``keys``
    methods : the compared methods (columns of the result, in this order)
    value : the score column
    task : the column naming the resampling unit
    keys : further columns identifying a split inside a task (e.g. ``("cutoff",)``)
    """
    methods = list(dict.fromkeys(methods))
    for col in (task, method_col, value, *keys):
        if col not in per_task.columns:
            raise InputError(f"per-task table has no column {col!r}")
    present = set(per_task[method_col])
    for m in methods:
        if m not in present:
            raise InputError(f"per-task table has no row of method {m!r}")
    index = list(dict.fromkeys([task, *keys]))
    rows = per_task.loc[per_task[method_col].isin(methods), [*index, method_col, value]]
    if rows.duplicated([*index, method_col]).any():
        raise InputError(f"per-task table repeats a method on one {tuple(index)}")
    # rows are unique per (index, method): a plain unstack (pivot_table is ~10x slower here)
    wide = rows.set_index([*index, method_col])[value].astype(float).unstack(method_col)
    wide = wide.reindex(columns=methods).dropna()
    return wide.groupby(level=task).mean()


def paired_ratio_interval(
    per_task: pd.DataFrame,
    method: str,
    baselines,
    value: str = "crps",
    n_boot: int = 2000,
    level: float = 0.9,
    seed: int = 0,
    task: str = "task",
    keys=(),
    method_col: str = "method",
) -> dict[str, object]:
    """Ratio of ``method``'s mean score to the best baseline's, with a paired bootstrap interval.

    With ``V[t, m]`` the score of method ``m`` on task ``t`` (:func:`paired_table`):

    * ``ratio = mean_t V[t, method] / min_b mean_t V[t, b]`` on the data (the best baseline
      ``best_baseline`` is the one with the smallest mean);
    * each of ``n_boot`` replicates draws ``T`` tasks with replacement -- the same tasks for
      every method -- and recomputes the ratio, re-choosing the best baseline;
    * ``[lower, upper]`` are the replicates' ``(1 - level)/2`` and ``(1 + level)/2`` quantiles
      (percentile interval).

    Same ``seed``, same interval.  Returns ``ratio, lower, upper, best_baseline, n_tasks``
    (NaN and None when no task has every method).
    """
    baselines = [b for b in dict.fromkeys(baselines) if b != method]
    if not baselines:
        raise InputError(f"paired_ratio_interval: no baseline to compare {method!r} with")
    if not 0.0 < level < 1.0:
        raise InputError(f"interval level must lie in (0, 1), got {level!r}")
    table = paired_table(per_task, [method, *baselines], value, task, keys, method_col)
    n_tasks = len(table)
    if n_tasks == 0:
        return {"ratio": np.nan, "lower": np.nan, "upper": np.nan, "best_baseline": None, "n_tasks": 0}
    values = table.to_numpy(dtype=float)
    means = values.mean(axis=0)
    best = int(np.argmin(means[1:]))
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n_tasks, size=(int(n_boot), n_tasks))
    boot = values[idx].mean(axis=1)  # (n_boot, n_methods)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = boot[:, 0] / boot[:, 1:].min(axis=1)
        ratio = means[0] / means[1 + best]
    lower, upper = np.quantile(ratios, [(1.0 - level) / 2.0, (1.0 + level) / 2.0])
    return {"ratio": float(ratio), "lower": float(lower), "upper": float(upper),
            "best_baseline": baselines[best], "n_tasks": n_tasks}


def win_loss(
    per_task: pd.DataFrame,
    method: str,
    against: str = "persistence",
    value: str = "mae",
    task: str = "task",
    keys=(),
    method_col: str = "method",
    tol: float = 1e-12,
) -> dict[str, int]:
    """Per-task wins, losses and ties of ``method`` against ``against`` (lower ``value`` wins).

    A task's value is its mean over the splits both methods have (:func:`paired_table`); a
    difference within ``tol`` is a tie.
    """
    table = paired_table(per_task, [method, against], value, task, keys, method_col)
    diff = (table[method] - table[against]).to_numpy(dtype=float)
    return {"wins": int(np.sum(diff < -tol)), "losses": int(np.sum(diff > tol)),
            "ties": int(np.sum(np.abs(diff) <= tol))}
