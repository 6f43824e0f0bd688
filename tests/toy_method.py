"""A user-defined forecasting method in its own module, registered with one call.

A straight line in logit accuracy against log10 compute, fitted by least squares; draws from
the coefficients' normal approximation.  Used by tests/test_contract.py to show that a
method defined outside the package runs everywhere (the API, ``--backend processes``, Dask).
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit, logit

import forecast.methods
from forecast.methods import Forecaster, ForecasterTags


class ToyLogit(Forecaster):
    """Logit-linear curve of accuracy in log10 compute.

    Parameters
    ----------
    n_draws : int
        Draws of the curve.
    seed : int
    """

    name = "toy_logit"
    tags = ForecasterTags(handles=frozenset({"per_question", "per_question_probs", "sampled", "group",
                                             "task_level", "multi_family", "ladder"}))
    noise_scale = "logit"

    def __init__(self, n_draws: int = 200, seed: int = 0) -> None:
        self.n_draws = n_draws
        self.seed = seed

    def _fit(self, fitted) -> None:
        t = self.fit_table_
        x = t["log10_compute"].to_numpy(dtype=float)
        y = logit(np.clip(t["accuracy"].to_numpy(dtype=float), 0.01, 0.99))
        design = np.column_stack([np.ones_like(x), x - x.mean()])
        coef, *_ = np.linalg.lstsq(design, y, rcond=None)
        resid = y - design @ coef
        sigma2 = float(resid @ resid / max(len(x) - 2, 1))
        cov = sigma2 * np.linalg.pinv(design.T @ design)
        self.x_mean_ = float(x.mean())
        self.coef_draws_ = self._rng.multivariate_normal(coef, cov, size=self.n_draws, method="cholesky")

    def _mean_draws(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float) - self.x_mean_
        return expit(self.coef_draws_[:, :1] + self.coef_draws_[:, 1:] * x[None, :])


forecast.methods.register(ToyLogit)
