"""Combine, then calibrate: a mixture of forecasters weighted on pseudo-cut-offs.

Each forecaster is right somewhere: a level that persists near the cut-off and on
plateauing tasks, a trend that keeps rising far out on tasks that jump.  A *mixture* of
their predictive distributions keeps what each gets right; its weights are learned the
way every other setting is learned at fit time (:mod:`forecast.tuning`): on
pseudo-cut-offs inside the fitted range of every task of the data set (models at or below
the real cut-off only), by the pooled CRPS of the larger fitted models' observed scores,
each task weighted once.

The CRPS of a mixture ``F = sum_k w_k F_k`` of empirical distributions is a quadratic form
in the weights, ``CRPS(F, y) = integral (F - 1{t >= y})^2 dt = w' M w`` with
``M_jk = integral (F_j - H)(F_k - H) dt`` (:func:`crps_gram`); ``M`` is a Gram matrix, so
the pooled CRPS is convex in ``w`` and its minimum on the simplex is found by SLSQP
(:func:`simplex_weights`).  At ``w = e_k`` it is the sample CRPS of component ``k``
(:func:`forecast.scoring.crps_sample`, the same V-statistic).

Settings fixed a priori (not tuned on any result):

* the learned weights are shrunk toward equal weights by :data:`SHRINK_TASKS` pseudo-tasks
  (``w = (n w_hat + s u) / (n + s)`` with ``n`` tasks): every component keeps some weight,
  and the fewer the tasks, the more the weights stay near equal;
* with fewer than :data:`MIN_TASKS` tasks having pseudo targets, the first component (the
  forecaster's own curve) gets all the weight;
* one weight vector for every distance past the cut-off: a draw of the mixture is one whole
  curve of one component, so thresholds and emergence probabilities come from coherent
  curves (weights by distance would splice curves);
* component ``k`` gives ``round(w_k n)`` draws (largest remainders), its first ones: a
  prefix of its quasi-random draws (:func:`draw_components`, :func:`mix`);
* calibration (optional, off in ``slice_sandwich`` by default): one scale of the mixture's
  spread around its median, the value of :data:`SPREAD_GRID` chosen by
  :func:`~forecast.tuning.choose_by_pseudo_crps` on the same pseudo-cut-offs
  (one-standard-error rule, 1.0 first: a scale is used only when it helps there beyond the
  noise).  On the tuning data it narrowed the mixture and lost farther out
  (``benchmarks/STACKING_TUNING.md``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import minimize

from forecast.tuning import PseudoSplit, choose_by_pseudo_crps

#: components combined with the slice-and-sandwich curve by default, fixed a priori: the
#: baselines that apply to every data kind (a level with a drift, a chance-floored sigmoid and
#: an unfloored logistic trend); ``family`` needs several families, so it is not among them
DEFAULT_COMPONENTS = ("sigmoid", "persistence_drift", "linear")
#: fewest tasks with pseudo targets to learn weights from (else the first component alone)
MIN_TASKS = 3
#: pseudo-tasks of equal weights the learned weights are shrunk toward
SHRINK_TASKS = 1.0
#: spread scales of the mixture around its median, simplest first (1.0: no change)
SPREAD_GRID = (1.0, 0.9, 1.1, 0.8, 1.25, 0.67, 1.5, 2.0)


def crps_gram(draws: Sequence[np.ndarray], y: np.ndarray) -> np.ndarray:
    """The matrices ``M`` with ``CRPS(sum_k w_k F_k, y) = w' M w`` for every target.

    Parameters
    ----------
    draws : sequence of K arrays, shape (m, T)
        Each component's draws at ``T`` targets (the same number ``m`` of draws each).
    y : array, shape (T,)
        The observed values.

    Returns
    -------
    array, shape (T, K, K)
        ``M_jk = integral (F_j(t) - 1{t >= y})(F_k(t) - 1{t >= y}) dt`` with ``F_k`` the
        empirical distribution of component ``k``'s draws.
    """
    k = len(draws)
    arrays = [np.asarray(d, dtype=float) for d in draws]
    m = arrays[0].shape[0]
    y = np.atleast_1d(np.asarray(y, dtype=float))
    values = np.concatenate([*arrays, y[None, :]], axis=0)  # (K m + 1, T)
    labels = np.concatenate([np.repeat(np.arange(k), m), [k]])
    order = np.argsort(values, axis=0, kind="stable")
    points = np.take_along_axis(values, order, axis=0)
    which = labels[order]  # (K m + 1, T)
    # each distribution's value on the interval right of every sorted point
    steps = np.stack([np.cumsum(which == j, axis=0) / m for j in range(k)])  # (K, Km+1, T)
    below = steps - np.cumsum(which == k, axis=0)[None]  # F_j - H
    width = np.diff(points, axis=0)  # (K m, T)
    lhs = below[:, :-1] * width[None]
    return np.einsum("jit,kit->tjk", lhs, below[:, :-1])


def simplex_weights(gram: np.ndarray) -> np.ndarray:
    """The weights on the simplex minimising ``w' M w`` (``M`` positive semi-definite)."""
    gram = np.asarray(gram, dtype=float)
    k = gram.shape[0]
    if k == 1:
        return np.ones(1)
    scale = float(np.max(np.abs(np.diag(gram)))) or 1.0
    g = (gram + gram.T) / (2.0 * scale)
    res = minimize(lambda w: float(w @ g @ w), np.full(k, 1.0 / k), jac=lambda w: 2.0 * g @ w,
                   method="SLSQP", bounds=[(0.0, 1.0)] * k,
                   constraints=[{"type": "eq", "fun": lambda w: np.sum(w) - 1.0, "jac": lambda w: np.ones(k)}],
                   options={"ftol": 1e-12, "maxiter": 200})
    w = np.clip(np.asarray(res.x, dtype=float), 0.0, None)
    return w / w.sum()


def draw_components(weights: np.ndarray, n_draws: int, seed: int | None = None) -> np.ndarray:
    """Which component each of ``n_draws`` draws comes from: ``round(w n)`` draws each
    (largest remainders), in component order (stratified: the counts are fixed by the weights,
    no draw is assigned at random; ``seed`` is not used and kept for callers).

    With :func:`mix`, component ``k`` gives its *first* ``n_k`` draws: a prefix of its
    quasi-random draws (:class:`~forecast.curves.draws.QuasiDraws`), itself a low-discrepancy
    sample, rather than a random subset of them."""
    w = np.asarray(weights, dtype=float)
    raw = w * n_draws
    counts = np.floor(raw).astype(int)
    short = n_draws - counts.sum()
    if short > 0:
        counts[np.argsort(-(raw - counts), kind="stable")[:short]] += 1
    return np.repeat(np.arange(len(w)), counts)


def mix(draws: Sequence[np.ndarray], index: np.ndarray) -> np.ndarray:
    """The mixture's draws: the ``j``-th draw given to component ``k`` (``index == k``) is
    component ``k``'s ``j``-th draw (a whole row)."""
    out = np.array(draws[0], dtype=float, copy=True)
    for k in range(1, len(draws)):
        pick = np.flatnonzero(index == k)
        if pick.size:
            out[pick] = np.asarray(draws[k])[:pick.size]
    return out


def scale_spread(draws: np.ndarray, scale: float) -> np.ndarray:
    """Draws moved ``scale`` times as far from their median (per column), kept in [0, 1]."""
    if scale == 1.0:
        return draws
    med = np.median(draws, axis=0, keepdims=True)
    return np.clip(med + scale * (draws - med), 0.0, 1.0)


@dataclass
class _PseudoMixture:
    """The mixture's observed-score draws of one pseudo-split's targets (for
    :func:`~forecast.tuning.choose_by_pseudo_crps`; the targets are those of the split)."""

    draws: np.ndarray
    scale: float = 1.0

    def sample(self, compute, kind: str = "observed") -> np.ndarray:
        return scale_spread(self.draws, self.scale)


@dataclass
class StackResult:
    """Learned weights (in the order of ``names``), the spread scale and diagnostics.

    ``table``: one row per component: ``component, weight, fitted_weight`` (before the
    shrinkage) and ``crps`` (its pooled pseudo CRPS alone), plus a ``mixture`` row.
    """

    names: list[str]
    weights: np.ndarray
    scale: float
    table: pd.DataFrame
    n_tasks: int
    n_targets: int
    scale_crps: dict[str, float]
    learned: bool


def learn_stack(
    names: Sequence[str],
    draws: Sequence[tuple[PseudoSplit, Sequence[np.ndarray]]],
    seed: int,
    calibrate: bool = False,
) -> StackResult:
    """Mixture weights and spread scale from the components' pseudo-forecasts.

    Parameters
    ----------
    names : sequence of str
        The components; the first is the one used alone when there is too little to learn from.
    draws : sequence of (split, list of K arrays (m, T))
        Per pseudo-split, every component's observed-score draws of the split's targets
        (only splits where every component could be fitted).
    seed : int
        Kept for callers: the draw assignment used to score spread scales
        (:func:`draw_components`) is stratified, with no seed.
    calibrate : bool
        Learn the spread scale (else 1).
    """
    names = list(names)
    k = len(names)
    per_task: dict[str, list[np.ndarray]] = {}
    for split, comp in draws:
        targets = split.targets
        if targets.empty:
            continue
        per_task.setdefault(split.task, []).append(crps_gram(comp, targets["accuracy"].to_numpy(dtype=float)))
    n_targets = int(sum(g.shape[0] for gs in per_task.values() for g in gs))
    n_tasks = len(per_task)
    learned = n_tasks >= MIN_TASKS
    if learned:
        # each task counts once: its targets' mean, then the mean over tasks
        gram = np.mean([np.concatenate(gs).mean(axis=0) for gs in per_task.values()], axis=0)
        fitted = simplex_weights(gram)
        weights = (n_tasks * fitted + SHRINK_TASKS * np.full(k, 1.0 / k)) / (n_tasks + SHRINK_TASKS)
        alone = np.diag(gram)
        mixture = float(weights @ gram @ weights)
    else:
        gram = None
        fitted = weights = np.eye(k)[0]
        alone = np.full(k, np.nan)
        mixture = np.nan
    rows = [{"component": n, "weight": float(w), "fitted_weight": float(f), "crps": float(c)}
            for n, w, f, c in zip(names, weights, fitted, alone)]
    rows.append({"component": "mixture", "weight": float(weights.sum()), "fitted_weight": float(fitted.sum()),
                 "crps": mixture})
    scale, scale_crps = 1.0, {}
    if learned and calibrate:
        index = None
        fits = []
        for split, comp in draws:
            if split.targets.empty:
                continue
            if index is None:
                index = draw_components(weights, comp[0].shape[0], seed)
            fits.append((split, _PseudoMixture(mix(comp, index))))

        def apply(fc: _PseudoMixture, value: float) -> None:
            fc.scale = float(value)

        best, table = choose_by_pseudo_crps(fits, SPREAD_GRID, apply)
        scale = 1.0 if best is None else float(best)
        scale_crps = {f"{v:g}": float(c) for v, c in zip(table["value"], table["crps"])}
    return StackResult(names, weights, scale, pd.DataFrame(rows), n_tasks, n_targets, scale_crps, learned)
