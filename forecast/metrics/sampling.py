"""Sampled answers: many generations per question, scored by success counts.

Repeated-sampling studies record, per question and model, ``n_samples`` generations of which
``n_correct`` were right.  From these counts:

* the per-question success probability ``n_correct / n_samples`` (the expected accuracy of
  one sample, pass@1);
* pass@k, the probability that at least one of ``k`` samples is right, with the unbiased
  estimator of Chen et al. (2021): ``1 - C(n - c, k) / C(n, k)``;
* the greedy-style 0/1 grade they imply: ``1[n_correct > n_samples / 2]`` (the majority
  answer is right), the stand-in for a single deterministic answer.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from forecast.errors import InputError


def _counts(n_samples: Any, n_correct: Any) -> tuple[np.ndarray, np.ndarray]:
    n = np.asarray(n_samples, dtype=float)
    c = np.asarray(n_correct, dtype=float)
    if n.shape != c.shape:
        raise InputError(f"n_samples has shape {n.shape} but n_correct has {c.shape}")
    bad = ~np.isfinite(n) | ~np.isfinite(c) | (n < 1) | (c < 0) | (c > n) | (n % 1 != 0) | (c % 1 != 0)
    if bad.any():
        i = int(np.flatnonzero(bad.ravel())[0])
        raise InputError(
            f"sampled answers row {i}: n_correct {c.ravel()[i]:g} of n_samples {n.ravel()[i]:g} "
            "is not a count in [0, n_samples]"
        )
    return n.astype(np.int64), c.astype(np.int64)


def success_rate(n_samples: Any, n_correct: Any) -> np.ndarray:
    """Per-question success probability ``n_correct / n_samples``."""
    n, c = _counts(n_samples, n_correct)
    return c / n


def pass_at_k(n_samples: Any, n_correct: Any, k: int) -> np.ndarray:
    """Unbiased pass@k estimate per question, ``1 - C(n - c, k) / C(n, k)``.

    Computed as ``1 - prod_{i = n - c + 1}^{n} (1 - k / i)`` (no large binomials); 1 where
    ``n - c < k`` (every draw of ``k`` samples holds a correct one).  NaN where ``k > n``
    (the estimator needs at least ``k`` samples).

    Parameters
    ----------
    n_samples, n_correct : array_like of int, same shape
    k : int, at least 1

    Returns
    -------
    numpy.ndarray of float, the shape of the inputs
    """
    if isinstance(k, bool) or int(k) != k or k < 1:
        raise InputError(f"pass@k needs a whole k >= 1, got {k!r}")
    k = int(k)
    n, c = _counts(n_samples, n_correct)
    out = np.full(n.shape, np.nan)
    flat_n, flat_c, flat_out = n.ravel(), c.ravel(), out.reshape(-1)
    for j, (nj, cj) in enumerate(zip(flat_n, flat_c)):
        if k > nj:
            continue
        if nj - cj < k:
            flat_out[j] = 1.0
        else:
            i = np.arange(nj - cj + 1, nj + 1, dtype=float)
            flat_out[j] = 1.0 - float(np.prod(1.0 - k / i))
    return out


def greedy_grade(n_samples: Any, n_correct: Any) -> np.ndarray:
    """Greedy-style 0/1 grade ``1[n_correct > n_samples / 2]`` (the majority is right)."""
    n, c = _counts(n_samples, n_correct)
    return (2 * c > n).astype(int)


def default_ks(n_samples: Any) -> list[int]:
    """pass@k levels worth reporting: 1 and the powers of 10 up to the fewest samples."""
    n_min = int(np.min(np.asarray(n_samples))) if np.size(n_samples) else 1
    ks = [1]
    while ks[-1] * 10 <= n_min:
        ks.append(ks[-1] * 10)
    return ks
