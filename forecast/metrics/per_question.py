"""Per-question scores of a model's outputs, every one higher-is-better but
:func:`token_edit_distance` (conventions in :mod:`forecast.metrics`): from the per-choice
log-likelihoods of a multiple-choice question (grade, target probability, Brier scores,
target log-likelihood) and from a generated answer (exact match, token edit distance)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.special import logsumexp

from forecast.errors import InputError
from forecast.metrics.inputs import check_choices, check_strings, show_value


def _log_softmax(ll: np.ndarray) -> np.ndarray:
    """Row-wise log-softmax over non-NaN entries; NaN (padding) entries become ``-inf``."""
    filled = np.where(np.isnan(ll), -np.inf, ll)
    return filled - logsumexp(filled, axis=1, keepdims=True)


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
    ll, t = check_choices(logliks, targets)
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
    ll, t = check_choices(logliks, targets)
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
        raise InputError(f"p at {where} is {show_value(arr[bad][0])}, outside [0, 1]")
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
    ll, t = check_choices(logliks, targets)
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
    ll, t = check_choices(logliks, targets)
    return ll[np.arange(ll.shape[0]), t]


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
    out, tgt = check_strings(outputs, targets)
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
    out, tgt = check_strings(outputs, targets)
    vocab: dict[str, int] = {}

    def ids(s: str) -> np.ndarray:
        return np.array([vocab.setdefault(w, len(vocab)) for w in s.split()], dtype=np.int64)

    return np.array([_levenshtein(ids(o), ids(t)) for o, t in zip(out, tgt)], dtype=int)


def neg_token_edit_distance(
    outputs: Sequence[str] | np.ndarray, targets: Sequence[str] | np.ndarray
) -> np.ndarray:
    """Negated :func:`token_edit_distance` (higher is better, ``<= 0``)."""
    return -token_edit_distance(outputs, targets)
