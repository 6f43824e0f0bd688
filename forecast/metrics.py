"""Per-question metrics, per-model aggregates and the emergence score.

The same model outputs can look "emergent" or smooth depending on the metric used to score
them (METHOD.md section 2; Schaeffer, Miranda & Koyejo 2023).  This module computes the
discontinuous metrics (multiple-choice grade, exact match) next to the continuous ones
(target-conditioned probability, Brier scores, target log-likelihood, token edit distance)
and the BIG-bench emergence score ("breakthroughness") of a metric's curve over model scale.

Conventions
-----------
* Every score is **higher-is-better**.  The Brier scores are returned negated
  (``tc_brier = -(1 - p)**2`` in ``[-1, 0]``, ``multiclass_brier`` in ``[-2, 0]``).
  The one exception is :func:`token_edit_distance`, a distance (lower is better);
  :func:`neg_token_edit_distance` is its higher-is-better form.
* Multiple-choice inputs are a 2-D array ``logliks`` of shape ``(n_questions, n_choices)``
  with NaN padding for questions with fewer choices (NaN choices are ignored) and an
  integer array ``targets`` of correct-choice column indices.  ``-inf`` is a valid
  log-likelihood (probability 0); ``+inf`` is not.
* Bad input raises :class:`forecast.errors.InputError` with a one-line message naming the
  offending row and value.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import logsumexp

from forecast.errors import InputError

__all__ = [
    "PER_QUESTION_METRICS",
    "accuracy",
    "p_correct",
    "tc_brier",
    "multiclass_brier",
    "target_loglik",
    "exact_match",
    "token_edit_distance",
    "neg_token_edit_distance",
    "loglik_matrix",
    "question_metrics",
    "model_metrics",
    "emergence_score",
    "emergence_scores",
]

#: Per-question metric columns added by :func:`question_metrics`, in output order.
PER_QUESTION_METRICS: tuple[str, ...] = (
    "accuracy",
    "p_correct",
    "tc_brier",
    "multiclass_brier",
    "target_loglik",
)


# --------------------------------------------------------------------------- validation


def _show(value: Any) -> str:
    """``repr`` of a value for messages, with numpy scalars shown as plain Python ones."""
    if isinstance(value, np.generic):
        value = value.item()
    return repr(value)


def _row_name(i: int) -> str:
    return f"row {i}"


def _check_mc(
    logliks: Any,
    targets: Any,
    describe: Callable[[int], str] = _row_name,
) -> tuple[np.ndarray, np.ndarray]:
    """Validate multiple-choice inputs; return ``(logliks float 2-D, targets int 1-D)``.

    ``describe(i)`` names row ``i`` in error messages.
    """
    try:
        ll = np.asarray(logliks, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InputError(f"logliks must be a numeric 2-D array (ragged rows? pad with NaN): {exc}")
    if ll.ndim != 2:
        raise InputError(f"logliks must be 2-D (n_questions, n_choices), got shape {ll.shape}")
    t_raw = np.asarray(targets)
    if t_raw.ndim != 1:
        raise InputError(f"targets must be 1-D, got shape {t_raw.shape}")
    if t_raw.shape[0] != ll.shape[0]:
        raise InputError(
            f"targets has {t_raw.shape[0]} entries but logliks has {ll.shape[0]} rows"
        )
    if t_raw.dtype.kind in "iu":
        t = t_raw.astype(np.int64)
    elif t_raw.dtype.kind in "fb" or t_raw.size == 0:
        tf = t_raw.astype(float)
        bad = ~np.isfinite(tf) | (tf != np.round(tf))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputError(f"{describe(i)}: target {_show(t_raw[i])} is not an integer index")
        t = tf.astype(np.int64)
    else:
        raise InputError(f"targets must be integers, got dtype {t_raw.dtype}")

    if np.isposinf(ll).any():
        i = int(np.flatnonzero(np.isposinf(ll).any(axis=1))[0])
        raise InputError(f"{describe(i)}: log-likelihood +inf is not allowed")
    valid = ~np.isnan(ll)
    n_valid = valid.sum(axis=1)
    empty = n_valid == 0
    if empty.any():
        i = int(np.flatnonzero(empty)[0])
        raise InputError(f"{describe(i)}: all log-likelihoods are NaN (no choices)")
    no_mass = ~np.isfinite(ll).any(axis=1)
    if no_mass.any():
        i = int(np.flatnonzero(no_mass)[0])
        raise InputError(f"{describe(i)}: every log-likelihood is -inf (probabilities are 0)")

    n_cols = ll.shape[1]
    in_cols = (t >= 0) & (t < n_cols)
    points_valid = np.zeros_like(in_cols)
    rows = np.flatnonzero(in_cols)
    points_valid[rows] = valid[rows, t[rows]]
    bad = ~points_valid
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"{describe(i)}: target {int(t[i])} out of range for {int(n_valid[i])} choices "
            f"(valid: 0..{int(n_valid[i]) - 1}, non-NaN)"
        )
    return ll, t


def _log_softmax(ll: np.ndarray) -> np.ndarray:
    """Row-wise log-softmax over non-NaN entries; NaN (padding) entries become ``-inf``."""
    filled = np.where(np.isnan(ll), -np.inf, ll)
    return filled - logsumexp(filled, axis=1, keepdims=True)


# --------------------------------------------------------------------------- per question


def accuracy(logliks: Any, targets: Any) -> np.ndarray:
    """Multiple-choice grade: 1 where the most likely choice is the target.

    Parameters
    ----------
    logliks : array_like, shape (n_questions, n_choices)
        Per-choice log-likelihoods; NaN entries are padding and are ignored.
    targets : array_like of int, shape (n_questions,)
        Column index of the correct choice.

    Returns
    -------
    numpy.ndarray of int, shape (n_questions,)
        ``1[argmax_k l_k == t]``.  Ties are broken by taking the **first** maximal choice
        (the :func:`numpy.argmax` convention), so a tie counts as correct only when the
        target is the lowest-index tied choice.

    Raises
    ------
    InputError
        On shape mismatch, an all-NaN row, or a target outside the row's non-NaN choices.
    """
    ll, t = _check_mc(logliks, targets)
    best = np.argmax(np.where(np.isnan(ll), -np.inf, ll), axis=1)
    return (best == t).astype(int)


def p_correct(logliks: Any, targets: Any) -> np.ndarray:
    """Target-conditioned probability ``exp(l_t) / sum_k exp(l_k)``.

    Computed stably as ``exp(l_t - logsumexp(l))`` over the non-NaN choices, so it is the
    probability of the target renormalised over the offered choices.

    Parameters
    ----------
    logliks : array_like, shape (n_questions, n_choices)
        Per-choice log-likelihoods; NaN entries are padding and are ignored.
    targets : array_like of int, shape (n_questions,)
        Column index of the correct choice.

    Returns
    -------
    numpy.ndarray of float, shape (n_questions,)
        Values in ``[0, 1]``.

    Raises
    ------
    InputError
        On invalid inputs (see :func:`accuracy`).
    """
    ll, t = _check_mc(logliks, targets)
    logp = _log_softmax(ll)
    return np.exp(logp[np.arange(ll.shape[0]), t])


def tc_brier(p: Any) -> np.ndarray:
    """Target-conditioned Brier score ``-(1 - p)**2`` (higher is better, in ``[-1, 0]``).

    Parameters
    ----------
    p : array_like of float
        Target-conditioned probabilities in ``[0, 1]``; NaN propagates (missing value).

    Returns
    -------
    numpy.ndarray of float
        Same shape as ``p``; 0 for ``p = 1`` and -1 for ``p = 0``.

    Raises
    ------
    InputError
        If a non-NaN value lies outside ``[0, 1]``.
    """
    try:
        arr = np.asarray(p, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InputError(f"p must be numeric probabilities: {exc}")
    bad = ~np.isnan(arr) & ~((arr >= 0.0) & (arr <= 1.0))
    if bad.any():
        idx = tuple(int(v) for v in np.argwhere(bad)[0])
        where = f"index {idx[0]}" if len(idx) == 1 else f"index {idx}"
        raise InputError(f"p at {where} is {_show(arr[bad][0])}, outside [0, 1]")
    return -((1.0 - arr) ** 2)


def multiclass_brier(logliks: Any, targets: Any) -> np.ndarray:
    """Multi-class Brier score, **negated** so that higher is better.

    The usual multi-class Brier *loss* is ``sum_k (softmax(l)_k - 1[k = t])**2`` in
    ``[0, 2]``; this function returns its negative, a score in ``[-2, 0]`` (0 = all
    probability on the target), following the package's higher-is-better convention.
    The softmax runs over the non-NaN choices only; padding contributes nothing.

    Parameters
    ----------
    logliks : array_like, shape (n_questions, n_choices)
        Per-choice log-likelihoods; NaN entries are padding and are ignored.
    targets : array_like of int, shape (n_questions,)
        Column index of the correct choice.

    Returns
    -------
    numpy.ndarray of float, shape (n_questions,)
        ``-sum_k (softmax(l)_k - 1[k = t])**2``.

    Raises
    ------
    InputError
        On invalid inputs (see :func:`accuracy`).
    """
    ll, t = _check_mc(logliks, targets)
    probs = np.exp(_log_softmax(ll))  # padding -> exp(-inf) = 0
    onehot = np.zeros_like(probs)
    onehot[np.arange(ll.shape[0]), t] = 1.0
    return -np.sum((probs - onehot) ** 2, axis=1)


def target_loglik(logliks: Any, targets: Any) -> np.ndarray:
    """Log-likelihood of the correct choice, ``l_t`` (unnormalised, higher is better).

    Parameters
    ----------
    logliks : array_like, shape (n_questions, n_choices)
        Per-choice log-likelihoods; NaN entries are padding.
    targets : array_like of int, shape (n_questions,)
        Column index of the correct choice.

    Returns
    -------
    numpy.ndarray of float, shape (n_questions,)

    Raises
    ------
    InputError
        On invalid inputs (see :func:`accuracy`).
    """
    ll, t = _check_mc(logliks, targets)
    return ll[np.arange(ll.shape[0]), t]


def _check_strings(outputs: Any, targets: Any) -> tuple[np.ndarray, np.ndarray]:
    out = np.asarray(outputs, dtype=object)
    tgt = np.asarray(targets, dtype=object)
    if out.ndim == 0:
        out = out.reshape(1)
    if tgt.ndim == 0:
        tgt = tgt.reshape(1)
    if out.ndim != 1 or tgt.ndim != 1:
        raise InputError(f"outputs and targets must be 1-D, got shapes {out.shape} and {tgt.shape}")
    if out.shape != tgt.shape:
        raise InputError(
            f"outputs has {out.shape[0]} entries but targets has {tgt.shape[0]}"
        )
    for name, arr in (("outputs", out), ("targets", tgt)):
        is_str = np.fromiter((isinstance(v, str) for v in arr), dtype=bool, count=arr.size)
        if not is_str.all():
            i = int(np.flatnonzero(~is_str)[0])
            raise InputError(f"{name} row {i}: expected a string, got {_show(arr[i])}")
    return out, tgt


def exact_match(
    outputs: Sequence[str] | np.ndarray, targets: Sequence[str] | np.ndarray
) -> np.ndarray:
    """Exact string match: 1 where output equals target after stripping outer whitespace.

    Only leading/trailing whitespace is removed (``str.strip``); case and inner whitespace
    are significant.

    Parameters
    ----------
    outputs, targets : sequence of str, same length

    Returns
    -------
    numpy.ndarray of int
        0/1 per pair.

    Raises
    ------
    InputError
        On a length mismatch or a non-string entry (named by row).
    """
    out, tgt = _check_strings(outputs, targets)
    a = np.char.strip(out.astype(str))
    b = np.char.strip(tgt.astype(str))
    return (a == b).astype(int)


def _levenshtein(a: np.ndarray, b: np.ndarray) -> int:
    """Levenshtein distance between two integer token-id sequences.

    One DP row at a time; the within-row insertion recurrence
    ``cur[j] = min(tmp[j], cur[j-1] + 1)`` is solved in closed form as
    ``cur[j] = j + cummin_k<=j (tmp[k] - k)``.
    """
    if a.size < b.size:
        a, b = b, a
    if b.size == 0:
        return int(a.size)
    cols = np.arange(b.size + 1)
    prev = cols.copy()
    for i, tok in enumerate(a, start=1):
        tmp = np.empty_like(prev)
        tmp[0] = i
        tmp[1:] = np.minimum(prev[1:] + 1, prev[:-1] + (b != tok))
        prev = cols + np.minimum.accumulate(tmp - cols)
    return int(prev[-1])


def token_edit_distance(
    outputs: Sequence[str] | np.ndarray, targets: Sequence[str] | np.ndarray
) -> np.ndarray:
    """Levenshtein distance between whitespace-token sequences (lower is better).

    Each string is split with ``str.split()`` (any run of whitespace; outer whitespace is
    ignored) and the distance counts token insertions, deletions and substitutions.  This
    is the package's single lower-is-better metric; use :func:`neg_token_edit_distance`
    where a higher-is-better score is needed (e.g. for :func:`emergence_score`).

    Parameters
    ----------
    outputs, targets : sequence of str, same length

    Returns
    -------
    numpy.ndarray of int
        Non-negative distances, e.g. ``"a b c"`` vs ``"a x c"`` -> 1, ``""`` vs ``"a b"`` -> 2.

    Raises
    ------
    InputError
        On a length mismatch or a non-string entry (named by row).
    """
    out, tgt = _check_strings(outputs, targets)
    vocab: dict[str, int] = {}

    def ids(s: str) -> np.ndarray:
        return np.array([vocab.setdefault(w, len(vocab)) for w in s.split()], dtype=np.int64)

    return np.array([_levenshtein(ids(o), ids(t)) for o, t in zip(out, tgt)], dtype=int)


def neg_token_edit_distance(
    outputs: Sequence[str] | np.ndarray, targets: Sequence[str] | np.ndarray
) -> np.ndarray:
    """Negated :func:`token_edit_distance` (higher is better, ``<= 0``)."""
    return -token_edit_distance(outputs, targets)


# --------------------------------------------------------------------------- tables


def _is_missing(cell: Any) -> bool:
    if cell is None or cell is pd.NA or cell is pd.NaT:
        return True
    if isinstance(cell, float) and np.isnan(cell):
        return True
    if isinstance(cell, str) and not cell.strip():
        return True
    return False


def _parse_cell(cell: Any, i: int, describe: Callable[[int], str]) -> list[float]:
    value = cell
    if isinstance(cell, str):
        try:
            value = json.loads(cell)
        except json.JSONDecodeError as exc:
            raise InputError(f"{describe(i)}: loglik {cell!r} is not a JSON list ({exc.msg})")
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if not isinstance(value, (list, tuple)):
        raise InputError(f"{describe(i)}: loglik {_show(cell)} is not a list of numbers")
    try:
        return [float(np.nan if v is None else v) for v in value]
    except (TypeError, ValueError):
        raise InputError(f"{describe(i)}: loglik {_show(cell)} is not a list of numbers")


def loglik_matrix(
    cells: Iterable[Any], describe: Callable[[int], str] = _row_name
) -> np.ndarray:
    """Turn per-question log-likelihood lists into a NaN-padded 2-D array.

    Parameters
    ----------
    cells : iterable
        One entry per question: a list/tuple/array of floats or a JSON string such as
        ``"[-1.2, -0.3]"``.  Missing cells (None, NaN, empty string) become all-NaN rows.
    describe : callable, optional
        ``describe(i)`` names entry ``i`` in error messages.

    Returns
    -------
    numpy.ndarray of float, shape (n_questions, max_choices)

    Raises
    ------
    InputError
        If a cell is not a list of numbers or not valid JSON.
    """
    rows = [
        [] if _is_missing(c) else _parse_cell(c, i, describe) for i, c in enumerate(cells)
    ]
    lengths = np.array([len(r) for r in rows], dtype=int)
    width = int(lengths.max()) if lengths.size else 0
    out = np.full((len(rows), width), np.nan)
    mask = np.arange(width)[None, :] < lengths[:, None]
    if mask.any():
        out[mask] = np.concatenate([np.asarray(r, dtype=float) for r in rows if r])
    return out


def _frame_row_namer(df: pd.DataFrame, positions: np.ndarray) -> Callable[[int], str]:
    key = [k for k in ("task", "question_id", "model") if k in df.columns]

    def describe(i: int) -> str:
        pos = int(positions[i])
        row = df.iloc[pos]
        where = ", ".join(f"{k}={_show(row[k])}" for k in key)
        return f"results row {pos + 1}" + (f" ({where})" if where else "")

    return describe


def question_metrics(df: pd.DataFrame) -> pd.DataFrame:
    """Add the per-question metric columns to a canonical long results table.

    Parameters
    ----------
    df : pandas.DataFrame
        Columns ``task, question_id, model`` and any of ``correct`` (0/1), ``loglik``
        (per-choice log-likelihoods: a Python list of floats or a JSON string such as
        ``"[-1.2, -0.3]"``), ``target`` (index of the correct choice) and ``p_correct``.

    Returns
    -------
    pandas.DataFrame
        A copy of ``df`` with whichever of ``accuracy, p_correct, tc_brier,
        multiclass_brier, target_loglik`` can be computed (all float):

        * rows with both ``loglik`` and ``target``: every metric from the logliks
          (``accuracy`` is the argmax grade, ``p_correct`` the renormalised probability,
          replacing any given ``p_correct``);
        * other rows: ``accuracy`` = ``correct`` and ``p_correct`` as given, with
          ``tc_brier`` computed from it; the loglik-only metrics are NaN.

        A column that no row can fill is not added.  Optional columns may be absent.

    Raises
    ------
    InputError
        On a missing ``task``/``question_id``/``model`` column, an unparsable ``loglik``,
        a bad ``target``, or ``correct``/``p_correct`` values out of range, naming the row
        (1-based) and its task, question and model.
    """
    missing = [c for c in ("task", "question_id", "model") if c not in df.columns]
    if missing:
        raise InputError(
            f"results: missing column {missing[0]!r} (has: {', '.join(map(str, df.columns))})"
        )
    out = df.copy()
    n = len(out)
    all_pos = np.arange(n)
    describe_all = _frame_row_namer(df, all_pos)
    cols: dict[str, np.ndarray] = {}

    if "correct" in out.columns:
        correct = pd.to_numeric(out["correct"], errors="coerce").to_numpy(dtype=float, copy=True)
        raw_missing = out["correct"].isna().to_numpy()
        bad = (np.isnan(correct) & ~raw_missing) | (~np.isnan(correct) & ~np.isin(correct, [0, 1]))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputError(
                f"{describe_all(i)}: correct must be 0 or 1, found {_show(out['correct'].iloc[i])}"
            )
        cols["accuracy"] = correct
    if "p_correct" in out.columns:
        pc = pd.to_numeric(out["p_correct"], errors="coerce").to_numpy(dtype=float, copy=True)
        raw_missing = out["p_correct"].isna().to_numpy()
        bad = (np.isnan(pc) & ~raw_missing) | (~np.isnan(pc) & ~((pc >= 0) & (pc <= 1)))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputError(
                f"{describe_all(i)}: p_correct must lie in [0, 1], found "
                f"{_show(out['p_correct'].iloc[i])}"
            )
        cols["p_correct"] = pc

    if "loglik" in out.columns and "target" in out.columns:
        has_ll = ~np.fromiter((_is_missing(c) for c in out["loglik"]), dtype=bool, count=n)
        has_t = ~out["target"].isna().to_numpy()
        use = np.flatnonzero(has_ll & has_t)
        if use.size:
            describe = _frame_row_namer(df, use)
            ll = loglik_matrix(out["loglik"].to_numpy(dtype=object)[use], describe)
            t_raw = pd.to_numeric(out["target"].iloc[use], errors="coerce")
            bad = t_raw.isna().to_numpy()
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise InputError(
                    f"{describe(i)}: target {_show(out['target'].iloc[use[i]])} is not an integer"
                )
            ll, t = _check_mc(ll, t_raw.to_numpy(dtype=float), describe)
            for name, fn in (
                ("accuracy", accuracy),
                ("p_correct", p_correct),
                ("multiclass_brier", multiclass_brier),
                ("target_loglik", target_loglik),
            ):
                col = cols.setdefault(name, np.full(n, np.nan))
                col[use] = fn(ll, t)

    if "p_correct" in cols:
        cols["tc_brier"] = tc_brier(cols["p_correct"])

    for name in PER_QUESTION_METRICS:
        if name in cols:
            out[name] = cols[name].astype(float)
    return out


def model_metrics(df: pd.DataFrame) -> pd.DataFrame:
    """Per (task, model) means of the per-question metrics.

    Parameters
    ----------
    df : pandas.DataFrame
        A per-question table.  If it has no ``accuracy`` column it is first passed
        through :func:`question_metrics`.

    Returns
    -------
    pandas.DataFrame
        One row per (task, model), sorted, with columns ``task, model, n_questions`` and
        the mean of each per-question metric column present (NaN values are skipped in
        the mean; ``n_questions`` counts all rows of the group).

    Raises
    ------
    InputError
        On a missing ``task`` or ``model`` column, or as :func:`question_metrics`.
    """
    if "accuracy" not in df.columns:
        df = question_metrics(df)
    missing = [c for c in ("task", "model") if c not in df.columns]
    if missing:
        raise InputError(f"results: missing column {missing[0]!r}")
    present = [m for m in PER_QUESTION_METRICS if m in df.columns]
    grouped = df.groupby(["task", "model"], sort=True, dropna=False)
    table = grouped[present].mean() if present else grouped.size().to_frame().iloc[:, :0]
    table.insert(0, "n_questions", grouped.size().astype(int))
    return table.reset_index()


# --------------------------------------------------------------------------- emergence


def emergence_score(x: Any, y: Any) -> float:
    """BIG-bench emergence score ("breakthroughness") of the curve ``y`` over ``x``.

    After sorting the points by ``x`` (stable sort)::

        E = sign(argmax_i y_i - argmin_i y_i) * (max y - min y) / sqrt(median_i (y_i - y_{i-1})**2)

    A large positive ``E`` means ``y`` rises over a few steps rather than gradually;
    a negative sign means the maximum comes before the minimum (a decreasing curve).
    ``argmax``/``argmin`` take the first occurrence.

    Degenerate cases: ``0.0`` for a flat curve (``max y == min y``); when the median squared
    step is 0 but the range is not (most steps flat), the mean squared step is used instead.

    Parameters
    ----------
    x : array_like, shape (n,)
        Scale of each point (e.g. log10 compute).
    y : array_like, shape (n,)
        Metric value at each point (higher is better).

    Returns
    -------
    float

    Raises
    ------
    InputError
        If ``x`` and ``y`` differ in length, are not 1-D, hold fewer than 2 points, or
        contain NaN/inf.
    """
    try:
        xa = np.asarray(x, dtype=float)
        ya = np.asarray(y, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InputError(f"emergence_score: x and y must be numeric: {exc}")
    if xa.ndim != 1 or ya.ndim != 1:
        raise InputError(
            f"emergence_score: x and y must be 1-D, got shapes {xa.shape} and {ya.shape}"
        )
    if xa.shape != ya.shape:
        raise InputError(f"emergence_score: x has {xa.size} points but y has {ya.size}")
    if xa.size < 2:
        raise InputError(f"emergence_score: need at least 2 points, got {xa.size}")
    for name, arr in (("x", xa), ("y", ya)):
        bad = ~np.isfinite(arr)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputError(f"emergence_score: {name}[{i}] is {_show(arr[i])} (must be finite)")
    ys = ya[np.argsort(xa, kind="stable")]
    hi, lo = float(ys.max()), float(ys.min())
    if hi == lo:
        return 0.0
    sign = float(np.sign(int(np.argmax(ys)) - int(np.argmin(ys))))
    steps2 = np.diff(ys) ** 2
    scale = float(np.median(steps2))
    if scale == 0.0:
        scale = float(np.mean(steps2))
    return sign * (hi - lo) / float(np.sqrt(scale))


def emergence_scores(
    df: pd.DataFrame,
    metrics: Sequence[str] | None = None,
    x: str = "log10_compute",
    by: str = "task",
) -> pd.DataFrame:
    """Metric comparison: emergence score of each metric's per-model curve, per task.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per (task, model) (e.g. from :func:`model_metrics` joined with model
        scale) with the column ``x`` and the metric columns.
    metrics : sequence of str, optional
        Metric columns to score; default: those of :data:`PER_QUESTION_METRICS` present.
    x : str, default ``"log10_compute"``
        Column giving each model's scale.
    by : str, default ``"task"``
        Column identifying a curve.

    Returns
    -------
    pandas.DataFrame
        Tidy columns ``task, metric, emergence_score, n_points`` (``task`` is named
        ``by``), one row per task and metric, in task order then the order of
        ``metrics``.  Models with NaN for a metric are left out of that metric's curve;
        a curve with fewer than 2 remaining points gets ``emergence_score`` NaN.

    Raises
    ------
    InputError
        On a missing column, no metric column, a duplicate (task, model) row, or a
        missing/non-finite ``x`` value.
    """
    if metrics is None:
        metrics = [m for m in PER_QUESTION_METRICS if m in df.columns]
        if not metrics:
            raise InputError(
                "emergence_scores: no metric column found (looked for "
                f"{', '.join(PER_QUESTION_METRICS)})"
            )
    else:
        metrics = list(metrics)
        if not metrics:
            raise InputError("emergence_scores: metrics is empty")
    for col in (by, x, *metrics):
        if col not in df.columns:
            raise InputError(
                f"emergence_scores: missing column {col!r} "
                f"(has: {', '.join(map(str, df.columns))})"
            )
    if "model" in df.columns:
        dup = df.duplicated([by, "model"])
        if dup.any():
            row = df[dup].iloc[0]
            raise InputError(
                f"emergence_scores: duplicate row for {by}={_show(row[by])}, "
                f"model={_show(row['model'])} "
                "(expected one row per model; aggregate with model_metrics first)"
            )
    xs = pd.to_numeric(df[x], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(xs)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"emergence_scores: column {x!r} has a missing or non-finite value "
            f"{_show(df[x].iloc[i])} at row {i + 1}"
        )
    records = []
    for task, idx in df.groupby(by, sort=True).indices.items():
        for metric in metrics:
            ys = pd.to_numeric(df[metric].iloc[idx], errors="coerce").to_numpy(dtype=float)
            keep = np.isfinite(ys)
            n_pts = int(keep.sum())
            score = emergence_score(xs[idx][keep], ys[keep]) if n_pts >= 2 else np.nan
            records.append(
                {by: task, "metric": metric, "emergence_score": score, "n_points": n_pts}
            )
    return pd.DataFrame(records, columns=[by, "metric", "emergence_score", "n_points"])
