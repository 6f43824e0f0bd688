"""The ``family`` baseline: a chance-floored sigmoid with a per-family efficiency offset.

:class:`FamilySigmoid` (re-exported by :mod:`forecast.methods.baselines`) fits the
likelihood of :mod:`forecast.methods.floored_binomial` with one normal random effect per
model family in log compute, its spread by empirical Bayes; ``slice_sandwich`` reads its
offsets on task-level data of several families.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import minimize_scalar

from forecast.curves.draws import QuasiDraws
from forecast.data.dataset import EvalData
from forecast.errors import NotApplicable
from forecast.methods.base import Forecaster, model_compute
from forecast.methods.contract import ForecasterTags
from forecast.methods.families import FamilyOffsets, FamilySpread, family_labels, heldout_report
from forecast.methods.floored_binomial import (
    FlooredBinomial,
    binomial_counts,
    dispersion,
    expit_floor,
    pinv_cov,
)

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
        self.cov_ = pinv_cov(neg_hess)
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
