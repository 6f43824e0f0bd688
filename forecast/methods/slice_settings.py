"""What ``slice_sandwich`` learns at fit time, typed, and how it learns it.

:class:`SliceSandwichSettings` holds the prior scales of the slice curves, the
extrapolation spread (with what it was chosen on) and the mixture's weights (the fields of
:class:`~forecast.methods.mixture.MixtureSettings`); its JSON is the one
:meth:`SliceSandwich.learn_context <forecast.methods.slice_sandwich.SliceSandwich.learn_context>`
has always written.  :func:`learn_slice_sandwich` learns them from every task's models at
or below the cut-off.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import numpy as np

from forecast.curves.conjugate import DEFAULT_PRIOR_SD
from forecast.data.dataset import EvalData
from forecast.errors import InputError
from forecast.methods.mixture import MixtureSettings

__all__ = ["SKIPPED_FAMILIES", "SliceSandwichSettings", "learn_slice_sandwich"]

#: why the mixture is not used on task-level data of several families
SKIPPED_FAMILIES = "data of several families (the components ignore families)"


@dataclasses.dataclass
class SliceSandwichSettings(MixtureSettings):
    """The settings ``slice_sandwich`` learns (every key written only when learned).

    ``prior_sd`` (prior sd per polynomial coefficient, empirical Bayes) with its
    ``prior_report``; ``extrapolation_sd`` (the slope change's sd past the cut-off) with the
    number of pseudo-splits it was chosen on and the CRPS per candidate; ``combine_skipped``
    (why the curve is not mixed, when it is not); the mixture's fields
    (:class:`~forecast.methods.mixture.MixtureSettings`).
    """

    prior_sd: list[float] | None = None
    prior_report: dict[str, Any] | None = None
    combine_skipped: str | None = None
    extrapolation_sd: float | None = None
    extrapolation_pseudo_splits: int | None = None
    extrapolation_crps: dict[str, float] | None = None

    optional: ClassVar[frozenset[str]] = MixtureSettings.optional | frozenset(
        {"prior_sd", "prior_report", "combine_skipped", "extrapolation_sd", "extrapolation_pseudo_splits",
         "extrapolation_crps"})


def learn_slice_sandwich(method: Any, pool: EvalData, cutoff: float) -> SliceSandwichSettings:
    """The settings of the :class:`~forecast.methods.slice_sandwich.SliceSandwich` ``method``
    learned from ``pool`` at ``cutoff`` (see its :meth:`learn_context`): the prior scales, the
    extrapolation spread on pseudo-cut-offs, and on the same pseudo-cut-offs the mixture's
    weights (:meth:`~forecast.methods.mixture.Mixture.learn_context`)."""
    from forecast.priors import curve_coefficients, population_prior_sd
    from forecast.tuning import (
        EXTRAPOLATION_GRID,
        FALLBACK_EXTRAPOLATION_SD,
        choose_by_pseudo_crps,
        pseudo_forecasts,
        pseudo_splits,
    )

    out = SliceSandwichSettings()
    prior = method.prior_sd
    if prior is None:
        coefs = []
        # settings are learned with the closed-form engine and quantile slices (an IRT or
        # PyMC fit of every task at every pseudo-cut-off would take minutes)
        probe = method.with_params(prior_sd=DEFAULT_PRIOR_SD, extrapolation_sd=0.0, engine="conjugate",
                                   slicing="quantile", combine=None)
        for task in pool.task_names:
            try:
                fc = probe.fit(pool.for_task(task), cutoff, task, context={})
            except (InputError, ValueError, RuntimeError, np.linalg.LinAlgError):
                continue
            coefs.extend(curve_coefficients(fc.link_points_[0], fc.link_points_[1], method.degree))
        prior, report = population_prior_sd(coefs, method.degree)
        out.prior_sd = [float(v) for v in prior]
        out.prior_report = report
    fits = None
    mixes = method.mixes_on(pool, cutoff)
    if method.components_for(pool) and not mixes:
        out.combine_skipped = SKIPPED_FAMILIES
    if method.extrapolation_sd is None or mixes:
        fixed = {"prior_sd": list(prior), "extrapolation_sd": 0.0}
        pseudo = method.with_params(engine="conjugate", slicing="quantile", prior_sd=tuple(prior),
                                    extrapolation_sd=0.0, family=False, combine=None)
        fits = pseudo_forecasts(
            pool,
            lambda d, c, t: pseudo.with_params().fit(d, c, t, context=fixed),
            list(pseudo_splits(pool, max_per_task=method.n_pseudo, spacing=method.pseudo_spacing)),
        )
    if method.extrapolation_sd is None:

        def apply(fc, value):
            # common random numbers across the grid: the fit's own standard-normal draws
            fc.slope_change_ = fc.slope_z_ * value

        best, table = choose_by_pseudo_crps(fits, EXTRAPOLATION_GRID, apply, type(method).observed_by_slope_spread)
        out.extrapolation_sd = FALLBACK_EXTRAPOLATION_SD if best is None else best
        out.extrapolation_pseudo_splits = len(fits)
        out.extrapolation_crps = {f"{v:g}": c for v, c in zip(table["value"], table["crps"])}
    if mixes:
        extrap = method.extrapolation_sd if method.extrapolation_sd is not None else out.extrapolation_sd
        for _, fc in fits:
            fc.slope_change_ = fc.slope_z_ * extrap
        learned = method.make_mixture(method.components_for(pool)).learn_context(pool, cutoff, fits)
        for name in MixtureSettings.keys():
            setattr(out, name, getattr(learned, name))
    return out
