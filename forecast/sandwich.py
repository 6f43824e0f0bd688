"""Sandwich: combine every slice's curve into the task score, then map it to accuracy.

Ours keeps all slices, weighted by their question counts (the published recipe's plain
mean of the easiest and hardest slice lives in :mod:`forecast.methods.published`).

A TC Brier task score ``b = -(1 - p)**2`` maps to accuracy along a line through the one
point the metric fixes: a perfect model (``p = 1`` on every question) scores 0 with
accuracy 1.  So ``acc = 1 + beta * b``, and only the slope is fitted (Bayesian, closed form,
prior centred on ``1 / (1 - chance)``, the slope of the line that also passes through a
model at chance).  An intercept fitted on small models alone would be wrong: they cluster
near chance, where the local relation is flat, and a flat map can never forecast
emergence.  On the shipped data the slope fitted on MMLU models up to 10^22.5 FLOPs is about
1.3 and the held-out larger models lie on that line (1.4 over all models).  Draws of
``beta`` carry the map's uncertainty; the map is kept inside [0, 1].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from statsmodels.regression.linear_model import OLS

from forecast.errors import InputError


def combine(slice_scores: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Question-weighted mean over slices: (..., n_slices, n_x) -> (..., n_x)."""
    w = np.asarray(weights, dtype=float)
    return np.einsum("...gn,g->...n", slice_scores, w / w.sum())


#: prior sd of the map's slope, relative to the anchored slope 1 / (1 - chance)
MAP_SLOPE_PRIOR_REL_SD = 0.3


def anchored_slope(chance: float) -> float:
    """Slope of accuracy in TC Brier on the line from chance to a perfect model."""
    return 1.0 / max(1.0 - chance, 1e-6)


@dataclass
class AccuracyMap:
    """Draws of the score-to-accuracy map (identity when the slices score accuracy)."""

    metric: str
    coef: np.ndarray | None = None  # (n_draws, 2): accuracy at score == center, slope
    center: float = 0.0

    def __call__(self, task_score: np.ndarray) -> np.ndarray:
        """Accuracy per draw from task-score draws of shape (n_draws, n_x)."""
        if self.metric == "accuracy":
            return task_score
        acc = self.coef[:, :1] + self.coef[:, 1:2] * (task_score - self.center)
        return np.clip(acc, 0.0, 1.0)


def fit_accuracy_map(
    task_score: np.ndarray,
    accuracy: np.ndarray,
    metric: str,
    chance: float,
    n_draws: int,
    rng: np.random.Generator,
) -> AccuracyMap:
    """Fit ``acc = 1 + beta * brier`` on the fitted models (conjugate, closed form).

    Given the residual variance (drawn from its scaled inverse chi-square posterior) the
    posterior of ``beta`` is normal.
    """
    if metric == "accuracy":
        return AccuracyMap("accuracy")
    keep = np.isfinite(task_score) & np.isfinite(accuracy)
    n = int(keep.sum())
    if n < 3:
        raise InputError("the accuracy map needs at least 3 fitted models with both scores")
    b, y = task_score[keep], accuracy[keep] - 1.0
    slope0 = anchored_slope(chance)
    prior_prec = 1.0 / (MAP_SLOPE_PRIOR_REL_SD * slope0) ** 2
    ols = OLS(y, b[:, None]).fit()
    df = max(n - 1, 1)
    s2 = max(float(ols.ssr) / df, 1e-8)
    sigma2 = df * s2 / rng.chisquare(df, size=n_draws)
    prec = float(b @ b) / sigma2 + prior_prec
    mean = (float(b @ y) / sigma2 + prior_prec * slope0) / prec
    beta = mean + rng.standard_normal(n_draws) / np.sqrt(prec)
    return AccuracyMap(metric, np.column_stack([np.ones(n_draws), beta]), 0.0)
