"""Composite tasks from forecasts of their parts (METHOD.md section 5).

A task that needs all of ``K`` items (skills, sub-questions, tokens) succeeds, if the parts
succeed **independently**, with the product of their success probabilities.  So from
per-item forecasts ``p_q(x)`` at log compute ``x``:

* K-of-K **subset accuracy** (a question made of ``K`` distinct items, every ``K``-subset of
  the ``n`` items equally likely) is the mean over ``K``-subsets of ``prod_{q in S} p_q`` —
  the ``K``-th elementary symmetric mean of the ``p_q``, computed exactly by
  :func:`subset_accuracy` in ``O(n·K)``.  It is **not** the task mean raised to the ``K``:
  by Maclaurin's inequality the subset mean is at most ``mean(p)**K``, with equality only
  when every item is equally hard.
* an ``L``-token **exact match** from per-token probabilities is ``prod_l p_l``
  (``p**L`` for a common per-token probability), :func:`token_exact_match`.

Intervals are carried through by applying the rule to every posterior (or parameter) draw
of the item forecasts, then taking quantiles.

The independence caveat
-----------------------
The product rule assumes the parts succeed independently given the model.  Correlated
skills make the composite more likely than the product (shared failures); the rule is then
a lower bound.  This assumption cannot be tested on item-level 0/1 outcomes of one run:
``K``-of-``K`` subsets drawn from one run's 0/1 answers succeed with probability
``C(c, K) / C(n, K)`` (``c`` right out of ``n``), which is ``(c/n)**K`` up to a finite-sample
correction *by counting alone*, whatever the dependence between skills.  Testing it needs
repeated draws per item: sampled answers (``n_samples, n_correct``), where the success of
several samples of one question can be compared with the product of their rates, or a
family trained here with per-item probabilities (the ``digits`` data set).

:class:`ItemCurves` gives per-item forecasts: one binomial GLM (logit link, statsmodels)
per item of its success probability on log compute, fitted on the models at or below the
cut-off only (quasi-binomial: the dispersion is estimated from the Pearson residuals, since
the responses are probabilities, not counts); parameter draws from each fit's covariance
give the draws of ``p_q(x)``.  :func:`composite_backtest` compares the composite forecast
with a fit of the subset accuracy itself on held-out larger models.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import statsmodels.api as sm
from scipy.special import comb, expit

from forecast.errors import InputError


def _check_k(k: Any, n: int, what: str = "K") -> int:
    if isinstance(k, bool) or int(k) != k or k < 1:
        raise InputError(f"{what} must be a whole number >= 1, got {k!r}")
    if k > n:
        raise InputError(f"{what} = {k} exceeds the {n} items available")
    return int(k)


def subset_accuracy(p: Any, k: int) -> np.ndarray:
    """Mean over all ``k``-subsets of the items of the product of their probabilities.

    Parameters
    ----------
    p : array_like, shape (..., n_items)
        Per-item success probabilities in ``[0, 1]`` (leading axes: draws, models, ...).
    k : int
        Items a composite question needs, ``1 <= k <= n_items``.

    Returns
    -------
    numpy.ndarray, shape (...)
        ``e_k(p) / C(n, k)`` (the elementary symmetric mean), by the stable recursion
        ``a_j(m) = (m - j)/m · a_j(m-1) + j/m · p_m · a_{j-1}(m-1)`` on the running means.
    """
    arr = np.asarray(p, dtype=float)
    if arr.ndim == 0 or arr.shape[-1] == 0:
        raise InputError("subset_accuracy needs at least one item")
    bad = ~((arr >= 0) & (arr <= 1))
    if bad.any():
        raise InputError(f"item probability {arr[bad].ravel()[0]!r} is outside [0, 1] (or NaN)")
    n = arr.shape[-1]
    k = _check_k(k, n)
    a = np.zeros(arr.shape[:-1] + (k + 1,))
    a[..., 0] = 1.0
    for m in range(1, n + 1):
        pm = arr[..., m - 1]
        top = min(k, m)
        j = np.arange(1, top + 1)
        prev = a[..., : top + 1].copy()
        a[..., 1 : top + 1] = ((m - j) / m) * prev[..., 1:] + (j / m) * pm[..., None] * prev[..., :-1]
    return a[..., k]


def counting_subset_accuracy(n_correct: Any, n_items: int, k: int) -> np.ndarray:
    """K-of-K subset accuracy of one run's 0/1 answers: ``C(c, K) / C(n, K)``.

    Fixed by the count of right answers alone (the caveat in the module docstring).
    """
    k = _check_k(k, n_items)
    c = np.asarray(n_correct, dtype=float)
    return comb(c, k) / comb(n_items, k)


def token_exact_match(p_token: Any, length: int | None = None) -> np.ndarray:
    """Exact match of an ``L``-token answer from per-token probabilities.

    Parameters
    ----------
    p_token : array_like
        Either per-token probabilities, shape (..., L) with ``length`` None (the product
        over the last axis), or a common per-token probability, any shape, with ``length``
        given (``p ** length``).
    length : int, optional

    Returns
    -------
    numpy.ndarray
    """
    arr = np.asarray(p_token, dtype=float)
    bad = ~((arr >= 0) & (arr <= 1))
    if bad.any():
        raise InputError(f"token probability {arr[bad].ravel()[0]!r} is outside [0, 1] (or NaN)")
    if length is None:
        if arr.ndim == 0:
            raise InputError("token_exact_match: give per-token probabilities (..., L) or a length")
        return np.prod(arr, axis=-1)
    if isinstance(length, bool) or int(length) != length or length < 1:
        raise InputError(f"length must be a whole number >= 1, got {length!r}")
    return arr ** int(length)


def interval(draws: np.ndarray, level: float = 0.9) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(median, low, high)`` over the first axis of ``draws``."""
    lo, med, hi = np.quantile(draws, [(1 - level) / 2, 0.5, (1 + level) / 2], axis=0)
    return med, lo, hi


class ItemCurves:
    """Per-item success-probability curves over log compute, one binomial GLM per item.

    Parameters
    ----------
    n_draws : int, default 400
        Parameter draws per item (normal approximation to each GLM's estimate).
    ridge : float, default 1e-3
        L2 penalty of the GLM fits (statsmodels ``fit_regularized``, elastic net with
        ``L1_wt = 0``) when the plain fit fails to converge (an item solved by every
        fitted model separates perfectly); the covariance then comes from the penalised
        Hessian.
    seed : int, default 0

    Attributes
    ----------
    coef_ : ndarray, shape (n_items, 2)
        Intercept and slope (logit scale) per item.
    cov_ : ndarray, shape (n_items, 2, 2)
    x_center_ : float
        Mean log compute of the fitted models (the curves use ``x - x_center_``).
    """

    def __init__(self, n_draws: int = 400, ridge: float = 1e-3, seed: int = 0) -> None:
        self.n_draws = n_draws
        self.ridge = ridge
        self.seed = seed

    def fit(self, x: Any, p: Any) -> ItemCurves:
        """Fit on ``x`` (n_models,) log compute and ``p`` (n_models, n_items) success rates."""
        xa = np.asarray(x, dtype=float)
        pa = np.asarray(p, dtype=float)
        if pa.ndim != 2 or pa.shape[0] != xa.size:
            raise InputError(f"p must be (n_models, n_items) with n_models = {xa.size}, got {pa.shape}")
        if xa.size < 3:
            raise InputError(f"item curves need at least 3 fitted models, got {xa.size}")
        self.x_center_ = float(xa.mean())
        design = sm.add_constant(xa - self.x_center_)
        coef = np.empty((pa.shape[1], 2))
        cov = np.empty((pa.shape[1], 2, 2))
        family = sm.families.Binomial()
        for q in range(pa.shape[1]):
            y = np.clip(pa[:, q], 0.0, 1.0)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                res = sm.GLM(y, design, family=family).fit(scale="X2")
                params = np.asarray(res.params)
                c = np.asarray(res.cov_params())
                if not (np.all(np.isfinite(params)) and np.all(np.isfinite(c))) or np.abs(params).max() > 30:
                    params, c = self._penalised(y, design, family)
            coef[q], cov[q] = params, c
        self.coef_, self.cov_ = coef, cov
        return self

    def _penalised(self, y: np.ndarray, design: np.ndarray, family) -> tuple[np.ndarray, np.ndarray]:
        model = sm.GLM(y, design, family=family)
        res = model.fit_regularized(alpha=self.ridge, L1_wt=0.0)
        params = np.asarray(res.params)
        mu = expit(design @ params)
        w = mu * (1 - mu)
        hess = design.T @ (design * w[:, None]) + self.ridge * len(y) * np.eye(2)
        scale = float(np.sum((y - mu) ** 2 / np.maximum(w, 1e-12)) / max(len(y) - 2, 1))
        return params, np.linalg.inv(hess) * scale

    def sample(self, x: Any) -> np.ndarray:
        """Draws of every item's success probability at ``x``: shape (n_draws, len(x), n_items)."""
        xa = np.atleast_1d(np.asarray(x, dtype=float)) - self.x_center_
        rng = np.random.default_rng(self.seed)
        chol = np.linalg.cholesky(self.cov_ + 1e-12 * np.eye(2))
        z = rng.standard_normal((self.n_draws, self.coef_.shape[0], 2))
        theta = self.coef_[None] + np.einsum("qij,dqj->dqi", chol, z)
        eta = theta[..., 0][:, None, :] + theta[..., 1][:, None, :] * xa[None, :, None]
        return expit(eta)

    def point(self, x: Any) -> np.ndarray:
        """Fitted success probability of every item at ``x``: shape (len(x), n_items)."""
        xa = np.atleast_1d(np.asarray(x, dtype=float)) - self.x_center_
        return expit(self.coef_[None, :, 0] + self.coef_[None, :, 1] * xa[:, None])


#: the ways a backtest forecasts K-of-K subset accuracy
COMPOSITE_METHODS = ("from_items", "direct", "mean_to_the_k")


def _success_matrix(data, task: str, models: list[str]) -> np.ndarray:
    """Per-question success probability (``p_correct``), models × questions."""
    rows = data.results[data.results["task"] == task]
    if "p_correct" not in rows.columns or rows["p_correct"].isna().any():
        raise InputError(f"{data.name}: task {task!r} has no per-question p_correct for composite forecasts")
    wide = rows.pivot_table(index="model", columns="question_id", values="p_correct", aggfunc="first")
    return wide.loc[models].to_numpy(dtype=float)


def composite_backtest(
    data,
    task: str,
    ks: tuple[int, ...] = (1, 2, 4, 8),
    min_sizes: int = 4,
    level: float = 0.9,
    n_draws: int = 400,
    seed: int = 0,
):
    """Backtest K-of-K subset accuracy forecasts on held-out larger models.

    At every rolling cut-off (:func:`forecast.tuning.rolling_cutoffs`) the models above it
    are dropped (:meth:`EvalData.restrict`) before anything is fitted, then for each ``K``:

    * ``from_items``: :class:`ItemCurves` on every question's ``p_correct``, then
      :func:`subset_accuracy` of each draw;
    * ``direct``: one quasi-binomial GLM of the fitted models' subset accuracy itself;
    * ``mean_to_the_k``: one GLM of the task mean ``p_correct``, raised to the ``K`` (the
      shortcut the product rule does not license).

    The observed value of a held-out model is :func:`subset_accuracy` of its own
    ``p_correct`` (a question's success probability when the answer is sampled from the
    model's distribution).

    Returns
    -------
    pandas.DataFrame
        One row per (cut-off, K, method, held-out model): ``cutoff, k, method, model,
        log10_compute, observed, median, low, high, abs_error, covered``.
    """
    import pandas as pd

    from forecast.tuning import rolling_cutoffs

    table = data.compute_table(task)
    rows = []
    for cutoff in rolling_cutoffs(table["compute"].to_numpy(), min_sizes=min_sizes):
        fitted = data.restrict(cutoff, task)
        fit_axis = fitted.compute_table(task).sort_values("log10_compute")
        held = table[table["compute"] > cutoff * (1 + 1e-12)].sort_values("log10_compute")
        p_fit = _success_matrix(fitted, task, fit_axis["model"].tolist())
        x_fit, x_new = fit_axis["log10_compute"].to_numpy(), held["log10_compute"].to_numpy()
        item_draws = ItemCurves(n_draws=n_draws, seed=seed).fit(x_fit, p_fit).sample(x_new)
        mean_draws = ItemCurves(n_draws=n_draws, seed=seed).fit(x_fit, p_fit.mean(axis=1)[:, None]).sample(x_new)[..., 0]
        p_held = _success_matrix(data, task, held["model"].tolist())
        for k in ks:
            y_fit = subset_accuracy(p_fit, k)
            direct = ItemCurves(n_draws=n_draws, seed=seed).fit(x_fit, y_fit[:, None]).sample(x_new)[..., 0]
            draws = {
                "from_items": subset_accuracy(item_draws, k),
                "direct": direct,
                "mean_to_the_k": mean_draws**k,
            }
            observed = subset_accuracy(p_held, k)
            for method in COMPOSITE_METHODS:
                med, lo, hi = interval(draws[method], level)
                for j, model in enumerate(held["model"]):
                    rows.append(
                        {"cutoff": cutoff, "k": k, "method": method, "model": model,
                         "log10_compute": x_new[j], "observed": observed[j], "median": med[j],
                         "low": lo[j], "high": hi[j], "abs_error": abs(med[j] - observed[j]),
                         "covered": bool(lo[j] <= observed[j] <= hi[j])}
                    )
    if not rows:
        raise InputError(f"{data.name}: task {task!r} has too few model sizes for a composite backtest")
    return pd.DataFrame(rows)
