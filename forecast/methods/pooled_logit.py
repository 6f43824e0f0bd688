"""A logistic trend above chance whose slope is pooled across the data set's tasks.

One task alone has a handful of fitted models, so its own slope in log compute is noisy; the
data set's other tasks at the same cut-off say what slopes are typical.  Per task, on the
chance-normalised empirical logit ``z = logit((p - c) / (1 - c))`` (``p = (k + 1/2) / (n + 1)``,
``c`` the chance level; kept inside ``(0, 1)`` by half a question)::

    z(x) = a + b (x - xbar_w),   fitted by weighted least squares (delta-method binomial
                                 weights, the scale from the residuals, at least 1)

and the slope is shrunk toward the cross-task distribution ``b ~ N(mu, tau^2)``:
``b_post = (b_hat / v + mu / tau^2) / (1 / v + 1 / tau^2)``.  ``mu`` and ``tau^2`` are the
random-effects (DerSimonian-Laird) estimates of statsmodels'
:func:`~statsmodels.stats.meta_analysis.combine_effects` (``tau^2`` truncated at 0) over every task's own slope and its
variance, learned at fit time by :meth:`PooledLogit.learn_context` from the models at or below
the cut-off only.

Uncertainty: draws of ``(a, b)`` from their (independent, at the weighted centre) normal
posteriors, plus an extrapolation error ``N(0, (s1 d)^2)`` on the accuracy scale that grows
with the distance ``d`` in decades past the largest fitted model; ``s1`` is learned with the
prior, on pseudo-cut-offs inside every task's fitted range (:func:`forecast.tuning.pseudo_splits`):
the errors of the pooled forecast of the larger fitted models, fitted by
:func:`~forecast.methods.baselines.fit_error_spread`.  Observation noise is the base class's
(between-model spread and binomial question noise).

Fixed a priori: the half-question adjustment, the scale floor of 1 with known question counts,
the DerSimonian-Laird estimator, and a floor of ``0.01`` on ``tau`` (so that a data set of
identical slopes does not pin every task to one slope).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy.special import expit, logit

from forecast.curves.draws import QuasiDraws
from forecast.data.dataset import EvalData
from forecast.data.task_table import task_table
from forecast.errors import InputError
from forecast.learned_settings import LearnedSettings
from forecast.methods.base import Forecaster
from forecast.methods.baselines import binomial_counts, fit_error_spread
from forecast.methods.contract import ForecasterTags
from forecast.tuning import pseudo_splits

#: floor of the cross-task slope sd (logits per decade)
MIN_TAU = 0.01
#: fewest tasks with a slope to learn the prior from (else no pooling)
MIN_PRIOR_TASKS = 3


def normalised_logits(acc: np.ndarray, n: np.ndarray | None, chance: float) -> tuple[np.ndarray, np.ndarray]:
    """Chance-normalised empirical logits of accuracies and their WLS weights (see module doc)."""
    acc = np.clip(np.asarray(acc, dtype=float), 0.0, 1.0)
    if n is None:
        n = np.full(acc.shape, 1e4)
    n = np.asarray(n, dtype=float)
    p = (acc * n + 0.5) / (n + 1.0)
    q = np.clip((p - chance) / (1.0 - chance), 0.5 / (n + 1.0), 1.0 - 0.5 / (n + 1.0))
    var = p * (1.0 - p) / n / ((1.0 - chance) * q * (1.0 - q)) ** 2
    return logit(q), 1.0 / var


def wls_line(x: np.ndarray, z: np.ndarray, w: np.ndarray, known: bool) -> dict[str, float] | None:
    """Weighted least-squares line ``z = a + b (x - xbar_w)``: estimate, variances, scale."""
    if len(x) < 2 or np.ptp(x) == 0:
        return None
    sw = float(w.sum())
    xbar = float((w * x).sum() / sw)
    sxx = float((w * (x - xbar) ** 2).sum())
    a = float((w * z).sum() / sw)
    b = float((w * (x - xbar) * z).sum() / sxx)
    resid = z - a - b * (x - xbar)
    df = len(x) - 2
    scale = float((w * resid**2).sum() / df) if df > 0 else 1.0
    scale = max(scale, 1.0) if known else max(scale, 1e-6)
    return {"a": a, "b": b, "xbar": xbar, "var_a": scale / sw, "var_b": scale / sxx}


def _table_line(table, chance: float) -> tuple[dict[str, float] | None, np.ndarray, np.ndarray]:
    x = table["log10_compute"].to_numpy(dtype=float)
    _, n, known = binomial_counts(table)
    z, w = normalised_logits(table["accuracy"].to_numpy(dtype=float), n if known else None, chance)
    return wls_line(x, z, w, known), x, z


def shrink(line: dict[str, float], mu: float | None, tau: float | None) -> tuple[float, float]:
    """Posterior mean and variance of the slope under the prior ``N(mu, tau^2)`` (none: as fitted)."""
    if mu is None or tau is None:
        return line["b"], line["var_b"]
    prec = 1.0 / line["var_b"] + 1.0 / tau**2
    return (line["b"] / line["var_b"] + mu / tau**2) / prec, 1.0 / prec


def slope_prior(lines: list[dict[str, float]]) -> tuple[float | None, float | None]:
    """``(mu, tau)`` of the cross-task slope distribution (DerSimonian-Laird), or Nones."""
    from statsmodels.stats.meta_analysis import combine_effects

    if len(lines) < MIN_PRIOR_TASKS:
        return None, None
    b = np.array([ln["b"] for ln in lines])
    v = np.array([ln["var_b"] for ln in lines])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = combine_effects(b, v, method_re="dl")
    # statsmodels leaves the moment estimate of tau^2 untruncated (it can be negative, and the
    # random-effects mean then undefined): truncate at 0 and weight by 1 / (v + tau^2)
    tau2 = max(float(res.tau2), 0.0)
    w = 1.0 / (v + tau2)
    return float((w * b).sum() / w.sum()), float(max(np.sqrt(tau2), MIN_TAU))


def _curve(a: float, b: float, xbar: float, x: np.ndarray, chance: float) -> np.ndarray:
    return chance + (1.0 - chance) * expit(a + b * (np.asarray(x, dtype=float) - xbar))


@dataclass
class PooledLogitSettings(LearnedSettings):
    """What :class:`PooledLogit` learns: the slope prior ``(slope_mean, slope_sd)`` over the
    tasks' lines (None: no prior), the extrapolation error ``(s0, s1)`` (None: too few
    pseudo targets), the number of tasks and of (target, horizon) pairs."""

    slope_mean: float | None = None
    slope_sd: float | None = None
    n_tasks: int = 0
    s0: float | None = None
    s1: float | None = None
    n_pairs: int = 0


class PooledLogit(Forecaster):
    """Logistic trend above chance with its slope shrunk toward the data set's (module doc).

    Parameters
    ----------
    n_draws : int
        Curve draws.
    seed : int
        Seed of the quasi-random draws.
    """

    name = "pooled_logit"
    tags = ForecasterTags(learns_settings=True)
    settings_class = PooledLogitSettings

    def __init__(self, n_draws: int = 1000, seed: int = 0) -> None:
        self.n_draws = n_draws
        self.seed = seed

    def learn_settings(self, pool: EvalData, cutoff: float) -> PooledLogitSettings:
        """The slope prior over every task of ``pool`` and the extrapolation error per decade
        from pseudo-cut-offs (see the module docstring)."""
        lines = []
        for task in pool.task_names:
            try:
                line, _, _ = _table_line(task_table(pool, task), pool.chance(task))
            except InputError:
                continue
            if line is not None:
                lines.append(line)
        mu, tau = slope_prior(lines)
        errors, dists = [], []
        for split in pseudo_splits(pool, max_per_task=None):
            target = split.is_target
            if target.all() or not target.any():
                continue
            chance = pool.chance(split.task)
            line, x, _ = _table_line(split.fitted, chance)
            if line is None:
                continue
            b, _ = shrink(line, mu, tau)
            xt = split.table["log10_compute"].to_numpy(dtype=float)[target]
            yt = split.table["accuracy"].to_numpy(dtype=float)[target]
            d = xt - x.max()
            ok = d > 0
            errors.append(yt[ok] - _curve(line["a"], b, line["xbar"], xt[ok], chance))
            dists.append(d[ok])
        s0 = s1 = None
        if errors and sum(len(e) for e in errors) >= 3:
            s0, s1 = fit_error_spread(np.concatenate(errors), np.concatenate(dists))
        return PooledLogitSettings(slope_mean=mu, slope_sd=tau, n_tasks=len(lines), s0=s0, s1=s1,
                                   n_pairs=int(sum(len(e) for e in errors)))

    def _fit(self, fitted: EvalData) -> None:
        line, x, _ = _table_line(self.fit_table_, self.chance_)
        if line is None:
            raise InputError(f"pooled_logit: task {self.task_!r} has one fitted compute; a trend needs two")
        ctx = self.settings_
        mu, tau = ctx.slope_mean, ctx.slope_sd
        b, var_b = shrink(line, mu, tau)
        self.line_ = {**line, "b_post": b, "var_b_post": var_b}
        self.last_x_ = float(x.max())
        self.s1_ = float(ctx.s1 or 0.0)
        self._rng = QuasiDraws(self.seed)
        z = self._rng.standard_normal((self.n_draws, 3))
        self.a_draws_ = line["a"] + np.sqrt(line["var_a"]) * z[:, 0]
        self.b_draws_ = b + np.sqrt(var_b) * z[:, 1]
        self._z_extra = z[:, 2:3]
        self.diagnostics_["context"] = dict(self.context_)
        if mu is None:
            self.diagnostics_["warnings"].append("pooled_logit: fewer than 3 tasks with a slope; no pooling")

    def _mean_draws(self, x: np.ndarray) -> np.ndarray:
        x = np.atleast_1d(np.asarray(x, dtype=float))
        xbar = self.line_["xbar"]
        curves = self.chance_ + (1.0 - self.chance_) * expit(
            self.a_draws_[:, None] + self.b_draws_[:, None] * (x[None, :] - xbar))
        d = np.maximum(x - self.last_x_, 0.0)[None, :]
        return np.clip(curves + self._z_extra * self.s1_ * d, 0.0, 1.0)

    def _point(self, x: np.ndarray) -> np.ndarray:
        ln = self.line_
        return _curve(ln["a"], ln["b_post"], ln["xbar"], x, self.chance_)


__all__ = ["PooledLogit", "normalised_logits", "wls_line", "shrink", "slope_prior"]
