"""Closed-form Bayesian polynomial curves: a Gaussian prior on the coefficients.

For each slice, ``z = X beta + e`` with ``e ~ N(0, sigma^2)``.  The prior on ``beta`` is
normal with a standard deviation per power of ``x - center``; higher powers are shrunk
towards zero, which is what keeps a curve from diverging when it is extrapolated.  Given
``sigma`` the posterior of ``beta`` is normal in closed form; ``sigma^2`` is drawn from its
scaled inverse chi-square posterior (``df = n - p``), then ``beta`` given it.  No MCMC.
"""

from __future__ import annotations

import numpy as np

from forecast.curves.basis import design
from forecast.curves.draws import CurveDraws
from forecast.errors import InputError

#: prior standard deviations of the coefficients (logit units per decade**k)
DEFAULT_PRIOR_SD = (10.0, 1.0, 0.1, 0.05, 0.03, 0.02)


def fit_conjugate_slices(
    x: np.ndarray,
    z: np.ndarray,
    degree: int,
    center: float,
    metric: str,
    n_draws: int,
    rng: np.random.Generator,
    prior_sd: tuple[float, ...] = DEFAULT_PRIOR_SD,
) -> CurveDraws:
    """Posterior draws of every slice's polynomial coefficients (closed form).

    Parameters
    ----------
    x : array (n_models,)
        log10 compute of the fitted models.
    z : array (n_slices, n_models)
        Link-scale slice scores (NaN where a model has no score).
    prior_sd : tuple
        Prior sd of the intercept, slope, curvature, ... (the intercept's prior is centred
        on the slice's mean).
    """
    n_slices = z.shape[0]
    p = degree + 1
    if len(prior_sd) < p:
        raise InputError(f"prior_sd needs {p} values for degree {degree}, got {len(prior_sd)}")
    sd = np.asarray(prior_sd[:p], dtype=float)
    coef = np.empty((n_draws, n_slices, p))
    for g in range(n_slices):
        keep = np.isfinite(z[g])
        n = int(keep.sum())
        if n <= p:
            raise InputError(
                f"slice {g}: {n} fitted models for a degree-{degree} curve with {p} parameters; "
                f"need at least {p + 1}"
            )
        X = design(x[keep], center, degree)
        y = z[g, keep]
        m0 = np.zeros(p)
        m0[0] = y.mean()
        prior_prec = np.diag(1.0 / sd**2)
        # residual scale from the posterior mode at a pilot sigma, then its df = n - p posterior
        beta_ls, *_ = np.linalg.lstsq(X, y, rcond=None)
        s2 = max(float(np.sum((y - X @ beta_ls) ** 2)) / (n - p), 1e-6)
        df = n - p
        sigma2 = df * s2 / rng.chisquare(df, size=n_draws)
        xtx, xty = X.T @ X, X.T @ y
        prec = xtx[None, :, :] / sigma2[:, None, None] + prior_prec[None, :, :]
        cov = np.linalg.inv(prec)
        rhs = xty[None, :] / sigma2[:, None] + (prior_prec @ m0)[None, :]
        mean = np.einsum("spq,sq->sp", cov, rhs)
        chol = np.linalg.cholesky(cov)
        coef[:, g, :] = mean + np.einsum("spq,sq->sp", chol, rng.standard_normal((n_draws, p)))
    return CurveDraws(coef, center, metric)
