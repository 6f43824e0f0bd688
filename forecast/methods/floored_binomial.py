"""The chance-floored binomial likelihood the sigmoid baselines fit (statsmodels).

:class:`FlooredBinomial` is a statsmodels ``GenericLikelihoodModel`` of correct counts,
``p = chance + (1 - chance) sigmoid(a + b (x + delta_f))``, penalised by the Jeffreys prior
of ``(a, b)`` and a normal random effect of the family offsets ``delta_f``;
:func:`fit_floored_sigmoid` fits it with its quasi-likelihood dispersion.  Beside it the
helpers every binomial baseline shares: :func:`binomial_counts`, :func:`dispersion`,
:func:`coef_draws`.  The baselines themselves are in :mod:`forecast.methods.baselines`.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy.optimize import fmin_bfgs
from scipy.special import expit, logit
from statsmodels.base.model import GenericLikelihoodModel
from statsmodels.tools.numdiff import approx_fprime

from forecast.curves.draws import QuasiDraws
from forecast.curves.ols import ols_coef_draws
from forecast.errors import FitError


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


def coef_draws(params: np.ndarray, cov: np.ndarray, df: float | None, n_draws: int,
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
        """Numerical Jacobian of :meth:`score`, symmetrized; kept for the last ``params`` (the
        Newton polish's final check and :meth:`fit_mode`'s result ask for it at the same
        point).  Returns a new array."""
        params = np.asarray(params, dtype=float)
        key = params.tobytes()
        last = getattr(self, "_last_hessian", None)
        if last is None or last[0] != key:
            h = approx_fprime(params, self.score, centered=True)
            last = self._last_hessian = (key, (h + h.T) / 2)
        return last[1].copy()

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


def pinv_cov(neg_hess: np.ndarray) -> np.ndarray:
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
    return params, pinv_cov(neg_hess), phi


def expit_floor(eta: np.ndarray, chance: float) -> np.ndarray:
    """``chance + (1 - chance) sigmoid(eta)``."""
    return chance + (1.0 - chance) * expit(eta)
