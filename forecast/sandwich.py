"""Sandwich: combine every slice's curve into the task score, then map it to accuracy.

Ours keeps all slices, weighted by their question counts (the published recipe's plain
mean of the easiest and hardest slice lives in :mod:`forecast.methods.published`).  A TC
Brier task score is mapped to accuracy through ``logit(acc) = a + b * logit(1 + brier)``
fitted by OLS on the fitted models; draws of ``(a, b)`` from its sampling distribution
carry the map's uncertainty into the forecast, and the logistic form keeps every
forecast inside [0, 1].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import statsmodels.api as sm
from scipy.special import expit

from forecast.curves.basis import to_link
from forecast.errors import InputError


def combine(slice_scores: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Question-weighted mean over slices: (..., n_slices, n_x) -> (..., n_x)."""
    w = np.asarray(weights, dtype=float)
    return np.einsum("...gn,g->...n", slice_scores, w / w.sum())


@dataclass
class AccuracyMap:
    """Draws of the score-to-accuracy map (identity when the slices score accuracy)."""

    metric: str
    coef: np.ndarray | None = None  # (n_draws, 2): a, b
    result: object | None = None

    def __call__(self, task_score: np.ndarray) -> np.ndarray:
        """Accuracy per draw from task-score draws of shape (n_draws, n_x)."""
        if self.metric == "accuracy":
            return task_score
        z = to_link(task_score, self.metric)
        return expit(self.coef[:, :1] + self.coef[:, 1:2] * z)


def fit_accuracy_map(
    task_score: np.ndarray,
    accuracy: np.ndarray,
    metric: str,
    n_questions: float | None,
    n_draws: int,
    rng: np.random.Generator,
) -> AccuracyMap:
    """Fit the map from the whole-task score to accuracy on the fitted models."""
    if metric == "accuracy":
        return AccuracyMap("accuracy")
    keep = np.isfinite(task_score) & np.isfinite(accuracy)
    if keep.sum() < 3:
        raise InputError("the accuracy map needs at least 3 fitted models with both scores")
    n = n_questions if n_questions else 1e4
    y = np.log((accuracy[keep] * n + 0.5) / ((1 - accuracy[keep]) * n + 0.5))
    X = sm.add_constant(to_link(task_score[keep], metric))
    result = sm.OLS(y, X).fit()
    normal = rng.multivariate_normal(np.zeros(2), result.cov_params(), size=n_draws, method="svd")
    df = max(result.df_resid, 1.0)
    coef = result.params + normal * np.sqrt(df / rng.chisquare(df, size=n_draws))[:, None]
    return AccuracyMap(metric, coef, result)
