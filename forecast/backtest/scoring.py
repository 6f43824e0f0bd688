"""Scores of a backtest: point and interval errors, CRPS, threshold errors.

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
"""

from __future__ import annotations

import math

import numpy as np

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
