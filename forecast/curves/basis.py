"""Shared pieces of the per-slice curve models: the polynomial basis, links and shapes."""

from __future__ import annotations

import numpy as np
from scipy.special import expit, logit

#: smallest distance from the ends of a bounded score kept by the link
EPS = 1e-4


def design(x: np.ndarray, center: float, degree: int) -> np.ndarray:
    """Polynomial design matrix ``[1, (x-c), (x-c)**2, ...]`` in decades of compute."""
    d = np.asarray(x, dtype=float) - center
    return np.vander(d, degree + 1, increasing=True)


def to_unit(score: np.ndarray, metric: str) -> np.ndarray:
    """Map a slice score onto [0, 1]: TC Brier ``s`` in [-1, 0] becomes ``1 + s``."""
    score = np.asarray(score, dtype=float)
    return 1.0 + score if metric == "tc_brier" else score


def from_unit(u: np.ndarray, metric: str) -> np.ndarray:
    """Inverse of :func:`to_unit`."""
    return u - 1.0 if metric == "tc_brier" else u


def to_link(score: np.ndarray, metric: str, n_questions: np.ndarray | float | None = None) -> np.ndarray:
    """Logit of the unit-scaled score, kept finite.

    With a question count ``n`` a score at 0 or 1 is moved in by half a question
    (``(k + 0.5) / (n + 1)``), otherwise by :data:`EPS`.
    """
    u = to_unit(score, metric)
    if n_questions is not None:
        n = np.asarray(n_questions, dtype=float)
        u = (u * n + 0.5) / (n + 1.0)
    return logit(np.clip(u, EPS, 1.0 - EPS))


def from_link(z: np.ndarray, metric: str, n_questions: np.ndarray | float | None = None) -> np.ndarray:
    """Inverse link: a score inside its metric's range.

    With the question count ``n`` that :func:`to_link` was given, the half-question
    continuity correction is undone (``u -> (u (n + 1) - 0.5) / n``, kept in [0, 1]), so a
    slice at 0 on every fitted model is forecast at 0, not at ``0.5 / (n + 1)``.
    ``n_questions`` broadcasts against ``z``'s slice axis (second to last).
    """
    u = expit(z)
    if n_questions is not None:
        n = np.asarray(n_questions, dtype=float)
        n = n.reshape(n.shape + (1,)) if n.ndim and u.ndim >= 2 else n
        u = np.where(np.isfinite(n) & (n > 0), np.clip((u * (n + 1.0) - 0.5) / n, 0.0, 1.0), u)
    return from_unit(u, metric)


def classify_shape(x: np.ndarray, y: np.ndarray, tol: float = 0.05) -> str:
    """Name the shape of a curve ``y(x)`` on a grid (higher-is-better orientation).

    ``"U-shaped"`` falls then rises, ``"inverted-U"`` rises then falls (possibly rising again
    after), ``"increasing"``/``"decreasing"`` are monotone up to a relative tolerance ``tol``
    of the curve's range, ``"flat"`` when the range is negligible.
    """
    y = np.asarray(y, dtype=float)
    span = float(np.nanmax(y) - np.nanmin(y))
    if not np.isfinite(span) or span < 1e-9:
        return "flat"
    i_min, i_max = int(np.nanargmin(y)), int(np.nanargmax(y))
    n = y.size - 1
    dip = min(y[0], y[-1]) - y[i_min]  # how far an interior minimum sits below both ends
    bump = y[i_max] - max(y[0], y[-1])
    if 0 < i_min < n and dip > tol * span and dip >= bump:
        return "U-shaped"
    if 0 < i_max < n and bump > tol * span:
        return "inverted-U"
    return "increasing" if y[-1] >= y[0] else "decreasing"
