"""Baselines a careful user would run, all behind the :class:`Forecaster` interface.

* ``sigmoid`` (:class:`Sigmoid`): binomial (quasi-)likelihood on correct counts,
  ``acc = chance + (1 - chance) * sigmoid(a + b * log10 C)``;
* ``paper_sigmoid`` (:class:`PaperSigmoid`): the Slice-and-Sandwich paper's OLS on
  ``logit(acc - chance)``, kept to reproduce published figures;
* ``linear`` (:class:`Linear`): binomial GLM with logit link on log10 compute (no floor);
* ``persistence`` (:class:`Persistence`): the largest fitted model's accuracy, flat;
* ``persistence_drift`` (:class:`PersistenceDrift`): that level plus a per-decade drift and
  an error spread learned on pseudo-cut-offs pooled over every task at the cut-off;
* ``family`` (:class:`~forecast.methods.family_sigmoid.FamilySigmoid`, in its own module):
  the chance-floored sigmoid with a per-family efficiency offset in log compute, shrunk by
  a normal random effect.

Every method returns draws of its mean curve, so intervals, thresholds and CRPS are
computed the same way for all of them.  The chance-floored binomial likelihood the sigmoids
fit is in :mod:`forecast.methods.floored_binomial` (its names re-exported here).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from statsmodels.genmod import families as glm_families
from statsmodels.genmod.generalized_linear_model import GLM
from statsmodels.regression.linear_model import OLS
from statsmodels.tools.tools import add_constant
from scipy.special import expit
from statsmodels.tools.sm_exceptions import PerfectSeparationError, PerfectSeparationWarning

from forecast.curves.draws import QuasiDraws
from forecast.curves.predictive import add_kernels
from forecast.curves.ols import ols_coef_draws
from forecast.data.dataset import EvalData
from forecast.learned_settings import LearnedSettings
from forecast.methods.base import Forecaster
from forecast.methods.contract import Boolean, ForecasterTags
from forecast.methods.floored_binomial import FlooredBinomial, binomial_counts, coef_draws, dispersion
from forecast.methods.floored_binomial import expit_floor, fit_floored_sigmoid
from forecast.methods.family_sigmoid import TAU_RANGE, FamilySigmoid
from forecast.tuning import pseudo_splits

#: the baselines, and the names of :mod:`forecast.methods.floored_binomial` and
#: :mod:`forecast.methods.family_sigmoid` re-exported here for old imports
__all__ = ["FamilySigmoid", "FlooredBinomial", "LOGIT_EPS", "Linear", "PaperSigmoid", "Persistence",
           "PersistenceDrift", "Sigmoid", "TAU_RANGE", "binomial_counts", "dispersion", "expit_floor",
           "fit_error_spread", "fit_floored_sigmoid", "last_level"]

LOGIT_EPS = 1e-6


def _logit_eps(y: np.ndarray) -> np.ndarray:
    """The published baseline's logit: ``log((y + 1e-6) / (1 - y + 1e-6))``."""
    return np.log((y + LOGIT_EPS) / (1.0 - y + LOGIT_EPS))


def _line(coef: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``a + b x`` for every draw of ``(a, b)``: shape (n_draws, len(x))."""
    return coef[:, :1] + coef[:, 1:2] * np.atleast_1d(np.asarray(x, dtype=float))[None, :]


# --------------------------------------------------------------------------- sigmoid
class Sigmoid(Forecaster):
    """Chance-floored sigmoid in log10 compute, binomial (quasi-)likelihood on correct counts.

    ``acc = chance + (1 - chance) * sigmoid(a + b * (log10 C - xbar))`` with ``xbar`` the
    mean fitted log10 compute.  Fitted by penalized maximum likelihood
    (:class:`FlooredBinomial`: binomial likelihood on ``k = n_questions * accuracy`` correct
    answers out of ``n``; unit-weight proportions when ``n`` is unknown; Jeffreys prior on
    ``(a, b)`` so that all-0, all-1 and below-chance data give a finite fit, the curve then
    sitting near the floor or the ceiling).  Models of equal compute differ far more than
    binomial noise allows (MMLU: 14,042 questions, yet spreads of 0.1), so the covariance of
    ``(a, b)`` is inflated by the Pearson dispersion ``max(1, X^2 / df)`` (``X^2 / df`` when
    ``n`` is unknown).  Curve draws come from that covariance (normal when the dispersion is
    1, multivariate t with ``m - 2`` degrees of freedom when it is estimated); the point
    forecast is the estimate.  No continuity correction enters the forecast.

    Parameters
    ----------
    n_draws : int
        Curve draws.
    seed : int
    """

    name = "sigmoid"
    tags = ForecasterTags(is_baseline=True, in_default_run=True)

    def __init__(self, n_draws: int = 1000, seed: int = 0) -> None:
        self.n_draws = n_draws
        self.seed = seed

    def _fit(self, fitted: EvalData) -> None:
        t = self.fit_table_
        x = t["log10_compute"].to_numpy(dtype=float)
        self.center_ = float(x.mean())
        k, n, known = binomial_counts(t)
        self.params_, self.cov_, self.dispersion_ = fit_floored_sigmoid(x - self.center_, k, n, self.chance_, known)
        df = None if self.dispersion_ == 1.0 else float(len(x) - 2)
        self._rng = QuasiDraws(self.seed)  # quasi-random draws (forecast.curves.draws)
        self.coef_draws_ = coef_draws(self.params_, self.cov_, df, self.n_draws, self._rng)
        self.diagnostics_["dispersion"] = self.dispersion_
        self.diagnostics_["counts_known"] = known

    def _mean_draws(self, x: np.ndarray) -> np.ndarray:
        return expit_floor(_line(self.coef_draws_, np.asarray(x, dtype=float) - self.center_), self.chance_)

    def _point(self, x: np.ndarray) -> np.ndarray:
        return expit_floor(_line(self.params_[None, :], np.asarray(x, dtype=float) - self.center_)[0], self.chance_)


class PaperSigmoid(Forecaster):
    """Sigmoid in log10 compute above chance (the Slice-and-Sandwich paper's baseline).

    OLS of ``logit(clip(acc - chance, 0, 1))`` on ``x = log10(compute)``; the forecast is
    ``chance + sigmoid(a + b x)``, the OLS estimate as the point forecast.  At or below
    chance the logit is about -13.8, so near-chance data pull it hard: kept for comparison
    with published figures, not as an honest baseline (use :class:`Sigmoid`).

    Parameters
    ----------
    clip : bool
        Cap forecasts at accuracy 1 (``chance + sigmoid`` can exceed it); ``False`` is the
        published baseline exactly.
    n_draws : int
        Curve draws from the OLS sampling distribution.
    seed : int
    """

    name = "paper_sigmoid"
    param_constraints = {"clip": Boolean()}

    def __init__(self, clip: bool = True, n_draws: int = 1000, seed: int = 0) -> None:
        self.clip = clip
        self.n_draws = n_draws
        self.seed = seed

    def _fit(self, fitted: EvalData) -> None:
        t = self.fit_table_
        x = t["log10_compute"].to_numpy(dtype=float)
        y = _logit_eps(np.clip(t["accuracy"].to_numpy(dtype=float) - self.chance_, 0.0, 1.0))
        self.result_ = OLS(y, add_constant(x)).fit()
        self._rng = QuasiDraws(self.seed)
        self.coef_draws_ = ols_coef_draws(self.result_, self.n_draws, self._rng)

    def _bound(self, acc: np.ndarray) -> np.ndarray:
        return np.minimum(acc, 1.0) if self.clip else acc

    def _mean_draws(self, x: np.ndarray) -> np.ndarray:
        return self._bound(self.chance_ + expit(_line(self.coef_draws_, x)))

    def _point(self, x: np.ndarray) -> np.ndarray:
        """The OLS point forecast ``chance + sigmoid(a + b x)`` (capped at 1 when ``clip``)."""
        return self._bound(self.chance_ + expit(_line(np.asarray(self.result_.params)[None, :], x)[0]))


# --------------------------------------------------------------------------- linear
class Linear(Forecaster):
    """Binomial GLM with logit link on log10 compute (observational-scaling style, no floor).

    ``logit(acc) = a + b * (log10 C - xbar)``, fitted by ``statsmodels`` ``GLM`` with the
    ``Binomial`` family on correct counts (``var_weights = n``; unit weights when ``n`` is
    unknown), quasi-binomial scale from the Pearson ``X^2 / df`` (floored at 1 when ``n``
    is known, as in :class:`Sigmoid`).  Curve draws from the coefficient covariance; the point
    forecast is the estimate.  When the data separate (every fitted model at 0 or at 1) the
    GLM estimate does not exist: the Jeffreys-penalized fit of :class:`FlooredBinomial` with
    chance 0 (the same model with Firth's penalty) is used instead, and a warning says so.

    Parameters
    ----------
    n_draws : int
    seed : int
    """

    name = "linear"
    tags = ForecasterTags(is_baseline=True, in_default_run=True)

    def __init__(self, n_draws: int = 1000, seed: int = 0) -> None:
        self.n_draws = n_draws
        self.seed = seed

    def _fit(self, fitted: EvalData) -> None:
        t = self.fit_table_
        x = t["log10_compute"].to_numpy(dtype=float)
        self.center_ = float(x.mean())
        k, n, known = binomial_counts(t)
        xc = x - self.center_
        share = k / n
        df = float(len(x) - 2)
        try:
            if np.all(share <= 0) or np.all(share >= 1):
                raise PerfectSeparationError("all fitted accuracies at one bound")
            with warnings.catch_warnings():
                warnings.simplefilter("error", PerfectSeparationWarning)
                model = GLM(share, add_constant(xc), family=glm_families.Binomial(), var_weights=n)
                first = model.fit()
                phi = dispersion(k, n, np.asarray(first.fittedvalues), 2, known)
                res = model.fit(scale=phi)
            params, cov = np.asarray(res.params, dtype=float), np.asarray(res.cov_params(), dtype=float)
            if not (np.isfinite(params).all() and np.isfinite(cov).all()):
                raise PerfectSeparationError("non-finite GLM estimate")
        except (PerfectSeparationError, PerfectSeparationWarning, np.linalg.LinAlgError, ValueError):
            params, cov, phi = fit_floored_sigmoid(xc, k, n, 0.0, known)
            self.diagnostics_["warnings"].append(
                "linear: the fitted data separate (binomial GLM estimate at infinity); used the "
                "Jeffreys-penalized (Firth) fit instead"
            )
        self.params_, self.cov_, self.dispersion_ = params, cov, phi
        self._rng = QuasiDraws(self.seed)
        self.coef_draws_ = coef_draws(params, cov, None if phi == 1.0 else df, self.n_draws, self._rng)
        self.diagnostics_["dispersion"] = phi

    def _mean_draws(self, x: np.ndarray) -> np.ndarray:
        return expit(_line(self.coef_draws_, np.asarray(x, dtype=float) - self.center_))

    def _point(self, x: np.ndarray) -> np.ndarray:
        return expit(_line(self.params_[None, :], np.asarray(x, dtype=float) - self.center_)[0])


# --------------------------------------------------------------------------- persistence
def last_level(table: pd.DataFrame) -> tuple[float, float]:
    """Accuracy at the largest fitted compute (mean over the models there) and its log10 compute."""
    return _last_level(table["log10_compute"].to_numpy(dtype=float), table["accuracy"].to_numpy(dtype=float))


def _last_level(x: np.ndarray, acc: np.ndarray) -> tuple[float, float]:
    top = float(np.max(x))
    at_top = x >= top - 1e-12
    return float(np.mean(acc[at_top])), top


class Persistence(Forecaster):
    """Tomorrow looks like today: the accuracy of the largest fitted model, flat.

    One definition on every kind of data: the accuracy of the fitted model with the largest
    compute; when several fitted models share that compute, the mean of their accuracies.
    Its draws are all the same curve; the observed interval comes from the fitted models'
    scatter around it (the base class's between-model spread and binomial noise).
    """

    name = "persistence"
    tags = ForecasterTags(is_baseline=True, in_default_run=True)
    n_curve_params = 1

    def __init__(self, n_draws: int = 1000, seed: int = 0) -> None:
        self.n_draws = n_draws
        self.seed = seed

    def _fit(self, fitted: EvalData) -> None:
        self.level_, self.last_x_ = last_level(self.fit_table_)

    def _mean_draws(self, x: np.ndarray) -> np.ndarray:
        return np.full((self.n_draws, np.size(x)), self.level_)

    def _point(self, x: np.ndarray) -> np.ndarray:
        return np.full(np.size(x), self.level_)


def fit_error_spread(errors: np.ndarray, distance: np.ndarray) -> tuple[float, float]:
    """``(s0, s1)`` of ``sd(d) = sqrt(s0^2 + (s1 d)^2)``, by maximum likelihood of normal errors.

    ``e^2`` given ``d`` is ``sd(d)^2`` times a chi-square(1): a Gamma GLM with identity link on
    ``(1, d^2)`` (statsmodels) gives the normal maximum-likelihood ``(s0^2, s1^2)``.  When the
    fit would make a variance component negative, the one-component model is used.
    """
    e2 = np.asarray(errors, dtype=float) ** 2
    d2 = np.asarray(distance, dtype=float) ** 2
    fallback = (float(np.sqrt(np.mean(e2))), 0.0)
    if len(e2) < 3 or np.ptp(d2) == 0:
        return fallback
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            start = np.array([max(np.mean(e2) / 2, 1e-8), max(np.mean(e2) / (2 * np.mean(d2)), 1e-8)])
            res = GLM(np.maximum(e2, 1e-12), np.column_stack([np.ones_like(d2), d2]),
                      family=glm_families.Gamma(glm_families.links.Identity())).fit(start_params=start)
        v0, v1 = (float(v) for v in res.params)
    except (ValueError, np.linalg.LinAlgError, FloatingPointError):
        return fallback
    if not (np.isfinite(v0) and np.isfinite(v1)) or v0 < 0 or v1 < 0:
        # boundary: one variance component only, whichever fits better
        only_d = float(np.sqrt(np.mean(e2 / np.maximum(d2, 1e-12))))
        ll0 = -0.5 * np.sum(np.log(fallback[0] ** 2) + e2 / fallback[0] ** 2)
        var1 = np.maximum(only_d**2 * d2, 1e-12)
        ll1 = -0.5 * np.sum(np.log(var1) + e2 / var1)
        return fallback if ll0 >= ll1 else (0.0, only_d)
    return float(np.sqrt(v0)), float(np.sqrt(v1))


@dataclass
class PersistenceDriftSettings(LearnedSettings):
    """What :class:`PersistenceDrift` learns: ``drift`` per decade, the error spread
    ``(s0, s1)`` (None: no pseudo-cut-off, persistence's intervals) and the counts of
    pseudo-cut-offs, (target, level) pairs and tasks they came from."""

    drift: float = 0.0
    s0: float | None = None
    s1: float | None = None
    n_pseudo: int = 0
    n_pairs: int = 0
    n_tasks: int = 0


class PersistenceDrift(Forecaster):
    """The last fitted level plus a per-decade drift, with an error spread learned across tasks.

    Forecast at log10 compute ``x``: ``level + drift * d`` with ``d = x - x_last`` (decades past
    the largest fitted model; ``level`` as in :class:`Persistence`), and its error
    ``N(0, s0^2 + (s1 d)^2)``, bounded to ``[0, 1]``.

    ``drift``, ``s0`` and ``s1`` are learned by :meth:`learn_context` on pseudo-cut-offs inside
    the fitted range of every task of the data set (models at or below the cut-off only,
    :func:`forecast.tuning.pseudo_splits`, every pseudo-cut-off): per pseudo-cut-off and larger
    fitted model, the slope ``(y - level) / d``; ``drift`` is their median (robust to the
    few tasks that jump), and ``(s0, s1)`` the normal maximum-likelihood fit of the remaining
    errors (:func:`fit_error_spread`).  ``s0`` (the error at ``d = 0``: between-model scatter
    and question noise) is added to the observed scores only; ``s1 d`` moves whole curves.
    With no pseudo-cut-off in the pool the drift is 0 and the intervals are persistence's;
    ``diagnostics_["warnings"]`` says so.
    """

    name = "persistence_drift"
    tags = ForecasterTags(is_baseline=True, in_default_run=True)
    settings_class = PersistenceDriftSettings
    n_curve_params = 1
    learns_context = True

    def __init__(self, n_draws: int = 1000, seed: int = 0) -> None:
        self.n_draws = n_draws
        self.seed = seed

    def learn_settings(self, pool: EvalData, cutoff: float) -> PersistenceDriftSettings:
        """Drift per decade and error spread from every task's pseudo-cut-offs (see class doc)."""
        slopes, dists, gaps, tasks = [], [], [], set()
        n_pseudo = 0
        columns: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for split in pseudo_splits(pool, max_per_task=None):
            # the task's columns once, each pseudo-cut-off a row mask of them
            if split.task not in columns:
                columns[split.task] = (split.table["log10_compute"].to_numpy(dtype=float),
                                       split.table["accuracy"].to_numpy(dtype=float))
            x_all, acc_all = columns[split.task]
            is_target = split.is_target
            if is_target.all() or not is_target.any():
                continue
            level, top = _last_level(x_all[~is_target], acc_all[~is_target])
            d = x_all[is_target] - top
            y = acc_all[is_target]
            ok = d > 0
            if not ok.any():
                continue
            n_pseudo += 1
            tasks.add(split.task)
            slopes.append((y[ok] - level) / d[ok])
            dists.append(d[ok])
            gaps.append(y[ok] - level)
        if not n_pseudo:
            return PersistenceDriftSettings()
        slope, d, gap = (np.concatenate(v) for v in (slopes, dists, gaps))
        drift = float(np.median(slope))
        s0, s1 = fit_error_spread(gap - drift * d, d)
        return PersistenceDriftSettings(drift=drift, s0=s0, s1=s1, n_pseudo=n_pseudo, n_pairs=int(len(d)),
                                        n_tasks=len(tasks))

    def _fit(self, fitted: EvalData) -> None:
        self.level_, self.last_x_ = last_level(self.fit_table_)
        ctx = self.settings_
        self.drift_ = float(ctx.drift or 0.0)
        s0, s1 = ctx.s0, ctx.s1
        self.learned_ = s0 is not None and s1 is not None
        if not self.learned_:
            self.diagnostics_["warnings"].append(
                "persistence_drift: no pseudo-cut-off at or below the cut-off in any task; "
                "drift 0 and persistence's intervals"
            )
        self.s0_ = float(s0) if self.learned_ else 0.0
        self.s1_ = float(s1) if self.learned_ else 0.0
        self._rng = QuasiDraws(self.seed)
        self._z = self._rng.standard_normal((self.n_draws, 1))
        self.diagnostics_["context"] = dict(self.context_)

    def _distance(self, x: np.ndarray) -> np.ndarray:
        return np.maximum(np.atleast_1d(np.asarray(x, dtype=float)) - self.last_x_, 0.0)

    def _point(self, x: np.ndarray) -> np.ndarray:
        return np.clip(self.level_ + self.drift_ * self._distance(x), 0.0, 1.0)

    def _mean_draws(self, x: np.ndarray) -> np.ndarray:
        d = self._distance(x)[None, :]
        return np.clip(self.level_ + self.drift_ * d + self._z * self.s1_ * d, 0.0, 1.0)

    def _observed_draws(self, mean: np.ndarray, rng: QuasiDraws) -> np.ndarray:
        if not self.learned_:
            return super()._observed_draws(mean, rng)
        z, _ = rng.noise(mean.shape)
        draws = np.clip(mean + self.s0_ * z, 0.0, 1.0)
        if getattr(self, "_spread_counts", False):  # the interval's kernels (Forecaster._bounds)
            add_kernels("normal", mean, draws, scale=self.s0_)
        return draws

    def _observed_mean(self, mean: np.ndarray) -> np.ndarray:
        if not self.learned_:
            return super()._observed_mean(mean)
        return self._observed_draws(mean, self._noise_source()).mean(axis=0)
