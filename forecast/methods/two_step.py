"""The model ladder's two-step forecast (Bhagia et al. 2024, AI2): (N, D) -> task loss -> accuracy.

Step 1, on the fitted runs' final checkpoints: the task loss (bits per byte of the correct
answer, ``bpb``) as a Chinchilla-type law ``L(N, D) = E + A / N'^alpha + B / D'^beta`` of
parameters ``N`` and training tokens ``D`` (``N' = N / 1e9``, ``D' = D / 1e10``, for
conditioning), fitted by bounded least squares (scipy) with a Huber loss on log residuals.

Step 2, on the fitted runs' intermediate checkpoints (the first ``skip_fraction`` of each run
dropped, a ``moving_average``-checkpoint moving mean): accuracy as a sigmoid of the loss plus
the ideal point (loss 0, accuracy 1), fitted by bounded least squares.  Two forms:
``step2="free"`` (default; AI2's ``a / (1 + exp(-k (L - L0))) + b`` with AI2's bounds
``-1 <= a <= 0 <= b <= 1``, ``k, L0 >= 0`` and start ``(chance - 1, 0.9, 3, 1)``: floor
``a + b`` and top ``b`` free) or ``step2="chance_floor"`` (``acc = chance + (top - chance)
sigmoid(k (L0 - L))``, the floor fixed at the task's chance).

The task loss is ``bpb`` (bits per byte of the correct answer) or ``soft_log_prob``, used
as its negative (the cross-entropy of the correct choice among the choices, AI2's
alternative task loss; 0 = certain of the right answer, which is the ideal point).

Chained: ``acc(N, D) = step2(step1(N, D))``.  Uncertainty: the whole chain refitted on
bootstrap resamples of the fitted runs (one draw per resample); the observed-score interval
adds the fitted runs' residual spread and, learned at fit time on pseudo-cut-offs inside
the ladder (:meth:`TwoStep.learn_context`), an extrapolation error whose sd grows
linearly with the decades between the cut-off and the forecast compute.

Held-out runs are forecast from their own ``params`` and ``tokens``
(:meth:`TwoStep.sample_models`).  On a compute grid (curves, thresholds) compute ``C`` is
split into ``N`` and ``D`` by the rule ``D = tokens_per_param * N`` and ``C = k N D``, with
``k = flops / (params * tokens)`` of the largest fitted run (AI2's FLOPs per token over N).

The two steps' laws and their fits are in :mod:`forecast.methods.ladder_laws` (their names
re-exported here).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from forecast.data.dataset import EvalData
from forecast.errors import NotApplicable
from forecast.learned_settings import LearnedSettings
from forecast.methods.base import Forecaster, model_compute
from forecast.methods.contract import ForecasterTags
from forecast.methods.ladder_laws import (  # noqa: F401 (the laws' names, re-exported)
    D_UNIT,
    extrapolation_law,
    fit_free_sigmoid,
    fit_loss_law,
    fit_loss_to_accuracy,
    FREE_BOUNDS,
    free_sigmoid,
    HUBER_DELTA,
    loss_law,
    loss_to_accuracy,
    LOSSES,
    MAX_NFEV,
    MIN_DECADES,
    MIN_RUNS,
    N_UNIT,
    STARTS,
    STEP2_FORMS,
)

@dataclass
class TwoStepSettings(LearnedSettings):
    """What :class:`TwoStep` learns with ``calibrate`` (:func:`extrapolation_law`; nothing
    without): the extrapolation error per decade on the accuracy and the logit scale, where it
    came from (``learned``, ``through_origin`` or ``fallback``), the fitted floor and the number
    of pseudo targets.  Every key is written only when learned."""

    n_pseudo: int | None = None
    extrapolation_sd_logit: float | None = None
    extrapolation_sd: float | None = None
    extrapolation_source: str | None = None
    extrapolation_floor: float | None = None

    optional: ClassVar[frozenset[str]] = frozenset(
        {"n_pseudo", "extrapolation_sd_logit", "extrapolation_sd", "extrapolation_source", "extrapolation_floor"})


class TwoStep(Forecaster):
    """Model-ladder two-step forecast: compute (N, D) -> task loss -> accuracy.

    Parameters
    ----------
    loss : str
        The continuous task-loss metric of the data's ``scores`` / ``steps`` tables:
        ``bpb`` (bits per byte of the correct answer) or ``soft_log_prob`` (used as its
        negative: the cross-entropy of the correct choice among the choices).
    step2 : str
        The loss -> accuracy form: ``free`` (AI2's sigmoid, floor and top free) or
        ``chance_floor`` (floor fixed at the task's chance).
    skip_fraction : float
        Share of each run's earliest checkpoints left out of step 2 (AI2: 0.1).
    moving_average : int
        Checkpoints in the moving mean of each run's step-2 points (AI2: 5).
    tokens_per_param : float
        The rule splitting compute into N and D on a compute grid (curves, thresholds):
        ``D = tokens_per_param * N`` (20: Chinchilla-optimal).  Named held-out models use
        their own ``params`` and ``tokens``.
    calibrate : bool
        Learn the extrapolation error on pseudo-cut-offs inside the fitted ladder
        (:meth:`learn_context`) and add it to the observed-score draws.
    n_draws : int
        Bootstrap resamples of the fitted runs (one chain refit, one draw each).
    loss_disagreement : bool
        Widen the observed-score interval by the disagreement between this chain and the
        same chain on the other task loss (``bpb`` <-> ``soft_log_prob``), both fitted on
        the runs at or below the cut-off: two defensible task losses that forecast
        different accuracies say the forecast depends on a choice the data cannot settle.
        The added sd is ``|acc_this - acc_other| / sqrt(2)`` at each forecast (the sd of
        either choice's error if the two errors are independent with equal sd, fixed a
        priori).  Nothing is added when the data lack the other loss.
    seed : int
    """

    name = "two_step"
    settings_class = TwoStepSettings
    tags = ForecasterTags(handles=frozenset({"task_level", "ladder"}), needs=frozenset({"ladder"}),
                          learns_settings=True, in_default_run=True)
    n_curve_params = 5
    learns_context = True
    #: fit the point chain only, no bootstrap (the pseudo-cut-off fits of learn_context)
    _point_only = False

    def __init__(self, loss: str = "bpb", step2: str = "free", skip_fraction: float = 0.1,
                 moving_average: int = 5, tokens_per_param: float = 20.0, calibrate: bool = True,
                 n_draws: int = 40, loss_disagreement: bool = False, seed: int = 0) -> None:
        self.loss = loss
        self.step2 = step2
        self.skip_fraction = skip_fraction
        self.moving_average = moving_average
        self.tokens_per_param = tokens_per_param
        self.calibrate = calibrate
        self.n_draws = n_draws
        self.loss_disagreement = loss_disagreement
        self.seed = seed

    # ------------------------------------------------------------------ data
    def _runs(self, fitted: EvalData) -> pd.DataFrame:
        """Per fitted run: ``model, params, tokens, flops, loss, accuracy`` (final checkpoint)."""
        task = self.task_
        s = fitted.scores
        if s is None or fitted.steps is None:
            raise NotApplicable(f"task {task!r}: two_step needs task-level scores with checkpoints (steps)")
        loss = s[(s["task"] == task) & (s["metric"] == self.loss)][["model", "value"]]
        if loss.empty:
            raise NotApplicable(f"task {task!r}: no task loss {self.loss!r} in the data (two_step needs it)")
        loss = loss.assign(value=LOSSES[self.loss] * loss["value"].to_numpy(dtype=float))
        runs = self.fit_table_[["model", "accuracy"]].merge(loss.rename(columns={"value": "loss"}), on="model")
        runs = runs.merge(fitted.models[["model", "params", "tokens", "flops"]], on="model")
        runs = runs[np.isfinite(runs[["loss", "params", "tokens"]].to_numpy(dtype=float)).all(axis=1)]
        if len(runs) < MIN_RUNS:
            raise NotApplicable(
                f"task {task!r}: {len(runs)} fitted runs with {self.loss!r}, params and tokens; two_step needs {MIN_RUNS}"
            )
        return runs.sort_values("model").reset_index(drop=True)

    def _checkpoints(self, fitted: EvalData, runs: list[str]) -> dict[str, np.ndarray]:
        """Per run: smoothed ``(loss, accuracy)`` of its checkpoints after the skipped share."""
        st = fitted.steps
        if self.loss not in st.columns:
            raise NotApplicable(f"task {self.task_!r}: the steps table has no {self.loss!r} column")
        st = st[(st["task"] == self.task_) & st["model"].isin(runs)].dropna(subset=[self.loss, "accuracy"])
        out = {}
        for run, rows in st.groupby("model", sort=True):
            rows = rows.sort_values("step")
            rows = rows.iloc[int(np.floor(self.skip_fraction * len(rows))):]
            smooth = rows[[self.loss, "accuracy"]].rolling(self.moving_average, min_periods=1).mean()
            if len(smooth):
                out[str(run)] = smooth.to_numpy(dtype=float) * np.array([LOSSES[self.loss], 1.0])
        if not out:
            raise NotApplicable(f"task {self.task_!r}: no checkpoints with {self.loss!r} for the fitted runs")
        return out

    # ------------------------------------------------------------------ fit
    def _fit_chain(self, runs: pd.DataFrame, points: dict[str, np.ndarray], pick: np.ndarray,
                   start: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
        r = runs.iloc[pick]
        p = fit_loss_law(r["params"].to_numpy(float), r["tokens"].to_numpy(float), r["loss"].to_numpy(float),
                         None if start is None else start[0])
        pts = np.concatenate([points[m] for m in r["model"] if m in points] or [np.empty((0, 2))])
        if len(pts) < 3:
            pts = r[["loss", "accuracy"]].to_numpy(dtype=float)
        q = STEP2_FORMS[self.step2][1](pts[:, 0], pts[:, 1], self.chance_, None if start is None else start[1])
        return p, q

    def _fit(self, fitted: EvalData) -> None:
        self._check_own_params()
        runs = self._runs(fitted)
        points = self._checkpoints(fitted, list(runs["model"]))
        everyone = np.arange(len(runs))
        try:
            self.loss_params_, self.map_params_ = self._fit_chain(runs, points, everyone)
        except RuntimeError as exc:  # curve_fit gave up
            raise NotApplicable(f"task {self.task_!r}: the two_step fit did not converge ({exc})") from None
        draws = [(self.loss_params_, self.map_params_)] * self.n_draws if self._point_only else []
        for _ in range(0 if self._point_only else self.n_draws):
            pick = self._rng.choice(everyone, size=len(everyone), replace=True)
            if np.unique(runs["params"].to_numpy()[pick]).size < 2 or np.unique(pick).size < MIN_RUNS - 2:
                pick = everyone
            try:
                draws.append(self._fit_chain(runs, points, pick, start=(self.loss_params_, self.map_params_)))
            except RuntimeError:  # a resample the fit cannot follow keeps the point fit
                draws.append((self.loss_params_, self.map_params_))
        self.loss_draws_ = np.array([p for p, _ in draws])
        self.map_draws_ = np.array([q for _, q in draws])
        self.runs_ = runs
        largest = runs.loc[runs["flops"].idxmax()]
        self.flops_per_nd_ = float(largest["flops"] / (largest["params"] * largest["tokens"]))
        ctx = self.settings_
        self.extrapolation_sd_ = float(ctx.extrapolation_sd or 0.0) if self.calibrate else 0.0
        self.extrapolation_sd_logit_ = float(ctx.extrapolation_sd_logit or 0.0) if self.calibrate else 0.0
        if self.calibrate and ctx.extrapolation_source is not None:
            self.diagnostics_["extrapolation_source"] = ctx.extrapolation_source
        self.other_chain_ = self._other_chain(fitted) if self.loss_disagreement else None
        self.diagnostics_["engine"] = "scipy least squares, bootstrap over runs"

    def _other_chain(self, fitted: EvalData) -> tuple[np.ndarray, np.ndarray] | None:
        """The point chain on the other task loss, fitted on the same runs (None when the
        data lack that loss or the fit fails)."""
        other = next(name for name in LOSSES if name != self.loss)
        fc = TwoStep(**{**self.get_params(), "loss": other, "calibrate": False, "loss_disagreement": False})
        try:
            fc.fit_point(fitted, self.cutoff_, self.task_, context={})
        except (NotApplicable, ValueError, RuntimeError, np.linalg.LinAlgError) as exc:
            self.diagnostics_["warnings"].append(f"no widening by the other task loss {other!r}: {exc}")
            return None
        return fc.loss_params_, fc.map_params_

    def fit_point(self, data: EvalData | str, cutoff: float, task: str | None = None,
                  context: dict | None = None) -> TwoStep:
        """:meth:`fit` without the bootstrap: every draw is the point chain (the quick fits
        of :meth:`learn_context` and of the other task loss)."""
        self._point_only = True
        try:
            return self.fit(data, cutoff, task, context=context)
        finally:
            self._point_only = False

    def _check_own_params(self) -> None:
        from forecast.errors import InputError

        if self.loss not in LOSSES:
            raise InputError(f"loss must be one of {', '.join(LOSSES)}, got {self.loss!r}")
        if self.step2 not in STEP2_FORMS:
            raise InputError(f"step2 must be one of {', '.join(STEP2_FORMS)}, got {self.step2!r}")
        if not 0.0 <= float(self.skip_fraction) < 1.0:
            raise InputError(f"skip_fraction must lie in [0, 1), got {self.skip_fraction!r}")
        if not isinstance(self.moving_average, (int, np.integer)) or self.moving_average < 1:
            raise InputError(f"moving_average must be a positive integer, got {self.moving_average!r}")
        if not float(self.tokens_per_param) > 0:
            raise InputError(f"tokens_per_param must be positive, got {self.tokens_per_param!r}")

    # ------------------------------------------------------------------ prediction
    def _chain(self, p: np.ndarray, q: np.ndarray, n: np.ndarray, d: np.ndarray) -> np.ndarray:
        return STEP2_FORMS[self.step2][0](q, loss_law(p, n, d), self.chance_)

    def predicted_loss(self, params: Any, tokens: Any) -> np.ndarray:
        """Step 1 alone: the point forecast of the task loss at ``params`` and ``tokens``
        (for ``soft_log_prob``: its negative)."""
        return loss_law(self.loss_params_, np.atleast_1d(np.asarray(params, dtype=float)),
                        np.atleast_1d(np.asarray(tokens, dtype=float)))

    def _split(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The compute-split rule: ``C = k N D``, ``D = tokens_per_param * N``."""
        c = 10.0 ** np.atleast_1d(np.asarray(x, dtype=float))
        n = np.sqrt(c / (self.flops_per_nd_ * self.tokens_per_param))
        return n, self.tokens_per_param * n

    def _nd(self, models: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """``params`` and ``tokens`` of named models; the compute-split rule where unknown."""
        x = np.log10(model_compute(models))
        n_rule, d_rule = self._split(x)
        n = models["params"].to_numpy(dtype=float) if "params" in models.columns else np.full(len(x), np.nan)
        d = models["tokens"].to_numpy(dtype=float) if "tokens" in models.columns else np.full(len(x), np.nan)
        known = np.isfinite(n) & np.isfinite(d) & (n > 0) & (d > 0)
        return np.where(known, n, n_rule), np.where(known, d, d_rule)

    def _draws_nd(self, n: np.ndarray, d: np.ndarray) -> np.ndarray:
        return np.stack([self._chain(p, q, n, d) for p, q in zip(self.loss_draws_, self.map_draws_)])

    def _mean_draws(self, x: np.ndarray) -> np.ndarray:
        return self._draws_nd(*self._split(x))

    def _point(self, x: np.ndarray) -> np.ndarray:
        return self._chain(self.loss_params_, self.map_params_, *self._split(x))

    def _point_models(self, models: pd.DataFrame) -> np.ndarray:
        return self._chain(self.loss_params_, self.map_params_, *self._nd(models))

    def sample_models(self, models: pd.DataFrame, kind: str = "observed") -> np.ndarray:
        """Draws for named models from their own ``params`` and ``tokens``."""
        self._check_fitted()
        mean = self._draws_nd(*self._nd(models))
        if kind == "mean":
            return mean
        return self._observed(mean, np.log10(model_compute(models)), self._nd(models))

    def sample(self, compute: Any, kind: str = "observed") -> np.ndarray:
        draws = super().sample(compute, "mean")
        if kind == "mean":
            return draws
        from forecast.methods.base import as_compute

        x = np.log10(as_compute(compute))
        return self._observed(draws, x, self._split(x))

    def _observed(self, mean: np.ndarray, x: np.ndarray, nd: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        """Residual spread plus the learned extrapolation error (grows with decades past the
        cut-off), plus the disagreement with the other task loss's chain at ``nd = (N, D)``
        (``loss_disagreement``).

        An extrapolation sd in logit units (the a-priori fallback, :func:`extrapolation_law`)
        is turned into accuracy units by the delta method at each forecast's mean ``m``
        between the step-2 map's floor ``f`` (at infinite loss) and 1:
        ``d acc / d logit = (m - f) (1 - m) / (1 - f)``.
        """
        rng = np.random.default_rng([self.seed, 1])
        decades = np.maximum(np.asarray(x, dtype=float) - np.log10(self.cutoff_), 0.0)
        per_decade = np.full(decades.shape, self.extrapolation_sd_)
        if self.extrapolation_sd_logit_ > 0:
            floor = self.map_floor()
            m = np.clip(mean.mean(axis=0), floor, 1.0)
            per_decade = np.hypot(per_decade, self.extrapolation_sd_logit_ * (m - floor) * (1 - m) / (1 - floor))
        var = self.spread_**2 + (per_decade * decades) ** 2
        if self.other_chain_ is not None:
            gap = self._chain(self.loss_params_, self.map_params_, *nd) - self._chain(*self.other_chain_, *nd)
            var = var + gap**2 / 2.0
        sd = np.sqrt(var)
        return np.clip(mean + rng.normal(0.0, 1.0, mean.shape) * sd[None, :], 0.0, 1.0)

    def map_floor(self) -> float:
        """The step-2 map's accuracy at infinite loss (``a + b`` of AI2's form; chance for
        ``chance_floor``), within ``[0, 1)``."""
        if self.step2 == "free":
            a, _, _, b = self.map_params_
            return float(np.clip(a + b, 0.0, 1.0 - 1e-6))
        return float(np.clip(self.chance_, 0.0, 1.0 - 1e-6))

    def _estimate_spread(self) -> None:
        """Residual spread of the fitted runs' final accuracies around the chained point fit,
        at their own (N, D)."""
        r = self.runs_
        resid = r["accuracy"].to_numpy(float) - self._chain(
            self.loss_params_, self.map_params_, r["params"].to_numpy(float), r["tokens"].to_numpy(float))
        total = float(np.sum(resid**2) / max(len(r) - 3, 1))
        self.spread_ = float(np.sqrt(max(total, 0.005**2)))
        self.residual_sd_ = float(np.sqrt(total))
        self.n_effective_ = None

    # ------------------------------------------------------------------ calibration
    def learn_settings(self, pool: EvalData, cutoff: float) -> TwoStepSettings:
        """The extrapolation error per decade, from pseudo-cut-offs inside the fitted ladder.

        For every task of ``pool`` (all at or below the cut-off) and its pseudo-cut-offs
        nearest the real one (:func:`forecast.tuning.pseudo_splits`, at least
        :data:`MIN_RUNS` distinct fitted sizes), the chain is point-fitted on the runs at or
        below the pseudo-cut-off and the larger fitted runs are forecast; the absolute
        errors and their horizons (decades past the pseudo-cut-off) give the sd per decade
        by :func:`extrapolation_law` (learned; through the origin when no slope can be
        told; the package's a-priori fallback when there is no pseudo-cut-off at all).
        Never reads a model above ``cutoff``.
        """
        if not self.calibrate:
            return TwoStepSettings()
        from forecast.tuning import pseudo_splits

        errors: list[float] = []
        decades: list[float] = []
        settings = {**self.get_params(), "calibrate": False, "n_draws": 10, "loss_disagreement": False}
        subs: dict[str, EvalData] = {}
        for split in pseudo_splits(pool, min_sizes=MIN_RUNS):
            if split.task not in subs:
                subs[split.task] = pool.for_task(split.task)
            sub = subs[split.task]
            # one point fit per task and pseudo-cut-off (each split is its own), on the
            # task's runs at or below the pseudo-cut-off
            try:
                fc = TwoStep(**settings).fit_point(sub, split.cutoff, split.task, context={})
            except (NotApplicable, ValueError, RuntimeError, np.linalg.LinAlgError):
                continue
            p, q, chance = fc.loss_params_, fc.map_params_, fc.chance_
            targets = split.targets.merge(sub.models[["model", "params", "tokens"]], on="model")
            targets = targets[np.isfinite(targets[["params", "tokens"]].to_numpy(dtype=float)).all(axis=1)]
            if targets.empty:
                continue
            pred = STEP2_FORMS[self.step2][0](q, loss_law(p, targets["params"].to_numpy(float),
                                                          targets["tokens"].to_numpy(float)), chance)
            dec = np.log10(targets["compute"].to_numpy(float)) - np.log10(split.cutoff)
            err = np.abs(targets["accuracy"].to_numpy(float) - pred)
            errors.extend(err.tolist())
            decades.extend(np.maximum(dec, MIN_DECADES).tolist())
        return TwoStepSettings.from_dict(extrapolation_law(np.array(errors), np.array(decades)))
