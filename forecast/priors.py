"""Priors learned from a data set: the population of slice curves sets each curve's prior.

A slice curve is a quadratic in ``x - center`` (decades of compute) on the logit scale of
the slice score.  Its slope and curvature get zero-mean normal priors.  Instead of picking
their scales by hand (or, worse, by looking at backtests), they are estimated from the
population of slice curves of *every task of the data set*, each fitted only on the models
at or below the cut-off (empirical Bayes):

1. per task and slice, an unshrunk OLS quadratic (statsmodels) gives each coefficient
   ``b_i`` and its standard error ``se_i``;
2. since ``E[b_hat^2] = E[b^2] + se^2``, the population's mean square of the coefficient is
   estimated by the moment estimate ``mean(b_hat^2) - mean(se^2)`` (unweighted, so that a
   degenerate curve -- a slice at 0 for every model, fitted exactly -- cannot dominate);
3. the zero-mean prior's scale is that root mean square: a prior that covers the curves the
   data set actually shows, wide where tasks differ and tight where they agree.

Principled fallbacks (no tuned constant): fewer than :data:`MIN_CURVES` usable curves give
the weakly informative scale of one logit per decade (per decade squared); an estimate of
``0`` (no spread beyond noise, mean 0) keeps :data:`MIN_SCALE` so the posterior stays proper.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from statsmodels.regression.linear_model import OLS

from forecast.curves.basis import design

#: fewest slice curves an empirical-Bayes scale is estimated from
MIN_CURVES = 3
#: weakly informative scale used when too few curves exist (logit per decade**k)
FALLBACK_SCALE = 1.0
#: smallest learned scale (keeps the prior proper; 1% of the fallback)
MIN_SCALE = 0.01
#: prior sd of the intercept (logit units): effectively flat, centred on the slice's mean
INTERCEPT_SD = 10.0


def curve_coefficients(x: np.ndarray, z: np.ndarray, degree: int = 2) -> list[tuple[np.ndarray, np.ndarray]]:
    """OLS polynomial coefficients and standard errors of every slice (rows of ``z``).

    Parameters
    ----------
    x : array (n_models,)
        log10 compute of the fitted models.
    z : array (n_slices, n_models)
        Link-scale slice scores (NaN = missing).

    Returns
    -------
    list of (params, bse)
        One pair per slice with more points than coefficients and a finite fit.
    """
    out = []
    center = float(np.mean(x))
    for row in np.atleast_2d(z):
        keep = np.isfinite(row)
        if keep.sum() <= degree + 1:
            continue
        fit = OLS(row[keep], design(x[keep], center, degree)).fit()
        params, bse = np.asarray(fit.params), np.asarray(fit.bse)
        if np.all(np.isfinite(params)) and np.all(np.isfinite(bse)) and np.all(bse > 0):
            out.append((params, bse))
    return out


def population_moments(b: np.ndarray, se: np.ndarray) -> tuple[float, float, float]:
    """Mean, between-curve variance and mean square of true coefficients ``b`` observed with
    errors ``se`` (moment estimates, noise variance taken out, floored at 0)."""
    b, se = np.asarray(b, dtype=float), np.asarray(se, dtype=float)
    noise = float(np.mean(se**2))
    mean = float(np.mean(b))
    var = max(0.0, float(np.var(b, ddof=1)) - noise) if b.size > 1 else 0.0
    mean_square = max(0.0, float(np.mean(b**2)) - noise)
    return mean, var, mean_square


def population_prior_sd(
    coefficients: Iterable[tuple[np.ndarray, np.ndarray]], degree: int = 2
) -> tuple[tuple[float, ...], dict[str, float]]:
    """Prior sds ``(intercept, slope, curvature, ...)`` from a population of slice curves.

    Returns the scales and a report (number of curves, mean and spread per power).
    """
    coefs = list(coefficients)
    report: dict[str, float] = {"n_curves": float(len(coefs))}
    scales = [INTERCEPT_SD]
    for k in range(1, degree + 1):
        if len(coefs) < MIN_CURVES:
            scales.append(FALLBACK_SCALE)
            continue
        b = np.array([c[0][k] for c in coefs])
        se = np.array([c[1][k] for c in coefs])
        mean, var, mean_square = population_moments(b, se)
        report[f"mean_{k}"], report[f"spread_{k}"] = mean, float(np.sqrt(var))
        scales.append(max(float(np.sqrt(mean_square)), MIN_SCALE))
    return tuple(scales), report
