"""A direct power law on the negative log accuracy: the honest baseline of a one-stage fit.

Krajewski et al. (ICLR 2026) found that fitting the task metric directly as a power law in
compute beats chaining a loss fit into an accuracy map.  The form here::

    -log(acc) = A * C ** (-alpha)      i.e.   log(-log acc) = a + b * (log10 C - xbar)

a straight line in ``(log10 C, log(-log acc))``, fitted by weighted least squares
(statsmodels ``WLS``).  The accuracy of a model is ``exp(-exp(a + b (x - xbar)))``: it rises
toward 1 without a floor and without a ceiling below 1, the simplest monotone curve in
compute with a power-law approach (``b < 0``; a falling trend, ``b > 0``, is kept as fitted).

* The observed accuracy ``acc`` of a fitted model is moved off 0 and 1 by half a question,
  ``(k + 1/2) / (n + 1)`` (``n`` unknown: by ``1e-4``), so that its transform is finite.
* Weights: the inverse delta-method variance of ``log(-log acc)`` under binomial noise,
  ``var = p (1 - p) / n / (p log p)^2``; equal weights when the question count is unknown.
* Curve draws: the multivariate t sampling distribution of the WLS estimate (its scale
  estimated from the residuals, ``df_resid`` degrees of freedom), quasi-random
  (:class:`~forecast.curves.draws.QuasiDraws`); the point forecast is the estimate's curve.

It has no settings learned at fit time and handles every data kind with an accuracy per
model (per-question, group, task-level), like the other baselines.
"""

from __future__ import annotations

import numpy as np
from statsmodels.regression.linear_model import WLS
from statsmodels.tools.tools import add_constant

from forecast.curves.draws import QuasiDraws
from forecast.curves.ols import ols_coef_draws
from forecast.data.dataset import EvalData
from forecast.methods.base import Forecaster
from forecast.methods.baselines import binomial_counts
from forecast.methods.contract import ForecasterTags

#: distance of an accuracy from 0 and 1 when the question count is unknown
UNKNOWN_N_EPS = 1e-4


def loglog_accuracy(acc: np.ndarray, n: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """``log(-log p)`` of accuracies moved off the bounds, and the weights of a WLS fit.

    ``n`` (question counts, or None when unknown) moves ``acc`` to ``(k + 1/2) / (n + 1)``
    and gives the delta-method weights; without it the weights are equal."""
    acc = np.clip(np.asarray(acc, dtype=float), 0.0, 1.0)
    if n is None:
        p = np.clip(acc, UNKNOWN_N_EPS, 1.0 - UNKNOWN_N_EPS)
        return np.log(-np.log(p)), np.ones_like(p)
    n = np.asarray(n, dtype=float)
    p = (acc * n + 0.5) / (n + 1.0)
    var = p * (1.0 - p) / n / (p * np.log(p)) ** 2
    return np.log(-np.log(p)), 1.0 / var


def power_law_accuracy(coef: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``exp(-exp(a + b x))`` for every row ``(a, b)`` of ``coef``: shape (len(coef), len(x))."""
    x = np.atleast_1d(np.asarray(x, dtype=float))
    eta = coef[:, :1] + coef[:, 1:2] * x[None, :]
    return np.exp(-np.exp(np.clip(eta, -50.0, 50.0)))


class LogPower(Forecaster):
    """Power law in compute on ``-log(accuracy)`` (see the module docstring).

    Parameters
    ----------
    n_draws : int
        Curve draws.
    seed : int
        Seed of the quasi-random draws.
    """

    name = "log_power"
    tags = ForecasterTags(is_baseline=True, in_default_run=True)

    def __init__(self, n_draws: int = 1000, seed: int = 0) -> None:
        self.n_draws = n_draws
        self.seed = seed

    def _fit(self, fitted: EvalData) -> None:
        t = self.fit_table_
        x = t["log10_compute"].to_numpy(dtype=float)
        _, n, known = binomial_counts(t)
        y, w = loglog_accuracy(t["accuracy"].to_numpy(dtype=float), n if known else None)
        self.center_ = float(x.mean())
        result = WLS(y, add_constant(x - self.center_, has_constant="add"), weights=w).fit()
        self.params_ = np.asarray(result.params, dtype=float)
        self._rng = QuasiDraws(self.seed)
        self.coef_draws_ = ols_coef_draws(result, self.n_draws, self._rng)
        self.diagnostics_["wls_scale"] = float(result.scale)
        self.diagnostics_["counts_known"] = known

    def _mean_draws(self, x: np.ndarray) -> np.ndarray:
        return power_law_accuracy(self.coef_draws_, np.asarray(x, dtype=float) - self.center_)

    def _point(self, x: np.ndarray) -> np.ndarray:
        return power_law_accuracy(self.params_[None, :], np.asarray(x, dtype=float) - self.center_)[0]


__all__ = ["LogPower", "loglog_accuracy", "power_law_accuracy"]
