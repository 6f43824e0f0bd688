"""What the slices of ``slice_sandwich`` look like, and the easiest slice's turn.

:class:`SliceReport` (one row per slice, the points, the curves and the membership) is
built by :func:`slice_report` from the fitted slice curves; :func:`easy_cubic` refits the
easiest slice as a cubic and :func:`first_turns` reads where each of its draws turns from
falling to rising (:meth:`SliceSandwich.easy_turn
<forecast.methods.slice_sandwich.SliceSandwich.easy_turn>`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from statsmodels.regression.linear_model import OLS

from forecast.curves.basis import classify_shape, design, from_link
from forecast.curves.conjugate import DEFAULT_PRIOR_SD, fit_conjugate_slices
from forecast.curves.draws import CurveDraws, QuasiDraws
from forecast.slicing import Slices

#: polynomial degree of the easiest slice's curve when locating its turn
EASY_TURN_DEGREE = 3


@dataclass
class SliceReport:
    """What the slices look like: ``summary`` (one row per slice), ``points`` (per model and
    slice), ``curves`` (mean and interval of each slice's curve on a grid) and
    ``membership`` (per question, for per-question data).

    In ``summary``, ``shape`` names the shape of an unshrunk quadratic fitted to the slice's
    points on the fitted range (``curvature`` and its OLS p-value ``curvature_p`` beside it),
    and ``p_U_shaped``, ``p_inverted_U``, ... are the shares of the forecasting model's curve
    draws of each shape (its priors shrink curvature to keep extrapolation tame)."""

    summary: pd.DataFrame
    points: pd.DataFrame
    curves: pd.DataFrame
    membership: pd.DataFrame | None
    source: str
    cross_fitted: bool
    horizon: float | None = None

    def __repr__(self) -> str:
        return f"SliceReport(source={self.source!r}, cross_fitted={self.cross_fitted})\n{self.summary}"


def slice_report(curves: CurveDraws, slices: Slices, models: list[str], x: np.ndarray, matrix: np.ndarray,
                 z: np.ndarray) -> SliceReport:
    """The :class:`SliceReport` of fitted slice ``curves``: ``slices`` of the ``models`` at
    log10 compute ``x``, their scores ``matrix`` and its link ``z`` (slice x model)."""
    grid = np.linspace(x.min(), x.max(), 101)
    draws = curves.scores(grid)  # (S, G, n)
    med = np.median(draws, axis=0)
    lo, hi = np.quantile(draws, [0.05, 0.95], axis=0)
    rows, curve_rows = [], []
    center = curves.center
    for g in range(slices.n_slices):
        # the shape of the data on the fitted range: an unshrunk quadratic (statsmodels OLS);
        # the p_* columns are the shapes of the forecasting model's own curve draws
        keep = np.isfinite(z[g])
        ols = OLS(z[g, keep], design(x[keep], center, 2)).fit()
        ols_curve = from_link(design(grid, center, 2) @ ols.params, slices.metric)
        shapes = pd.Series([classify_shape(grid, d) for d in draws[::max(1, len(draws) // 200), g]])
        freq = shapes.value_counts(normalize=True)
        rows.append(
            {
                "slice": g,
                "n_questions": int(slices.weights[g]),
                "shape": classify_shape(grid, ols_curve),
                "curvature": float(ols.params[2]),
                "curvature_p": float(ols.pvalues[2]),
                "p_U_shaped": float(freq.get("U-shaped", 0.0)),
                "p_inverted_U": float(freq.get("inverted-U", 0.0)),
                "p_increasing": float(freq.get("increasing", 0.0)),
                "p_decreasing": float(freq.get("decreasing", 0.0)),
            }
        )
        curve_rows.append(
            pd.DataFrame({"slice": g, "log10_compute": grid, "mean": med[g], "lower": lo[g], "upper": hi[g]})
        )
    summary = pd.DataFrame(rows)
    labels = (["easiest"] + ["middle"] * (slices.n_slices - 2) + ["hardest"]) if slices.n_slices > 1 else ["all"]
    summary.insert(1, "label", labels)
    fitted_median = np.median(curves.scores(x), axis=0)
    points = pd.DataFrame(
        {
            "model": np.repeat(np.array(models)[None, :], slices.n_slices, axis=0).ravel(),
            "slice": np.repeat(np.arange(slices.n_slices), len(models)),
            "log10_compute": np.tile(x, slices.n_slices),
            "score": matrix.ravel(),
            "fitted": fitted_median.ravel(),
        }
    )
    return SliceReport(summary, points, pd.concat(curve_rows, ignore_index=True),
                       slices.membership, slices.source, slices.cross_fitted, slices.horizon)


def easy_cubic(x: np.ndarray, z_easy: np.ndarray, metric: str, degree: int, center: float,
               prior_sd: tuple[float, ...], n_draws: int, seed: int) -> CurveDraws:
    """The easiest slice (link scores ``z_easy``, shape (1, len(x))) refitted with degree
    ``max(degree, EASY_TURN_DEGREE)`` (closed form, the priors ``prior_sd`` extended by the
    defaults, ``n_draws`` draws seeded from ``(seed, 2)``): a quadratic has a single extremum,
    so it cannot fall and then rise *after* an earlier rise; the turn is read off this fit."""
    prior = tuple(prior_sd) + DEFAULT_PRIOR_SD[len(prior_sd):]
    return fit_conjugate_slices(x, z_easy, max(degree, EASY_TURN_DEGREE), center, metric, n_draws,
                                QuasiDraws((seed, 2)), prior)


def first_turns(grid: np.ndarray, curve: np.ndarray) -> np.ndarray:
    """Per draw of ``curve`` (shape (n_draws, len(grid))), the first grid point where it turns
    from falling to rising (NaN: none)."""
    step = np.diff(curve, axis=1)
    turn = (step[:, :-1] < 0) & (step[:, 1:] >= 0)
    has = turn.any(axis=1)
    where = np.argmax(turn, axis=1) + 1
    return np.where(has, grid[where], np.nan)
