"""Difficulty slices: which questions are easy and which are hard, from fitted models only.

Two sources of slices:

* per-question results: questions are sorted by difficulty (mean TC Brier score when
  ``p_correct`` exists, mean correctness otherwise) over the *fitted* models and cut into
  ``G`` equal-count quantile groups.  Difficulty is **cross-fitted**: the slices used to
  place model ``m``'s points are computed without ``m``'s own answers (leave-one-model-out).
  Sorting by the fitted models' own noisy 0/1 outcomes fakes the paper's effect (a hard
  slice that jumps and an easy slice that dips at the cut-off, even under a monotone
  truth); cross-fitting removes that selection bias.
* pre-sliced groups (the shipped Slice-and-Sandwich data): the published group averages.
  They were sorted with the same models whose points they then hold, so they carry the
  bias above; they are used as published, and only when their difficulty horizon is
  not above the cut-off.

Slice 0 is the easiest, slice ``G-1`` the hardest.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from forecast.data.dataset import EvalData
from forecast.data.task_table import one_row_per_answer, single_answer
from forecast.errors import InputError

MIN_PER_SLICE = 10


@dataclass(frozen=True)
class Slices:
    """Per-slice scores of the fitted models.

    Attributes
    ----------
    scores : DataFrame
        ``model, slice, score, n_questions`` (long; the score is higher-is-better).
    weights : ndarray
        Question count per slice (the sandwich weights).
    metric : str
        ``"tc_brier"`` (in [-1, 0]) or ``"accuracy"`` (in [0, 1]).
    membership : DataFrame or None
        Per question: ``question_id, difficulty, tie_order, slice`` using all fitted models
        (descriptive; the fit uses the cross-fitted assignment).  ``difficulty`` is the mean
        score (higher = easier) for quantile slices and the IRT ``b_q`` (higher = harder,
        with a ``discrimination`` column) for IRT slices.
    source : str
        ``"quantile"``, ``"irt"`` or ``"groups"``.
    cross_fitted : bool
    assignment_table : DataFrame or None
        Per-question data: ``model, question_id, slice`` — the slice each question has
        when model ``model``'s points are computed (cross-fitted: without its answers);
        read it as :attr:`assignment` (quantile slices build it from ``assignment_arrays``
        on first use).
    horizon : float or None
        Pre-sliced groups: the largest compute (raw FLOPs) of the models they were sorted with.
    notes : tuple of str
        Things a user should know about the choice made (reported as warnings).
    """

    scores: pd.DataFrame
    weights: np.ndarray
    metric: str
    membership: pd.DataFrame | None
    source: str
    cross_fitted: bool
    assignment_table: pd.DataFrame | None = None
    horizon: float | None = None
    notes: tuple[str, ...] = ()
    #: ``(models, score, count)``: ``scores`` as arrays (n_slices, n_models) in the order of
    #: ``models`` (NaN where a model has none), when the slicer built them
    arrays: tuple | None = field(default=None, repr=False, compare=False)
    #: ``(models, question_ids, labels)``: :attr:`assignment` as arrays (``labels`` per model
    #: in order, each per question), built into the table on first use
    assignment_arrays: tuple | None = field(default=None, repr=False, compare=False)

    @functools.cached_property
    def assignment(self) -> pd.DataFrame | None:
        """Per-question data: ``model, question_id, slice``, the slice each question has when
        model ``model``'s points are computed (cross-fitted: without its answers)."""
        if self.assignment_table is not None or self.assignment_arrays is None:
            return self.assignment_table
        models, question_ids, labels = self.assignment_arrays
        return pd.DataFrame({"model": np.repeat(models, len(question_ids)),
                             "question_id": np.tile(question_ids, len(models)),
                             "slice": np.concatenate(labels)})

    @property
    def n_slices(self) -> int:
        return int(len(self.weights))

    def _wide(self, models: list[str], column: int, values: str) -> np.ndarray:
        if self.arrays is not None:
            names, *tables = self.arrays
            where = {m: j for j, m in enumerate(names)}
            cols = np.array([where.get(m, -1) for m in models], dtype=int)
            table = np.asarray(tables[column], dtype=float)
            out = np.full((self.n_slices, len(models)), np.nan)
            have = cols >= 0
            out[:, have] = table[:, cols[have]]
            return out
        wide = self.scores.pivot(index="slice", columns="model", values=values)
        return wide.reindex(index=range(self.n_slices), columns=models).to_numpy(dtype=float)

    def matrix(self, models: list[str]) -> np.ndarray:
        """Scores as an array (n_slices, n_models) in the order of ``models``."""
        return self._wide(models, 0, "score")

    def counts(self, models: list[str]) -> np.ndarray:
        """Question counts (``n_questions``) as an array (n_slices, n_models) in the order of
        ``models`` (NaN where a model has none)."""
        return self._wide(models, 1, "n_questions")


def long_arrays(scores: pd.DataFrame, n_slices: int) -> tuple | None:
    """``(models, score, count)`` of a long ``model, slice, score, n_questions`` table as
    arrays (n_slices, n_models), for :attr:`Slices.arrays`; None when a model has two rows
    for one slice (the table is then read as it is, which refuses that)."""
    names, col = np.unique(scores["model"].astype(str).to_numpy(), return_inverse=True)
    row = scores["slice"].to_numpy()
    if pd.MultiIndex.from_arrays([col, row]).has_duplicates:
        return None
    inside = (row >= 0) & (row < n_slices)
    out = []
    for column in ("score", "n_questions"):
        table = np.full((n_slices, len(names)), np.nan)
        table[row[inside].astype(int), col[inside]] = scores[column].to_numpy(dtype=float)[inside]
        out.append(table)
    return ([str(m) for m in names], *out)


def effective_slices(n_questions: int, n_slices: int, task: str = "", allow_single: bool = False) -> int:
    """Number of slices: ``n_slices``, or fewer so that each holds at least 10 questions.

    Asking for fewer than 2 slices is an error.  A task with fewer than 20 questions cannot
    fill 2 slices: an error, unless ``allow_single`` (then the task is one slice, and the
    sandwich reduces to a curve of the whole task).
    """
    if n_slices < 2:
        raise InputError(f"n_slices must be at least 2, got {n_slices} (a single slice is no sandwich)")
    g = min(n_slices, n_questions // MIN_PER_SLICE)
    if g < 2:
        if allow_single and n_questions > 0:
            return 1
        raise InputError(
            f"task {task!r} has {n_questions} questions: too few for 2 slices of "
            f"{MIN_PER_SLICE} questions"
        )
    return g


def _score_matrix(results: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    rows = one_row_per_answer(results)
    if "p_correct" in rows.columns and rows["p_correct"].notna().all():
        rows = rows.assign(score=-((1.0 - rows["p_correct"]) ** 2))
        metric = "tc_brier"
    else:
        rows = rows.assign(score=rows["correct"].astype(float))
        metric = "accuracy"
    wide = rows.pivot(index="question_id", columns="model", values="score")
    return wide.sort_index(axis=1), metric


@dataclass(frozen=True)
class ScoreMatrix:
    """Per-question scores of one task as arrays: ``values`` (questions x models, NaN where a
    model has no answer), ``question_ids`` (sorted), ``models`` (sorted) and ``metric``."""

    values: np.ndarray
    question_ids: np.ndarray
    models: list[str]
    metric: str

    @classmethod
    def from_results(cls, results: pd.DataFrame) -> ScoreMatrix:
        wide, metric = _score_matrix(results)
        return cls(wide.to_numpy(dtype=float), wide.index.astype(str).to_numpy(), [str(m) for m in wide.columns],
                   metric)


def score_matrix(data: EvalData, task: str) -> ScoreMatrix:
    """The :class:`ScoreMatrix` of ``task`` in ``data`` (per-question data), built once per
    data instance; on a subset of other data (``restrict``, ``for_task``) the parent's
    columns of the kept models, less the questions none of them answered."""

    def build() -> ScoreMatrix:
        origin = data.derived.get("origin")
        if origin is not None:
            parent, dropped, only = origin
            if parent.results is not None and (only == task or (only is None and single_answer(parent))):
                full = score_matrix(parent, task)
                keep = np.array([m not in dropped for m in full.models], dtype=bool)
                if keep.all():
                    return full
                if keep.any():
                    values = full.values[:, keep]
                    # a finite score is an answer; only where scores are missing are the rows read
                    answered = (np.ones(len(values), dtype=bool) if np.isfinite(full.values).all()
                                else _answered(parent, task)[:, keep].any(axis=1))
                    return ScoreMatrix(values[answered], full.question_ids[answered],
                                       [m for m, k in zip(full.models, keep) if k], full.metric)
        return ScoreMatrix.from_results(data.rows_of("results", task))

    return data.memo(("score_matrix", task), build)


def _answered(data: EvalData, task: str) -> np.ndarray:
    """Whether each model of :func:`score_matrix` answered each question (questions x models)."""

    def build() -> np.ndarray:
        full = score_matrix(data, task)
        origin = data.derived.get("origin")
        if origin is not None and origin[2] == task and origin[0].results is not None:
            return _answered(origin[0], task)
        rows = data.rows_of("results", task)
        q = pd.Index(full.question_ids).get_indexer(rows["question_id"].astype(str).to_numpy())
        m = pd.Index(full.models).get_indexer(rows["model"].astype(str).to_numpy())
        out = np.zeros(full.values.shape, dtype=bool)
        out[q, m] = True
        return out

    return data.memo(("answered", task), build)


def _assign(difficulty: np.ndarray, tie_order: np.ndarray, n_slices: int) -> np.ndarray:
    """Slice of each question: sorted easiest first (highest mean score), equal counts."""
    order = np.lexsort((tie_order, -difficulty))
    labels = np.empty(difficulty.size, dtype=int)
    for g, chunk in enumerate(np.array_split(order, n_slices)):
        labels[chunk] = g
    return labels


def quantile_slices(
    results: pd.DataFrame,
    n_slices: int = 3,
    seed: int = 0,
    cross_fit: bool = True,
    task: str = "",
    allow_single: bool = False,
    matrix: ScoreMatrix | None = None,
) -> Slices:
    """Cut a task's questions into equal-count difficulty slices using the given models.

    Parameters
    ----------
    results : DataFrame
        Per-question results of the fitted models only (one task).
    n_slices : int
        Wanted number of slices ``G``; fewer when a slice would hold under 10 questions.
    seed : int
        Seed of the random order that breaks ties in difficulty (recorded in ``membership``).
    cross_fit : bool
        Leave-one-model-out difficulty for each model's own points (default).  ``False``
        reproduces the biased in-sample sort, for comparison only.
    allow_single : bool
        Let a task with under 20 questions be one slice instead of an error.
    matrix : ScoreMatrix, optional
        ``results`` as arrays, when already built (:func:`score_matrix`).
    """
    if matrix is None:
        matrix = ScoreMatrix.from_results(results)
    metric, models, question_ids = matrix.metric, list(matrix.models), matrix.question_ids
    values = matrix.values
    q = values.shape[0]
    g = effective_slices(q, n_slices, task, allow_single)
    present = np.isfinite(values)
    filled = np.where(present, values, 0.0)
    total, count = filled.sum(axis=1), present.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        difficulty = total / count
    tie_order = np.random.default_rng(seed).permutation(q)
    overall = _assign(np.nan_to_num(difficulty, nan=-np.inf), tie_order, g)
    assigned = []
    score = np.full((g, len(models)), np.nan)
    n_questions = np.zeros((g, len(models)), dtype=int)
    for j in range(len(models)):
        if cross_fit and len(models) > 1:
            cnt = count - present[:, j]
            with np.errstate(invalid="ignore", divide="ignore"):
                diff_m = (total - filled[:, j]) / cnt
            labels = _assign(np.nan_to_num(diff_m, nan=-np.inf), tie_order, g)
        else:
            labels = overall
        assigned.append(labels)
        for s in range(g):
            mask = (labels == s) & present[:, j]
            n_questions[s, j] = int(mask.sum())
            if n_questions[s, j]:
                score[s, j] = float(filled[mask, j].mean())
    # long table: one row per model and slice, models in order
    scores = pd.DataFrame({"model": np.repeat(np.array(models, dtype=object), g).tolist(),
                           "slice": np.tile(np.arange(g), len(models)),
                           "score": score.T.ravel(), "n_questions": n_questions.T.ravel()})
    weights = np.bincount(overall, minlength=g).astype(float)
    membership = pd.DataFrame(
        {"question_id": question_ids, "difficulty": difficulty, "tie_order": tie_order, "slice": overall}
    )
    return Slices(scores, weights, metric, membership, "quantile", bool(cross_fit),
                  arrays=(models, score, n_questions.astype(float)),
                  assignment_arrays=(models, question_ids, assigned))


def legal_group_horizons(groups: pd.DataFrame, n_slices: int) -> np.ndarray:
    """Difficulty horizons (raw FLOPs) of the TC Brier groups with ``n_slices`` groups."""
    g = groups[(groups["metric"] == "tc_brier") & (groups["n_groups"] == n_slices)]
    if "group_metric_file" in g.columns:
        g = g[g["group_metric_file"] == "tc_brier"]
    return np.sort(g["difficulty_flops_max_1e21"].unique() * 1e21)


def whole_task_slice(scores: pd.DataFrame, task: str = "", prob_renormalized: bool = True) -> Slices:
    """One slice holding the whole task, from whole-task scores (no difficulty sorting).

    Used where no difficulty slices can be had without leaking (group files sorted with
    models above the cut-off) or none exist (task-level data): the sandwich then reduces to
    a curve of the whole task's TC Brier score (or accuracy, when no TC Brier is given).
    """
    s = scores[scores["task"] == task] if task else scores
    brier = s[(s["metric"] == "tc_brier") & (s["prob_renormalized"] == prob_renormalized)]
    metric = "tc_brier"
    if brier.empty:
        brier = s[s["metric"] == "accuracy"].sort_values("prob_renormalized", ascending=not prob_renormalized)
        metric = "accuracy"
    if brier.empty:
        raise InputError(f"task {task!r}: no whole-task TC Brier or accuracy scores")
    rows = brier.drop_duplicates("model")
    out = pd.DataFrame({"model": rows["model"].to_numpy(), "slice": 0,
                        "score": rows["value"].to_numpy(dtype=float), "n_questions": np.nan})
    return Slices(out, np.array([1.0]), metric, None, "whole_task", False, arrays=long_arrays(out, 1),
                  notes=(f"task {task!r}: one slice of the whole task (no difficulty slices usable "
                         "at this cut-off)",))


def group_slices(
    groups: pd.DataFrame,
    cutoff: float,
    n_slices: int = 3,
    prob_renormalized: bool = True,
    task: str = "",
) -> Slices:
    """Slices from pre-computed difficulty groups, choosing the file that does not leak.

    The group file whose difficulty horizon is the largest not above ``cutoff`` is used;
    when every horizon is above the cut-off the groups were sorted with held-out models and
    the fit is refused, naming the smallest legal cut-off.
    """
    if n_slices < 2:
        raise InputError(f"n_slices must be at least 2, got {n_slices} (a single slice is no sandwich)")
    horizons = legal_group_horizons(groups, n_slices)
    if horizons.size == 0:
        have = sorted(int(v) for v in groups["n_groups"].unique())
        raise InputError(f"task {task!r}: no TC Brier groups with n_slices={n_slices} (have {have})")
    ok = horizons[horizons <= cutoff * (1 + 1e-9)]
    if ok.size == 0:
        raise InputError(
            f"task {task!r}: the {n_slices} difficulty groups were sorted with models up to "
            f"{horizons[0]:.4g} FLOPs, above the cut-off {cutoff:.4g}; the smallest legal cut-off "
            f"is {horizons[0]:.4g}"
        )
    notes: tuple[str, ...] = ()
    above = horizons[horizons > cutoff * (1 + 1e-9)]
    if above.size and above[0] <= cutoff * 1.01:
        notes = (
            f"groups sorted up to {above[0]:.6g} FLOPs lie just above the cut-off {cutoff:.6g} and "
            f"were not used (they would leak); pass the cut-off {above[0]:.6g} to use them",
        )
    horizon = ok[-1] / 1e21
    g = groups[
        (groups["metric"] == "tc_brier")
        & (groups["n_groups"] == n_slices)
        & np.isclose(groups["difficulty_flops_max_1e21"], horizon)
        & (groups["prob_renormalized"] == prob_renormalized)
    ]
    if "group_metric_file" in g.columns:
        g = g[g["group_metric_file"] == "tc_brier"]
    if g.empty:
        raise InputError(f"task {task!r}: no groups with prob_renormalized={prob_renormalized}")
    scores = g.rename(columns={"group_index": "slice", "value": "score"})[
        ["model", "slice", "score", "n_questions"]
    ].reset_index(drop=True)
    weights = (
        g.drop_duplicates("group_index").sort_values("group_index")["n_questions"].to_numpy(dtype=float)
    )
    return Slices(scores, weights, "tc_brier", None, "groups", False, horizon=float(ok[-1]), notes=notes,
                  arrays=long_arrays(scores, len(weights)))
