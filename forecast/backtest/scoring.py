"""Scores of a backtest: :mod:`forecast.scoring` (re-exported here, the old import path)
and :func:`crossing_bracket`, the data's crossing bracket from the isotonic curve of
:mod:`forecast.backtest.emergence`."""

from __future__ import annotations

import math

import numpy as np

from forecast.backtest.emergence import isotonic_normalised, reached
from forecast.scoring import (
    CALIBRATION_LEVELS,
    POINT_METRICS,
    TIE_TOL,
    bracket_inside,
    count_quantiles,
    cover_scores,
    coverage_flags,
    crps_sample,
    interval_score,
    noise_floor,
    pit_uniformity,
    point_metrics,
    randomized_pit,
    score_threshold,
    threshold_crps,
)

__all__ = ["CALIBRATION_LEVELS", "POINT_METRICS", "TIE_TOL", "bracket_inside", "count_quantiles",
           "cover_scores", "coverage_flags", "crossing_bracket", "crps_sample", "interval_score",
           "noise_floor", "pit_uniformity", "point_metrics", "randomized_pit", "score_threshold",
           "threshold_crps"]


def crossing_bracket(log10_compute, accuracy, chance: float, tau: float) -> tuple[float, float]:
    """The two adjacent distinct model sizes (log10) between which the data first reach ``tau``.

    The data's curve is the isotonic fit of :func:`forecast.threshold.observed_threshold`
    (:func:`forecast.backtest.emergence.isotonic_normalised`); with ``i`` the first distinct
    size whose fitted normalised accuracy is ``>= tau``, the crossing lies in
    ``(x_{i-1}, x_i]``.  Returns ``(x_{i-1}, x_i)``; ``(-inf, x_0)`` when the smallest model is
    already at ``tau``; ``(x_last, inf)`` when the data never reach it.
    """
    grid, fitted = isotonic_normalised(log10_compute, accuracy, chance)
    if grid.size == 0:
        return (-math.inf, math.inf)
    hit = reached(fitted, tau)
    if not hit.any():
        return (float(grid[-1]), math.inf)
    i = int(np.argmax(hit))
    return (-math.inf if i == 0 else float(grid[i - 1]), float(grid[i]))
