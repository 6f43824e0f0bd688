"""The emergence score ("breakthroughness", BIG-bench) of a metric's curve over model scale."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from forecast.errors import InputError
from forecast.metrics.inputs import show_value
from forecast.metrics.tables import PER_QUESTION_METRICS


def emergence_score(x: Any, y: Any) -> float:
    """BIG-bench emergence score ("breakthroughness") of the curve ``y`` over ``x``.

    After sorting the points by ``x`` (stable sort)::

        E = sign(argmax_i y_i - argmin_i y_i) * (max y - min y) / sqrt(median_i (y_i - y_{i-1})**2)

    A large positive ``E`` means ``y`` rises over a few steps rather than gradually;
    a negative sign means the maximum comes before the minimum (a decreasing curve).
    ``argmax``/``argmin`` take the first occurrence.

    Degenerate cases: ``0.0`` for a flat curve (``max y == min y``); when the median squared
    step is 0 but the range is not (most steps flat), the mean squared step is used instead.

    Parameters
    ----------
    x : array_like, shape (n,)
        Scale of each point (e.g. log10 compute).
    y : array_like, shape (n,)
        Metric value at each point (higher is better).

    Returns
    -------
    float

    Raises
    ------
    InputError
        If ``x`` and ``y`` differ in length, are not 1-D, hold fewer than 2 points, or
        contain NaN/inf.
    """
    try:
        xa = np.asarray(x, dtype=float)
        ya = np.asarray(y, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InputError(f"emergence_score: x and y must be numeric: {exc}")
    if xa.ndim != 1 or ya.ndim != 1:
        raise InputError(
            f"emergence_score: x and y must be 1-D, got shapes {xa.shape} and {ya.shape}"
        )
    if xa.shape != ya.shape:
        raise InputError(f"emergence_score: x has {xa.size} points but y has {ya.size}")
    if xa.size < 2:
        raise InputError(f"emergence_score: need at least 2 points, got {xa.size}")
    for name, arr in (("x", xa), ("y", ya)):
        bad = ~np.isfinite(arr)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputError(f"emergence_score: {name}[{i}] is {show_value(arr[i])} (must be finite)")
    ys = ya[np.argsort(xa, kind="stable")]
    hi, lo = float(ys.max()), float(ys.min())
    if hi == lo:
        return 0.0
    sign = float(np.sign(int(np.argmax(ys)) - int(np.argmin(ys))))
    steps2 = np.diff(ys) ** 2
    scale = float(np.median(steps2))
    if scale == 0.0:
        scale = float(np.mean(steps2))
    return sign * (hi - lo) / float(np.sqrt(scale))


def emergence_scores(
    df: pd.DataFrame,
    metrics: Sequence[str] | None = None,
    x: str = "log10_compute",
    by: str = "task",
) -> pd.DataFrame:
    """Metric comparison: emergence score of each metric's per-model curve, per task.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per (task, model) (e.g. from :func:`model_metrics` joined with model
        scale) with the column ``x`` and the metric columns.
    metrics : sequence of str, optional
        Metric columns to score; default: those of :data:`PER_QUESTION_METRICS` present.
    x : str, default ``"log10_compute"``
        Column giving each model's scale.
    by : str, default ``"task"``
        Column identifying a curve.

    Returns
    -------
    pandas.DataFrame
        Tidy columns ``task, metric, emergence_score, n_points`` (``task`` is named
        ``by``), one row per task and metric, in task order then the order of
        ``metrics``.  Models with NaN for a metric are left out of that metric's curve;
        a curve with fewer than 2 remaining points gets ``emergence_score`` NaN.

    Raises
    ------
    InputError
        On a missing column, no metric column, a duplicate (task, model) row, or a
        missing/non-finite ``x`` value.
    """
    if metrics is None:
        metrics = [m for m in PER_QUESTION_METRICS if m in df.columns]
        if not metrics:
            raise InputError(
                "emergence_scores: no metric column found (looked for "
                f"{', '.join(PER_QUESTION_METRICS)})"
            )
    else:
        metrics = list(metrics)
        if not metrics:
            raise InputError("emergence_scores: metrics is empty")
    for col in (by, x, *metrics):
        if col not in df.columns:
            raise InputError(
                f"emergence_scores: missing column {col!r} "
                f"(has: {', '.join(map(str, df.columns))})"
            )
    if "model" in df.columns:
        dup = df.duplicated([by, "model"])
        if dup.any():
            row = df[dup].iloc[0]
            raise InputError(
                f"emergence_scores: duplicate row for {by}={show_value(row[by])}, "
                f"model={show_value(row['model'])} "
                "(expected one row per model; aggregate with model_metrics first)"
            )
    xs = pd.to_numeric(df[x], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(xs)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"emergence_scores: column {x!r} has a missing or non-finite value "
            f"{show_value(df[x].iloc[i])} at row {i + 1}"
        )
    records = []
    for task, idx in df.groupby(by, sort=True).indices.items():
        for metric in metrics:
            ys = pd.to_numeric(df[metric].iloc[idx], errors="coerce").to_numpy(dtype=float)
            keep = np.isfinite(ys)
            n_pts = int(keep.sum())
            score = emergence_score(xs[idx][keep], ys[keep]) if n_pts >= 2 else np.nan
            records.append(
                {by: task, "metric": metric, "emergence_score": score, "n_points": n_pts}
            )
    return pd.DataFrame(records, columns=[by, "metric", "emergence_score", "n_points"])
