"""Our Slice-and-Sandwich: bounded per-slice curves, all slices combined, with uncertainty.

Pipeline for one task, on the fitted models only:

1. slices: cross-fitted quantile (or IRT) difficulty slices of per-question data, or the
   published groups whose difficulty horizon is not above the cut-off;
2. per-slice curve of the slice score against ``x = log10 compute`` on the logit scale of
   the bounded score (so every forecast stays inside the metric's range), as a
   polynomial whose higher powers are shrunk by their prior (so extrapolation does not
   diverge): closed-form conjugate (default), OLS, or one PyMC model of all slices;
3. sandwich: question-weighted mean of all slices;
4. map to accuracy with the map's uncertainty (identity when the slices score accuracy);
5. thresholds per curve draw, and the easy slice's turn from falling to rising.

On task-level data (one score per model and task: one slice of the whole task) whose
fitted models come from at least two families, every family gets an efficiency offset in
log compute, learned by the ``family`` baseline (:class:`~forecast.methods.baselines.FamilySigmoid`:
a normal random effect, its spread by empirical Bayes): the curve is fitted to the models
at their family-adjusted compute; a held-out model of a fitted family gets its family's
offset, a model of a new family (and any forecast from compute alone) an offset drawn from
the learned spread, so its interval is wider.

The mixture with the component methods is :mod:`forecast.methods.mixture`, the learned
settings :mod:`forecast.methods.slice_settings`, the slice report and the easy slice's turn
:mod:`forecast.methods.slice_report`.  Over 500 lines on purpose: what is left is one
estimator (its parameters' documentation, the three curve engines, the slices, the family
offsets and the draws built from them), and its fit and draws read the same fitted state.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit, logit

from forecast.curves.basis import design, from_link, to_link
from forecast.curves.conjugate import fit_conjugate_slices
from forecast.curves.draws import CurveDraws, QuasiDraws, shared_points
from forecast.curves.ols import fit_ols_slices, ols_summary_frame
from forecast.data.dataset import EvalData
from forecast.errors import InputError, NotApplicable, SamplerWarning
from forecast.methods.base import Forecaster, as_compute, check_compute_scale, check_level, model_compute
from forecast.methods.contract import Boolean, ForecasterTags, Integer, Spread
from forecast.methods.families import FamilyOffsets, FamilySpread, family_labels, fitted_family_labels, heldout_report
from forecast.sandwich import AccuracyMap, combine, fit_accuracy_map
from forecast.methods.mixture import DEFAULT_COMPONENTS, Mixture, component_names
from forecast.methods.slice_settings import SKIPPED_FAMILIES, SliceSandwichSettings, learn_slice_sandwich
from forecast.methods.slice_report import SliceReport, easy_cubic, first_turns, slice_report
from forecast.slicing import (
    MIN_PER_SLICE,
    Slices,
    group_slices,
    legal_group_horizons,
    quantile_slices,
    score_matrix,
    whole_task_slice,
)
from forecast.threshold import Threshold, summarise_crossings
from forecast.tuning import MAX_PSEUDO_CUTOFFS

ENGINES = ("conjugate", "ols", "pymc")
#: seed of the order that breaks ties in question difficulty (fixed: the slices must not
#: move with the forecast's seed)
TIE_SEED = 0
SLICINGS = ("quantile", "irt")


class SliceSandwich(FamilySpread, Forecaster):
    """Slice-and-Sandwich forecaster with bounded curves and calibrated uncertainty.

    Parameters
    ----------
    n_slices : int
        Difficulty slices ``G`` (fewer when a slice would hold under 10 questions).
    degree : int
        Polynomial degree of every slice curve on the logit scale (2: U / inverted-U).
    engine : {"conjugate", "ols", "pymc"}
        Curve model: closed-form Bayesian (fast, default), OLS (statsmodels), or one PyMC
        model of all slices with a between-model spread term (MCMC).
    slicing : {"quantile", "irt"}
        How per-question data are sliced (ignored for pre-sliced group data).
    cross_fit : bool
        Leave-one-model-out difficulty for per-question slicing (default True).
    prior_sd : tuple of float or None
        Prior sd of intercept, slope, curvature, ... (logit units per decade**k).  None
        (default): learned at fit time from the population of slice curves of every task
        of the data at or below the cut-off (empirical Bayes, :mod:`forecast.priors`).
    extrapolation_sd : float or None
        Prior sd of a change of slope past the cut-off, in logit of accuracy per decade:
        what the fitted models cannot tell about the curve beyond them.  Each curve draw
        gets its own change, so curve intervals widen with the distance past the cut-off.
        None (default): learned at fit time on pseudo-cut-offs inside the fitted range of
        every task (the value of :data:`~forecast.tuning.EXTRAPOLATION_GRID` with the
        smallest pooled CRPS of the larger fitted models; :mod:`forecast.tuning`).

    Fixed by principle, not tuned: ``n_slices = 3`` and ``degree = 2`` (the paper's three
    difficulty groups; the lowest degree that can be U-shaped or inverted-U).
    family : bool
        On task-level data whose fitted models come from at least two families, give every
        family an offset on the curve's logit scale (default True; see the module doc).
        Data with one family (BIG-G, digits, a model ladder), per-question and group data
        are fitted exactly as without it.
    combine : tuple of str or None
        Baselines mixed with the slice-and-sandwich curve (default: ``sigmoid``,
        ``persistence_drift``, ``linear``; :mod:`forecast.stacking`).  Their weights and one
        scale of the mixture's spread are learned at fit time on the pseudo-cut-offs inside
        the fitted range of every task (the same ones as the extrapolation spread); every draw
        is one whole curve of one component, its observed scores that component's.  None:
        the slice-and-sandwich curve alone.
    calibrate : bool
        With ``combine``: scale the mixture's spread around its median by the factor learned on
        the same pseudo-cut-offs (:data:`~forecast.stacking.SPREAD_GRID`, one-standard-error
        rule, so 1 unless another scale helps there).  Default False: on the tuning data the
        learned scales narrowed the mixture and made it worse farther out
        (``benchmarks/STACKING_TUNING.md``).
    n_pseudo : int
        Pseudo-cut-offs per task (those nearest the real cut-off) on which the extrapolation
        spread and the mixture's weights are learned (:func:`forecast.tuning.pseudo_splits`).
    pseudo_spacing : float
        Smallest distance in decades between a task's successive pseudo-cut-offs (0: every
        rolling cut-off, the nearest first), so that the pseudo targets lie at a spread of
        distances.
    n_draws : int
        Curve draws (closed-form and OLS engines).
    draws, tune, chains : int
        MCMC settings of the PyMC engine.
    seed : int
        Same seed, same output.
    """

    name = "slice_sandwich"
    settings_class = SliceSandwichSettings
    tags = ForecasterTags(learns_settings=True, in_default_run=True)
    param_constraints = {"n_slices": Integer(1), "degree": Integer(1), "draws": Integer(1), "tune": Integer(0),
                         "chains": Integer(1), "cross_fit": Boolean(), "prior_sd": Spread(),
                         "extrapolation_sd": Spread(zero_ok=True)}
    noise_scale = "logit"

    def __init__(
        self,
        n_slices: int = 3,
        degree: int = 2,
        engine: str = "conjugate",
        slicing: str = "quantile",
        cross_fit: bool = True,
        prior_sd: tuple[float, ...] | None = None,
        extrapolation_sd: float | None = None,
        family: bool = True,
        combine: tuple[str, ...] | None = DEFAULT_COMPONENTS,
        calibrate: bool = False,
        n_pseudo: int = MAX_PSEUDO_CUTOFFS,
        pseudo_spacing: float = 0.0,
        n_draws: int = 1000,
        draws: int = 500,
        tune: int = 500,
        chains: int = 2,
        seed: int = 0,
    ) -> None:
        self.n_slices = n_slices
        self.degree = degree
        self.engine = engine
        self.slicing = slicing
        self.cross_fit = cross_fit
        self.prior_sd = prior_sd
        self.extrapolation_sd = extrapolation_sd
        self.family = family
        self.combine = combine
        self.calibrate = calibrate
        self.n_pseudo = n_pseudo
        self.pseudo_spacing = pseudo_spacing
        self.n_draws = n_draws
        self.draws = draws
        self.tune = tune
        self.chains = chains
        self.seed = seed

    @property
    def n_curve_params(self) -> int:  # type: ignore[override]
        return self.degree + 1

    @property
    def learns_context(self) -> bool:  # type: ignore[override]
        return self.prior_sd is None or self.extrapolation_sd is None or bool(self.components_for())

    def components_for(self, data: EvalData | None = None) -> list[str]:
        """The methods mixed with the curve (:func:`~forecast.methods.mixture.component_names`)."""
        return component_names(self.combine, type(self), data)

    def mixes_on(self, pool: EvalData, cutoff: float) -> bool:
        """Whether the curve is mixed with the :meth:`components_for` on ``pool`` at ``cutoff``.

        Not on task-level data whose models at or below the cut-off come from two or more
        families while ``family`` is on: there the curve carries per-family efficiency
        offsets, which the components ignore and which are most of what the curve's
        forecast of a seen family rests on (decided once per data set and cut-off, so that
        :meth:`learn_context` does not learn weights that would never be used)."""
        if not self.components_for(pool):
            return False
        if not self.family or pool.kind != "task_level" or "family" not in pool.models.columns:
            return True
        try:
            tables = [pool.compute_table()]
        except InputError:  # tasks on different compute scales: each task's own
            tables = [pool.compute_table(task) for task in pool.task_names]
        names = sorted({str(m) for t in tables for m in t.loc[t["compute"] <= cutoff * (1 + 1e-12), "model"]})
        labels = fitted_family_labels(pool.models, names)
        return labels is None or len(set(labels)) < 2

    # ------------------------------------------------------------------ fit-time tuning
    def with_params(self, **params) -> SliceSandwich:
        """A new, unfitted forecaster with these parameters changed."""
        return type(self)(**{**self.get_params(), **params})

    def learn_context(self, pool: EvalData, cutoff: float) -> dict[str, Any]:
        """Learn the prior scales and the extrapolation spread from ``pool`` (every task of
        the data, models at or below ``cutoff`` only).

        1. prior scales: empirical Bayes over every task's slice curves at the cut-off
           (:func:`forecast.priors.population_prior_sd`);
        2. extrapolation spread: on the pseudo-cut-offs of every task inside the fitted range
           (:func:`forecast.tuning.pseudo_splits`), fitted with those priors, the value of
           :data:`~forecast.tuning.EXTRAPOLATION_GRID` whose observed-score draws of the larger
           fitted models have the smallest CRPS (each task weighted once); 0.5 (a slope change
           of half a logit per decade, :data:`~forecast.tuning.FALLBACK_EXTRAPOLATION_SD`) when
           no pseudo-cut-off exists.

        Both are learned with the closed-form engine and quantile slices; the extrapolation
        spread without family offsets (a family baseline at every pseudo-cut-off of every task
        would take minutes).
        """
        return self.learn_settings(pool, cutoff).to_dict()

    def learn_settings(self, pool: EvalData, cutoff: float) -> SliceSandwichSettings:
        """:meth:`learn_context` as its dataclass
        (:func:`~forecast.methods.slice_settings.learn_slice_sandwich`)."""
        with shared_points():  # every pseudo fit of one seed: one scrambled point set
            return learn_slice_sandwich(self, pool, cutoff)

    def observed_by_slope_spread(self, compute, values) -> list[np.ndarray]:
        """Observed-score draws at ``compute`` for each candidate extrapolation spread in
        ``values``: per value, what :meth:`sample` gives with ``slope_change_ = slope_z_ *
        value`` (the fit's own standard-normal draws, common random numbers across the
        values), all made at once (the curve and the noise points once, the binomial counts
        in one call).  The curve alone (no mixture, no family offsets: the pseudo-cut-off fits
        of :meth:`learn_context`)."""
        self._check_fitted()
        if getattr(self, "mixes_", False) or getattr(self, "family_offsets_", None) is not None:
            raise InputError("observed_by_slope_spread: for the curve alone (combine=None, no family offsets)")
        x = np.log10(check_compute_scale(compute, self.smallest_compute_, "compute"))
        keep = self.slope_change_
        try:
            means = []
            for value in values:
                self.slope_change_ = self.slope_z_ * value
                means.append(self._task_curve(x, None))
        finally:
            self.slope_change_ = keep
        z, u = self._noise_source().noise(means[0].shape)
        k = len(means)
        draws = self._observed_at(np.concatenate(means, axis=1), np.tile(z, k), np.tile(u, k), keep=False)
        return np.split(draws, k, axis=1)

    # ------------------------------------------------------------------ fit
    def fit(self, data, cutoff, task=None, context=None, cache=None) -> SliceSandwich:
        """:meth:`Forecaster.fit`; with ``combine``, the curve is then mixed with the
        components (each fitted on the same models) by the learned weights (``mixture_``,
        a :class:`~forecast.methods.mixture.Mixture`)."""
        self.mixes_ = False
        super().fit(data, cutoff, task, context, cache)
        self.mixes_ = self.mixture_.mixes
        return self

    def make_mixture(self, names: list[str]) -> Mixture:
        """The (unfitted) mixture of the curve with the methods ``names``."""
        return Mixture(names, self.name, self.calibrate, self.n_draws, self.seed)

    def _fit_components(self, fitted: EvalData, n_draws: int) -> None:
        """Fit the mixture (:meth:`Mixture.fit <forecast.methods.mixture.Mixture.fit>`) of the
        :meth:`components_for`.  ``n_draws`` is the curve's own number of draws (the PyMC engine
        gives draws x chains).  The curve is not mixed where :meth:`learn_context` said so
        (``combine_skipped``: data of several families, see :meth:`mixes_on`)."""
        names = self.components_for(fitted)
        if not isinstance(self.calibrate, (bool, np.bool_)):
            raise InputError(f"calibrate must be True or False, got {self.calibrate!r}")
        skipped = self.settings_.combine_skipped
        if names and (skipped is not None or getattr(self, "family_offsets_", None) is not None):
            # decided in learn_context (mixes_on); the offsets check also covers a context
            # made elsewhere: the components ignore families, whose offsets the curve rests on
            why = skipped if skipped is not None else SKIPPED_FAMILIES
            self.diagnostics_["warnings"].append(f"combine: not mixed on {why}")
            names = []
        self.mixture_ = self.make_mixture(names).fit(self, fitted, self.settings_, n_draws)

    @property
    def components_(self) -> dict[str, Forecaster]:
        """The mixture's fitted components (name -> forecaster; empty: the curve alone)."""
        return self.mixture_.components_

    @property
    def weights_(self) -> dict[str, float]:
        """The mixture's weights, the curve's first (``{"slice_sandwich": 1.0}``: alone)."""
        return self.mixture_.weights_

    @property
    def spread_scale_(self) -> float:
        """The scale of the mixture's spread around its median (1: none)."""
        return self.mixture_.spread_scale_

    def _slices(self, fitted: EvalData) -> Slices:
        if fitted.results is not None:
            matrix = score_matrix(fitted, self.task_)
            n_q = len(matrix.question_ids)
            if n_q < 2 * MIN_PER_SLICE:
                self.diagnostics_["warnings"].append(
                    f"task {self.task_!r} has {n_q} questions, too few for 2 slices of "
                    f"{MIN_PER_SLICE}: one slice (a curve of the whole task)"
                )
                return quantile_slices(fitted.results, self.n_slices, seed=TIE_SEED,
                                       cross_fit=self.cross_fit, task=self.task_, allow_single=True,
                                       matrix=matrix)
            if self.slicing == "irt":
                from forecast.irt import irt_slices

                return irt_slices(
                    fitted.results, fitted.compute_table(self.task_), self.n_slices,
                    seed=self.seed, task=self.task_, cross_fit=self.cross_fit,
                )
            return quantile_slices(
                fitted.results, self.n_slices, seed=TIE_SEED, cross_fit=self.cross_fit, task=self.task_,
                matrix=matrix,
            )
        if fitted.groups is not None:
            # the published groups do not depend on the seed: read once per data and cut-off
            floor = fitted.memo(("group_horizons", self.n_slices),
                                lambda: legal_group_horizons(fitted.groups, self.n_slices))
            if floor.size and floor[0] <= self.cutoff_ * (1 + 1e-9):
                return fitted.memo(("group_slices", self.cutoff_, self.n_slices, self.task_),
                                   lambda: group_slices(fitted.groups, self.cutoff_, self.n_slices, task=self.task_))
        # the groups were sorted with models above the cut-off (they would leak), or the data
        # are task-level scores: one slice of the whole task
        if fitted.scores is None:
            raise NotApplicable(f"task {self.task_!r}: no difficulty groups usable at cut-off "
                                f"{self.cutoff_:.4g} and no whole-task scores")
        return whole_task_slice(fitted.scores, self.task_)

    def _family_labels(self, fitted: EvalData, slices: Slices, models: list[str]) -> np.ndarray | None:
        """Families of the fitted models when family offsets apply (task-level data, one
        slice of the whole task, at least two fitted families), else None."""
        if not isinstance(self.family, (bool, np.bool_)):
            raise InputError(f"family must be True or False, got {self.family!r}")
        if not self.family or fitted.kind != "task_level" or slices.source != "whole_task":
            return None
        labels = fitted_family_labels(fitted.models, models)
        if labels is None or len(set(labels)) < 2:
            return None
        return labels

    def _family_shift(self, fitted: EvalData) -> FamilyOffsets | None:
        """Each fitted family's efficiency offset in log10 compute, and a new family's, as
        draws: the ``family`` baseline fitted to the same models (None, with a warning, when
        it cannot be fitted)."""
        from forecast.methods.baselines import FamilySigmoid

        try:
            fam = FamilySigmoid(n_draws=self.n_draws, seed=self.seed).fit(fitted, self.cutoff_, self.task_, context={})
        except (InputError, ValueError, RuntimeError, np.linalg.LinAlgError) as exc:
            self.diagnostics_["warnings"].append(f"no family offsets: {exc}")
            return None
        self.family_fit_ = fam
        self.diagnostics_.update({"n_families": len(fam.families_), "family_tau": fam.tau_})
        return fam.family_offsets()

    def _fit(self, fitted: EvalData) -> None:
        if self.engine not in ENGINES:
            raise InputError(f"engine must be one of {', '.join(ENGINES)}, got {self.engine!r}")
        if self.slicing not in SLICINGS:
            raise InputError(f"slicing must be one of {', '.join(SLICINGS)}, got {self.slicing!r}")
        if not isinstance(self.n_slices, (int, np.integer)) or self.n_slices < 2:
            raise InputError(f"n_slices must be at least 2, got {self.n_slices!r} (a single slice is no sandwich)")
        prior = self.prior_sd if self.prior_sd is not None else self.settings_.prior_sd
        extrap = self.extrapolation_sd if self.extrapolation_sd is not None else self.settings_.extrapolation_sd
        if prior is None or extrap is None:
            raise InputError("slice_sandwich: the context passed to fit lacks the learned "
                             "prior_sd / extrapolation_sd (learn it with learn_context)")
        self.prior_sd_ = tuple(float(v) for v in prior)
        self.extrapolation_sd_ = float(extrap)
        self._curve_memo = None
        t = self.fit_table_
        models = list(t["model"])
        x = t["log10_compute"].to_numpy(dtype=float)
        slices = self._slices(fitted)
        self.slice_set_ = slices
        self.diagnostics_["warnings"].extend(slices.notes)
        matrix = slices.matrix(models)
        counts = None
        if slices.metric == "accuracy":
            counts = slices.counts(models)
            if not np.isfinite(counts).any():
                counts = None
        z = to_link(matrix, slices.metric, counts)
        z[~np.isfinite(matrix)] = np.nan
        center = float(np.mean(x))
        labels = self._family_labels(fitted, slices, models)
        self.family_offsets_: FamilyOffsets | None = None
        x_raw = x
        if labels is not None:
            self.family_offsets_ = self._family_shift(fitted)
        if self.family_offsets_ is not None:
            # the curve of a typical family: every fitted model at its family-adjusted compute
            self._family_point = self.family_fit_.offsets_.reindex(labels).fillna(0.0).to_numpy(dtype=float)
            x = x + self._family_point
            center = float(np.mean(x))
        self.ols_results_ = None
        self.posterior_ = None
        self._rng = QuasiDraws(self.seed)  # quasi-random draws (forecast.curves.draws)
        if self.engine == "conjugate":
            curves = fit_conjugate_slices(
                x, z, self.degree, center, slices.metric, self.n_draws, self._rng, self.prior_sd_
            )
        elif self.engine == "ols":
            curves, self.ols_results_ = fit_ols_slices(
                x, z, self.degree, center, slices.metric, self.n_draws, self._rng
            )
        else:
            from forecast.curves.bayes import fit_pymc_slices

            acc = t["accuracy"].to_numpy(dtype=float)
            task_score = t["tc_brier"].to_numpy(dtype=float) if "tc_brier" in t.columns else None
            curves, self.posterior_, diag = fit_pymc_slices(
                x, z, slices.weights, acc, task_score, self.n_questions_, self.chance_,
                degree=self.degree, center=center, metric=slices.metric,
                prior_sd=self.prior_sd_, draws=self.draws, tune=self.tune,
                chains=self.chains, seed=self.seed,
            )
            self.diagnostics_.update(diag)
            for message in diag["warnings"]:
                warnings.warn(f"{self.task_}: MCMC {message}", SamplerWarning, stacklevel=3)
        if counts is not None:  # the link was fitted with the half-question correction: undo it
            curves.n_questions = np.nanmedian(np.where(np.isfinite(counts), counts, np.nan), axis=1)
        self.curves_: CurveDraws = curves
        if self.engine == "pymc" and "map_coef" in curves.extra:
            self.map_ = AccuracyMap(slices.metric, curves.extra["map_coef"], curves.extra["map_center"])
        else:
            if slices.metric == "tc_brier":
                if "tc_brier" in t.columns and t["tc_brier"].notna().all():
                    task_score = t["tc_brier"].to_numpy(dtype=float)
                else:
                    task_score = combine(matrix, slices.weights)
            else:
                task_score = t["accuracy"].to_numpy(dtype=float)
            self.map_ = fit_accuracy_map(
                task_score, t["accuracy"].to_numpy(dtype=float), slices.metric,
                self.chance_, curves.n_draws, self._rng,
            )
        if self.engine != "pymc":
            self.diagnostics_["engine"] = self.engine
        if not np.isfinite(self.extrapolation_sd_) or self.extrapolation_sd_ < 0:
            raise InputError(f"extrapolation_sd must be >= 0, got {self.extrapolation_sd_!r}")
        self.slope_z_ = self._rng.standard_normal(curves.n_draws)
        self.slope_change_ = self.slope_z_ * self.extrapolation_sd_
        if self.family_offsets_ is not None and self.family_offsets_.new.shape[0] != curves.n_draws:
            pick = np.arange(curves.n_draws) % self.family_offsets_.new.shape[0]
            self.family_offsets_ = FamilyOffsets(self.family_offsets_.families, self.family_offsets_.fitted[pick],
                                                 self.family_offsets_.new[pick])
        self.link_points_ = (x, z)
        self._report_args = (slices, models, x_raw, matrix, z)
        self._slice_report = None
        self._easy = (x, z[:1].copy(), slices.metric)
        self._fit_components(fitted, curves.n_draws)

    # ------------------------------------------------------------------ the mixture
    def curve_alone_draws(self, x) -> np.ndarray:
        """:meth:`curve_draws` of the curve alone, without the mixture's components (the
        same as :meth:`curve_draws` for ``combine=None``)."""
        if not hasattr(self, "fit_table_"):
            raise InputError(f"{type(self).__name__} is not fitted yet: call fit(data, cutoff) first")
        return self._curve_draws(np.atleast_1d(np.asarray(x, dtype=float)))

    def set_spread_counts(self, on: bool) -> None:
        """As :meth:`Forecaster.set_spread_counts`, on the curve and every component."""
        super().set_spread_counts(on)
        if getattr(self, "mixture_", None) is not None:
            self.mixture_.set_spread_counts(on)

    def _predictive_mean(self, x: np.ndarray, draws: np.ndarray, kind: str) -> np.ndarray:
        if not getattr(self, "mixes_", False):
            return super()._predictive_mean(x, draws, kind)
        return self.mixture_.predictive_mean(10.0 ** np.asarray(x, dtype=float), None, draws, kind)

    def _predictive_mean_models(self, models: pd.DataFrame, draws: np.ndarray, kind: str) -> np.ndarray:
        if not getattr(self, "mixes_", False):
            return super()._predictive_mean_models(models, draws, kind)
        return self.mixture_.predictive_mean(model_compute(models), models, draws, kind)

    def _mean_draws(self, x: np.ndarray) -> np.ndarray:
        if not getattr(self, "mixes_", False):
            return self._curve_draws(x)
        return self.mixture_.mean_draws(x)

    def sample(self, compute, kind: str = "observed") -> np.ndarray:
        """Draws of the accuracy at ``compute`` (see :meth:`Forecaster.sample`); with
        ``combine``, component ``k`` gives its first ``round(w_k n)`` draws, each with its own
        observation noise (:meth:`Mixture.sample <forecast.methods.mixture.Mixture.sample>`)."""
        if not getattr(self, "mixes_", False):
            return super().sample(compute, kind)
        self._check_fitted()
        return self.mixture_.sample(compute, kind)

    def _curve_draws(self, x: np.ndarray) -> np.ndarray:
        offset = None
        if getattr(self, "family_offsets_", None) is not None:
            n = np.atleast_1d(x).size
            if self._own_family_center:
                # the between-model spread is measured around each fitted model's own
                # family curve, not around a new family's
                offset = np.broadcast_to(self._family_point, (self.curves_.n_draws, n))
            else:  # a forecast from compute alone: a model of a new family
                offset = np.repeat(self.family_offsets_.new[:, None], n, axis=1)
        return self._task_curve(x, offset)

    def sample_models(self, models: pd.DataFrame, kind: str = "observed") -> np.ndarray:
        """Draws per named model; with family offsets (see the module doc) each model gets its
        family's offset, a model of a new family one drawn from the families' spread."""
        self._check_fitted()
        if getattr(self, "mixes_", False):  # no family offsets when mixing (mixes_on)
            return self.mixture_.sample_models(models, kind)
        if self.family_offsets_ is None:
            return super().sample_models(models, kind)
        x = np.log10(model_compute(models))
        labels = family_labels(models)
        self.diagnostics_.update(heldout_report(self.family_offsets_.families, labels))
        return self._kind_draws(self._task_curve(x, self.family_offsets_.draws(labels)), kind)

    def _task_curve(self, x: np.ndarray, offset: np.ndarray | None) -> np.ndarray:
        """Accuracy draws of the task curve at ``x``, each draw read at ``x + offset`` (an
        efficiency offset in log10 compute, shape (n_draws, len(x)); None: no offset).  The
        slope change past the cut-off applies to the model's own compute."""
        x = np.atleast_1d(np.asarray(x, dtype=float))
        # the curve before the slope change, kept for the last x read without offsets (settings
        # learning reads the same targets once per candidate slope-change spread)
        key = (x.tobytes(), id(self.curves_), id(self.map_), id(self.slice_set_))
        memo = getattr(self, "_curve_memo", None)
        if offset is None and memo is not None and memo[0] == key:
            acc = memo[1]
        else:
            if offset is None:
                scores = self.curves_.scores(x)
            else:
                c = self.curves_
                shifted = (x[None, :] + offset).ravel()
                X = design(shifted, c.center, c.degree).reshape(offset.shape + (c.degree + 1,))
                scores = from_link(np.einsum("sgp,snp->sgn", c.coef, X), c.metric)
            task_score = combine(scores, self.slice_set_.weights)
            acc = self.map_(task_score)
            if offset is None:
                # (the objects are held so that their ids stay theirs while the key is kept)
                self._curve_memo = (key, acc, (self.curves_, self.map_, self.slice_set_))
        past = np.maximum(x - np.log10(self.cutoff_), 0.0)
        if not past.any():
            return acc.copy()
        shift = self.slope_change_[:, None] * past[None, :]
        return expit(logit(np.clip(acc, 1e-9, 1 - 1e-9)) + shift)

    # ------------------------------------------------------------------ reports
    @property
    def slices_(self) -> SliceReport:
        """What the slices look like (:class:`SliceReport`; built on first use)."""
        if getattr(self, "_slice_report", None) is None:
            self._check_fitted()
            self._slice_report = slice_report(self.curves_, *self._report_args)
        return self._slice_report

    def slice_summary_frame(self, compute, alpha: float = 0.1) -> pd.DataFrame:
        """statsmodels' ``get_prediction(X).summary_frame(alpha)`` per slice (``engine="ols"``).

        Columns: ``slice, log10_compute, mean, mean_se, mean_ci_lower, mean_ci_upper,
        obs_ci_lower, obs_ci_upper`` on the link (logit) scale of the slice score.
        """
        if self.ols_results_ is None:
            raise InputError("slice_summary_frame needs engine='ols'")
        x = np.log10(as_compute(compute))
        frames = []
        for g, result in enumerate(self.ols_results_):
            frame = ols_summary_frame(result, x, self.curves_.center, self.degree, alpha)
            frame.insert(0, "slice", g)
            frames.append(frame)
        return pd.concat(frames, ignore_index=True)

    def easy_turn(self, level: float = 0.9) -> Threshold:
        """Second threshold estimate: where the easiest slice's curve turns from falling to rising.

        The easiest slice is refitted as a cubic (:meth:`_easy_cubic`); one turn per draw
        (the first local minimum on the search grid, :meth:`easy_turn_draws`); draws with no
        such turn count as beyond the range.  ``tau`` is reported as NaN.
        """
        level = check_level(level)
        return summarise_crossings(self.easy_turn_draws(), float("nan"), level, self.search_range_)

    def _easy_cubic(self) -> CurveDraws:
        """The easiest slice refitted as a cubic (closed form, the same shrinking priors,
        ``n_draws`` draws seeded from ``seed``): a quadratic has a single extremum, so it
        cannot fall and then rise *after* an earlier rise; the turn is read off this fit."""
        self._check_fitted()
        x, z_easy, metric = self._easy
        return easy_cubic(x, z_easy, metric, self.degree, self.curves_.center, self.prior_sd_,
                          self.n_draws, self.seed)

    def easy_curve_scores(self, compute) -> np.ndarray:
        """Draws of the easiest slice's score at ``compute`` on the cubic the turn is read
        from (shape ``(n_draws, len(compute))``; for drawing the turn where it is found)."""
        return self._easy_cubic().scores(np.log10(as_compute(compute)))[:, 0, :]

    def easy_turn_draws(self) -> np.ndarray:
        """Per draw of the easy slice's cubic (:meth:`_easy_cubic`, ``n_draws`` draws of its
        own), the log10 compute of its first turn from falling to rising on the search grid
        (NaN: no turn in the search range); :meth:`easy_turn` summarises them."""
        grid = self.search_grid()
        return first_turns(grid, self._easy_cubic().link(grid)[:, 0, :])
