"""Baselines: sigmoid in log compute, linear in log compute, and persistence.

Each runs through the same interface as the main method, so intervals, thresholds and
backtests treat them alike.  Regression baselines draw their curves from the sampling
distribution of their statsmodels OLS estimate.
"""

from __future__ import annotations

import numpy as np
import statsmodels.api as sm
from scipy.special import expit

from forecast.curves.ols import ols_coef_draws
from forecast.data.dataset import EvalData
from forecast.methods.base import Forecaster

LOGIT_EPS = 1e-6


def _logit_eps(y: np.ndarray) -> np.ndarray:
    """The published baseline's logit: ``log((y + 1e-6) / (1 - y + 1e-6))``."""
    return np.log((y + LOGIT_EPS) / (1.0 - y + LOGIT_EPS))


def _line(coef: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``a + b x`` for every draw of ``(a, b)``: shape (n_draws, len(x))."""
    return coef[:, :1] + coef[:, 1:2] * np.atleast_1d(np.asarray(x, dtype=float))[None, :]


class Sigmoid(Forecaster):
    """Sigmoid in log10 compute above chance (the Slice-and-Sandwich paper's baseline).

    OLS of ``logit(clip(acc - chance, 0, 1))`` on ``x = log10(compute)``; the forecast is
    ``chance + sigmoid(a + b x)``, the OLS estimate as the point forecast.

    Parameters
    ----------
    clip : bool
        Cap forecasts at accuracy 1 (``chance + sigmoid`` can exceed it); ``False`` is the
        published baseline exactly.
    n_draws : int
        Curve draws from the OLS sampling distribution.
    seed : int
    """

    name = "sigmoid"

    def __init__(self, clip: bool = True, n_draws: int = 1000, seed: int = 0) -> None:
        self.clip = clip
        self.n_draws = n_draws
        self.seed = seed

    def _fit(self, fitted: EvalData) -> None:
        t = self.fit_table_
        x = t["log10_compute"].to_numpy(dtype=float)
        y = _logit_eps(np.clip(t["accuracy"].to_numpy(dtype=float) - self.chance_, 0.0, 1.0))
        self.result_ = sm.OLS(y, sm.add_constant(x)).fit()
        self.coef_draws_ = ols_coef_draws(self.result_, self.n_draws, self._rng)

    def _bound(self, acc: np.ndarray) -> np.ndarray:
        return np.minimum(acc, 1.0) if self.clip else acc

    def _mean_draws(self, x: np.ndarray) -> np.ndarray:
        return self._bound(self.chance_ + expit(_line(self.coef_draws_, x)))

    def _point(self, x: np.ndarray) -> np.ndarray:
        """The OLS point forecast ``chance + sigmoid(a + b x)`` (capped at 1 when ``clip``)."""
        return self._bound(self.chance_ + expit(_line(np.asarray(self.result_.params)[None, :], x)[0]))


class Linear(Forecaster):
    """Accuracy linear in log10 compute (OLS), clipped to [0, 1]."""

    name = "linear"

    def __init__(self, n_draws: int = 1000, seed: int = 0) -> None:
        self.n_draws = n_draws
        self.seed = seed

    def _fit(self, fitted: EvalData) -> None:
        t = self.fit_table_
        x = t["log10_compute"].to_numpy(dtype=float)
        self.result_ = sm.OLS(t["accuracy"].to_numpy(dtype=float), sm.add_constant(x)).fit()
        self.coef_draws_ = ols_coef_draws(self.result_, self.n_draws, self._rng)

    def _mean_draws(self, x: np.ndarray) -> np.ndarray:
        return np.clip(_line(self.coef_draws_, x), 0.0, 1.0)

    def _point(self, x: np.ndarray) -> np.ndarray:
        return np.clip(_line(np.asarray(self.result_.params)[None, :], x)[0], 0.0, 1.0)


class Persistence(Forecaster):
    """Tomorrow looks like today: the accuracy of the largest fitted models, flat.

    With slice-level (group) data the mean accuracy of the ``k`` largest fitted models;
    with per-question data the accuracy of the largest fitted model.  Its draws are all
    the same curve; the observed interval comes from the fitted models' scatter.
    """

    name = "persistence"
    n_curve_params = 1

    def __init__(self, k: int = 5, n_draws: int = 1000, seed: int = 0) -> None:
        self.k = k
        self.n_draws = n_draws
        self.seed = seed

    def _fit(self, fitted: EvalData) -> None:
        t = self.fit_table_.sort_values(["log10_compute", "model"])
        k = 1 if fitted.kind == "per_question" else self.k
        self.level_ = float(t["accuracy"].tail(k).mean())

    def _mean_draws(self, x: np.ndarray) -> np.ndarray:
        return np.full((self.n_draws, np.size(x)), self.level_)

    def _point(self, x: np.ndarray) -> np.ndarray:
        return np.full(np.size(x), self.level_)
