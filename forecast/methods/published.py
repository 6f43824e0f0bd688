"""The Slice-and-Sandwich recipe exactly as published (Wu & Lo, ICLR 2025), for comparison.

1. Difficulty groups (G = 3): the shipped groups whose difficulty horizon is not above
   the cut-off, or quantile groups sorted in-sample on the fitted models' own answers.
2. OLS polynomials in ``log10(FLOPs / 1e21)``: degree 5 on the easiest group, degree 2 on
   the hardest; the middle group is dropped.
3. Sandwich: the plain mean of the two predictions.
4. Map to accuracy: OLS ``score = a + b * acc`` on the fitted models' whole-task score,
   inverted, shifted so the fitted models' mean predicted accuracy equals their mean accuracy.
No clipping, no uncertainty in the curve: every draw is the same curve.
"""

from __future__ import annotations

import warnings

import numpy as np
from statsmodels.regression.linear_model import OLS
from statsmodels.tools.tools import add_constant

from forecast.data.dataset import FLOPS, EvalData
from forecast.errors import InputError, NotApplicable
from forecast.methods.base import Forecaster
from forecast.methods.contract import ForecasterTags, Integer
from forecast.slicing import group_slices, legal_group_horizons, quantile_slices


class Published(Forecaster):
    """The published Slice-and-Sandwich recipe (fixed degrees, no uncertainty).

    Parameters
    ----------
    n_slices : int
        Difficulty groups (3 in the paper).
    easy_degree, hard_degree : int
        Polynomial degrees of the easiest and hardest group (5 and 2 in the paper).
    n_draws, seed : int
    """

    name = "published"
    tags = ForecasterTags(handles=frozenset({"per_question", "per_question_probs", "sampled", "group"}),
                          bounded=False)
    param_constraints = {"n_slices": Integer(1), "easy_degree": Integer(1), "hard_degree": Integer(1)}

    def __init__(
        self, n_slices: int = 3, easy_degree: int = 5, hard_degree: int = 2, n_draws: int = 1000, seed: int = 0
    ) -> None:
        self.n_slices = n_slices
        self.easy_degree = easy_degree
        self.hard_degree = hard_degree
        self.n_draws = n_draws
        self.seed = seed

    @property
    def n_curve_params(self) -> int:  # type: ignore[override]
        return max(self.easy_degree, self.hard_degree) + 1

    def _x(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(x, dtype=float) - (21.0 if self.scale_ == FLOPS else 9.0)

    def _fit(self, fitted: EvalData) -> None:
        t = self.fit_table_
        models = list(t["model"])
        if fitted.results is None and fitted.groups is None:
            raise NotApplicable(f"task {self.task_!r}: the published recipe needs per-question results or slice groups")
        if fitted.results is not None:
            slices = quantile_slices(
                fitted.results, self.n_slices, seed=self.seed, cross_fit=False, task=self.task_,
                allow_single=True,
            )
            if slices.n_slices == 1:
                self.diagnostics_["warnings"].append("under 20 questions: easy and hard group are the whole task")
        else:
            horizons = legal_group_horizons(fitted.groups, self.n_slices)
            if not (horizons.size and horizons[0] <= self.cutoff_ * (1 + 1e-9)):
                raise NotApplicable(f"task {self.task_!r}: no difficulty groups of the published recipe "
                                    f"were sorted with models at or below the cut-off {self.cutoff_:.4g}")
            slices = group_slices(fitted.groups, self.cutoff_, self.n_slices, task=self.task_)
            self.diagnostics_["warnings"].extend(slices.notes)
        matrix = slices.matrix(models)
        x = self._x(t["log10_compute"].to_numpy(dtype=float))
        fits = []
        for row, degree in ((0, self.easy_degree), (slices.n_slices - 1, self.hard_degree)):
            keep = np.isfinite(matrix[row])
            if keep.sum() <= degree:
                raise InputError(
                    f"task {self.task_!r}: {int(keep.sum())} fitted models for a degree-{degree} "
                    "polynomial"
                )
            fits.append(np.polynomial.polynomial.Polynomial.fit(x[keep], matrix[row, keep], degree))
        self.easy_poly_, self.hard_poly_ = fits
        if slices.metric == "tc_brier":
            if "tc_brier" not in t.columns or t["tc_brier"].isna().any():
                raise InputError(f"task {self.task_!r}: the published map needs whole-task TC Brier scores")
            task_score = t["tc_brier"].to_numpy(dtype=float)
        else:
            task_score = t["accuracy"].to_numpy(dtype=float)
        acc = t["accuracy"].to_numpy(dtype=float)
        # has_constant="add": when every fitted model has the same accuracy (all answers
        # right, say) the accuracy column is itself constant and must still get an intercept
        with warnings.catch_warnings():
            if np.ptp(acc) == 0:  # the flat map is handled below; statsmodels' rank warning says no more
                warnings.simplefilter("ignore")
            self.map_ = OLS(task_score, add_constant(acc, has_constant="add")).fit()
        a, b = self.map_.params
        self.map_a_, self.map_b_ = float(a), float(b)
        if np.ptp(acc) == 0 or not np.isfinite(b) or abs(b) < 1e-12:
            # every fitted model has the same accuracy: the map cannot be inverted
            self.diagnostics_["warnings"].append(
                "fitted accuracies are all equal: the map is flat, the forecast is that accuracy"
            )
            self.map_a_, self.map_b_ = 0.0, np.inf
        self.offset_ = 0.0
        self.offset_ = float(np.mean(acc) - np.mean(self._curve(t["log10_compute"].to_numpy(dtype=float))))
        self.slice_metric_ = slices.metric

    def _curve(self, x: np.ndarray) -> np.ndarray:
        xs = self._x(x)
        if np.isinf(self.map_b_):
            return np.zeros_like(xs) + self.offset_
        score = 0.5 * (self.easy_poly_(xs) + self.hard_poly_(xs))
        return (score - self.map_a_) / self.map_b_ + self.offset_

    def _mean_draws(self, x: np.ndarray) -> np.ndarray:
        return np.broadcast_to(self._curve(np.atleast_1d(x)), (self.n_draws, np.size(x))).copy()

    def _point(self, x: np.ndarray) -> np.ndarray:
        return self._curve(np.atleast_1d(x))
