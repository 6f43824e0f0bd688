"""Proper scores of forecasts: point and interval errors, CRPS, PIT, threshold errors.

At the bottom of the package (it imports only :mod:`forecast.errors`): settings learning
(:mod:`forecast.tuning`, :mod:`forecast.stacking`) and the backtest score with the same
functions.  :mod:`forecast.backtest.scoring` re-exports them.

All scores are of the *observed* accuracy of held-out models (``kind="observed"``
intervals and draws), computed the same way for every method.

Point and interval scores over a set of held-out models (a *window*):

* ``mae``, ``mse``: of the predictive mean against the observed accuracy;
* ``coverage``: share of models whose accuracy lies in ``[lower, upper]`` (bounds included);
* ``width``: mean of ``upper - lower``;
* ``crps``: mean sample CRPS of the predictive draws (:func:`crps_sample`).

An empty window has ``n = 0`` and NaN for every score.

Thresholds (:func:`score_threshold`), with ``tau`` the normalised accuracy level:

* the *observed* threshold is the isotonic definition
  (:func:`forecast.threshold.observed_threshold`) applied to **all** models, fitted and
  held out; when it is None the data never reach ``tau`` (right-censored at the largest model);
* a split is *eligible* for threshold scoring only when the same definition applied to the
  fitted models alone finds no crossing, i.e. the task had not crossed ``tau`` at the cut-off;
* ``error_dec = log10(forecast estimate) - log10(observed)`` (positive = forecast too late);
  when the forecast median never crosses in its search range (which ends at ``search_max``)
  but the data do, the forecast threshold lies past ``search_max`` and the error is
  right-censored: ``error_dec = log10(search_max) - log10(observed)``, a lower bound of the
  signed error, with ``censored = True``; ``abs_error_dec`` is ``|error_dec|``, or for a
  censored error the lower bound of ``|error|``, ``max(error_dec, 0)``.  NaN when the data
  never cross (or the forecast misses and no ``search_max`` is known) -- these splits are
  counted by ``outcome`` instead;
* ``inside``: the observed threshold lies in the forecast's credible interval
  ``[lower, upper]``, with a missing ``lower`` read as +inf (the interval lies past the search
  range) and an ``upper_censored`` upper bound read as +inf; when the observed threshold is
  None (beyond the largest model ``M``), ``inside`` is true iff the interval reaches past
  ``M`` (``upper`` censored or above ``M``);
* ``false_emergence``: the forecast's estimate exists and lies within the data's range
  (``<= M``, where the data could show it) while the observed threshold is None.  Reported
  for the no-emergence control tasks.

Scores for discrete outcomes (a held-out accuracy is a count ``k/n`` over ``n`` questions):

* :func:`cover_scores`: coverage with ties on a bound counted half (``cover``), as misses
  (``cover_strict``) and as hits (``cover_inclusive``);
* :func:`randomized_pit` and :func:`pit_uniformity`: the randomised probability integral
  transform, uniform on (0, 1) for a calibrated forecast even when outcomes are discrete;
* :func:`interval_score`: the proper score of a central interval;
* :func:`noise_floor`: the error a perfect forecast of the true rate would still make;
* :func:`count_quantiles`: equal-tailed interval bounds on the ``k/n`` grid of the predicted
  count distribution (a mixture of binomials over the rate draws).

Threshold scores that see censoring (all in log10 compute): :func:`threshold_crps` (forecast
and observation both capped at the largest held-out model) and :func:`bracket_inside`
(:func:`forecast.backtest.scoring.crossing_bracket` finds the data's crossing bracket).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special, stats

from forecast.errors import InputError

#: nominal levels of the calibration table / plot
CALIBRATION_LEVELS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95)

#: point/interval scores, in table order
POINT_METRICS = ("mae", "mse", "coverage", "width", "crps")


def crps_sample(draws: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Sample CRPS of each column of ``draws`` against ``y``.

    ``CRPS = mean|X - y| - 0.5 * mean|X - X'|`` over the ``m`` draws, with ``mean|X - X'|``
    taken over all ``m**2`` ordered pairs (the V-statistic; the pair term is computed from
    the sorted draws in ``O(m log m)`` as ``2 * sum_k (2k - m - 1) x_(k) / m**2``).

    Parameters
    ----------
    draws : array, shape (m, n)
    y : array, shape (n,)

    Returns
    -------
    array, shape (n,)
    """
    x = np.sort(np.asarray(draws, dtype=float), axis=0)
    if x.ndim == 1:
        x = x[:, None]
    y = np.atleast_1d(np.asarray(y, dtype=float))
    m = x.shape[0]
    if m == 0:
        return np.full(y.shape, np.nan)
    term_y = np.mean(np.abs(x - y[None, :]), axis=0)
    k = np.arange(1, m + 1, dtype=float)[:, None]
    pairs = 2.0 * np.sum((2.0 * k - m - 1.0) * x, axis=0) / (m * m)
    return term_y - 0.5 * pairs


def coverage_flags(draws: np.ndarray, y: np.ndarray, levels=CALIBRATION_LEVELS) -> np.ndarray:
    """Whether ``y`` lies in the equal-tailed interval of the draws at each level.

    Returns a bool array of shape (len(levels), n); the interval bounds are the draws'
    ``(1 - level)/2`` and ``(1 + level)/2`` quantiles (as ``Forecaster.predict`` computes them).
    """
    levels = np.asarray(levels, dtype=float)
    alpha = (1.0 - levels) / 2.0
    qs = np.quantile(np.asarray(draws, dtype=float), np.concatenate([alpha, 1.0 - alpha]), axis=0)
    lower, upper = qs[: len(levels)], qs[len(levels):]
    y = np.atleast_1d(np.asarray(y, dtype=float))[None, :]
    return (lower <= y) & (y <= upper)


def point_metrics(y, mean, lower, upper, crps) -> dict[str, float]:
    """``n, mae, mse, coverage, width, crps`` over one window (NaN when it is empty)."""
    y, mean, lower, upper, crps = (np.asarray(a, dtype=float) for a in (y, mean, lower, upper, crps))
    n = int(y.size)
    if n == 0:
        return {"n": 0, **{k: math.nan for k in POINT_METRICS}}
    err = mean - y
    return {
        "n": n,
        "mae": float(np.mean(np.abs(err))),
        "mse": float(np.mean(err**2)),
        "coverage": float(np.mean((lower <= y) & (y <= upper))),
        "width": float(np.mean(upper - lower)),
        "crps": float(np.mean(crps)),
    }


def _log10(v) -> float:
    return math.nan if v is None or (isinstance(v, float) and math.isnan(v)) else math.log10(v)


def _missing(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def score_threshold(
    estimate: float | None,
    lower: float | None,
    upper: float | None,
    upper_censored: bool,
    observed: float | None,
    observed_fitted: float | None,
    max_compute: float,
    search_max: float | None = None,
) -> dict[str, object]:
    """Score one forecast threshold against the observed one (rules in the module docstring).

    All compute values are raw.  Returns ``eligible, error_dec, abs_error_dec, censored,
    inside, outcome, false_emergence``; the errors and ``inside`` are NaN/None when not
    eligible.
    """
    eligible = _missing(observed_fitted)
    has_est, has_obs = not _missing(estimate), not _missing(observed)
    outcome = {
        (True, True): "both",
        (False, True): "forecast_none",
        (True, False): "observed_none",
        (False, False): "neither",
    }[(has_est, has_obs)]
    false_emergence = bool(has_est and not has_obs and estimate <= max_compute * (1 + 1e-12))
    if not eligible:
        return {"eligible": False, "error_dec": math.nan, "abs_error_dec": math.nan, "censored": False,
                "inside": None, "outcome": outcome, "false_emergence": false_emergence}
    lo = math.inf if _missing(lower) else math.log10(lower)
    hi = math.inf if (upper_censored or _missing(upper)) else math.log10(upper)
    if has_obs:
        obs = math.log10(observed)
        inside = bool(lo <= obs + 1e-12 and obs <= hi + 1e-12)
    else:
        inside = bool(hi > math.log10(max_compute))
    censored = False
    if has_est and has_obs:
        error = _log10(estimate) - _log10(observed)
        abs_error = abs(error)
    elif has_obs and not _missing(search_max):
        # the forecast crosses (if ever) past the end of its search range
        censored = True
        error = math.log10(search_max) - math.log10(observed)
        abs_error = max(error, 0.0)
    else:
        error = abs_error = math.nan
    return {"eligible": True, "error_dec": error, "abs_error_dec": abs_error, "censored": censored,
            "inside": inside, "outcome": outcome, "false_emergence": false_emergence}


# ------------------------------------------------------------------ discrete outcomes

#: distance within which a held-out value counts as lying on an interval bound
TIE_TOL = 1e-9


def _floats(*arrays) -> list[np.ndarray]:
    return [np.atleast_1d(np.asarray(a, dtype=float)) for a in arrays]


def cover_scores(y, lower, upper, tol: float = TIE_TOL) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Coverage of ``y`` by ``[lower, upper]``, per point, with ties made explicit.

    A value within ``tol`` of a bound is a *tie*: held-out accuracies are counts ``k/n`` and
    interval bounds of a discrete-aware forecast lie on the same grid, so ties are common.

    * ``half = 1[lower + tol < y < upper - tol] + 0.5 * 1[tie]``  (the ``cover`` column);
    * ``strict = 1[lower + tol < y < upper - tol]``  (ties are misses);
    * ``inclusive = 1[lower - tol <= y <= upper + tol]``  (ties are hits).

    Parameters
    ----------
    y, lower, upper : array, shape (n,)
    tol : float

    Returns
    -------
    (half, strict, inclusive) : three float arrays of shape (n,), NaN where any input is NaN.
    """
    y, lower, upper = _floats(y, lower, upper)
    inclusive = ((lower - tol <= y) & (y <= upper + tol)).astype(float)
    tie = (inclusive > 0) & ((np.abs(y - lower) <= tol) | (np.abs(y - upper) <= tol))
    strict = inclusive * ~tie
    half = strict + 0.5 * tie
    missing = np.isnan(y) | np.isnan(lower) | np.isnan(upper)
    return tuple(np.where(missing, np.nan, a) for a in (half, strict, inclusive))


def randomized_pit(draws: np.ndarray, y, rng: np.random.Generator, tol: float = TIE_TOL) -> np.ndarray:
    """Randomised probability integral transform of ``y`` under the draws of each column.

    ``PIT = P(X < y) + U * P(X = y)``, ``U ~ Uniform(0, 1)`` from ``rng`` (one per column),
    with ``P`` the empirical distribution of the column's draws and ``X = y`` meaning
    ``|X - y| <= tol``.  For a calibrated forecast the PIT is exactly Uniform(0, 1), also
    for discrete outcomes (Czado, Gneiting & Held 2009).

    Parameters
    ----------
    draws : array, shape (m, n)
    y : array, shape (n,)
    rng : numpy Generator
    tol : float

    Returns
    -------
    array, shape (n,); NaN where ``y`` is NaN.
    """
    x = np.asarray(draws, dtype=float)
    if x.ndim == 1:
        x = x[:, None]
    (y,) = _floats(y)
    below = np.mean(x < y[None, :] - tol, axis=0)
    equal = np.mean(np.abs(x - y[None, :]) <= tol, axis=0)
    u = rng.uniform(size=y.shape)
    return np.where(np.isnan(y), np.nan, below + u * equal)


def pit_uniformity(pit, bins: int = 10) -> dict[str, object]:
    """How far a sample of PIT values is from Uniform(0, 1).

    Returns ``n``, ``counts`` (histogram over ``bins`` equal bins of [0, 1]), ``ks`` and
    ``ks_pvalue`` (``scipy.stats.kstest`` against Uniform(0, 1)) and ``max_dev``,
    ``max_b |counts_b / n - 1 / bins|``.  NaN values are dropped; with no values the
    statistics are NaN.
    """
    (pit,) = _floats(pit)
    pit = pit[np.isfinite(pit)]
    counts, _ = np.histogram(pit, bins=bins, range=(0.0, 1.0))
    if pit.size == 0:
        return {"n": 0, "counts": counts.tolist(), "ks": math.nan, "ks_pvalue": math.nan, "max_dev": math.nan}
    ks = stats.kstest(pit, "uniform")
    return {
        "n": int(pit.size),
        "counts": counts.tolist(),
        "ks": float(ks.statistic),
        "ks_pvalue": float(ks.pvalue),
        "max_dev": float(np.max(np.abs(counts / pit.size - 1.0 / bins))),
    }


def interval_score(y, lower, upper, level: float) -> np.ndarray:
    """Interval score of the central ``level`` interval (Gneiting & Raftery 2007), lower is better.

    ``IS = (u - l) + (2/alpha) (l - y)_+ + (2/alpha) (y - u)_+`` with ``alpha = 1 - level``.
    """
    if not 0.0 < level < 1.0:
        raise InputError(f"interval level must lie in (0, 1), got {level!r}")
    y, lower, upper = _floats(y, lower, upper)
    alpha = 1.0 - level
    return (upper - lower) + (2.0 / alpha) * (np.maximum(lower - y, 0.0) + np.maximum(y - upper, 0.0))


def _binom_pmf(k, n, p) -> np.ndarray:
    """Binomial pmf in log space, ``k`` and ``n`` broadcast before ``p`` so that the log
    binomial coefficients are computed once per (k, n): much faster than ``binom.pmf`` for
    many rates on one grid.  ``k`` outside ``[0, n]`` gives 0."""
    k, n, p = (np.asarray(a, dtype=float) for a in (k, n, p))
    valid = (k >= 0) & (k <= n)
    kk = np.where(valid, k, 0.0)
    log_c = special.gammaln(n + 1.0) - special.gammaln(kk + 1.0) - special.gammaln(n - kk + 1.0)
    with np.errstate(invalid="ignore"):
        log_pmf = log_c + special.xlogy(kk, p) + special.xlog1py(n - kk, -p)
    return np.where(valid, np.exp(log_pmf), 0.0)


def _window(n: float, p: np.ndarray) -> np.ndarray:
    """Half-width in counts around ``n p`` outside which a Bin(n, p) has negligible mass
    (ten standard deviations plus ten counts: tail mass far below 1e-10)."""
    return np.ceil(10.0 * np.sqrt(n * p * (1.0 - p))) + 10.0


def noise_floor(y, n) -> dict[str, np.ndarray]:
    """Expected error of a *perfect* forecast of the true rate, given the question counts.

    A model's observed accuracy is ``K/n`` with ``K ~ Bin(n, p)``.  A forecast that knew the
    true rate ``p`` still errs; this is that error, the floor below which no method can go.
    The true rate is unknown: the observed accuracy ``y`` is plugged in as ``p`` (clipped to
    [0, 1]).

    * ``mae = E|K/n - p| = 2 p (1 - p) Bin(floor(n p); n - 1, p)`` (de Moivre's closed form of
      the binomial mean absolute deviation, exact);
    * ``mse = p (1 - p) / n``;
    * ``crps``: the expected CRPS of the exact predictive ``Bin(n, p)/n`` against an outcome
      drawn from it, ``E CRPS = E|X - Y| - E|X - X'|/2 = E|X - X'|/2
      = (1/n) sum_{k=0}^{n-1} F(k) (1 - F(k))`` with ``F`` the Bin(n, p) cdf (exact from the
      pmf, summed over ``n p +- (10 sd + 10)``, outside which ``F(1 - F)`` is negligible).

    Parameters
    ----------
    y : array, shape (N,)
        Observed accuracies.
    n : array, shape (N,)
        Question counts; NaN or 0 where unknown.

    Returns
    -------
    dict with ``mae``, ``mse``, ``crps``: arrays of shape (N,), NaN where ``n`` is NaN or 0 or
    ``y`` is NaN.  Distinct ``(n, y)`` pairs are computed once.
    """
    y, n = _floats(y, n)
    if y.shape != n.shape:
        raise InputError(f"noise_floor: {y.size} accuracies but {n.size} question counts")
    out = {key: np.full(y.shape, np.nan) for key in ("mae", "mse", "crps")}
    ok = np.isfinite(y) & np.isfinite(n) & (n > 0)
    if not ok.any():
        return out
    pairs, inverse = np.unique(np.column_stack([np.round(n[ok]), np.clip(y[ok], 0.0, 1.0)]),
                               axis=0, return_inverse=True)
    nn, pp = pairs[:, 0], pairs[:, 1]
    mae = 2.0 * pp * (1.0 - pp) * _binom_pmf(np.floor(nn * pp + 1e-9), nn - 1.0, pp)
    mse = pp * (1.0 - pp) / nn
    crps = np.empty(len(pairs))
    for value in np.unique(nn):
        rows = np.flatnonzero(nn == value)
        half = int(np.max(_window(value, pp[rows])))
        # chunks keep the (rows x window) matrices near a million cells
        step = max(1, 1_000_000 // (2 * half + 1))
        for start in range(0, rows.size, step):
            r = rows[start:start + step]
            k = np.round(value * pp[r])[:, None] + np.arange(-half, half + 1)[None, :]
            pmf = _binom_pmf(k, value, pp[r][:, None])
            cdf = np.cumsum(pmf, axis=1)  # the mass below the window start is negligible
            crps[r] = np.sum(np.where(k <= value - 1, cdf * (1.0 - cdf), 0.0), axis=1) / value
    for key, values in (("mae", mae), ("mse", mse), ("crps", crps)):
        out[key][ok] = values[inverse.ravel()]
    return out


def count_quantiles(p_draws: np.ndarray, n, levels) -> np.ndarray:
    """Equal-tailed interval bounds on the ``k/n`` grid of the predicted count distribution.

    A forecast of the *observed* accuracy of a model evaluated on ``n`` questions is the
    mixture over the rate draws ``p_d`` of ``Bin(n, p_d)/n``: cdf
    ``F(k) = mean_d BinCdf(k; n, p_d)``.  The bounds at level ``L`` are its quantiles
    ``Q(a) = min{k/n : F(k) >= a}`` at ``a = (1 - L)/2`` and ``(1 + L)/2`` (so the interval
    holds at least ``L`` of the predicted mass; bounds are on the grid, ties are real).

    Parameters
    ----------
    p_draws : array, shape (m, N)
        Draws of the true rate (``kind="true"`` draws) of ``N`` points; clipped to [0, 1].
    n : array, shape (N,)
        Question counts; NaN where unknown (those columns come back NaN: fall back to the
        continuous quantiles there).
    levels : sequence of float in (0, 1)

    Returns
    -------
    array, shape (2, len(levels), N): ``lower, upper = count_quantiles(...)``.
    """
    draws = np.clip(np.asarray(p_draws, dtype=float), 0.0, 1.0)
    if draws.ndim == 1:
        draws = draws[:, None]
    (n,) = _floats(n)
    levels = np.atleast_1d(np.asarray(levels, dtype=float))
    if draws.shape[1] != n.size:
        raise InputError(f"count_quantiles: draws have {draws.shape[1]} columns but there are {n.size} counts")
    if np.any((levels <= 0) | (levels >= 1)):
        raise InputError(f"interval levels must lie in (0, 1), got {levels.tolist()}")
    probs = np.concatenate([(1.0 - levels) / 2.0, (1.0 + levels) / 2.0])
    out = np.full((2 * levels.size, n.size), np.nan)
    for j in np.flatnonzero(np.isfinite(n) & (n > 0)):
        nj, pj = float(np.round(n[j])), draws[:, j]
        pj = pj[np.isfinite(pj)]
        if pj.size == 0:
            continue
        half = _window(nj, pj)
        k = np.arange(max(0.0, np.min(np.round(nj * pj) - half)), min(nj, np.max(np.round(nj * pj) + half)) + 1)
        # mixture pmf on the window, accumulated over chunks of draws
        mix = np.zeros(k.size)
        step = max(1, 2_000_000 // k.size)
        for start in range(0, pj.size, step):
            mix += _binom_pmf(k[None, :], nj, pj[start:start + step, None]).sum(axis=0)
        cdf = np.cumsum(mix / pj.size)
        idx = np.minimum(np.searchsorted(cdf, probs - 1e-12, side="left"), k.size - 1)
        out[:, j] = k[idx] / nj
    return out.reshape(2, levels.size, n.size)


# ------------------------------------------------------------ thresholds under censoring


def _float_or_nan(v) -> float:
    return math.nan if _missing(v) else float(v)


def threshold_crps(crossings_log10, observed_log10, cap_log10: float) -> float:
    """CRPS of the log10 threshold, forecast and observation both capped at ``cap_log10``.

    ``cap_log10`` is the largest held-out model.  Beyond it nothing is observed, so a draw
    that never crosses (NaN) or crosses above the cap is a point mass at the cap, and so is an
    observation that never crosses (None/NaN).  Scored on every eligible split, crossed or
    not, as the sample CRPS (:func:`crps_sample`) of the capped draws.

    Returns NaN when there are no draws.
    """
    c = np.asarray(crossings_log10, dtype=float).ravel()
    if c.size == 0:
        return math.nan
    capped = np.where(np.isnan(c) | (c > cap_log10), cap_log10, c)
    obs = _float_or_nan(observed_log10)
    obs = cap_log10 if math.isnan(obs) else min(obs, cap_log10)
    return float(crps_sample(capped[:, None], np.array([obs]))[0])


def bracket_inside(lower_log10, upper_log10, bracket: tuple[float, float], upper_censored: bool = False) -> bool:
    """Whether the forecast's threshold interval overlaps the data's crossing bracket.

    ``lower_log10`` None/NaN means the interval lies past the search range (+inf); an upper
    bound that is None/NaN or ``upper_censored`` is +inf.  With the bracket ``(b_lo, b_hi]``
    (:func:`crossing_bracket`) the interval ``[lo, hi]`` contains a possible crossing iff
    ``lo <= b_hi`` and ``hi > b_lo``; for data that never cross, ``(x_last, inf)``, that is
    "the interval reaches past the largest model".
    """
    lo = _float_or_nan(lower_log10)
    hi = _float_or_nan(upper_log10)
    lo = math.inf if math.isnan(lo) else lo
    hi = math.inf if (upper_censored or math.isnan(hi)) else hi
    b_lo, b_hi = bracket
    return bool(lo <= b_hi + 1e-12 and hi > b_lo + 1e-12)
