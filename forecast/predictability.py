"""Is a task predictable?  A flag computed from the fitted models alone.

Many downstream tasks do not follow a usable trend in scale (Lourie et al., 2025): their
scores are flat and noisy, erratic, or jump.  A forecaster should say so before anyone
relies on its extrapolation.  The flag imitates the backtest inside the fitted range: at
pseudo-cut-offs among the fitted models (:func:`forecast.tuning.pseudo_splits`), a simple
trend model fitted on the smaller models forecasts the larger fitted ones, and so does
persistence (the last fitted level).

Rule (no tuned constant): a task is *predictable* when the trend's pseudo-forecasts have a
smaller mean absolute error than persistence's, i.e. when the trend of the smaller models
told more about the larger ones than their last score did.  ``score`` is the skill
``1 - MAE_trend / MAE_persistence`` (positive: predictable).  The trend model is the
binomial chance-floored sigmoid (:class:`forecast.methods.baselines.Sigmoid`'s fit).  A task
with no pseudo-cut-off (fewer than ``MIN_FITTED_SIZES + 1`` distinct fitted sizes) gets
``predictable = None``: unknown.

Note what the rule means: a task whose scores scatter independently around a flat level is
predictable (its trend, the mean level, beats the last model's score), a task whose level
wanders from size to size, or that jumps inside the fitted range, is not.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from forecast.data.dataset import EvalData
from forecast.errors import FitError, InputError
from forecast.methods.baselines import binomial_counts, expit_floor, fit_floored_sigmoid, last_level
from forecast.tuning import pseudo_splits


def _trend_forecast(fitted: pd.DataFrame, targets: pd.DataFrame, chance: float) -> np.ndarray:
    """The binomial sigmoid's point forecast of ``targets`` from ``fitted``."""
    x = fitted["log10_compute"].to_numpy(dtype=float)
    center = float(x.mean())
    k, n, known = binomial_counts(fitted)
    params, _, _ = fit_floored_sigmoid(x - center, k, n, chance, known)
    xt = targets["log10_compute"].to_numpy(dtype=float) - center
    return expit_floor(params[0] + params[1] * xt, chance)


def predictability(pool: EvalData, task: str, cutoff: float) -> dict[str, Any]:
    """Predictability flag of ``task`` from its models at or below ``cutoff`` (see module doc).

    Parameters
    ----------
    pool : EvalData
        Evaluation data; models above ``cutoff`` are removed here before anything is read.
    task : str
    cutoff : float
        Raw compute of the real cut-off.

    Returns
    -------
    dict
        ``predictable`` (bool, or None when unknown), ``score`` (skill of the trend over
        persistence, NaN when unknown), ``n_pseudo`` (pseudo-cut-offs used), ``mae_trend``,
        ``mae_persistence``, ``reason`` (one line).
    """
    data = pool.for_task(task).restrict(float(cutoff), task)
    chance = data.chance(task)
    errors_trend, errors_last = [], []
    n_pseudo = 0
    for split in pseudo_splits(data, tasks=[task]):
        fitted, targets = split.fitted, split.targets
        if targets.empty:
            continue
        try:
            trend = _trend_forecast(fitted, targets, chance)
        except (FitError, InputError, ValueError, np.linalg.LinAlgError):
            continue
        y = targets["accuracy"].to_numpy(dtype=float)
        errors_trend.append(np.abs(trend - y))
        errors_last.append(np.abs(last_level(fitted)[0] - y))
        n_pseudo += 1
    if not n_pseudo:
        return {"predictable": None, "score": float("nan"), "n_pseudo": 0, "mae_trend": float("nan"),
                "mae_persistence": float("nan"),
                "reason": f"task {task!r}: no pseudo-cut-off inside the fitted range (too few model sizes)"}
    mae_trend = float(np.mean(np.concatenate(errors_trend)))
    mae_last = float(np.mean(np.concatenate(errors_last)))
    predictable = bool(mae_trend < mae_last)
    score = 1.0 - mae_trend / mae_last if mae_last > 0 else (0.0 if mae_trend == 0 else -np.inf)
    verdict = "beat" if predictable else "did not beat"
    return {
        "predictable": predictable, "score": float(score), "n_pseudo": n_pseudo,
        "mae_trend": mae_trend, "mae_persistence": mae_last,
        "reason": (f"on {n_pseudo} pseudo-cut-offs the sigmoid trend (MAE {mae_trend:.3g}) {verdict} "
                   f"persistence (MAE {mae_last:.3g})"),
    }


def predictability_table(pool: EvalData, cutoff: float, tasks: list[str] | None = None) -> pd.DataFrame:
    """:func:`predictability` of every task of ``pool`` (or of ``tasks``): one row per task."""
    rows = []
    for task in tasks if tasks is not None else pool.task_names:
        try:
            rows.append({"task": task, **predictability(pool, task, cutoff)})
        except InputError as exc:
            rows.append({"task": task, "predictable": None, "score": float("nan"), "n_pseudo": 0,
                         "mae_trend": float("nan"), "mae_persistence": float("nan"), "reason": str(exc)})
    return pd.DataFrame(rows)
