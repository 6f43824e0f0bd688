"""Baselines a careful user would run, all behind the :class:`Forecaster` interface.

* ``sigmoid`` (:class:`Sigmoid`): binomial (quasi-)likelihood on correct counts,
  ``acc = chance + (1 - chance) * sigmoid(a + b * log10 C)``;
* ``paper_sigmoid`` (:class:`PaperSigmoid`): the Slice-and-Sandwich paper's OLS on
  ``logit(acc - chance)``, kept to reproduce published figures;
* ``linear`` (:class:`Linear`): binomial GLM with logit link on log10 compute (no floor);
* ``persistence`` (:class:`Persistence`): the largest fitted model's accuracy, flat;
* ``persistence_drift`` (:class:`PersistenceDrift`): that level plus a per-decade drift and
  an error spread learned on pseudo-cut-offs pooled over every task at the cut-off;
* ``family`` (:class:`FamilySigmoid`): the chance-floored sigmoid with a per-family
  efficiency offset in log compute, shrunk by a normal random effect.

Every method returns draws of its mean curve, so intervals, thresholds and CRPS are
computed the same way for all of them.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
from statsmodels.genmod import families as glm_families
from statsmodels.genmod.generalized_linear_model import GLM
from statsmodels.regression.linear_model import OLS
from statsmodels.tools.tools import add_constant
from scipy.optimize import fmin_bfgs, minimize_scalar
from scipy.special import expit, logit
from statsmodels.base.model import GenericLikelihoodModel
from statsmodels.tools.numdiff import approx_fprime
from statsmodels.tools.sm_exceptions import PerfectSeparationError, PerfectSeparationWarning

from forecast.curves.draws import QuasiDraws
from forecast.curves.ols import ols_coef_draws
from forecast.data.dataset import EvalData
from forecast.errors import FitError, InputError, NotApplicable
from forecast.methods.base import Forecaster, model_compute
from forecast.methods.contract import Boolean, ForecasterTags
from forecast.methods.families import FamilyOffsets, FamilySpread, family_labels, heldout_report
from forecast.tuning import pseudo_splits

LOGIT_EPS = 1e-6


def _logit_eps(y: np.ndarray) -> np.ndarray:
    """The published baseline's logit: ``log((y + 1e-6) / (1 - y + 1e-6))``."""
    return np.log((y + LOGIT_EPS) / (1.0 - y + LOGIT_EPS))


def _line(coef: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``a + b x`` for every draw of ``(a, b)``: shape (n_draws, len(x))."""
    return coef[:, :1] + coef[:, 1:2] * np.atleast_1d(np.asarray(x, dtype=float))[None, :]


# --------------------------------------------------------------------------- counts
def binomial_counts(table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, bool]:
    """Correct counts ``k`` and trials ``n`` per fitted model, and whether ``n`` is known.

    ``k = n_questions * accuracy``.  When the question count is unknown (NaN, e.g. whole-task
    scores only), the accuracies are used as proportions with unit weight (``n = 1``):
    a quasi-likelihood whose scale is then estimated from the residuals.
    """
    acc = np.clip(table["accuracy"].to_numpy(dtype=float), 0.0, 1.0)
    n = table["n_questions"].to_numpy(dtype=float) if "n_questions" in table.columns else np.full(len(acc), np.nan)
    known = bool(np.isfinite(n).all() and (n > 0).all())
    n = n if known else np.ones_like(acc)
    return n * acc, n, known


def _coef_draws(params: np.ndarray, cov: np.ndarray, df: float | None, n_draws: int,
                rng: np.random.Generator | QuasiDraws) -> np.ndarray:
    """Coefficient draws: normal around ``params`` (``df=None``: the scale is known), or the
    multivariate t of an estimated scale with ``df`` residual degrees of freedom."""
    if df is None:
        return rng.multivariate_normal(params, cov, size=n_draws, method="svd")
    stub = type("Fit", (), {"params": params, "cov_params": lambda self: cov, "df_resid": df})()
    return ols_coef_draws(stub, n_draws, rng)


def dispersion(k: np.ndarray, n: np.ndarray, p: np.ndarray, n_params: float, known: bool) -> float:
    """Pearson dispersion ``X^2 / df`` of a binomial fit.

    With known question counts it is floored at 1 (binomial noise is the least there is);
    with unit weights (unknown counts) the quasi-likelihood scale is ``X^2 / df`` as is.
    """
    p = np.clip(p, 1e-12, 1 - 1e-12)
    x2 = float(np.sum((k - n * p) ** 2 / (n * p * (1 - p))))
    df = max(len(k) - n_params, 1.0)
    phi = x2 / df
    return max(1.0, phi) if known else max(phi, 1e-12)


# --------------------------------------------------------------------------- likelihood
def _log_probs(eta: np.ndarray, chance: float) -> tuple[np.ndarray, np.ndarray]:
    """``log p`` and ``log(1 - p)`` of ``p = chance + (1 - chance) sigmoid(eta)``, stably."""
    log_sig = -np.logaddexp(0.0, -eta)
    log_one_minus_sig = -np.logaddexp(0.0, eta)
    with np.errstate(divide="ignore"):
        log_c = np.log(chance)
    log_p = np.logaddexp(log_c, np.log1p(-chance) + log_sig)
    return log_p, np.log1p(-chance) + log_one_minus_sig


def _fisher_weights(eta: np.ndarray, n: np.ndarray, chance: float,
                    log_probs: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, float, np.ndarray]:
    """Fisher weights ``n (dp/deta)^2 / (p (1 - p))`` divided by ``exp(top)`` (computed in
    logs so that they stay finite far in the tails), ``top``, and ``dlog w / deta``
    (``log_probs``: :func:`_log_probs` of ``eta``, when already computed)."""
    log_p, log_q = _log_probs(eta, chance) if log_probs is None else log_probs
    log_dp = np.log1p(-chance) - np.logaddexp(0.0, -eta) - np.logaddexp(0.0, eta)
    log_w = np.log(n) + 2 * log_dp - log_p - log_q
    top = float(np.max(log_w))
    sig = expit(eta)
    dlog_w = 2 * (1 - 2 * sig) - np.exp(log_dp - log_p) + sig
    return np.exp(log_w - top), top, dlog_w


def _info(w: np.ndarray, z: np.ndarray) -> np.ndarray:
    return np.array([[w.sum(), (w * z).sum()], [(w * z).sum(), (w * z * z).sum()]])


def _jeffreys(eta: np.ndarray, z: np.ndarray, n: np.ndarray, chance: float,
              fisher: tuple[np.ndarray, float, np.ndarray] | None = None) -> float:
    """Half the log-determinant of the Fisher information of ``(a, b)`` (Jeffreys prior);
    ``z`` is the slope's covariate per model (``fisher``: :func:`_fisher_weights`, when
    already computed)."""
    w, top, _ = _fisher_weights(eta, n, chance) if fisher is None else fisher
    info = _info(w, z)
    det = info[0, 0] * info[1, 1] - info[0, 1] ** 2
    if not det > 0:
        return -1e300
    return 0.5 * (np.log(det) + 2 * top)


def _jeffreys_grad(eta: np.ndarray, z: np.ndarray, n: np.ndarray, chance: float, b: float,
                   family: np.ndarray, n_families: int,
                   fisher: tuple[np.ndarray, float, np.ndarray] | None = None) -> np.ndarray:
    """Gradient of :func:`_jeffreys` in ``(a, b, delta_1..delta_F)`` with ``eta = a + b z``,
    ``z = x + delta_family``: ``0.5 tr(I^-1 dI)``."""
    w, _, dlog_w = _fisher_weights(eta, n, chance) if fisher is None else fisher
    zt = np.column_stack([np.ones_like(z), z])
    (a, b_), (_, d) = _info(w, z)
    det = a * d - b_ * b_
    if det == 0 or not np.isfinite(det):  # singular: as numpy.linalg.inv refuses it
        return np.zeros(2 + n_families)
    inv = np.array([[d, -b_], [-b_, a]]) / det  # the 2 x 2 inverse in closed form
    iz = zt @ inv
    lev = np.sum(iz * zt, axis=1)  # z~' I^-1 z~
    dw = w * dlog_w
    grad = np.empty(2 + n_families)
    grad[0] = 0.5 * np.sum(dw * lev)
    grad[1] = 0.5 * np.sum(dw * z * lev)
    if n_families:
        per_model = 0.5 * (dw * b * lev + 2 * w * iz[:, 1])
        has = family >= 0
        grad[2:] = np.bincount(family[has], weights=per_model[has], minlength=n_families)
    return grad


class FlooredBinomial(GenericLikelihoodModel):
    """Penalized binomial quasi-likelihood of a chance-floored sigmoid in ``x``.

    ``p_i = chance + (1 - chance) sigmoid(a + b (x_i + delta_{f(i)}))`` with parameters
    ``(a, b, delta_1, ..., delta_F)``; ``family`` codes ``f(i)`` are ``-1`` for no offset.
    The objective is ``loglik / phi + jeffreys(a, b) - sum(delta^2) / (2 tau^2)``:

    * ``phi``: the dispersion (quasi-likelihood scale);
    * the Jeffreys prior of ``(a, b)`` (Firth's bias-reduction penalty) keeps the estimate
      finite when every fitted model is at 0, at 1 or at or below chance, where the
      maximum-likelihood estimate runs off to infinity;
    * the normal random effect of sd ``tau`` on the family offsets (none when ``F = 0``).
    """

    def __init__(self, k: np.ndarray, n: np.ndarray, x: np.ndarray, chance: float,
                 family: np.ndarray | None = None, n_families: int = 0, tau: float = 1.0,
                 phi: float = 1.0) -> None:
        super().__init__(np.asarray(k, dtype=float), np.asarray(x, dtype=float)[:, None])
        self.n = np.asarray(n, dtype=float)
        self.x = np.asarray(x, dtype=float)
        self.chance = float(chance)
        self.family = np.full(len(self.x), -1) if family is None else np.asarray(family, dtype=int)
        self.n_families = int(n_families)
        self.tau = float(tau)
        self.phi = float(phi)
        names = ["a", "b"] + [f"delta_{i}" for i in range(self.n_families)]
        self.exog_names[:] = names[:1]
        self.k_params = len(names)
        self.data.xnames = names
        self.df_model = len(names) - 1
        self.df_resid = len(self.x) - len(names)

    def covariate(self, params: np.ndarray) -> np.ndarray:
        """``x + delta_family`` per model."""
        delta = np.append(np.asarray(params[2:], dtype=float), 0.0)  # index -1: no offset
        return self.x + delta[self.family]

    def eta(self, params: np.ndarray) -> np.ndarray:
        return params[0] + params[1] * self.covariate(params)

    def _terms(self, params: np.ndarray) -> tuple:
        """``eta``, the covariate, :func:`_log_probs` and :func:`_fisher_weights` at ``params``,
        kept for the last ``params`` (an optimizer asks for the objective and its gradient at
        the same point)."""
        params = np.asarray(params, dtype=float)
        key = params.tobytes()
        last = getattr(self, "_last_terms", None)
        if last is not None and last[0] == key:
            return last[1]
        eta, z = self.eta(params), self.covariate(params)
        log_probs = _log_probs(eta, self.chance)
        terms = (eta, z, log_probs, _fisher_weights(eta, self.n, self.chance, log_probs))
        self._last_terms = (key, terms)
        return terms

    def binomial_loglike(self, params: np.ndarray) -> float:
        log_p, log_q = self._terms(params)[2]
        return float(np.sum(self.endog * log_p + (self.n - self.endog) * log_q))

    def _jeffreys(self, params: np.ndarray) -> float:
        eta, z, _, fisher = self._terms(params)
        return _jeffreys(eta, z, self.n, self.chance, fisher)

    def loglike(self, params: np.ndarray) -> float:
        params = np.asarray(params, dtype=float)
        value = self.binomial_loglike(params) / self.phi + self._jeffreys(params)
        if self.n_families:
            value -= 0.5 * float(np.sum(params[2:] ** 2)) / self.tau**2
        return value

    def loglikeobs(self, params: np.ndarray) -> np.ndarray:  # pragma: no cover - not used
        return np.full(len(self.x), self.loglike(params) / len(self.x))

    def score(self, params: np.ndarray) -> np.ndarray:
        """Gradient of :meth:`loglike` (analytic)."""
        params = np.asarray(params, dtype=float)
        eta, z, (log_p, _), fisher = self._terms(params)
        sig = expit(eta)
        log_dp = np.log1p(-self.chance) - np.logaddexp(0.0, -eta) - np.logaddexp(0.0, eta)
        g = (self.endog * np.exp(log_dp - log_p) - (self.n - self.endog) * sig) / self.phi
        grad = np.empty(len(params))
        grad[0], grad[1] = g.sum(), (g * z).sum()
        if self.n_families:
            per_family = np.bincount(self.family[self.family >= 0], weights=g[self.family >= 0],
                                     minlength=self.n_families)
            grad[2:] = params[1] * per_family - params[2:] / self.tau**2
        return grad + _jeffreys_grad(eta, z, self.n, self.chance, float(params[1]), self.family, self.n_families,
                                     fisher)

    def hessian(self, params: np.ndarray) -> np.ndarray:
        """Numerical Jacobian of :meth:`score`, symmetrized."""
        h = approx_fprime(np.asarray(params, dtype=float), self.score, centered=True)
        return (h + h.T) / 2

    def start(self) -> np.ndarray:
        """Start at a flat curve through the mean normalised accuracy."""
        share = np.sum(self.endog) / np.sum(self.n)
        norm = np.clip((share - self.chance) / (1 - self.chance), 0.05, 0.95)
        return np.concatenate([[logit(norm), 0.0], np.zeros(self.n_families)])

    def fit_mode(self, start: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The penalized estimate and the negative Hessian of the objective there.

        BFGS (``scipy.optimize.fmin_bfgs`` on the objective per observation, ``gtol=1e-6``)
        polished by up to 20 Newton steps (ridge ``1e-10``, step tolerance ``1e-8``): the
        steps of statsmodels' ``fit(method="bfgs")`` then ``fit(method="newton")``, taken
        here without building their result objects.
        """
        nobs = self.endog.shape[0]

        def f(params: np.ndarray) -> float:
            return -self.loglike(params) / nobs

        def grad(params: np.ndarray) -> np.ndarray:
            return -self.score(params) / nobs

        def hess(params: np.ndarray) -> np.ndarray:
            return -self.hessian(params) / nobs

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence notes
            start = self.start() if start is None else start
            params = np.asarray(fmin_bfgs(f, start, grad, gtol=1e-6, norm=np.inf, maxiter=1000,
                                          full_output=True, disp=0)[0], dtype=float)
            if not np.isfinite(params).all():
                raise FitError("the binomial sigmoid fit did not converge")
            try:  # polish with Newton steps; a singular Hessian keeps the BFGS estimate
                polished = _newton(grad, hess, params, maxiter=20)
            except np.linalg.LinAlgError:
                polished = None
        if (polished is not None and np.isfinite(polished).all()
                and self.loglike(polished) >= self.loglike(params)):
            params = np.asarray(polished, dtype=float)
        return params, -self.hessian(params)


def _newton(grad, hess, start: np.ndarray, maxiter: int, tol: float = 1e-8, ridge: float = 1e-10) -> np.ndarray:
    """Newton-Raphson steps ``x - (H + ridge I)^-1 g`` until no coordinate moves more than
    ``tol`` (at most ``maxiter``); raises ``LinAlgError`` when the Hessian at the end is singular."""
    iterations, old, new = 0, np.inf, np.asarray(start)
    while iterations < maxiter and np.any(np.abs(new - old) > tol):
        H = np.asarray(hess(new))
        H[np.diag_indices(H.shape[0])] += ridge
        old = new
        new = old - np.linalg.solve(H, grad(old))
        iterations += 1
    np.linalg.inv(hess(new))  # the covariance statsmodels forms there: refused when singular
    return new


def _cov(neg_hess: np.ndarray) -> np.ndarray:
    """Covariance from the negative Hessian (pseudo-inverse when it is near singular)."""
    cov = np.linalg.pinv(neg_hess)
    return (cov + cov.T) / 2


def fit_floored_sigmoid(x: np.ndarray, k: np.ndarray, n: np.ndarray, chance: float,
                        known: bool) -> tuple[np.ndarray, np.ndarray, float]:
    """Fit the chance-floored sigmoid; returns ``params (a, b)``, their covariance inflated
    by the Pearson dispersion, and the dispersion (see :func:`dispersion`)."""
    model = FlooredBinomial(k, n, x, chance)
    params, _ = model.fit_mode()
    phi = dispersion(k, n, expit_floor(model.eta(params), chance), 2, known)
    if phi != 1.0:
        # the quasi-likelihood objective (loglik / phi) has the same estimate without the
        # penalty; refit so that the Jeffreys term keeps its relative weight
        model = FlooredBinomial(k, n, x, chance, phi=phi)
        params, neg_hess = model.fit_mode(params)
    else:
        _, neg_hess = params, -model.hessian(params)
    return params, _cov(neg_hess), phi


def expit_floor(eta: np.ndarray, chance: float) -> np.ndarray:
    """``chance + (1 - chance) sigmoid(eta)``."""
    return chance + (1.0 - chance) * expit(eta)


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
        self.coef_draws_ = _coef_draws(self.params_, self.cov_, df, self.n_draws, self._rng)
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
        self.coef_draws_ = _coef_draws(params, cov, None if phi == 1.0 else df, self.n_draws, self._rng)
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
    n_curve_params = 1
    learns_context = True

    def __init__(self, n_draws: int = 1000, seed: int = 0) -> None:
        self.n_draws = n_draws
        self.seed = seed

    def learn_context(self, pool: EvalData, cutoff: float) -> dict[str, Any]:
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
            return {"drift": 0.0, "s0": None, "s1": None, "n_pseudo": 0, "n_pairs": 0, "n_tasks": 0}
        slope, d, gap = (np.concatenate(v) for v in (slopes, dists, gaps))
        drift = float(np.median(slope))
        s0, s1 = fit_error_spread(gap - drift * d, d)
        return {"drift": drift, "s0": s0, "s1": s1, "n_pseudo": n_pseudo, "n_pairs": int(len(d)),
                "n_tasks": len(tasks)}

    def _fit(self, fitted: EvalData) -> None:
        self.level_, self.last_x_ = last_level(self.fit_table_)
        ctx = self.context_
        self.drift_ = float(ctx.get("drift") or 0.0)
        s0, s1 = ctx.get("s0"), ctx.get("s1")
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
        self.diagnostics_["context"] = dict(ctx)

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
        return np.clip(mean + self.s0_ * z, 0.0, 1.0)

    def _observed_mean(self, mean: np.ndarray) -> np.ndarray:
        if not self.learned_:
            return super()._observed_mean(mean)
        return self._observed_draws(mean, self._noise_source()).mean(axis=0)


# --------------------------------------------------------------------------- family-aware
#: search range of the family-offset sd (decades of compute) for the empirical-Bayes estimate
TAU_RANGE = (1e-2, 3.0)


def _family_codes(models: pd.DataFrame, names: list[str], fallback: pd.Series) -> pd.Series:
    fam = models.set_index("model")["family"] if "family" in models.columns else pd.Series(dtype=str)
    return pd.Series([fam.get(m, fallback.get(m)) for m in names], index=names)


class FamilySigmoid(FamilySpread, Forecaster):
    """Chance-floored sigmoid with a per-family efficiency offset in log compute.

    ``acc = chance + (1 - chance) * sigmoid(a + b * (log10 C - xbar + delta_family))``, the
    offset of each fitted family a normal random effect ``delta ~ N(0, tau^2)`` (shrunk toward
    0).  ``tau`` is estimated by empirical Bayes: it maximizes the Laplace approximation of the
    marginal (quasi-)likelihood, ``(a, b, delta)`` integrated out under a flat prior on
    ``(a, b)`` (searched in :data:`TAU_RANGE` decades).  The binomial likelihood, the
    Jeffreys penalty on ``(a, b)`` and the Pearson dispersion are those of :class:`Sigmoid`
    (dispersion from a first fit, degrees of freedom ``m - 2 - F``).  Draws of
    ``(a, b, delta)`` come from the Laplace (normal) approximation.

    A held-out model of a fitted family gets that family's offset; a model of a family with
    no fitted model (and any compute-only forecast: :meth:`predict`, thresholds) gets an
    offset drawn from ``N(0, tau^2)``, so its interval is wider.  A model whose family is not
    known counts as its own family.  Needs the ``family`` column of the models table and at
    least 2 fitted families (else :class:`~forecast.errors.NotApplicable`).

    Parameters
    ----------
    n_draws : int
    seed : int
    """

    name = "family"
    tags = ForecasterTags(is_baseline=True, in_default_run=True, needs_families=2)

    def __init__(self, n_draws: int = 1000, seed: int = 0) -> None:
        self.n_draws = n_draws
        self.seed = seed

    def _fit(self, fitted: EvalData) -> None:
        t = self.fit_table_
        models = fitted.models.set_index("model")
        fam = models["family"].reindex(t["model"]).astype(str)
        if (fam.to_numpy() == t["model"].to_numpy()).all():
            raise NotApplicable(f"task {self.task_!r}: the models table has no family column; family needs one")
        self.families_ = sorted(fam.unique())
        if len(self.families_) < 2:
            raise NotApplicable(
                f"task {self.task_!r}: fitted models come from {len(self.families_)} family at cutoff "
                f"{self.cutoff_:.4g}; family needs at least 2"
            )
        code = {f: i for i, f in enumerate(self.families_)}
        self.fitted_codes_ = fam.map(code).to_numpy(dtype=int)
        x = t["log10_compute"].to_numpy(dtype=float)
        self.center_ = float(x.mean())
        k, n, known = binomial_counts(t)
        n_fam = len(self.families_)

        def build(tau: float, phi: float) -> FlooredBinomial:
            return FlooredBinomial(k, n, x - self.center_, self.chance_, self.fitted_codes_, n_fam, tau, phi)

        def fit_tau(phi: float, start: np.ndarray | None) -> tuple[float, np.ndarray, np.ndarray]:
            cache: dict[float, tuple[np.ndarray, np.ndarray]] = {}

            def neg_marginal(log_tau: float) -> float:
                tau = float(np.exp(log_tau))
                model = build(tau, phi)
                params, neg_hess = model.fit_mode(start)
                cache[log_tau] = (params, neg_hess)
                sign, logdet = np.linalg.slogdet(neg_hess)
                if sign <= 0:
                    return np.inf
                return -(model.loglike(params) - n_fam * np.log(tau) - 0.5 * logdet)

            best = minimize_scalar(neg_marginal, bounds=np.log(TAU_RANGE), method="bounded",
                                   options={"xatol": 0.02})
            log_tau = float(best.x)
            if log_tau not in cache:
                neg_marginal(log_tau)
            return float(np.exp(log_tau)), *cache[log_tau]

        tau, params, _ = fit_tau(1.0, None)
        phi = dispersion(k, n, expit_floor(build(tau, 1.0).eta(params), self.chance_), 2 + n_fam, known)
        if phi != 1.0:
            tau, params, neg_hess = fit_tau(phi, params)
        else:
            neg_hess = -build(tau, phi).hessian(params)
        self.tau_, self.params_, self.dispersion_ = tau, params, phi
        self.cov_ = _cov(neg_hess)
        self._rng = QuasiDraws(self.seed)
        self.coef_draws_ = self._rng.multivariate_normal(params, self.cov_, size=self.n_draws, method="svd")
        self.new_delta_ = self._rng.normal(0.0, tau, size=(self.n_draws, 1))
        self.offsets_ = pd.Series(params[2:], index=self.families_)
        self.diagnostics_.update({"tau": tau, "dispersion": phi, "n_families": n_fam})

    def family_offsets(self) -> FamilyOffsets:
        """Draws of every fitted family's offset (decades of compute) and of a new family's."""
        self._check_fitted()
        return FamilyOffsets(list(self.families_), self.coef_draws_[:, 2:], self.new_delta_[:, 0])

    # per-model offsets: a fitted family's delta, or a new family's draw
    def _delta_draws(self, families: np.ndarray) -> np.ndarray:
        return self.family_offsets().draws(families)

    def _curve(self, x: np.ndarray, delta: np.ndarray, coef: np.ndarray) -> np.ndarray:
        xc = np.atleast_1d(np.asarray(x, dtype=float))[None, :] - self.center_
        return expit_floor(coef[:, :1] + coef[:, 1:2] * (xc + delta), self.chance_)

    def _mean_draws(self, x: np.ndarray) -> np.ndarray:
        if self._own_family_center:
            # the between-model spread (base class) is measured around each fitted model's
            # own family curve, not around the new-family curve
            return self._point_families(x, np.array(self.families_)[self.fitted_codes_])[None, :]
        return self._curve(x, self.new_delta_, self.coef_draws_)

    def _point(self, x: np.ndarray) -> np.ndarray:
        """The estimate's curve for a typical family (offset 0)."""
        return self._curve(x, np.zeros((1, 1)), self.params_[None, :])[0]

    def _point_families(self, x: np.ndarray, families: np.ndarray) -> np.ndarray:
        delta = self.offsets_.reindex(families).fillna(0.0).to_numpy(dtype=float)
        xc = np.atleast_1d(np.asarray(x, dtype=float)) - self.center_
        return expit_floor(self.params_[0] + self.params_[1] * (xc + delta), self.chance_)

    def _held_out_families(self, models: pd.DataFrame) -> np.ndarray:
        fam = family_labels(models)
        self.diagnostics_.update(heldout_report(self.families_, fam))
        return fam

    def sample_models(self, models: pd.DataFrame, kind: str = "observed") -> np.ndarray:
        """Draws per named model, each with its family's offset (see class doc)."""
        self._check_fitted()
        x = np.log10(model_compute(models))
        fam = self._held_out_families(models)
        return self._kind_draws(self._curve(x, self._delta_draws(fam), self.coef_draws_), kind)

    def _point_models(self, models: pd.DataFrame) -> np.ndarray:
        return self._point_families(np.log10(model_compute(models)), self._held_out_families(models))
