"""Item-response-theory difficulty slices: difficulty from a model, not from a sort.

A two-parameter logistic (2PL) model of per-question correctness::

    P(correct_qm) = sigmoid(a_q * (theta_m - b_q))
    theta_m = alpha + beta * (x_m - mean x) + eps_m,    x_m = log10 compute of model m

with question difficulty ``b_q ~ Normal(0, 2)``, discrimination ``a_q ~ LogNormal(0, 0.5)``
(so ``a_q > 0``), ability intercept ``alpha ~ Normal(0, 2)``, slope in log compute
``beta ~ HalfNormal(1)`` (ability does not fall with compute) and a model's own deviation
from that trend ``eps_m ~ Normal(0, 1)``.  The deviation scale is fixed, not estimated: a
point estimate of a free scale collapses to zero.  The priors also keep ``b_q`` finite for
a question every model got right (or wrong), where maximum likelihood runs to -inf (+inf).

The fit is the posterior mode (MAP, L-BFGS-B on the PyMC log density without the
Jacobian, the same objective as ``pm.find_MAP``), not MCMC: only the ranking of the
questions by ``b_q`` is needed, and a task (at most a few hundred questions times a dozen
models) then takes well under a second per fit.  The PyMC model is built and compiled
**once** per task; each fit switches models in and out through a 0/1 weight on their
answers (a model with weight 0 contributes nothing, whatever its answers), so the
cross-fitted refits cost only an optimisation each.

Cross-fitting (as for quantile slices, see :mod:`forecast.slicing`): the difficulties that
place model ``m``'s questions into slices never use ``m``'s own answers.  Exact
leave-one-model-out needs one fit per model; by default the models are instead split into
``K = min(n_models, n_folds)`` folds (``n_folds = 3`` by default) by interleaving in compute
order (sorted by log compute, then name: the ``i``-th model goes to fold ``i mod K``), so
every fold spans the compute range.  The IRT model is fitted on the other folds' models and
the fold's models' points are sliced by those difficulties.  ``n_folds >= n_models`` is
leave-one-model-out (with the model compiled once it costs about the same: a task's
slices take roughly 0.5-1 s either way, most of it compilation).  A further fit on every
model gives the descriptive ``membership`` and the slice weights (question counts).

Slices: questions sorted by difficulty, easiest (lowest ``b_q``) first, cut into equal-count
groups with the rules of :func:`forecast.slicing.effective_slices`; ties (questions with
identical answers from the training models get exactly the same ``b_q``) are broken by the
seeded random order.  The slices are scored like quantile slices: mean correctness (``"accuracy"``) or, when
``p_correct`` is present, mean TC Brier ``-(1 - p)^2`` (``"tc_brier"``); the IRT model
itself is always fitted on ``correct``.
"""

from __future__ import annotations

import logging
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

import numpy as np
import pandas as pd

from forecast.data.task_table import one_row_per_answer
from forecast.errors import InputError
from forecast.slicing import Slices, _assign, _score_matrix, effective_slices

#: folds over models for cross-fitting (leave-one-model-out when >= the number of models)
N_FOLDS = 3
#: prior scales (see the module docstring)
DIFFICULTY_SD = 2.0
LOG_DISCRIMINATION_SD = 0.5
ALPHA_SD = 2.0
SLOPE_SD = 1.0
ABILITY_SD = 1.0
MAX_ITER = 5000


@dataclass(frozen=True)
class IRTFit:
    """MAP estimates of one 2PL fit.

    ``difficulty`` and ``discrimination`` are per question; ``ability`` is per model (in the
    compiled model's order; a model left out of the fit sits on the compute trend
    ``alpha + beta * (x - mean x)``); ``trained`` marks the models whose answers were used.
    """

    difficulty: np.ndarray
    discrimination: np.ndarray
    ability: np.ndarray
    alpha: float
    beta: float
    trained: np.ndarray
    converged: bool


@dataclass(frozen=True)
class IRTAssignment:
    """Every slice assignment behind :func:`irt_slices`.

    Attributes
    ----------
    labels : DataFrame
        Index ``question_id``, one column per model: the slice of each question *used for
        that model's points* (from the fit that left the model's fold out).
    folds : Series
        Fold of each model (index ``model``).
    membership : DataFrame
        ``question_id, difficulty, discrimination, tie_order, slice`` from the fit on every
        model (descriptive; its slice counts are the weights).
    fold_fits : dict
        Fold -> :class:`IRTFit` fitted without that fold's models.
    overall_fit : IRTFit
    n_slices : int
        Number of slices actually used.
    cross_fitted : bool
    """

    labels: pd.DataFrame
    folds: pd.Series
    membership: pd.DataFrame
    fold_fits: dict[int, IRTFit]
    overall_fit: IRTFit
    n_slices: int
    cross_fitted: bool


@contextmanager
def _single_thread_blas() -> Iterator[None]:
    """One BLAS thread: L-BFGS-B's small dense steps are many times slower multi-threaded."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


@contextmanager
def _quiet() -> Iterator[None]:
    loggers = [logging.getLogger(name) for name in ("pymc", "pytensor")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


class IRTModel:
    """One compiled 2PL model of a task, refitted on any subset of its models.

    Parameters
    ----------
    correct : ndarray (n_questions, n_models)
        Correctness in [0, 1]; NaN where a model did not answer a question.
    x : ndarray (n_models,)
        log10 compute of each model.
    """

    def __init__(self, correct: np.ndarray, x: np.ndarray) -> None:
        import pymc as pm
        import pytensor.tensor as pt
        from pymc.pytensorf import compile as compile_fn
        from pymc.pytensorf import join_nonshared_inputs

        y = np.asarray(correct, dtype=float)
        x = np.asarray(x, dtype=float)
        self.present = np.isfinite(y)
        self._y = np.where(self.present, y, 0.0)
        self.shape = y.shape
        q, m = y.shape
        with _quiet():
            with pm.Model() as model:
                self._weight = pm.Data("weight", self.present.astype(float))
                obs = pm.Data("y", self._y)
                alpha = pm.Normal("alpha", 0.0, ALPHA_SD)
                beta = pm.HalfNormal("beta", SLOPE_SD)
                eps = pm.Normal("eps", 0.0, ABILITY_SD, shape=m)
                theta = alpha + beta * (x - x.mean()) + eps
                b = pm.Normal("difficulty", 0.0, DIFFICULTY_SD, shape=q)
                a = pm.LogNormal("discrimination", 0.0, LOG_DISCRIMINATION_SD, shape=q)
                z = a[:, None] * (theta[None, :] - b[:, None])
                # Bernoulli log-likelihood written out so fractional scores also work;
                # log sigmoid(z) = -softplus(-z)
                loglik = obs * -pt.softplus(-z) + (1.0 - obs) * -pt.softplus(z)
                pm.Potential("answers", pt.sum(self._weight * loglik))
            self._model = model
            # MAP objective of pm.find_MAP (log density without the Jacobian of the log
            # transforms of a and beta), its gradient and the estimates, all as functions of
            # one raveled vector of the value variables, compiled once
            values = model.value_vars
            logp = model.logp(jacobian=False)
            grad = pt.concatenate([pt.grad(logp, v).ravel() for v in values])
            estimates = model.replace_rvs_by_values([alpha, beta, theta, b, a])
            start = model.initial_point()
            outs, joined = join_nonshared_inputs(start, [logp, grad, *estimates], values)
            self._value_grad = compile_fn([joined], outs[:2])
            self._estimates = compile_fn([joined], outs[2:])
            self._x0 = np.concatenate([np.ravel(start[v.name]) for v in values]).astype(float)

    def fit(self, trained: np.ndarray | None = None) -> IRTFit:
        """MAP fit on the answers of the models where ``trained`` is True (default: all)."""
        from scipy.optimize import minimize

        m = self.shape[1]
        trained = np.ones(m, dtype=bool) if trained is None else np.asarray(trained, dtype=bool)
        if trained.shape != (m,):
            raise InputError(f"trained must have one entry per model ({m}), got shape {trained.shape}")
        weight = self.present & trained[None, :]
        self._weight.set_value(weight.astype(float))

        def cost(v: np.ndarray) -> tuple[float, np.ndarray]:
            value, grad = self._value_grad(v)
            return -float(value), -np.array(grad, dtype=float)

        with _quiet(), _single_thread_blas():
            res = minimize(cost, self._x0.copy(), jac=True, method="L-BFGS-B", options={"maxiter": MAX_ITER})
            alpha, beta, theta, b, a = self._estimates(res.x)
        # questions with the same answers from the same training models are exchangeable
        # and have the same estimates; make them exactly equal, so that optimiser noise
        # cannot break their ties (the seeded order does)
        key = np.where(weight, self._y, -1.0)
        _, group = np.unique(key, axis=0, return_inverse=True)
        group = group.ravel()
        size = np.bincount(group)
        b = (np.bincount(group, weights=np.asarray(b, dtype=float)) / size)[group]
        a = (np.bincount(group, weights=np.asarray(a, dtype=float)) / size)[group]
        return IRTFit(
            difficulty=np.array(b, dtype=float),
            discrimination=np.array(a, dtype=float),
            ability=np.array(theta, dtype=float),
            alpha=float(alpha),
            beta=float(beta),
            trained=trained,
            converged=bool(res.success),
        )


def model_folds(compute: pd.DataFrame, models: list[str] | None = None, n_folds: int = N_FOLDS) -> pd.Series:
    """Fold of each model: interleaved in compute order, so every fold spans the range.

    Models are sorted by ``log10_compute`` (then name); the ``i``-th goes to fold
    ``i mod K`` with ``K = min(n_models, n_folds)``.
    """
    if n_folds < 2:
        raise InputError(f"n_folds must be at least 2 for cross-fitting, got {n_folds}")
    table = _compute_of(compute, models)
    order = table.sort_values(["log10_compute", "model"], kind="mergesort")["model"].tolist()
    k = min(len(order), n_folds)
    return pd.Series({name: i % k for i, name in enumerate(order)}, name="fold").rename_axis("model")


def _compute_of(compute: pd.DataFrame, models: list[str] | None) -> pd.DataFrame:
    for col in ("model", "log10_compute"):
        if col not in compute.columns:
            raise InputError(f"compute table lacks column {col!r} (needs model, log10_compute)")
    table = compute.drop_duplicates("model").set_index("model")
    if models is not None:
        missing = [m for m in models if m not in table.index]
        if missing:
            raise InputError(f"model {missing[0]!r} has results but no compute in the compute table")
        table = table.loc[models]
    x = table["log10_compute"].to_numpy(dtype=float)
    if not np.isfinite(x).all():
        bad = table.index[~np.isfinite(x)][0]
        raise InputError(f"model {bad!r} has a non-finite log10_compute")
    return table.reset_index()


def _task_rows(results: pd.DataFrame, task: str) -> pd.DataFrame:
    for col in ("question_id", "model", "correct"):
        if col not in results.columns:
            raise InputError(f"per-question results lack column {col!r} (needs question_id, model, correct)")
    rows = results
    if "task" not in rows.columns:
        rows = rows.assign(task=task)
    elif rows["task"].nunique() > 1:
        if not task:
            raise InputError(f"per-question results hold {rows['task'].nunique()} tasks; name one with task=")
        rows = rows[rows["task"] == task]
        if rows.empty:
            raise InputError(f"no per-question results for task {task!r}")
    return one_row_per_answer(rows)


def _correct_matrix(rows: pd.DataFrame, task: str) -> pd.DataFrame:
    wide = rows.pivot(index="question_id", columns="model", values="correct").sort_index(axis=1)
    values = wide.to_numpy(dtype=float)
    finite = values[np.isfinite(values)]
    if finite.size and ((finite < 0) | (finite > 1)).any():
        raise InputError(f"task {task!r}: column 'correct' must lie in [0, 1]")
    return wide.astype(float)


def irt_assignment(
    results: pd.DataFrame,
    compute: pd.DataFrame,
    n_slices: int = 3,
    seed: int = 0,
    task: str = "",
    n_folds: int = N_FOLDS,
    cross_fit: bool = True,
) -> IRTAssignment:
    """Fit the 2PL model and assign questions to slices, per model (cross-fitted) and overall.

    Parameters
    ----------
    results : DataFrame
        Per-question results of the fitted models only: ``question_id, model, correct``
        (``task`` optional; filtered to ``task`` when it holds several).
    compute : DataFrame
        ``model, log10_compute`` of (at least) those models.
    n_slices : int
        Wanted number of slices; fewer when a slice would hold under 10 questions.
    seed : int
        Seed of the random order that breaks ties in difficulty.
    n_folds : int
        Folds over models (``K = min(n_models, n_folds)``); ``>= n_models`` is
        leave-one-model-out.
    cross_fit : bool
        ``False`` uses the fit on every model for every model's points (the biased in-sample
        sort, for comparison only).
    """
    rows = _task_rows(results, task)
    wide = _correct_matrix(rows, task)
    questions, models = wide.index, list(wide.columns)
    g = effective_slices(len(questions), n_slices, task)
    if len(models) < 2:
        raise InputError(f"task {task!r}: IRT slicing needs at least 2 fitted models, got {len(models)}")
    table = _compute_of(compute, models)
    irt = IRTModel(wide.to_numpy(dtype=float), table["log10_compute"].to_numpy(dtype=float))
    tie_order = np.random.default_rng(seed).permutation(len(questions))

    def labels_of(fit: IRTFit) -> np.ndarray:
        return _assign(-fit.difficulty, tie_order, g)  # highest value first: lowest b_q first

    overall_fit = irt.fit()
    overall = labels_of(overall_fit)
    folds = model_folds(table, models, n_folds)
    fold_fits: dict[int, IRTFit] = {}
    labels = np.empty((len(questions), len(models)), dtype=int)
    fold_of = folds.reindex(models).to_numpy()
    for k in sorted(set(fold_of)):
        members = fold_of == k
        if cross_fit:
            fit = irt.fit(~members)
            fold_fits[int(k)] = fit
            lab = labels_of(fit)
        else:
            lab = overall
        labels[:, members] = lab[:, None]
    membership = pd.DataFrame(
        {
            "question_id": questions.astype(str),
            "difficulty": overall_fit.difficulty,
            "discrimination": overall_fit.discrimination,
            "tie_order": tie_order,
            "slice": overall,
        }
    )
    index = pd.Index(questions.astype(str), name="question_id")
    labels_df = pd.DataFrame(labels, index=index, columns=models)
    return IRTAssignment(labels_df, folds, membership, fold_fits, overall_fit, g, bool(cross_fit))


def irt_slices(
    results: pd.DataFrame,
    compute: pd.DataFrame,
    n_slices: int = 3,
    seed: int = 0,
    task: str = "",
    n_folds: int = N_FOLDS,
    cross_fit: bool = True,
) -> Slices:
    """Cross-fitted IRT difficulty slices of one task (see the module docstring).

    Same inputs as :func:`irt_assignment`.  Returns a :class:`~forecast.slicing.Slices`
    with ``source="irt"``: per model and slice the mean correctness (``"accuracy"``) or
    mean TC Brier (``"tc_brier"``, when ``p_correct`` is present) over the questions the
    cross-fitted assignment puts in that slice (``assignment``: ``model, question_id,
    slice``); weights are the overall slice counts.
    """
    assignment = irt_assignment(results, compute, n_slices, seed, task, n_folds, cross_fit)
    rows_all = _task_rows(results, task)
    score_wide, metric = _score_matrix(rows_all)
    score_wide.index = score_wide.index.astype(str)
    labels = assignment.labels
    score_wide = score_wide.reindex(index=labels.index, columns=labels.columns)
    values = score_wide.to_numpy(dtype=float)
    present = np.isfinite(values)
    g = assignment.n_slices
    out = []
    for j, model in enumerate(labels.columns):
        lab = labels[model].to_numpy()
        for s in range(g):
            mask = (lab == s) & present[:, j]
            out.append(
                {"model": model, "slice": s, "score": float(values[mask, j].mean()) if mask.any() else np.nan,
                 "n_questions": int(mask.sum())}
            )
    scores = pd.DataFrame(out)
    weights = np.bincount(assignment.membership["slice"].to_numpy(), minlength=g).astype(float)
    q = len(labels.index)
    long = pd.DataFrame(
        {
            "model": np.repeat(list(labels.columns), q),
            "question_id": np.tile(labels.index.to_numpy(), len(labels.columns)),
            "slice": labels.to_numpy().T.ravel(),
        }
    )
    return Slices(scores, weights, metric, assignment.membership, "irt", assignment.cross_fitted, long)
