"""The base forecaster: the cut-off applied in one place, intervals and thresholds computed once.

Every method returns *draws* of the task's mean accuracy curve at any compute
(:meth:`Forecaster.curve_draws`, the hook :meth:`Forecaster._mean_draws`); point methods
return identical draws.  From them the base class derives, the same way for every method:

* ``predict(compute, level, kind)``: ``kind="mean"`` covers the curve alone;
  ``kind="observed"`` (default) covers the score a new model will get, adding the
  between-model spread estimated from the fitted models' residuals and the binomial
  noise of the task's ``n`` questions;
* ``threshold(tau, budget)``: one threshold per whole-curve draw, summarised.

The checks of compute values and levels live in :mod:`forecast.methods.compute` (their
names are re-exported here).  Over 500 lines on purpose: :class:`Forecaster` is one
contract, its fit, noise model and outputs derived the same way for every method; split
across modules, a method's author would have to read several files to see what the base
class does between ``_fit`` and ``predict``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit, logit

from forecast.curves.draws import BinomialCounts, QuasiDraws
from forecast.curves.predictive import add_kernels, kernel_record
from forecast.metrics.registry import DEFAULT_TARGET, get_metric
from forecast.data.dataset import EvalData
from forecast.data.loading import load_data
from forecast.data.task_table import task_table
from forecast.errors import FitError, InputError, NotApplicable
from forecast.learned_settings import LearnedSettings, NoSettings
from forecast.methods.compute import (
    UNIT_SLIP_DECADES,
    ZERO_OK_SD,
    as_compute,
    check_compute_scale,
    check_level,
    model_compute,
)
from forecast.methods.contract import Constraint, ForecasterTags, Integer, refuse_data
from forecast.threshold import (
    Threshold,
    check_tau,
    first_crossing,
    normalised,
    summarise_crossings,
)

#: decades past the cut-off searched for a threshold
SEARCH_DECADES = 2.0
GRID_POINTS = 241


#: the old name of :func:`model_compute` (kept for one release)
_model_compute = model_compute


def _pool_at(data: EvalData, cutoff: float, fitted: EvalData) -> EvalData:
    """Every task of ``data`` restricted to models at or below ``cutoff``.

    When the tasks do not share one compute scale (FLOPs for some models, parameters for
    others), only the forecast task's own fitted data can be pooled.
    """
    if len(data.task_names) == 1:
        return fitted
    try:
        return data.restrict(cutoff)
    except InputError:
        return fitted


class Forecaster:
    """Base class of all forecasting methods (scikit-learn style estimator).

    The contract of a method (checked by :func:`forecast.testing.check_forecaster`):

    * ``__init__`` stores its parameters unchanged (every parameter has a default, ``seed``
      and ``n_draws`` among them); ``fit`` returns ``self``; learned state ends in ``_``;
    * required hooks: :meth:`_fit` (receives only the fitted models' data, the cut-off
      already applied) and :meth:`_mean_draws` (mean-curve draws at log10 compute, shape
      ``(n_draws, len(x))``; public as :meth:`curve_draws`);
    * optional hooks: :meth:`_point` / :meth:`_point_models` (a point forecast),
      :meth:`sample_models` (forecasts that use more than compute), :meth:`learn_context`
      (settings learned at fit time from every task at the cut-off), ``n_curve_params`` and
      ``noise_scale`` (the residual degrees of freedom, the scale of the between-model
      spread), :meth:`_check_params` (checks beyond ``param_constraints``);
    * declarations in the class body: ``name``, ``tags`` (a
      :class:`~forecast.methods.contract.ForecasterTags`: data kinds handled, whether it
      learns settings, is a baseline, runs by default) and ``param_constraints`` (its own
      parameters' :class:`~forecast.methods.contract.Integer` /
      :class:`~forecast.methods.contract.Boolean` / :class:`~forecast.methods.contract.Spread`
      constraints; the base class merges those of the whole class hierarchy).

    Register a method with :func:`forecast.methods.register`.

    Fitted attributes (end in ``_``): ``task_``, ``cutoff_``, ``scale_``, ``chance_``,
    ``pool_`` (every task of the data, restricted to the cut-off),
    ``n_questions_``, ``fit_table_`` (per fitted model: compute, accuracy, ...),
    ``smallest_compute_`` (the smallest fitted compute: the floor of a plausible query),
    ``spread_`` (between-model spread on the noise scale), ``n_effective_`` (question count
    of the binomial noise: ``n``, or more when the fitted models share their questions' noise,
    i.e. scatter less than binomial), ``diagnostics_``.
    """

    #: how many free parameters the mean curve has (for the residual degrees of freedom)
    n_curve_params: int = 2
    #: scale on which the between-model spread is added: "logit" or "identity"
    noise_scale: str = "identity"
    name: str = "base"
    #: what the method handles and how a backtest uses it (see ForecasterTags)
    tags: ForecasterTags = ForecasterTags()
    #: the dataclass of the settings the method learns (:mod:`forecast.learned_settings`)
    settings_class: type[LearnedSettings] = NoSettings
    #: legal values of the constructor parameters this class adds (merged along the MRO)
    param_constraints: dict[str, Constraint] = {"seed": Integer(0), "n_draws": Integer(10)}

    seed: int
    n_draws: int

    # ------------------------------------------------------------------ fitting
    def get_params(self) -> dict[str, Any]:
        """Constructor parameters (scikit-learn convention)."""
        import inspect

        names = [p for p in inspect.signature(type(self).__init__).parameters if p != "self"]
        return {p: getattr(self, p) for p in names}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    @property
    def learns_context(self) -> bool:
        """True for methods that learn settings from every task's data at the cut-off
        (:meth:`learn_context`); a backtest then learns them once per dataset and cut-off.
        By default the ``learns_settings`` tag; an instance may refine it."""
        return bool(self.tags.learns_settings)

    @classmethod
    def all_param_constraints(cls) -> dict[str, Constraint]:
        """``param_constraints`` of the class and its bases (a subclass's entry wins)."""
        out: dict[str, Constraint] = {}
        for klass in reversed(cls.__mro__):
            out.update(klass.__dict__.get("param_constraints", {}))
        return out

    def check_data(self, data: EvalData) -> None:
        """Refuse data of a kind the method's :attr:`tags` do not declare: one-line
        :class:`~forecast.errors.NotApplicable` naming the method, the data set and its kinds."""
        refuse_data(self.name, self.tags, data)

    def learn_settings(self, pool: EvalData, cutoff: float) -> LearnedSettings:
        """Settings this method learns at fit time from ``pool``: every task's data at or
        below ``cutoff`` (never a model above it), e.g. on pseudo-cut-offs inside the fitted
        range (:mod:`forecast.tuning`), as its :attr:`settings_class` (the hook a method
        overrides; none by default).  A method that overrides :meth:`learn_context` instead
        gets its dict read into :attr:`settings_class`."""
        if type(self).learn_context is not Forecaster.learn_context:
            return self.settings_class.from_dict(self.learn_context(pool, cutoff))
        return self.settings_class()

    def learn_context(self, pool: EvalData, cutoff: float) -> dict[str, Any]:
        """:meth:`learn_settings` as its plain JSON-ready dict (what backtest jobs, the
        settings cache and ``fit(context=...)`` pass around; empty for a method that learns
        none)."""
        if type(self).learn_settings is Forecaster.learn_settings:
            return {}
        return self.learn_settings(pool, cutoff).to_dict()

    def fit(self, data: EvalData | str, cutoff: float, task: str | None = None,
            context: dict[str, Any] | None = None, cache: Any = None) -> Forecaster:
        """Fit on the models with compute ``<= cutoff`` (raw FLOPs or parameters).

        Every row of a model above the cut-off is removed from the results, group and score
        tables and from the models table here, before the method sees the data.

        Parameters
        ----------
        data : EvalData or str
            Evaluation data (or a shipped dataset name / file, loaded with ``load_data``).
        cutoff : float
            Largest compute of a fitted model, raw (e.g. ``8e9`` parameters, ``3.16e22`` FLOPs).
        task : str, optional
            Required when ``data`` holds several tasks.
        context : dict or LearnedSettings, optional
            Settings learned beforehand by :meth:`learn_context` (or :meth:`learn_settings`)
            on the same data at the same cut-off (a backtest learns them once per dataset and cut-off); by default they
            are learned here from every task of ``data`` at or below the cut-off, or read
            back from the learned-settings cache (:mod:`forecast.settings_cache`).
        cache : SettingsCache, bool, path or None
            Where learned settings are remembered across calls: None (default) the user's
            cache folder (``$FORECAST_CACHE_DIR``; off when ``$FORECAST_NO_CACHE=1``), False
            none, a folder or a :class:`~forecast.settings_cache.SettingsCache`.  Ignored when
            ``context`` is given.

        Returns
        -------
        self
        """
        self._check_params()
        if np.ndim(cutoff) != 0:
            raise InputError(f"cutoff must be one raw compute value, got {cutoff!r}")
        cutoff = float(as_compute(cutoff, "cutoff")[0])
        if task is not None and (not isinstance(task, str) or not task.strip()):
            raise InputError(f"task must be a task name, got {task!r}")
        if isinstance(context, LearnedSettings):
            context = context.to_dict()
        if context is not None and not isinstance(context, dict):
            raise InputError(f"context must be a dict from learn_context, got {type(context).__name__}")
        if not isinstance(data, EvalData):
            data = load_data(data)
        self.check_data(data)
        tasks = data.task_names
        if task is None:
            if len(tasks) != 1:
                raise InputError(f"{data.name}: holds {len(tasks)} tasks; name one with task=")
            task = tasks[0]
        full = data.for_task(task)
        lo, hi, scale = full.compute_range(task)
        check_compute_scale(cutoff, lo, "cutoff")
        if cutoff < lo:
            raise InputError(
                f"cutoff {cutoff:.4g} is below the smallest model of task {task!r} ({lo:.4g} "
                f"{scale}); cut-offs are raw compute, not log10 or 1e21 units"
            )
        if cutoff > 10 * hi:
            raise InputError(
                f"cutoff {cutoff:.4g} is more than a decade above the largest model of task "
                f"{task!r} ({hi:.4g} {scale})"
            )
        fitted = full.restrict(cutoff, task)
        # every task's data at or below the cut-off: what a user has when forecasting this
        # task (methods that pool across tasks or tune on pseudo-cut-offs read only this)
        self._pool_args = (data, cutoff, fitted)
        self._pool = None
        self.task_ = task
        self.cutoff_ = cutoff
        self.scale_ = scale
        self.chance_ = fitted.chance(task)
        table = task_table(fitted, task)
        if len(table) < self.n_curve_params + 1:
            raise NotApplicable(
                f"task {task!r}: {len(table)} fitted models at cutoff {cutoff:.4g}; "
                f"{self.name} needs at least {self.n_curve_params + 1}"
            )
        self.fit_table_ = table
        self.smallest_compute_ = float(table["compute"].min())
        # the observation noise of a new model's score is the target metric's declared one
        # (forecast.metrics.registry): a binomial count on the task's questions, or none
        n = table["n_questions"].to_numpy(dtype=float)
        binomial = get_metric(DEFAULT_TARGET).noise == "binomial"
        self.n_questions_ = float(np.nanmax(n)) if binomial and np.isfinite(n).any() else None
        self.diagnostics_: dict[str, Any] = {"engine": "closed-form", "warnings": []}
        # where the learned settings came from: "learned", "cache", "given" or "none"
        self.settings_source_, self.settings_cache_path_ = "none", None
        if context is None:
            context = self._learned_context(cutoff, cache) if self.learns_context else {}
        else:
            self.settings_source_ = "given"
        self.context_: dict[str, Any] = dict(context)
        # the same settings typed (what a method's _fit reads)
        self.settings_ = self.settings_class.from_dict(self.context_)
        self._rng = np.random.default_rng(self.seed)
        self._last_counts = self._noise_points = None
        self._fit(fitted)
        x_fit = table["log10_compute"].to_numpy(dtype=float)
        fitted_draws = self._mean_draws(x_fit)
        if not np.isfinite(fitted_draws).all():
            raise FitError(
                f"{self.name} cannot fit task {task!r} at cutoff {cutoff:.4g}: its curve is undefined "
                f"(fitted accuracies range {table['accuracy'].min():.3g}-{table['accuracy'].max():.3g})"
            )
        if type(self)._estimate_spread is Forecaster._estimate_spread:
            self._estimate_spread(fitted_draws)
        else:  # a subclass's spread may read other draws (e.g. each model's own family curve)
            self._estimate_spread()
        x = x_fit
        self.search_range_ = (float(x.min()), float(np.log10(cutoff) + SEARCH_DECADES))
        return self

    def _learned_context(self, cutoff: float, cache: Any) -> dict[str, Any]:
        """:meth:`learn_context` on :attr:`pool_`, read from the learned-settings cache when
        the same method settings, data and cut-off were learned before (in this process or
        an earlier one; :mod:`forecast.settings_cache`), else learned and stored there."""
        from forecast.data.fingerprint import data_fingerprint
        from forecast.settings_cache import learned_settings, resolve_cache

        found = learned_settings(self, self.pool_, cutoff, data_fingerprint(self.pool_), resolve_cache(cache))
        self.settings_source_ = found.source
        self.settings_cache_path_ = found.path
        return found.settings

    @property
    def pool_(self) -> EvalData:
        """Every task of the data restricted to the cut-off (built on first use)."""
        if getattr(self, "_pool", None) is None:
            if not hasattr(self, "_pool_args"):
                raise InputError(f"{type(self).__name__} is not fitted yet: call fit(data, cutoff) first")
            self._pool = _pool_at(*self._pool_args)
        return self._pool

    def _check_params(self) -> None:
        """One-line errors for constructor parameters of the wrong type or out of range
        (:meth:`all_param_constraints`; a subclass may add checks)."""
        constraints = self.all_param_constraints()
        for name, value in self.get_params().items():
            if name in constraints:
                constraints[name].check(name, value)

    def _fit(self, fitted: EvalData) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _mean_draws(self, x: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        """Accuracy of the mean curve per draw, shape (n_draws, len(x)) (the hook behind
        :meth:`curve_draws`)."""
        raise NotImplementedError

    def curve_draws(self, x: Any) -> np.ndarray:
        """Draws of the mean accuracy curve at log10 compute ``x``: shape (n_draws, len(x)).

        The curve alone, without the between-model spread and question noise that
        :meth:`sample` adds for ``kind="observed"``; a mixture's draws are the mixture's.
        """
        if not hasattr(self, "fit_table_"):
            raise InputError(f"{type(self).__name__} is not fitted yet: call fit(data, cutoff) first")
        return self._mean_draws(np.atleast_1d(np.asarray(x, dtype=float)))

    def _point(self, x: np.ndarray) -> np.ndarray | None:
        """A point forecast at log10 compute ``x`` for methods defined by one (else None:
        the ``mean`` column is then the mean of the draws)."""
        return None

    # ------------------------------------------------------------------ noise model
    def _to_noise(self, acc: np.ndarray) -> np.ndarray:
        if self.noise_scale == "logit":
            n = self.n_questions_ or 1e4
            return logit(np.clip((acc * n + 0.5) / (n + 1.0), 1e-6, 1 - 1e-6))
        return acc

    def _from_noise(self, z: np.ndarray) -> np.ndarray:
        return expit(z) if self.noise_scale == "logit" else z

    def _estimate_spread(self, fitted_draws: np.ndarray | None = None) -> None:
        """Between-model spread from the fitted residuals, binomial noise taken out
        (``fitted_draws``: :meth:`_mean_draws` at the fitted models, when already drawn)."""
        t = self.fit_table_
        x = t["log10_compute"].to_numpy(dtype=float)
        acc = t["accuracy"].to_numpy(dtype=float)
        center = np.median(self._mean_draws(x) if fitted_draws is None else fitted_draws, axis=0)
        resid = self._to_noise(acc) - self._to_noise(np.clip(center, 0.0, 1.0) if self.noise_scale == "logit" else center)
        dof = max(len(x) - self.n_curve_params, 1)
        total = float(np.sum(resid**2) / dof)
        binom = 0.0
        if self.n_questions_:
            p = np.clip(acc, 0.5 / self.n_questions_, 1 - 0.5 / self.n_questions_)
            var = p * (1 - p) / self.n_questions_
            binom = float(np.mean(var / (p * (1 - p)) ** 2 if self.noise_scale == "logit" else var))
        floor = 0.02 if self.noise_scale == "logit" else 0.005
        self.spread_ = float(np.sqrt(max(total - binom, floor**2)))
        self.residual_sd_ = float(np.sqrt(total))
        # Models answering the *same* questions share the questions' sampling noise: when the
        # residuals scatter less than independent binomial noise would, that noise is part of
        # the curve, and a new model's score varies only as much as the residuals show.
        self.n_effective_ = self.n_questions_
        if self.n_questions_ and binom > 0 and total < binom:
            self.n_effective_ = float(self.n_questions_ * binom / max(total, 1e-12))

    def _noise_source(self) -> QuasiDraws:
        """The quasi-random points of the observation noise: the fit's own
        (:class:`~forecast.curves.draws.QuasiDraws`, so a curve draw and its noise are points of
        one low-discrepancy set), or a set seeded from ``seed`` for a method that drew its
        curves otherwise."""
        rng = getattr(self, "_rng", None)
        if isinstance(rng, QuasiDraws):
            return rng
        own = getattr(self, "_noise_points", None)
        if own is None or own.seed != self.seed:  # one point set per fit, not one per call
            own = self._noise_points = QuasiDraws(self.seed)
        return own

    def _observed_mean(self, mean: np.ndarray) -> np.ndarray:
        """Mean of the observed score per column from mean-curve draws ``mean``: the binomial
        noise's mean is its rate, so the mean of the rate over the spread's quasi-random noise
        (no binomial draws; what :meth:`_observed_draws` averages to)."""
        z, _ = self._noise_source().noise(mean.shape)
        return np.clip(self._from_noise(self._to_noise(mean) + self.spread_ * z), 0.0, 1.0).mean(axis=0)

    def _observed_draws(self, mean: np.ndarray, rng: QuasiDraws) -> np.ndarray:
        """Add between-model spread and binomial question noise to mean-curve draws.

        Both by inverse CDFs of quasi-random points (``rng.noise``): the spread's normal
        quantile, then the binomial count's quantile at the drawn rate (one column's draws
        are a stratified sample of its predictive distribution, not a Monte Carlo one)."""
        z, u = rng.noise(mean.shape)
        return self._observed_at(mean, z, u)

    def _observed_at(self, mean: np.ndarray, z: np.ndarray, u: np.ndarray, keep: bool = True) -> np.ndarray:
        """:meth:`_observed_draws` from its noise points: ``z`` (standard normal) the
        between-model spread's, ``u`` (uniform) the binomial count's, each of ``mean``'s shape
        (element by element: the draws of several curves can be made in one call).  ``keep``:
        whether the counts are kept for the next call (:meth:`_counts`; not for a one-off
        batch such as a settings search's)."""
        latent = self._from_noise(self._to_noise(mean) + self.spread_ * z)
        bounding = getattr(self, "_spread_counts", False)
        if not self.n_questions_:
            draws = np.clip(latent, 0.0, 1.0)
            if bounding:
                add_kernels("point", draws, draws)
            return draws
        p = np.clip(latent, 0.0, 1.0)
        n = int(min(round(self.n_effective_), 10**9))
        found = self._counts(u, n, p) if keep else BinomialCounts(u, n, p)
        if bounding:
            # the draws the interval bounds are read from (:meth:`_bound_draws`): each count
            # spread over its lattice step, so that the bounds move continuously; the bounds
            # themselves are the quantiles of the binomial kernels' average (:meth:`_bounds`)
            draws = np.clip(found.spread() / n, 0.0, 1.0)
            add_kernels("binomial", p, draws, n=n)
            return draws
        draws = found.counts / n  # an observed accuracy lies in [0, 1]
        n_real = int(round(self.n_questions_))
        if n != n_real:
            # discrete outcomes: a score on n questions is k/n, so are its draws (their
            # quantiles are those of the predicted count distribution)
            draws = np.round(draws * n_real) / n_real
        return draws

    def _counts(self, u: np.ndarray, n: int, p: np.ndarray) -> BinomialCounts:
        """Binomial counts at points ``u`` and rates ``p``
        (:class:`~forecast.curves.draws.BinomialCounts`).  The last call's are kept on the
        forecaster: an interval's bounds and the draws of the same forecast (:meth:`predict`,
        then :meth:`sample` of the same models) ask for the same counts, the costly part of
        every observed-score draw.  Kept only for exactly equal ``u``, ``n`` and ``p``."""
        last = getattr(self, "_last_counts", None)
        if (last is not None and last[0] == n and last[1].shape == p.shape and np.array_equal(last[1], p)
                and np.array_equal(last[2], u)):
            return last[3]
        found = BinomialCounts(u, n, p)
        self._last_counts = (n, p.copy(), np.array(u, copy=True), found)
        return found

    # ------------------------------------------------------------------ outputs
    def _check_fitted(self) -> None:
        if not hasattr(self, "spread_"):
            raise InputError(f"{type(self).__name__} is not fitted yet: call fit(data, cutoff) first")

    def sample(self, compute: Any, kind: str = "observed") -> np.ndarray:
        """Draws of the accuracy at ``compute``: shape (n_draws, len(compute))."""
        self._check_fitted()
        x = np.log10(check_compute_scale(compute, self.smallest_compute_, "compute"))
        mean = self._mean_draws(x)
        if kind == "mean":
            return mean
        if kind != "observed":
            raise InputError(f"kind must be 'observed' or 'mean', got {kind!r}")
        return self._observed_draws(mean, self._noise_source())

    def _predictive_mean(self, x: np.ndarray, draws: np.ndarray, kind: str) -> np.ndarray:
        """The ``mean`` column at log10 compute ``x``: the point forecast of a method
        defined by one (:meth:`_point`), else the mean of ``draws``."""
        point = self._point(x)
        return draws.mean(axis=0) if point is None else point

    def _predictive_mean_models(self, models: pd.DataFrame, draws: np.ndarray, kind: str) -> np.ndarray:
        """:meth:`_predictive_mean` of named models."""
        point = self._point_models(models)
        return draws.mean(axis=0) if point is None else point

    def set_spread_counts(self, on: bool) -> None:
        """Whether this forecaster's binomial observation noise gives each count spread over
        its lattice step (:meth:`_bound_draws`); a mixture sets it on its parts too."""
        self._spread_counts = bool(on)

    def observed_draws(self, mean: np.ndarray, n_points: int | None = None) -> np.ndarray:
        """Observed-score draws from mean-curve draws ``mean`` with this forecaster's noise
        model (the hook a mixture draws its parts' scores with).  ``n_points``: ``mean`` holds
        the first rows of a set of that many draws, whose first noise points they get."""
        rng = self._noise_source()
        return self._observed_draws(mean, rng if n_points is None else rng.head(n_points))

    def observed_mean(self, mean: np.ndarray) -> np.ndarray:
        """Mean of the observed score per column from mean-curve draws ``mean`` (no binomial
        draws: the mean of the noise model's rate, what :meth:`observed_draws` averages to)."""
        return self._observed_mean(mean)

    def _bound_draws(self, fun, *args) -> np.ndarray:
        """``fun(*args)`` (:meth:`sample` or :meth:`sample_models`) with every binomial count
        spread over its lattice step (:func:`~forecast.curves.draws.binomial_quantile` with
        ``spread=True``): the draws the interval bounds of ``kind="observed"`` are read from."""
        self.set_spread_counts(True)
        try:
            return fun(*args)
        finally:
            self.set_spread_counts(False)

    def _bounds(self, draws: np.ndarray, fun, args, kind: str, level: float) -> tuple[np.ndarray, np.ndarray]:
        """The equal-tailed interval at ``level``: quantiles of ``draws``; for
        ``kind="observed"``, quantiles of the predictive distribution, the average over the
        draws of :meth:`_bound_draws` (``fun(*args)``, the same points with each count's
        lattice step spread) of each draw's noise kernel
        (:class:`~forecast.curves.predictive.KernelRecord`; the draws' own quantiles where
        the kernels do not account for every draw)."""
        alpha = (1.0 - level) / 2.0
        if kind != "observed":
            return np.quantile(draws, [alpha, 1.0 - alpha], axis=0)
        with kernel_record() as kernels:
            draws = self._bound_draws(fun, *args)
        return kernels.quantiles([alpha, 1.0 - alpha], draws)

    def predict(self, compute: Any, level: float = 0.9, kind: str = "observed") -> pd.DataFrame:
        """Tidy forecast: ``compute, log10_compute, mean, lower, upper, level, kind``.

        ``mean`` is the mean of the draws, or the point forecast of a method defined by one
        (the regression baselines' OLS estimate, the published recipe's curve), or the
        analytic mean a method gives (the mixture's weighted mean of its parts' means).

        ``lower``/``upper`` bound the equal-tailed interval at ``level``.  For ``kind="mean"``
        they are the ``(1 - level) / 2`` and ``(1 + level) / 2`` quantiles of the curve draws.
        For ``kind="observed"`` they are those quantiles of the predictive distribution of
        the observed score -- the mixture over curve draws of the score's noise model (the
        between-model spread, then the binomial count of correct answers on the task's
        questions) -- with every count's probability spread evenly over its lattice step
        (count ``k`` of ``n`` over ``[(k - 1/2) / n, (k + 1/2) / n]``, kept in [0, 1]): the
        predictive CDF interpolated linearly between the half-counts, so that a bound moves
        continuously with the draws instead of jumping by one question.  They are read off
        the same quasi-random points as :meth:`sample` (each count placed where its uniform
        point lies inside the count's mass).  Methods with a noise model of their own (no
        binomial count) give their draws' quantiles.  The interval is widened to hold
        ``mean`` where a very skewed predictive puts the mean outside it.
        """
        level = check_level(level)
        comp = as_compute(compute)
        draws = self.sample(comp, kind)
        lower, upper = self._bounds(draws, self.sample, (comp, kind), kind, level)
        mean = self._predictive_mean(np.log10(comp), draws, kind)
        # a very skewed (discrete) predictive can put its mean outside the central interval:
        # widen the interval to hold the point forecast
        lower, upper = np.minimum(lower, mean), np.maximum(upper, mean)
        return pd.DataFrame(
            {
                "compute": comp,
                "log10_compute": np.log10(comp),
                "mean": mean,
                "lower": lower,
                "upper": upper,
                "level": level,
                "kind": kind,
            }
        )

    def sample_models(self, models: pd.DataFrame, kind: str = "observed") -> np.ndarray:
        """Draws of the scores of named (held-out) models: shape (n_draws, len(models)).

        ``models`` has a ``compute`` column (raw) and may carry ``model, family, params,
        tokens``: what is known of a model *before* it is evaluated.  Methods that use more
        than compute (a family offset, the split of compute into parameters and tokens)
        override this; the default forecasts from compute alone.
        """
        return self.sample(model_compute(models), kind)

    def predict_models(self, models: pd.DataFrame, level: float = 0.9, kind: str = "observed") -> pd.DataFrame:
        """:meth:`predict` for named models (see :meth:`sample_models`); one row per model."""
        level = check_level(level)
        comp = model_compute(models)
        draws = self.sample_models(models, kind)
        lower, upper = self._bounds(draws, self.sample_models, (models, kind), kind, level)
        mean = self._predictive_mean_models(models, draws, kind)
        out = pd.DataFrame({
            "compute": comp, "log10_compute": np.log10(comp), "mean": mean,
            "lower": np.minimum(lower, mean), "upper": np.maximum(upper, mean),  # as in predict
            "level": level, "kind": kind,
        })
        if "model" in models.columns:
            out.insert(0, "model", models["model"].astype(str).to_numpy())
        return out

    def _point_models(self, models: pd.DataFrame) -> np.ndarray | None:
        """Point forecast of named models (default: the compute-only point forecast)."""
        return self._point(np.log10(model_compute(models)))

    def search_grid(self) -> np.ndarray:
        """log10 compute grid searched for thresholds."""
        self._check_fitted()
        return np.linspace(*self.search_range_, GRID_POINTS)

    def threshold(self, tau: float = 0.25, budget: float | None = None, level: float = 0.9) -> Threshold:
        """Smallest compute where the mean curve's normalised accuracy reaches ``tau``.

        Searched from the smallest fitted compute to two decades above the cut-off; one
        threshold per whole-curve draw.  ``budget`` (raw compute) adds
        ``P(threshold <= budget)``.
        """
        tau = check_tau(tau)
        level = check_level(level)
        grid = self.search_grid()
        if budget is not None:
            budget = float(check_compute_scale(budget, self.smallest_compute_, "budget")[0])
            if np.log10(budget) > grid[-1]:
                # P(threshold <= budget) needs the curves out to the budget
                step = grid[1] - grid[0]
                grid = np.arange(grid[0], np.log10(budget) + step, step)
        curves = normalised(self._mean_draws(grid), self.chance_)
        crossings = first_crossing(grid, curves, tau)
        return summarise_crossings(crossings, tau, level, self.search_range_, budget)
