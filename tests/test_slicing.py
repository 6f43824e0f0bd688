"""Quantile slicing: equal counts, seeded ties, and why difficulty must be cross-fitted."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from forecast.errors import InputError
from forecast.slicing import quantile_slices


def simulate_monotone(n_models=8, n_questions=300, seed=0):
    """Every question gets easier with scale (a purely monotone truth)."""
    rng = np.random.default_rng(seed)
    theta = np.linspace(-1.0, 1.0, n_models)
    b = rng.normal(0.0, 1.5, n_questions)
    p = expit(theta[None, :] - b[:, None])  # (Q, M)
    correct = (rng.random(p.shape) < p).astype(int)
    models = [f"m{j}" for j in range(n_models)]
    rows = pd.DataFrame(
        {
            "task": "sim",
            "question_id": np.repeat(np.arange(n_questions).astype(str), n_models),
            "model": np.tile(models, n_questions),
            "correct": correct.ravel(),
        }
    )
    return rows, p, models


def _slice_bias(slices, p, models):
    """Mean over models of (observed slice score - true expected accuracy on the same questions)."""
    out = np.zeros(slices.n_slices)
    for j, m in enumerate(models):
        a = slices.assignment[slices.assignment["model"] == m]
        q = a["question_id"].astype(int).to_numpy()
        score = slices.scores[slices.scores["model"] == m].set_index("slice")["score"]
        for g in range(slices.n_slices):
            out[g] += score[g] - p[q[a["slice"].to_numpy() == g], j].mean()
    return out / len(models)


def test_cross_fitting_removes_the_fake_u_shape():
    """Under a monotone truth, in-sample sorting inflates the easy slice and deflates the hard one.

    Averaged over 10 simulated data sets (per-set sd of the bias is about 0.02): the naive
    sort is biased by about +0.08 / -0.08, the cross-fitted one by under 0.02.
    """
    fair, naive = [], []
    for seed in range(10):
        rows, p, models = simulate_monotone(seed=seed)
        fair.append(_slice_bias(quantile_slices(rows, 3, seed=0, cross_fit=True), p, models))
        naive.append(_slice_bias(quantile_slices(rows, 3, seed=0, cross_fit=False), p, models))
    bias_fair, bias_naive = np.mean(fair, axis=0), np.mean(naive, axis=0)
    assert bias_naive[0] > 0.05 and bias_naive[2] < -0.05
    assert np.all(np.abs(bias_fair) < 0.02)


def test_slices_equal_counts_and_order():
    rows, p, models = simulate_monotone(n_questions=95)
    s = quantile_slices(rows, 3, seed=1)
    assert list(s.weights) == [32, 32, 31]
    assert len(s.assignment) == 95 * len(models)
    means = s.scores.groupby("slice")["score"].mean().to_numpy()
    assert means[0] > means[1] > means[2]
    assert s.metric == "accuracy"
    # same seed -> same tie order and membership
    pd.testing.assert_frame_equal(s.membership, quantile_slices(rows, 3, seed=1).membership)


def test_slices_fall_back_to_fewer_groups():
    rows, _, _ = simulate_monotone(n_questions=35)
    assert quantile_slices(rows, 10).n_slices == 3
    rows, _, _ = simulate_monotone(n_questions=15)
    with pytest.raises(InputError, match="15 questions: too few for 2 slices"):
        quantile_slices(rows, 3, task="sim")


def test_tc_brier_slicing_when_probabilities_exist():
    rows, p, _ = simulate_monotone(n_questions=60)
    rows = rows.assign(p_correct=p.ravel())
    s = quantile_slices(rows, 3)
    assert s.metric == "tc_brier"
    assert (s.scores["score"] <= 0).all() and (s.scores["score"] >= -1).all()
