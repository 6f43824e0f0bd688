"""The mixture: a forecaster's own curve stacked with component forecasters.

Like scikit-learn's ``StackingRegressor``, a :class:`Mixture` is an estimator of its own
that holds its component forecasters (registered methods, by name):

* :meth:`Mixture.learn_context` learns the weights of the curve and of every component,
  and one scale of the mixture's spread, on the pseudo-cut-offs inside the fitted range of
  every task (:func:`forecast.stacking.learn_stack`, the curve's pseudo-forecasts given);
* :meth:`Mixture.fit` fits every component with a learned weight on the fitted models;
* :meth:`Mixture.sample`, :meth:`Mixture.mean_draws` and :meth:`Mixture.predictive_mean`
  give the mixture's draws and mean: every draw is one whole curve of one part, its
  observed score that part's (component ``k`` gives its first ``round(w_k n)`` draws,
  :func:`forecast.stacking.draw_components`).

The curve is the mixture's first part.  It is any fitted
:class:`~forecast.methods.base.Forecaster` that offers :meth:`curve_alone_draws` (its own
mean-curve draws, unmixed); ``slice_sandwich`` holds a :class:`Mixture` as ``mixture_``
(its ``combine`` parameter names the components).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from forecast.curves.predictive import keep_record_rows, record_mark
from forecast.data.dataset import EvalData
from forecast.errors import InputError
from forecast.learned_settings import LearnedSettings
from forecast.methods.base import Forecaster, as_compute, check_compute_scale, model_compute
from forecast.stacking import DEFAULT_COMPONENTS, draw_components, learn_stack, mix, scale_spread

__all__ = ["DEFAULT_COMPONENTS", "Mixture", "MixtureSettings", "component_names"]

#: the errors a component's fit may raise and that leave it out of the mixture
FIT_ERRORS = (InputError, ValueError, RuntimeError, np.linalg.LinAlgError)


def component_names(combine: Any, exclude: type | None = None, data: EvalData | None = None) -> list[str]:
    """The registered methods named by ``combine`` (validated; empty for None).

    ``exclude``: a class that cannot be a component (the curve's own); with ``data``, only
    the names whose tags handle its kinds (``item_level`` forecasts per-question data only:
    on group or task-level data the mixture is of the others).
    """
    from forecast.methods.contract import data_kinds
    from forecast.methods.registry import METHODS

    if combine is None:
        return []
    names = [combine] if isinstance(combine, str) else combine
    if not isinstance(names, (tuple, list)) or not all(isinstance(n, str) for n in names):
        raise InputError(f"combine must be a tuple of method names or None, got {combine!r}")
    for n in names:
        if n not in METHODS or METHODS[n] is exclude:
            raise InputError(f"combine: {n!r} is not a baseline to combine with (known: "
                             f"{', '.join(m for m in METHODS if METHODS[m] is not exclude)})")
    if len(set(names)) != len(names):
        raise InputError(f"combine names a method twice: {combine!r}")
    if data is not None:
        kinds = data_kinds(data)
        names = [n for n in names if METHODS[n].tags.refusal(kinds) is None]
    return list(names)


def draws_from_compute(fc: Forecaster) -> bool:
    """Whether ``fc`` draws named models from compute alone with the base class's noise
    (then only the draws the mixture takes of it are made)."""
    return type(fc).sample_models is Forecaster.sample_models and type(fc).sample is Forecaster.sample


@dataclasses.dataclass
class MixtureSettings(LearnedSettings):
    """What :meth:`Mixture.learn_context` learns (every key written only when learned):
    ``combine_weights`` (the curve's and every component's weight, the curve first),
    whether they were learned (``combine_learned``: else the curve alone) from how many tasks
    and targets, the per-component ``combine_report``, the ``spread_scale`` and its CRPS per
    candidate, and ``component_contexts`` (each component's own learned settings, a dict).

    The JSON also holds ``w_<name>`` for every weight (written from ``combine_weights``)."""

    combine_weights: dict[str, float] | None = None
    combine_learned: bool | None = None
    combine_tasks: int | None = None
    combine_targets: int | None = None
    combine_report: dict[str, dict[str, float]] | None = None
    spread_scale: float | None = None
    spread_crps: dict[str, float] | None = None
    component_contexts: dict[str, dict[str, Any]] | None = None

    optional: ClassVar[frozenset[str]] = frozenset(
        {"combine_weights", "combine_learned", "combine_tasks", "combine_targets", "combine_report",
         "spread_scale", "spread_crps", "component_contexts"})

    def to_dict(self) -> dict[str, Any]:
        weights = {f"w_{n}": float(w) for n, w in (self.combine_weights or {}).items()}
        return {**weights, **super().to_dict()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None):  # type: ignore[override]
        out = super().from_dict(data)
        for n in out.combine_weights or {}:  # the w_<name> keys are written from the weights
            out.extra.pop(f"w_{n}", None)
        return out


class Mixture:
    """A mixture of a fitted curve and component forecasters, weighted on pseudo-cut-offs.

    Parameters
    ----------
    components : sequence of str
        Registered methods mixed with the curve (already validated, :func:`component_names`).
    curve_name : str
        The curve's name among the weights (``"slice_sandwich"``).
    calibrate : bool
        Use the learned spread scale (else 1).
    n_draws, seed : int
        The components' draws and seed.

    Fitted attributes: ``components_`` (name -> fitted forecaster, in weight order),
    ``weights_`` (name -> weight, the curve first), ``spread_scale_`` and
    ``draw_component_`` (which part each draw comes from).
    """

    def __init__(self, components: Sequence[str], curve_name: str = "slice_sandwich",
                 calibrate: bool = False, n_draws: int = 1000, seed: int = 0) -> None:
        self.components = tuple(components)
        self.curve_name = curve_name
        self.calibrate = calibrate
        self.n_draws = n_draws
        self.seed = seed
        self.components_: dict[str, Forecaster] = {}
        self.weights_: dict[str, float] = {curve_name: 1.0}
        self.spread_scale_ = 1.0

    def __repr__(self) -> str:
        return (f"Mixture(components={self.components!r}, curve_name={self.curve_name!r}, "
                f"calibrate={self.calibrate!r}, n_draws={self.n_draws!r}, seed={self.seed!r})")

    def _component(self, name: str, n_draws: int | None = None) -> Forecaster:
        from forecast.methods.registry import make_method

        return make_method(name, n_draws=self.n_draws if n_draws is None else n_draws, seed=self.seed)

    # ------------------------------------------------------------------ learning
    def learn_context(self, pool: EvalData, cutoff: float, curve_fits: list) -> MixtureSettings:
        """Weights of the curve and the components and the mixture's spread scale, learned on
        the pseudo-splits of ``curve_fits`` (``(split, fitted curve)`` pairs: the curve's
        pseudo-forecasts, :func:`forecast.stacking.learn_stack`).

        A component that learns settings of its own (``persistence_drift``'s drift and error
        growth) learns them at each pseudo-cut-off from every task's models at or below it,
        and at the real cut-off for the forecast itself.
        """
        names = list(self.components)
        contexts: dict[tuple[str, float, str | None], dict] = {}
        learns = {name: self._component(name).learns_context for name in names}

        def context_at(name: str, c: float, task: str) -> dict:
            """The component's own settings learned from every task at or below ``c``."""
            if not learns[name]:
                return {}
            for key in ((name, float(c), None), (name, float(c), task)):
                if key in contexts:
                    return contexts[key]
            try:
                data, key = pool.restrict(c), (name, float(c), None)
            except InputError:  # tasks on different compute scales: the task's own data
                data, key = pool.for_task(task).restrict(c, task), (name, float(c), task)
            contexts[key] = self._component(name).learn_context(data, c)
            return contexts[key]

        per_task: dict[str, EvalData] = {}
        draws = []
        for split, fc in curve_fits:
            targets = split.targets
            if targets.empty:
                continue
            compute = targets["compute"].to_numpy(dtype=float)
            data = per_task.setdefault(split.task, pool.for_task(split.task))
            comp = [fc.sample(compute, "observed")]
            try:
                for name in names:
                    ctx = context_at(name, split.cutoff, split.task)
                    other = self._component(name).fit(data, split.cutoff, split.task, context=ctx)
                    comp.append(other.sample(compute, "observed"))
            except FIT_ERRORS:
                continue  # every component or none: the comparison stays paired
            draws.append((split, comp))
        result = learn_stack([self.curve_name, *names], draws, self.seed, calibrate=self.calibrate)
        return MixtureSettings(
            combine_weights={n: float(w) for n, w in zip(result.names, result.weights)},
            combine_learned=result.learned,
            combine_tasks=result.n_tasks,
            combine_targets=result.n_targets,
            combine_report={r["component"]: {k: r[k] for k in ("weight", "fitted_weight", "crps")}
                            for r in result.table.to_dict(orient="records")},
            spread_scale=result.scale,
            spread_crps=result.scale_crps,
            component_contexts={n: self._component(n).learn_context(pool, cutoff) for n in names if learns[n]},
        )

    # ------------------------------------------------------------------ fit
    def fit(self, curve: Forecaster, fitted: EvalData, context: MixtureSettings, n_draws: int) -> Mixture:
        """Fit the components with a learned weight on ``fitted`` (the curve's fitted models,
        at its ``cutoff_`` and ``task_``); a component that cannot be fitted gives its weight to
        the others (a warning in the curve's ``diagnostics_`` says so).

        ``context`` holds the learned weights (:meth:`learn_context`, a
        :class:`MixtureSettings` or a subclass); ``n_draws`` is the
        curve's own number of draws, which every component then draws too.  Returns self.
        """
        self.curve_ = curve
        self.components_ = {}
        self.weights_ = {self.curve_name: 1.0}
        self.spread_scale_ = 1.0
        if not self.components:
            return self
        learned = context.combine_weights
        if not isinstance(learned, dict) or self.curve_name not in learned:
            raise InputError(f"{self.curve_name}: the context passed to fit lacks the learned combine "
                             "weights (learn it with learn_context, or use combine=None)")
        weights = {self.curve_name: float(learned[self.curve_name])}
        contexts = context.component_contexts or {}
        for name in self.components:
            w = float(learned.get(name, 0.0))
            if w <= 0:
                continue
            try:
                self.components_[name] = self._component(name, n_draws).fit(
                    fitted, curve.cutoff_, curve.task_, context=dict(contexts.get(name) or {}))
                weights[name] = w
            except FIT_ERRORS as exc:
                curve.diagnostics_["warnings"].append(f"combine: {name} not mixed in ({exc})")
        total = sum(weights.values())
        self.weights_ = {n: w / total for n, w in weights.items()}
        scale = 1.0 if context.spread_scale is None else context.spread_scale
        self.spread_scale_ = float(scale) if self.calibrate else 1.0
        self.draw_component_ = draw_components(np.array(list(self.weights_.values())), n_draws, self.seed)
        curve.diagnostics_["combine_weights"] = dict(self.weights_)
        return self

    @property
    def mixes(self) -> bool:
        """Whether any component was fitted (else the curve is used alone)."""
        return bool(self.components_)

    @property
    def parts(self) -> list[Forecaster]:
        """The mixture's parts: the curve, then the components (in weight order)."""
        return [self.curve_, *self.components_.values()]

    def set_spread_counts(self, on: bool) -> None:
        """:meth:`Forecaster.set_spread_counts` on every component."""
        for fc in self.components_.values():
            fc.set_spread_counts(on)

    # ------------------------------------------------------------------ draws
    def _part_mean(self, k: int, fc: Forecaster, x: np.ndarray) -> np.ndarray:
        return self.curve_.curve_alone_draws(x) if k == 0 else fc.curve_draws(x)

    def mean_draws(self, x: np.ndarray) -> np.ndarray:
        """The mixture's mean-curve draws at log10 compute ``x``."""
        own = self.curve_.curve_alone_draws(x)
        others = [c.curve_draws(x) for c in self.components_.values()]
        return scale_spread(mix([own, *others], self.draw_component_), self.spread_scale_)

    def _part_draws(self, k: int, fc: Forecaster, x: np.ndarray, compute, models, kind: str,
                    rows: int) -> np.ndarray:
        """The first ``rows`` draws of ``kind`` of part ``k`` (its first curve draws, with the
        observation noise of those draws)."""
        if k == 0 or draws_from_compute(fc):
            mean = self._part_mean(k, fc, x)
            if kind == "mean":
                return mean[:rows]
            return fc.observed_draws(mean[:rows], mean.shape[0])
        mark = record_mark()  # the interval's kernels of the rows kept (Forecaster._bounds)
        other = fc.sample(compute, kind) if models is None else fc.sample_models(models, kind)
        keep_record_rows(mark, rows)
        return other[:rows]

    def sample(self, compute, kind: str = "observed", models: pd.DataFrame | None = None) -> np.ndarray:
        """The mixture's draws of ``kind`` at ``compute`` (of the named ``models`` when given):
        part ``k`` gives its first ``n_k`` draws (:func:`~forecast.stacking.draw_components`)."""
        if kind not in ("observed", "mean"):
            raise InputError(f"kind must be 'observed' or 'mean', got {kind!r}")
        x = np.log10(check_compute_scale(compute, self.curve_.smallest_compute_, "compute"))
        parts = self.parts
        counts = np.bincount(self.draw_component_, minlength=len(parts))
        draws = [self._part_draws(k, fc, x, compute, models, kind, int(counts[k]))
                 for k, fc in enumerate(parts) if counts[k]]
        return scale_spread(np.concatenate(draws, axis=0), self.spread_scale_)

    def sample_models(self, models: pd.DataFrame, kind: str = "observed") -> np.ndarray:
        """:meth:`sample` of named models."""
        return self.sample(model_compute(models), kind, models)

    def predictive_mean(self, compute, models: pd.DataFrame | None, draws: np.ndarray, kind: str) -> np.ndarray:
        """The mixture's mean: the weighted mean of its parts' means, each over all of its draws
        (the observed score's mean without binomial draws, :meth:`Forecaster.observed_mean`),
        not the mean of the mixed draws; with a spread scale, the draws' mean."""
        if self.spread_scale_ != 1.0:
            return draws.mean(axis=0)
        x = np.log10(as_compute(compute))
        total = 0.0
        for k, (w, fc) in enumerate(zip(self.weights_.values(), self.parts)):
            if k == 0 or draws_from_compute(fc):
                mean = self._part_mean(k, fc, x)
                part = fc.observed_mean(mean) if kind == "observed" else mean.mean(axis=0)
            else:
                part = (fc.sample(compute, kind) if models is None else fc.sample_models(models, kind)).mean(axis=0)
            total = total + w * part
        return total
