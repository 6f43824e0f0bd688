"""Composite tasks: the product rule, subset accuracy, item curves, the backtest."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from forecast.composite import (
    ItemCurves,
    composite_backtest,
    counting_subset_accuracy,
    subset_accuracy,
    token_exact_match,
)
from forecast.errors import InputError


def brute_subset(p, k):
    return np.mean([np.prod(s) for s in itertools.combinations(p, k)])


def test_subset_accuracy_is_the_mean_over_subsets_of_the_product():
    rng = np.random.default_rng(0)
    p = rng.uniform(size=9)
    for k in range(1, 10):
        assert subset_accuracy(p, k) == pytest.approx(brute_subset(p, k), rel=1e-12)
    # not the task mean to the K when items differ (Maclaurin: strictly below)
    assert subset_accuracy(p, 4) < p.mean() ** 4 - 1e-3
    assert subset_accuracy(np.full(7, 0.6), 3) == pytest.approx(0.6**3)
    # leading axes are draws / models
    draws = rng.uniform(size=(5, 3, 9))
    got = subset_accuracy(draws, 3)
    assert got.shape == (5, 3) and got[2, 1] == pytest.approx(brute_subset(draws[2, 1], 3))


def test_p_to_the_k_rule_on_synthetic_independent_items():
    """Independent items: how often all K of a subset succeed = subset_accuracy(p, K)."""
    rng = np.random.default_rng(1)
    p = np.repeat([0.1, 0.95], 6)  # items of two difficulties
    runs = rng.uniform(size=(40_000, p.size)) < p  # repeated independent attempts
    for k in (2, 3, 5):
        subsets = list(itertools.combinations(range(p.size), k))
        freq = np.mean([runs[:, list(s)].all(axis=1).mean() for s in subsets])
        assert freq == pytest.approx(subset_accuracy(p, k), abs=0.006)
        assert p.mean() ** k - freq > 0.015  # the shortcut is measurably wrong


def test_one_run_of_zero_one_answers_matches_by_counting_alone():
    outcome = np.array([1, 0, 1, 1, 0, 1, 1, 0, 0, 1])  # any dependence would give the same
    for k in (1, 2, 3):
        assert subset_accuracy(outcome.astype(float), k) == pytest.approx(
            counting_subset_accuracy(outcome.sum(), outcome.size, k)
        )


def test_token_exact_match():
    assert token_exact_match([[0.9, 0.5, 1.0]])[0] == pytest.approx(0.45)
    assert token_exact_match(np.array([0.5, 0.9]), length=3) == pytest.approx([0.125, 0.729])
    with pytest.raises(InputError, match="outside"):
        token_exact_match([1.2], length=2)
    with pytest.raises(InputError, match="exceeds"):
        subset_accuracy([0.5, 0.5], 3)


def test_item_curves_recover_logistic_items_and_carry_intervals():
    x = np.linspace(0, 2, 6)
    a, b = np.array([-2.0, 0.0, 1.0]), np.array([1.5, 2.0, 0.5])
    rng = np.random.default_rng(2)
    p = 1 / (1 + np.exp(-(a + b * x[:, None])))
    noisy = np.clip(p + rng.normal(0, 0.01, p.shape), 0, 1)
    curves = ItemCurves(n_draws=2000, seed=0).fit(x, noisy)
    truth = 1 / (1 + np.exp(-(a + b * 2.5)))
    draws = curves.sample([2.5])[:, 0, :]
    lo, hi = np.quantile(draws, [0.005, 0.995], axis=0)
    assert ((lo <= truth) & (truth <= hi)).all()
    assert np.allclose(curves.point([2.5])[0], truth, atol=0.05)
    k2 = subset_accuracy(draws, 2)
    assert k2.shape == (2000,) and np.quantile(k2, 0.05) <= brute_subset(truth, 2) <= np.quantile(k2, 0.95)


def test_composite_backtest_never_sees_held_out_models():
    import forecast

    d = forecast.load_dataset("digits")
    keep = sorted(d.results["question_id"].unique())[:40]
    small = d.__class__.from_frames(d.models, d.tasks, results=d.results[d.results["question_id"].isin(keep)],
                                    name="digits40")
    bt = composite_backtest(small, "digits", ks=(1, 4), min_sizes=8, n_draws=100)
    assert len(set(bt["cutoff"])) == 2  # 8 and 9 sizes fitted
    first = bt[bt["cutoff"] == bt["cutoff"].min()]
    assert set(first["model"]) == {"mlp-h32", "mlp-h64"}
    # changing a held-out model's answers changes its observed value, never the forecast
    res = small.results.copy()
    res.loc[res["model"] == "mlp-h64", "p_correct"] = 0.5
    changed = d.__class__.from_frames(small.models, small.tasks, results=res, name="digits40")
    bt2 = composite_backtest(changed, "digits", ks=(1, 4), min_sizes=8, n_draws=100)
    first2 = bt2[bt2["cutoff"] == bt2["cutoff"].min()]
    assert np.allclose(first["median"], first2["median"])
    assert not np.allclose(first["observed"], first2["observed"])
    assert ((bt["low"] <= bt["median"]) & (bt["median"] <= bt["high"])).all()
