"""Per-slice OLS polynomial curves (statsmodels), with sampling draws of the coefficients."""

from __future__ import annotations

import numpy as np
import pandas as pd
from statsmodels.regression.linear_model import OLS

from forecast.curves.basis import design
from forecast.curves.draws import CurveDraws
from forecast.errors import InputError


def fit_ols_slices(
    x: np.ndarray,
    z: np.ndarray,
    degree: int,
    center: float,
    metric: str,
    n_draws: int,
    rng: np.random.Generator,
) -> tuple[CurveDraws, list]:
    """Fit ``z[g] ~ poly(x)`` by OLS for every slice ``g``.

    Coefficient draws come from the multivariate t sampling distribution of each slice's
    estimate (``params``, ``cov_params``, ``df_resid``), so the OLS path returns curve draws
    like the Bayesian ones.

    Returns
    -------
    CurveDraws, list of statsmodels results (one per slice, for ``summary_frame``).
    """
    n_slices = z.shape[0]
    p = degree + 1
    coef = np.empty((n_draws, n_slices, p))
    results = []
    for g in range(n_slices):
        keep = np.isfinite(z[g])
        if keep.sum() <= p:
            raise InputError(
                f"slice {g}: {int(keep.sum())} fitted models for a degree-{degree} curve with "
                f"{p} parameters; need at least {p + 1}"
            )
        X = design(x[keep], center, degree)
        res = OLS(z[g, keep], X).fit()
        results.append(res)
        coef[:, g, :] = ols_coef_draws(res, n_draws, rng)
    return CurveDraws(coef, center, metric), results


def ols_coef_draws(result, n_draws: int, rng: np.random.Generator) -> np.ndarray:
    """Coefficient draws from the multivariate t sampling distribution of an OLS fit."""
    p = len(result.params)
    normal = rng.multivariate_normal(np.zeros(p), result.cov_params(), size=n_draws, method="svd")
    df = max(result.df_resid, 1.0)
    return np.asarray(result.params) + normal * np.sqrt(df / rng.chisquare(df, size=n_draws))[:, None]


def ols_summary_frame(result, x: np.ndarray, center: float, degree: int, alpha: float) -> pd.DataFrame:
    """statsmodels' ``get_prediction(X).summary_frame(alpha)`` for new log10 compute ``x``."""
    frame = result.get_prediction(design(x, center, degree)).summary_frame(alpha=alpha)
    frame.insert(0, "log10_compute", np.asarray(x, dtype=float))
    return frame
