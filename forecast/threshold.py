"""Emergence thresholds: from curve draws (forecast) and from real accuracies (observed).

The threshold of an accuracy curve is the smallest log10 compute where its normalised
accuracy ``(acc - chance) / (1 - chance)`` first reaches ``tau``.  With posterior draws of
the whole curve, every draw gives one threshold (or none inside the searched range); the
median, a credible interval and ``P(threshold <= budget)`` summarise them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from forecast.errors import InputError


def check_open_unit(value: float, name: str) -> float:
    """``value`` as a float strictly inside (0, 1), or a one-line error naming ``name``."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a number in (0, 1), got {value!r}") from None
    if not 0.0 < number < 1.0:
        raise InputError(f"{name} must lie in (0, 1), got {value!r}")
    return number


def check_tau(tau: float) -> float:
    """Validate a normalised accuracy level ``tau`` in (0, 1)."""
    return check_open_unit(tau, "tau")


def normalised(acc: np.ndarray, chance: float) -> np.ndarray:
    """Accuracy above chance, normalised: ``(acc - chance) / (1 - chance)``."""
    return (np.asarray(acc, dtype=float) - chance) / (1.0 - chance)


def first_crossing(x: np.ndarray, y: np.ndarray, level: float) -> np.ndarray:
    """First ``x`` where each row of ``y`` reaches ``level``, interpolated linearly in ``x``.

    Parameters
    ----------
    x : array, shape (n_points,)
        Increasing grid (log10 compute).
    y : array, shape (n_draws, n_points)
        Curves on that grid.
    level : float

    Returns
    -------
    array, shape (n_draws,)
        The crossing per row; ``x[0]`` when a curve starts at or above ``level``; NaN when
        it never reaches it on the grid.
    """
    x = np.asarray(x, dtype=float)
    y = np.atleast_2d(np.asarray(y, dtype=float))
    above = y >= level
    reached = above.any(axis=1)
    idx = np.argmax(above, axis=1)
    out = np.full(y.shape[0], np.nan)
    starts = reached & (idx == 0)
    out[starts] = x[0]
    inner = reached & (idx > 0)
    if inner.any():
        rows = np.flatnonzero(inner)
        i1 = idx[rows]
        i0 = i1 - 1
        y0, y1 = y[rows, i0], y[rows, i1]
        frac = np.where(y1 > y0, (level - y0) / np.where(y1 > y0, y1 - y0, 1.0), 1.0)
        out[rows] = x[i0] + np.clip(frac, 0.0, 1.0) * (x[i1] - x[i0])
    return out


@dataclass(frozen=True)
class Threshold:
    """A threshold estimate, in raw compute (FLOPs or parameters).

    ``estimate`` is the median over curve draws (draws that never cross count as beyond
    the range); ``lower``/``upper`` bound the equal-tailed credible interval at ``level``;
    an upper bound past the searched range is reported as the range limit with
    ``upper_censored`` true; ``lower_censored`` says the lower bound is the smallest fitted
    compute because enough draws are already past ``tau`` there; ``estimate`` is None when
    fewer than half the draws cross.
    """

    tau: float
    level: float
    estimate: float | None
    lower: float | None
    upper: float | None
    p_reached: float
    upper_censored: bool
    lower_censored: bool
    search_min: float
    search_max: float
    budget: float | None = None
    p_below_budget: float | None = None

    def to_dict(self) -> dict[str, object]:
        """Plain dict (None for missing values), with ``log10_`` twins of compute values."""
        out = asdict(self)
        for key in ("estimate", "lower", "upper", "search_min", "search_max", "budget"):
            value = out[key]
            out[f"log10_{key}"] = None if value is None else float(np.log10(value))
        return out


def summarise_crossings(
    crossings: np.ndarray,
    tau: float,
    level: float,
    search: tuple[float, float],
    budget: float | None = None,
) -> Threshold:
    """Summarise per-draw crossings (log10 compute, NaN = not reached) as a :class:`Threshold`."""
    lo_x, hi_x = search
    c_all = np.asarray(crossings, dtype=float)
    # crossings past the search range (found when the grid was extended to a budget) count
    # as not reached for the estimate and interval, and as reached for P(<= budget)
    c = np.where(c_all <= hi_x + 1e-12, c_all, np.nan)
    reached = np.isfinite(c)
    p_reached = float(reached.mean()) if c.size else 0.0
    # a draw that never crosses lies beyond the range: +inf keeps the quantiles honest
    filled = np.where(reached, c, np.inf)
    alpha = (1.0 - level) / 2.0
    qs = np.quantile(filled, [alpha, 0.5, 1.0 - alpha], method="inverted_cdf")

    def raw(v: float) -> float | None:
        return None if not np.isfinite(v) else float(10.0**v)

    upper_censored = not np.isfinite(qs[2]) or qs[2] >= hi_x
    p_budget = None
    if budget is not None:
        if not np.isfinite(budget) or budget <= 0:
            raise InputError(f"budget must be a positive compute value, got {budget!r}")
        p_budget = float(np.mean(np.nan_to_num(c_all, nan=np.inf) <= np.log10(budget)))
    return Threshold(
        tau=tau,
        level=level,
        estimate=raw(qs[1]),
        lower=raw(qs[0]),
        upper=raw(min(qs[2], hi_x)),
        p_reached=p_reached,
        upper_censored=bool(upper_censored),
        lower_censored=bool(np.isfinite(qs[0]) and qs[0] <= lo_x),
        search_min=float(10.0**lo_x),
        search_max=float(10.0**hi_x),
        budget=budget,
        p_below_budget=p_budget,
    )


def isotonic_at_distinct(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The non-decreasing least-squares fit of ``y`` on ``x`` at the sorted distinct ``x``:
    ``(grid, fitted)``.  Ties at equal ``x`` are pooled (their mean, weighted by their count),
    then pooled adjacent violators (:func:`scipy.optimize.isotonic_regression`) -- the fit
    of ``sklearn.isotonic.IsotonicRegression`` (equal to rounding), without its per-call
    validation, which cost more than the fit on a task's few dozen models."""
    from scipy.optimize import isotonic_regression

    grid, where, counts = np.unique(np.asarray(x, dtype=float), return_inverse=True, return_counts=True)
    means = np.bincount(where, weights=np.asarray(y, dtype=float), minlength=grid.size) / counts
    return grid, isotonic_regression(means, weights=counts.astype(float), increasing=True).x


def observed_threshold(
    log10_compute: np.ndarray, accuracy: np.ndarray, chance: float, tau: float
) -> float | None:
    """Threshold of real data: isotonic fit of accuracy on log compute, first crossing.

    The isotonic (non-decreasing) regression smooths noise; its value is interpolated
    linearly in log compute between the distinct compute values.  Returns the raw
    compute, or None when the fitted curve never reaches ``tau``.
    """
    x = np.asarray(log10_compute, dtype=float)
    y = np.asarray(accuracy, dtype=float)
    if x.size == 0:
        return None
    grid, fitted = isotonic_at_distinct(x, y)
    fitted = normalised(fitted, chance)
    cross = first_crossing(grid, fitted[None, :], tau)[0]
    return None if not np.isfinite(cross) else float(10.0**cross)
