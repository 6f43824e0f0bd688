"""Observational scaling (Ruan, Maddison & Hashimoto, 2024) behind the Forecaster interface.

A few principal components of the standard benchmarks act as "capabilities"; a downstream
score is a sigmoid of them.  The recipe, fitted only on the models at or below the cut-off
(:attr:`Forecaster.pool_`):

1. **inputs**: the standard benchmarks (:data:`forecast.data.obsscaling.STANDARD_BENCHMARKS`)
   minus the target when it is one of them, minus GSM8K for arithmetic targets;
2. **imputation** (:class:`LowRankImputer`): a model's missing input scores are filled by
   iterative low-rank PCA (scikit-learn ``PCA`` inside the loop), clipped to [0, 1];
3. **capabilities**: PCA of the centred, unstandardised scores, ``n_components = 3``;
4. **link**: ``y = chance + (1 - chance) * sigmoid(beta . S + alpha)`` by least squares
   (``scipy.optimize.least_squares``) on the fitted models with a target score;
5. form (a), ``obsscaling`` -- **from compute**: ``S_k = theta_k log10 C + nu_{family,k}``
   (statsmodels OLS with one dummy per family: the slope is shared, every family with a
   fitted model has its offset); a family with no fitted model gets an offset drawn from
   the spread of the fitted families' offsets (a normal with their mean and Ledoit-Wolf
   covariance, scikit-learn);
   form (b), ``obsscaling_given_scores`` -- **from the model's own scores**: a held-out model's
   scores on the inputs (the ``score:<task>`` columns of the models table the backtest hands
   :meth:`~Forecaster.sample_models`) are completed through the fitted imputer's basis and
   projected on the fitted PCA basis; its target score is never read.

Intervals: the family regression and the link are refitted on ``n_boot`` bootstrap samples
of *families* (whole families resampled with replacement, not models); draw ``d`` uses
replicate ``d mod n_boot``.  The observed-score interval adds the fitted models' residual
spread on the logit scale (base class): around each model's family line for form (a),
around the link for form (b).

What a forecast without named models means: :meth:`~Forecaster.sample`, ``predict``,
thresholds and curves are, for both forms, form (a)'s forecast of a model of a *new*
family at that compute (a compute grid carries no benchmark scores).  A held-out model
with none of its input scores is forecast by form (a) too, with form (a)'s spread.

Fixed a priori, not tuned: ``n_components = 3`` (the authors' choice; about 97% of the
variance of these benchmarks); at least :data:`MIN_FAMILIES` fitted families (a spread of
family offsets needs three) and ``n_components + 3`` fitted models with a target score.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import least_squares
from scipy.special import expit, logit

from forecast.data.dataset import EvalData
from forecast.data.obsscaling import ARITHMETIC_PREFIX, STANDARD_BENCHMARKS
from forecast.errors import InputError, NotApplicable
from forecast.methods.base import Forecaster, model_compute
from forecast.methods.contract import ForecasterTags
from forecast.methods.families import FamilyOffsets, FamilySpread, family_labels, heldout_report

#: fewest fitted families (the spread of the offsets of a new family needs three)
MIN_FAMILIES = 3
#: prefix of the per-model score columns of a held-out models table (form b)
SCORE_PREFIX = "score:"
#: attempts at a bootstrap sample whose regressions are identified, per replicate
MAX_RESAMPLES = 20


def pca_inputs(target: str, available: list[str]) -> list[str]:
    """The PCA inputs of ``target``: the standard benchmarks present in ``available``, minus
    the target itself, minus GSM8K when the target is an arithmetic task."""
    drop = {target}
    if target.startswith(ARITHMETIC_PREFIX):
        drop.add("GSM8K")
    return [b for b in STANDARD_BENCHMARKS if b in available and b not in drop]


class LowRankImputer:
    """Iterative low-rank PCA imputation of missing scores, clipped to [0, 1].

    Missing entries start at their column's mean; then, until the largest change of an
    imputed entry is below ``tol`` (or ``max_iter`` rounds), a ``PCA(n_components)`` is fitted
    to the completed matrix and the missing entries are replaced by its reconstruction,
    clipped to [0, 1].

    Parameters
    ----------
    n_components : int
    max_iter : int
        Most rounds (the EM-like loop converges linearly: slowly where a missing entry is
        weakly determined).
    tol : float
        Largest change of an imputed score (1e-4: a hundredth of a percentage point) that
        ends the loop.

    Attributes
    ----------
    filled_ : ndarray
        The completed training matrix.
    pca_ : sklearn.decomposition.PCA
        The last low-rank fit (its basis completes new rows, :meth:`transform`).
    n_iter_ : int
    converged_ : bool
        Whether the last change was below ``tol`` (else ``max_iter`` rounds ran: a row missing
        several entries can drift slowly along a weakly determined direction).
    """

    def __init__(self, n_components: int = 3, max_iter: int = 1000, tol: float = 1e-4) -> None:
        self.n_components = n_components
        self.max_iter = max_iter
        self.tol = tol

    def fit(self, X: np.ndarray) -> LowRankImputer:
        from sklearn.decomposition import PCA

        X = np.asarray(X, dtype=float)
        missing = ~np.isfinite(X)
        if missing.all(axis=0).any():
            raise InputError(f"column {int(np.flatnonzero(missing.all(axis=0))[0])} has no score to impute from")
        k = min(self.n_components, X.shape[1] - 1, X.shape[0] - 1)
        if k < 1:
            raise InputError(f"low-rank imputation needs at least 2 rows and 2 columns, got {X.shape}")
        filled = np.where(missing, np.nanmean(X, axis=0)[None, :], X)
        pca = PCA(k).fit(filled)
        n_iter, change = 0, 0.0
        if missing.any():
            for n_iter in range(1, self.max_iter + 1):
                recon = np.clip(pca.inverse_transform(pca.transform(filled)), 0.0, 1.0)
                change = float(np.max(np.abs(recon[missing] - filled[missing])))
                filled[missing] = recon[missing]
                pca = PCA(k).fit(filled)
                if change < self.tol:
                    break
        self.filled_, self.pca_, self.n_iter_ = filled, pca, n_iter
        self.converged_ = bool(change < self.tol)
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Complete rows of new models through the fitted basis: each row's low-rank
        coordinates are fitted (least squares) to its observed entries, its missing entries
        are the reconstruction, clipped to [0, 1].  A row with no observed entry is refused."""
        X = np.atleast_2d(np.asarray(X, dtype=float)).copy()
        mean, comp = self.pca_.mean_, self.pca_.components_
        for row in X:
            obs = np.isfinite(row)
            if obs.all():
                continue
            if not obs.any():
                raise InputError("a model with no input score cannot be completed")
            coef = np.linalg.lstsq(comp[:, obs].T, row[obs] - mean[obs], rcond=None)[0]
            row[~obs] = np.clip(mean + coef @ comp, 0.0, 1.0)[~obs]
        return X


def link_predict(params: np.ndarray, S: np.ndarray, chance: float) -> np.ndarray:
    """``chance + (1 - chance) * sigmoid(beta . S + alpha)``; ``params = (alpha, beta...)``.

    ``params`` may hold one row per draw (shape (n_draws, K+1)) with ``S`` of shape
    (n_draws, n, K), or one row with ``S`` of shape (n, K)."""
    params = np.asarray(params, dtype=float)
    if params.ndim == 1:
        return chance + (1.0 - chance) * expit(params[0] + S @ params[1:])
    eta = params[:, :1] + np.einsum("dnk,dk->dn", S, params[:, 1:])
    return chance + (1.0 - chance) * expit(eta)


def fit_link(S: np.ndarray, y: np.ndarray, chance: float, start: np.ndarray | None = None) -> np.ndarray:
    """Least-squares fit of :func:`link_predict` to scores ``y`` (``alpha, beta...``)."""
    if start is None:
        norm = np.clip((np.mean(y) - chance) / max(1.0 - chance, 1e-9), 0.02, 0.98)
        start = np.concatenate([[logit(norm)], np.zeros(S.shape[1])])
    design = np.column_stack([np.ones(len(S)), S])

    def jac(p: np.ndarray) -> np.ndarray:
        q = expit(design @ p)
        return ((1.0 - chance) * q * (1.0 - q))[:, None] * design

    res = least_squares(lambda p: link_predict(p, S, chance) - y, start, jac=jac, method="trf")
    return res.x


def family_trend(S: np.ndarray, x: np.ndarray, groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``S_k = theta_k x + nu_{group,k}`` by OLS with one dummy per group (statsmodels).

    Returns ``theta`` (K,) and the offsets (n_groups, K), groups in sorted order of their codes
    ``groups`` (integers 0..G-1).  Raises ``np.linalg.LinAlgError`` when the slope is not
    identified (no group with two distinct compute values).
    """
    from statsmodels.regression.linear_model import OLS

    n_groups = int(groups.max()) + 1
    design = np.column_stack([x, np.eye(n_groups)[groups]])
    if np.linalg.matrix_rank(design) < design.shape[1]:
        raise np.linalg.LinAlgError("the shared slope is not identified")
    params = np.asarray(OLS(S, design).fit().params).reshape(design.shape[1], -1)
    theta, nu = params[0], params[1:]
    return theta, nu


class ObsScaling(FamilySpread, Forecaster):
    """Observational scaling, form (a): a model's score from its compute and family.

    See the module docstring for the recipe.  Needs the standard benchmarks in the data
    (every task's scores at the cut-off are in :attr:`pool_`), at least :data:`MIN_FAMILIES`
    fitted families and ``n_components + 3`` fitted models with a target score (else
    :class:`~forecast.errors.NotApplicable`, which a backtest records as ``skipped``).

    Parameters
    ----------
    n_components : int
        Principal components (capabilities); 3 as the authors.
    n_boot : int
        Bootstrap replicates over families (each refits the family regression and the link).
    n_draws : int
        Draws of every forecast (draw ``d`` uses replicate ``d mod n_boot``).
    seed : int
        Same seed, same output.

    Attributes
    ----------
    inputs_ : list of str
        The PCA inputs.
    imputer_ : LowRankImputer
    pca_ : sklearn.decomposition.PCA
    theta_ : ndarray (K,)
        Slope of every capability in log10 compute, shared by the families.
    offsets_ : DataFrame
        Each fitted family's capability offsets ``nu`` (families x components).
    link_ : ndarray
        ``alpha, beta_1..beta_K`` of the link.
    families_ : list of str
    """

    name = "obsscaling"
    tags = ForecasterTags(handles=frozenset({"task_level", "multi_family"}), in_default_run=True,
                          default_on=frozenset({"multi_family"}))
    #: the link is fitted by least squares on the score scale: its residuals are the noise
    noise_scale = "identity"

    def __init__(self, n_components: int = 3, n_boot: int = 200, n_draws: int = 1000, seed: int = 0) -> None:
        self.n_components = n_components
        self.n_boot = n_boot
        self.n_draws = n_draws
        self.seed = seed

    @property
    def n_curve_params(self) -> int:  # type: ignore[override]
        return int(self.n_components) + 1 if isinstance(self.n_components, (int, np.integer)) else 2

    def _check_params(self) -> None:
        super()._check_params()
        for name, lo in (("n_components", 1), ("n_boot", 10)):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or isinstance(value, (bool, np.bool_)) or value < lo:
                raise InputError(f"{self.name}: {name} must be an integer of at least {lo}, got {value!r}")

    # ------------------------------------------------------------------ fit
    def _capability_table(self) -> pd.DataFrame:
        """Per model at or below the cut-off with any input score: ``model, family, x`` and
        its input scores (NaN where missing)."""
        pool = self.pool_
        if pool.scores is None:
            raise NotApplicable(f"{self.name}: task {self.task_!r} has no whole-task scores")
        s = pool.scores[pool.scores["metric"] == "accuracy"]
        self.inputs_ = pca_inputs(self.task_, sorted(set(s["task"])))
        if len(self.inputs_) < self.n_components + 1:
            raise NotApplicable(
                f"{self.name}: task {self.task_!r} has {len(self.inputs_)} standard-benchmark inputs at cutoff "
                f"{self.cutoff_:.4g}; {self.n_components} components need {self.n_components + 1}")
        wide = (s[s["task"].isin(self.inputs_)].drop_duplicates(["task", "model"])
                .pivot(index="model", columns="task", values="value").reindex(columns=self.inputs_))
        wide = wide[wide.notna().any(axis=1)]
        try:
            compute = pool.compute_table().set_index("model")["log10_compute"]
        except InputError as exc:
            raise NotApplicable(f"{self.name}: {exc}") from None
        wide = wide[wide.index.isin(compute.index)]
        models = pool.models.drop_duplicates("model").set_index("model").reindex(wide.index).reset_index()
        table = pd.DataFrame({"model": wide.index.astype(str), "family": family_labels(models),
                              "x": compute.reindex(wide.index).to_numpy(dtype=float)})
        return pd.concat([table, wide.reset_index(drop=True)], axis=1)

    def _fit(self, fitted: EvalData) -> None:
        from sklearn.decomposition import PCA

        table = self._capability_table()
        families = sorted(set(table["family"]))
        if len(families) < MIN_FAMILIES:
            raise NotApplicable(f"{self.name}: {len(families)} families with standard-benchmark scores at "
                                f"cutoff {self.cutoff_:.4g}; needs at least {MIN_FAMILIES}")
        X = table[self.inputs_].to_numpy(dtype=float)
        self.imputer_ = LowRankImputer(self.n_components).fit(X)
        self.pca_ = PCA(self.n_components).fit(self.imputer_.filled_)
        S = self.pca_.transform(self.imputer_.filled_)
        x = table["x"].to_numpy(dtype=float)
        codes = np.array([families.index(f) for f in table["family"]])
        target = self.fit_table_.set_index("model")["accuracy"]
        y = target.reindex(table["model"]).to_numpy(dtype=float)
        has_y = np.isfinite(y)
        if has_y.sum() < self.n_components + 3:
            raise NotApplicable(f"{self.name}: task {self.task_!r} has {int(has_y.sum())} fitted models with "
                                f"standard-benchmark scores; needs at least {self.n_components + 3}")
        try:
            self.theta_, nu = family_trend(S, x, codes)
        except np.linalg.LinAlgError:
            raise NotApplicable(f"{self.name}: no family has two compute values at cutoff {self.cutoff_:.4g}; "
                                "the slope in compute is not identified") from None
        self.link_ = fit_link(S[has_y], y[has_y], self.chance_)
        self.families_ = families
        self.offsets_ = pd.DataFrame(nu, index=families, columns=[f"PC{k + 1}" for k in range(S.shape[1])])
        self.capabilities_ = pd.DataFrame(S, index=table["model"], columns=self.offsets_.columns)
        self._table, self._S, self._codes, self._y = table, S, codes, y
        self._bootstrap(x, S, codes, y)
        self.diagnostics_.update({
            "inputs": list(self.inputs_), "n_families": len(families), "n_capability_models": len(table),
            "imputed_entries": int((~np.isfinite(X)).sum()), "imputer_iterations": int(self.imputer_.n_iter_),
            "imputer_converged": self.imputer_.converged_,
            "explained_variance": float(self.pca_.explained_variance_ratio_.sum()),
        })

    def _bootstrap(self, x: np.ndarray, S: np.ndarray, codes: np.ndarray, y: np.ndarray) -> None:
        """Refit the family regression and the link on bootstrap samples of families."""
        from sklearn.covariance import LedoitWolf

        rng = self._rng
        n_fam, K = len(self.families_), S.shape[1]
        members = [np.flatnonzero(codes == f) for f in range(n_fam)]
        thetas, offsets, links, new_mean, new_chol = [], [], [], [], []
        for _ in range(self.n_boot):
            for _attempt in range(MAX_RESAMPLES):
                picked = rng.integers(0, n_fam, n_fam)
                rows = np.concatenate([members[f] for f in picked])
                copy = np.concatenate([np.full(len(members[f]), i) for i, f in enumerate(picked)])
                keep_y = np.isfinite(y[rows])
                if keep_y.sum() < K + 2 or len(set(picked)) < 2:
                    continue
                try:
                    theta, _ = family_trend(S[rows], x[rows], np.unique(copy, return_inverse=True)[1])
                    link = fit_link(S[rows][keep_y], y[rows][keep_y], self.chance_, self.link_)
                except np.linalg.LinAlgError:
                    continue
                break
            else:  # pragma: no cover - only on degenerate data
                theta, link, picked = self.theta_, self.link_, np.arange(n_fam)
            # given the slope, a family's OLS offset is its models' mean residual
            nu = np.array([np.mean(S[m] - np.outer(x[m], theta), axis=0) for m in members])
            drawn = nu[picked]
            cov = LedoitWolf().fit(drawn).covariance_
            thetas.append(theta)
            offsets.append(nu)
            links.append(link)
            new_mean.append(drawn.mean(axis=0))
            new_chol.append(np.linalg.cholesky(cov + 1e-12 * np.eye(K)))
        rep = np.arange(self.n_draws) % self.n_boot
        self.theta_draws_ = np.array(thetas)[rep]
        self.link_draws_ = np.array(links)[rep]
        z = rng.standard_normal((self.n_draws, K))
        new = np.array(new_mean)[rep] + np.einsum("dkj,dj->dk", np.array(new_chol)[rep], z)
        self.family_offsets_ = FamilyOffsets(list(self.families_), np.array(offsets)[rep], new)

    # ------------------------------------------------------------------ forecasts
    def _from_compute(self, x: np.ndarray, labels: np.ndarray | None) -> np.ndarray:
        """Form (a) draws at log10 compute ``x`` for models of families ``labels`` (None:
        a new family), shape (n_draws, len(x))."""
        x = np.atleast_1d(np.asarray(x, dtype=float))
        if labels is None:
            nu = np.repeat(self.family_offsets_.new[:, None, :], x.size, axis=1)
        else:
            nu = self.family_offsets_.draws(labels)
        S = self.theta_draws_[:, None, :] * x[None, :, None] + nu
        return link_predict(self.link_draws_, S, self.chance_)

    def _fitted_point(self) -> np.ndarray:
        """In-sample prediction of every fitted model (the centre of the residual spread):
        form (a) from its family's line."""
        table = self._table.set_index("model")
        x = table["x"].reindex(self.fit_table_["model"]).to_numpy(dtype=float)
        nu = self.offsets_.reindex(table["family"].reindex(self.fit_table_["model"])).to_numpy(dtype=float)
        S = np.outer(x, self.theta_) + nu
        out = link_predict(self.link_, S, self.chance_)
        # a fitted model without input scores: its new-family median
        return np.where(np.isfinite(out), out, np.median(self._from_compute(x, None), axis=0))

    def _mean_draws(self, x: np.ndarray) -> np.ndarray:
        if self._own_family_center:
            return self._fitted_point()[None, :]
        return self._from_compute(x, None)

    def _noisy(self, mean: np.ndarray, spread: float, kind: str) -> np.ndarray:
        """:meth:`_kind_draws` with the between-model spread ``spread``."""
        saved = self.spread_
        self.spread_ = spread
        try:
            return self._kind_draws(mean, kind)
        finally:
            self.spread_ = saved

    def sample_models(self, models: pd.DataFrame, kind: str = "observed") -> np.ndarray:
        """Draws per named model from its compute and family (a fitted family's offsets, or
        a new family's draws)."""
        self._check_fitted()
        x = np.log10(model_compute(models))
        labels = family_labels(models)
        self.diagnostics_.update(heldout_report(self.families_, labels))
        return self._noisy(self._from_compute(x, labels), self.spread_, kind)

    def _point_models(self, models: pd.DataFrame) -> np.ndarray | None:
        return None


class ObsScalingGivenScores(ObsScaling):
    """Observational scaling, form (b): a model's score from its own standard-benchmark scores.

    The held-out models table passed to :meth:`sample_models` / :meth:`predict_models` carries
    one column ``score:<task>`` per other task of the data (the model's own scores; NaN where
    it has none).  Only the PCA inputs' columns are read; partly missing inputs are completed
    through the fitted imputer's basis.  A model with none of them, and every forecast
    without named models (:meth:`sample` on a compute grid, thresholds), falls back to form
    (a) (compute and family).  The observed-score spread is the link's residual spread around
    the fitted models' own capabilities.

    Parameters are those of :class:`ObsScaling`.
    """

    name = "obsscaling_given_scores"

    def _fit(self, fitted: EvalData) -> None:
        super()._fit(fitted)
        # the link's own residual spread (form b); ``spread_`` (form a) is set by the base fit
        y = self._y
        keep = np.isfinite(y)
        pred = link_predict(self.link_, self._S[keep], self.chance_)
        resid = self._to_noise(y[keep]) - self._to_noise(pred)
        dof = max(int(keep.sum()) - self.n_curve_params, 1)
        floor = 0.005  # the base class's floor on the identity scale
        self.score_spread_ = float(max(np.sqrt(np.sum(resid ** 2) / dof), floor))

    def _given_capabilities(self, models: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Capabilities of the models with at least one input score, and which those are."""
        cols = [f"{SCORE_PREFIX}{b}" for b in self.inputs_]
        X = np.column_stack([
            pd.to_numeric(models[c], errors="coerce").to_numpy(dtype=float) if c in models.columns
            else np.full(len(models), np.nan) for c in cols])
        given = np.isfinite(X).any(axis=1)
        bad = np.isfinite(X) & ((X < 0) | (X > 1))
        if bad.any():
            i, j = np.argwhere(bad)[0]
            name = models["model"].iloc[i] if "model" in models.columns else f"row {i}"
            raise InputError(f"{self.name}: column {cols[j]!r} of model {name!r} is {X[i, j]:g}, not a score in [0, 1]")
        S = np.full((len(models), self.pca_.n_components_), np.nan)
        if given.any():
            S[given] = self.pca_.transform(self.imputer_.transform(X[given]))
        return S, given

    def sample_models(self, models: pd.DataFrame, kind: str = "observed") -> np.ndarray:
        """Draws per named model from its own input scores (form a where it has none)."""
        self._check_fitted()
        compute = model_compute(models)
        S, given = self._given_capabilities(models)
        labels = family_labels(models)
        self.diagnostics_.update(heldout_report(self.families_, labels))
        self.diagnostics_["heldout_without_scores"] = int((~given).sum())
        out = np.empty((self.n_draws, len(models)))
        if given.any():
            S_d = np.repeat(S[given][None, :, :], self.n_draws, axis=0)
            mean = link_predict(self.link_draws_, S_d, self.chance_)
            out[:, given] = self._noisy(mean, self.score_spread_, kind)
        if (~given).any():
            mean = self._from_compute(np.log10(compute[~given]), labels[~given])
            out[:, ~given] = self._noisy(mean, self.spread_, kind)
        return out


__all__ = ["ObsScaling", "ObsScalingGivenScores", "LowRankImputer", "pca_inputs", "fit_link",
           "link_predict", "family_trend"]
