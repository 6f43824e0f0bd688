"""Scores for discrete and censored outcomes, emergence events and the paired bootstrap:
hand-computed values, brute force and Monte Carlo references."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.isotonic import IsotonicRegression

from forecast.backtest.bootstrap import paired_ratio_interval, win_loss
from forecast.backtest.emergence import (
    brier_skill,
    distance_bin,
    emergence_budgets,
    event_probability,
    group_weights,
    observed_event,
    plot_reliability,
    reliability_table,
    score_events,
)
from forecast.backtest.scoring import (
    bracket_inside,
    count_quantiles,
    cover_scores,
    crossing_bracket,
    crps_sample,
    interval_score,
    noise_floor,
    pit_uniformity,
    randomized_pit,
    threshold_crps,
)
from forecast.errors import InputError
from forecast.threshold import observed_threshold

# ------------------------------------------------------------------------ discrete outcomes


def test_cover_scores_ties_count_half_strict_inclusive():
    y = [0.5, 0.2, 0.5 + 1e-12, 0.9, 0.1, np.nan]
    lower = [0.2, 0.2, 0.2, 0.2, 0.2, 0.2]
    upper = [0.8, 0.8, 0.5, 0.8, 0.8, 0.8]
    half, strict, inclusive = cover_scores(y, lower, upper)
    np.testing.assert_array_equal(half[:5], [1.0, 0.5, 0.5, 0.0, 0.0])
    np.testing.assert_array_equal(strict[:5], [1.0, 0.0, 0.0, 0.0, 0.0])
    np.testing.assert_array_equal(inclusive[:5], [1.0, 1.0, 1.0, 0.0, 0.0])
    assert np.isnan(half[5]) and np.isnan(strict[5]) and np.isnan(inclusive[5])


def test_interval_score_hand_computed():
    # level 0.8 -> alpha 0.2 -> penalty 2/alpha = 10 per unit outside
    got = interval_score([0.5, 0.1, 0.95], [0.2, 0.2, 0.2], [0.8, 0.8, 0.8], 0.8)
    np.testing.assert_allclose(got, [0.6, 0.6 + 10 * 0.1, 0.6 + 10 * 0.15])
    with pytest.raises(InputError):
        interval_score([0.5], [0.2], [0.8], 1.0)


def test_randomized_pit_on_a_discrete_example():
    draws = np.array([[0.0], [0.0], [1.0], [1.0], [1.0], [2.0]])
    u = np.random.default_rng(3).uniform(size=1)
    got = randomized_pit(draws, [1.0], np.random.default_rng(3))
    # P(X < 1) = 2/6, P(X = 1) = 3/6
    np.testing.assert_allclose(got, 2 / 6 + u * 3 / 6)
    # below every draw: U * 0; above every draw: 1
    np.testing.assert_allclose(randomized_pit(draws, [-1.0], np.random.default_rng(0)), [0.0])
    np.testing.assert_allclose(randomized_pit(draws, [5.0], np.random.default_rng(0)), [1.0])


def test_randomized_pit_is_uniform_for_a_calibrated_discrete_forecast_and_not_for_a_biased_one():
    rng = np.random.default_rng(0)
    n_points, n = 2000, 8
    p = rng.uniform(0.2, 0.8, n_points)
    draws = rng.binomial(n, p, size=(400, n_points)) / n
    y = rng.binomial(n, p) / n  # drawn from the forecast itself
    pit = randomized_pit(draws, y, np.random.default_rng(1))
    good = pit_uniformity(pit)
    assert good["n"] == n_points and sum(good["counts"]) == n_points
    assert good["ks_pvalue"] > 0.01 and good["max_dev"] < 0.03
    biased = pit_uniformity(randomized_pit(draws, np.minimum(y + 0.25, 1.0), np.random.default_rng(1)))
    assert biased["ks_pvalue"] < 1e-6 and biased["max_dev"] > 0.1


@pytest.mark.parametrize("n, p", [(1, 0.3), (8, 0.5), (16, 7 / 16), (40, 0.05), (200, 0.62), (3000, 0.81)])
def test_noise_floor_matches_the_pmf_exactly_and_monte_carlo_to_three_digits(n, p):
    got = noise_floor([p], [n])
    k = np.arange(n + 1)
    pmf = stats.binom.pmf(k, n, p)
    cdf = np.cumsum(pmf)
    np.testing.assert_allclose(got["mae"], [np.sum(pmf * np.abs(k / n - p))], rtol=1e-8)
    np.testing.assert_allclose(got["mse"], [p * (1 - p) / n], rtol=1e-12)
    np.testing.assert_allclose(got["crps"], [np.sum(cdf[:-1] * (1 - cdf[:-1])) / n], rtol=1e-8)
    # Monte Carlo: a perfect forecast (draws from Bin(n, p)/n) scored against outcomes from it
    rng = np.random.default_rng(7)
    outcomes = rng.binomial(n, p, size=200_000) / n
    assert abs(np.mean(np.abs(outcomes - p)) - got["mae"][0]) < 1e-3
    assert abs(np.mean((outcomes - p) ** 2) - got["mse"][0]) < 1e-3
    draws = rng.binomial(n, p, size=(400, 1)) / n
    mc_crps = np.mean(crps_sample(draws, outcomes[:2000]))
    assert abs(mc_crps - got["crps"][0]) < 1e-3 + 0.02 * got["crps"][0]


def test_noise_floor_unknown_counts_and_many_points_fast():
    got = noise_floor([0.5, 0.5, np.nan, 1.0], [np.nan, 0, 10, 10])
    assert np.isnan(got["mae"][:3]).all() and np.isnan(got["crps"][:3]).all()
    assert got["mae"][3] == 0 and got["mse"][3] == 0 and got["crps"][3] == 0
    rng = np.random.default_rng(0)
    n = rng.choice([20, 100, 1000, 15000], size=100_000)
    y = rng.binomial(n, rng.uniform(0, 1, n.size)) / n
    y = np.round(y, 2)  # a realistic number of distinct (n, y) pairs
    out = noise_floor(y, n)
    assert np.isfinite(out["crps"]).all()
    # CRPS of a perfect forecast is at most its MAE
    assert np.all(out["crps"] <= out["mae"] + 1e-12)


def test_count_quantiles_match_brute_force_on_the_mixture():
    rng = np.random.default_rng(4)
    n = np.array([12, 30, 7, np.nan])
    draws = rng.beta(4, 3, size=(60, 4))
    levels = [0.5, 0.8, 0.9]
    lower, upper = count_quantiles(draws, n, levels)
    for j in range(3):
        k = np.arange(int(n[j]) + 1)
        mix = stats.binom.cdf(k[None, :], n[j], draws[:, j:j + 1]).mean(axis=0)
        for i, level in enumerate(levels):
            lo = k[np.argmax(mix >= (1 - level) / 2)] / n[j]
            hi = k[np.argmax(mix >= (1 + level) / 2)] / n[j]
            assert lower[i, j] == pytest.approx(lo) and upper[i, j] == pytest.approx(hi)
    assert np.isnan(lower[:, 3]).all() and np.isnan(upper[:, 3]).all()
    # bounds lie on the k/n grid and nest
    assert np.allclose(lower[:, :3] * n[:3], np.round(lower[:, :3] * n[:3]))
    assert np.all(np.diff(lower[:, :3], axis=0) <= 0) and np.all(np.diff(upper[:, :3], axis=0) >= 0)


def test_count_quantiles_large_n_agree_with_scipy_cdf():
    draws = np.random.default_rng(2).uniform(0.3, 0.35, size=(500, 1))
    lower, upper = count_quantiles(draws, [15000], [0.9])
    k = np.arange(4000, 5800)
    mix = stats.binom.cdf(k[None, :], 15000, draws).mean(axis=0)
    assert lower[0, 0] == pytest.approx(k[np.argmax(mix >= 0.05)] / 15000)
    assert upper[0, 0] == pytest.approx(k[np.argmax(mix >= 0.95)] / 15000)


# ------------------------------------------------------------------------------ thresholds


def test_threshold_crps_caps_forecast_and_observation():
    cap = 3.0
    # every draw never crosses, data never cross: a perfect censored forecast
    assert threshold_crps([np.nan] * 4, None, cap) == 0.0
    # draws above the cap are the same point mass as draws that never cross
    assert threshold_crps([5.0, np.nan, 9.0], np.nan, cap) == 0.0
    # all draws at 2, data never cross: |2 - 3|
    assert threshold_crps([2.0, 2.0], None, cap) == pytest.approx(1.0)
    # data cross at 2.5; draws {2, never}: capped {2, 3}
    # E|X - y| = (0.5 + 0.5)/2 = 0.5; E|X - X'|/2 = (0 + 1 + 1 + 0)/4/2 = 0.25
    assert threshold_crps([2.0, np.nan], 2.5, cap) == pytest.approx(0.25)
    assert math.isnan(threshold_crps([], 2.0, cap))


def test_crossing_bracket_follows_the_isotonic_definition():
    x = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    chance = 0.25
    acc = np.array([0.25, 0.30, 0.28, 0.60, 0.70])  # 0.30, 0.28 pool to 0.29
    # tau = 0.25 -> accuracy 0.4375, first reached at x = 4
    assert crossing_bracket(x, acc, chance, 0.25) == (3.0, 4.0)
    assert crossing_bracket(x, acc, chance, 0.9) == (5.0, math.inf)
    assert crossing_bracket(x, acc + 0.3, chance, 0.25) == (-math.inf, 1.0)
    # the bracket holds observed_threshold's interpolated crossing
    obs = math.log10(observed_threshold(x, acc, chance, 0.25))
    lo, hi = crossing_bracket(x, acc, chance, 0.25)
    assert lo < obs <= hi


def test_bracket_inside_reads_censored_bounds_as_infinite():
    assert bracket_inside(3.5, 3.8, (3.0, 4.0))
    assert not bracket_inside(4.1, 4.5, (3.0, 4.0))
    assert not bracket_inside(2.0, 2.9, (3.0, 4.0))
    assert bracket_inside(2.0, None, (3.0, 4.0))  # missing upper: +inf
    assert bracket_inside(2.0, 2.5, (3.0, 4.0), upper_censored=True)
    assert not bracket_inside(None, None, (3.0, 4.0))  # interval past the search range
    # data never cross: inside iff the interval reaches past the largest model
    assert bracket_inside(None, None, (5.0, math.inf))
    assert bracket_inside(4.0, 5.5, (5.0, math.inf))
    assert not bracket_inside(4.0, 4.8, (5.0, math.inf))


# ---------------------------------------------------------------------------- emergence


def _brute_events(x, y, chance, tau, budgets):
    """Per budget: does sklearn's isotonic fit of all points reach tau at a point <= budget?"""
    fitted = (IsotonicRegression(increasing=True, out_of_bounds="clip").fit(x, y).predict(x) - chance) / (1 - chance)
    return np.array([bool(np.any(fitted[x <= b + 1e-12] >= tau - 1e-9)) for b in budgets])


def test_event_probability_matches_isotonic_regression_on_random_cases():
    rng = np.random.default_rng(11)
    for _ in range(600):
        n_fit, n_held, n_draws = rng.integers(1, 8), rng.integers(1, 6), 4
        fit_x = np.sort(np.round(rng.uniform(0, 2, n_fit), 1))
        held_x = np.round(rng.uniform(2.1, 4, n_held), 1)  # repeated sizes happen
        chance = rng.choice([0.0, 0.25, 0.5])
        fit_y = rng.uniform(chance, 1, n_fit)
        if rng.uniform() < 0.3:  # accuracies on a k/n grid
            fit_y = np.round(fit_y * 16) / 16
        draws = rng.uniform(chance, 1, (n_draws, n_held))
        if rng.uniform() < 0.3:  # drawn scores on the lattice too: ties with tau happen
            draws = np.round(draws * 16) / 16
        tau = rng.choice([0.1, 0.25, 0.5])
        budgets = np.concatenate([held_x, [1.0, 2.05, 5.0]])
        got = event_probability(fit_x, fit_y, held_x, draws, chance, tau, budgets)
        x = np.concatenate([fit_x, held_x])
        brute = np.array([_brute_events(x, np.concatenate([fit_y, d]), chance, tau, budgets) for d in draws])
        np.testing.assert_allclose(got, brute.mean(axis=0), err_msg=str((fit_x, fit_y, held_x, draws, tau)))
        # the observed event of one draw's scores is the same event
        np.testing.assert_array_equal(observed_event(x, np.concatenate([fit_y, draws[0]]), chance, tau, budgets),
                                      brute[0])


def test_event_uses_all_models_and_is_monotone_in_the_budget():
    # a high score at x = 3 pooled with a lower one at x = 4: the fit of all models stays below tau
    x, chance, tau = np.array([1.0, 2.0, 3.0, 4.0]), 0.0, 0.5
    acc = np.array([0.1, 0.2, 0.6, 0.3])
    assert not observed_event(x, acc, chance, tau, 3.0)
    assert not observed_event(x, acc, chance, tau, 4.0)
    assert not observed_event(x, acc, chance, tau, np.inf)  # never reached is never reached
    assert observed_event(x, acc + 0.3, chance, tau, np.inf) and not observed_event(x, acc + 0.3, chance, tau, 1.5)
    p = event_probability(x[:2], acc[:2], x[2:], acc[None, 2:], chance, tau, [3.0, 4.0])
    np.testing.assert_array_equal(p, [0.0, 0.0])
    rng = np.random.default_rng(0)
    draws = rng.uniform(0, 1, (500, 2))
    p = event_probability(x[:2], acc[:2], x[2:], draws, chance, tau, [1.5, 2.0, 3.0, 4.0, 9.0])
    assert p[0] == 0 and np.all(np.diff(p) >= 0) and p[-1] == p[-2] and 0 < p[2] < p[3] < 1


def test_emergence_budgets_move_down_and_flag_beyond():
    frame = emergence_budgets([1.0, 2.0, 3.0, 3.3, 4.0], cutoff_log10=2.0)
    # held-out 3, 3.3, 4; cut-off + 0.5 -> 2 (the cut-off model: no budget), + 1 -> 3, + 2 = 4
    np.testing.assert_allclose(frame["budget_log10"], [3.0, 3.3, 4.0])
    np.testing.assert_allclose(frame["distance_dec"], [1.0, 1.3, 2.0])
    assert not frame["beyond"].any()
    frame = emergence_budgets([1.0, 2.0, 2.3], cutoff_log10=2.0)
    np.testing.assert_allclose(frame["budget_log10"], [2.3, 2.5, 3.0, 4.0])
    np.testing.assert_array_equal(frame["beyond"], [False, True, True, True])
    np.testing.assert_array_equal(distance_bin([0.0, 0.5, 0.7, 1.0, 1.5, 2.0, 2.1]),
                                  ["0-0.5", "0-0.5", "0.5-1", "0.5-1", "1-2", "1-2", ">2"])


def _events_frame():
    return pd.DataFrame({
        "dataset": ["a", "a", "a", "a", "b", "b"],
        "task": ["t1", "t1", "t2", "t2", "u", "u"],
        "p_emerged": [0.9, 0.2, 0.6, 0.1, 0.5, 0.0],
        "observed": [1, 0, 0, np.nan, 1, 0],
    })


def test_score_events_weights_tasks_and_datasets_equally():
    frame = _events_frame()
    got = score_events(frame)
    # scored rows: a/t1 (2 rows, weight 1/8 each), a/t2 (1 row, 1/4), b/u (2 rows, 1/4 each)
    w = np.array([1 / 8, 1 / 8, 1 / 4, 1 / 4, 1 / 4])
    p = np.array([0.9, 0.2, 0.6, 0.5, 0.0])
    y = np.array([1, 0, 0, 1, 0])
    assert got["brier"] == pytest.approx(np.sum(w * (p - y) ** 2))
    pc = np.clip(p, 0.001, 0.999)
    assert got["log_score"] == pytest.approx(-np.sum(w * (y * np.log(pc) + (1 - y) * np.log(1 - pc))))
    # weighted AUC: positives 0.9 (1/8), 0.5 (1/4); negatives 0.2 (1/8), 0.6 (1/4), 0.0 (1/4)
    pairs = (1 / 8 * (1 / 8 + 1 / 4 + 1 / 4) + 1 / 4 * (1 / 8 + 1 / 4)) / ((3 / 8) * (5 / 8))
    assert got["auc"] == pytest.approx(pairs)
    assert (got["n_rows"], got["n_events"], got["n_tasks_with_event"]) == (5, 2, 2)
    assert group_weights(frame).sum() == pytest.approx(1.0)
    one_class = score_events(frame[frame["observed"] == 0])
    assert math.isnan(one_class["auc"]) and one_class["n_events"] == 0


def test_brier_skill_against_baselines_and_climatology():
    base = pd.DataFrame({
        "dataset": "a", "task": ["t1", "t2", "t3", "t4"], "cutoff": 1.0, "tau": 0.25, "budget": 10.0,
        "distance_bin": "0.5-1", "observed": [1, 0, 0, 0],
    })
    frames = []
    for method, p in (("ours", [0.8, 0.1, 0.1, 0.1]), ("flat", [0.5, 0.5, 0.5, 0.5])):
        frames.append(base.assign(method=method, p_emerged=p))
    extra = base.iloc[:1].assign(method="ours", p_emerged=0.3, task="t5")  # only one method has it
    frame = pd.concat([*frames, extra], ignore_index=True)
    got = brier_skill(frame, "ours", ["flat"])
    bs_ours = np.mean(np.array([0.2, 0.1, 0.1, 0.1]) ** 2)
    bs_clim = np.mean((np.array([1, 0, 0, 0]) - 0.25) ** 2)  # 0.1875 < flat's 0.25
    assert got["brier"] == pytest.approx(bs_ours)
    assert got["reference"] == "climatology" and got["brier_reference"] == pytest.approx(bs_clim)
    assert got["skill"] == pytest.approx(1 - bs_ours / bs_clim)
    assert got["brier_references"]["flat"] == pytest.approx(0.25)
    assert got["n_rows"] == 4 and got["n_events"] == 1


def test_reliability_table_and_plot(tmp_path):
    p = np.array([0.05, 0.07, 0.5, 0.55, 0.95, 1.0, np.nan])
    y = np.array([0, 0, 1, 0, 1, 1, 1])
    table = reliability_table(p, y, bins=10)
    assert list(table.columns) == ["bin", "lower", "upper", "n", "mean_p", "observed_rate"]
    assert len(table) == 10 and table["n"].sum() == 6
    row = table.set_index("bin")
    assert row.loc[0, "n"] == 2 and row.loc[0, "observed_rate"] == 0
    assert row.loc[5, "mean_p"] == pytest.approx(0.525) and row.loc[5, "observed_rate"] == 0.5
    assert row.loc[9, "n"] == 2 and row.loc[9, "observed_rate"] == 1
    assert np.isnan(row.loc[3, "mean_p"])
    path = plot_reliability({"ours": table, "other": reliability_table(p[::-1], y, bins=5)},
                            tmp_path / "emergence_reliability.png")
    assert path.exists() and path.stat().st_size > 1000


# ---------------------------------------------------------------------------- bootstrap


def _per_task(seed=0, n_tasks=30):
    rng = np.random.default_rng(seed)
    level = rng.lognormal(-2, 1, n_tasks)  # tasks differ a lot
    rows = []
    for t in range(n_tasks):
        for method, factor in (("ours", 0.9), ("persistence", 1.0), ("linear", 1.3)):
            rows.append({"task": f"t{t}", "method": method, "crps": level[t] * factor * rng.uniform(0.95, 1.05)})
    return pd.DataFrame(rows)


def test_paired_bootstrap_is_deterministic_and_paired():
    frame = _per_task()
    a = paired_ratio_interval(frame, "ours", ["persistence", "linear"], n_boot=500, seed=3)
    b = paired_ratio_interval(frame, "ours", ["persistence", "linear"], n_boot=500, seed=3)
    assert a == b
    assert a["best_baseline"] == "persistence" and a["n_tasks"] == 30
    assert a["lower"] < a["ratio"] < a["upper"]
    # paired: tasks differ by a factor of ~e^2 but the ratio stays near 0.9
    assert 0.85 < a["lower"] and a["upper"] < 0.95


def test_paired_bootstrap_identical_method_gives_ratio_one():
    frame = _per_task()
    same = frame[frame["method"] == "persistence"].assign(method="copy")
    frame = pd.concat([frame, same], ignore_index=True)
    got = paired_ratio_interval(frame, "copy", ["persistence", "linear"], n_boot=300, seed=0)
    assert got["ratio"] == pytest.approx(1.0)
    assert got["lower"] <= 1.0 <= got["upper"]
    assert got["upper"] - got["lower"] < 1e-9


def test_paired_bootstrap_drops_tasks_missing_a_method():
    frame = _per_task(n_tasks=10)
    frame = frame[~((frame["task"] == "t0") & (frame["method"] == "linear"))]
    got = paired_ratio_interval(frame, "ours", ["persistence", "linear"], n_boot=100)
    assert got["n_tasks"] == 9
    with pytest.raises(InputError, match="nosuch"):
        paired_ratio_interval(frame, "ours", ["nosuch"])


def test_win_loss_counts_tasks():
    frame = pd.DataFrame({
        "task": ["a", "a", "b", "b", "c", "c", "d"],
        "method": ["ours", "persistence"] * 3 + ["ours"],
        "mae": [0.1, 0.2, 0.3, 0.2, 0.5, 0.5, 0.0],
    })
    assert win_loss(frame, "ours") == {"wins": 1, "losses": 1, "ties": 1}


def test_isotonic_at_distinct_is_sklearns_fit():
    """The threshold's and the events' isotonic fit equals sklearn's IsotonicRegression (ties
    pooled) to rounding, on random cases with repeated compute values and k/16 accuracies."""
    from forecast.threshold import isotonic_at_distinct

    rng = np.random.default_rng(5)
    for case in range(500):
        n = int(rng.integers(1, 30))
        x = rng.choice(np.round(rng.uniform(0, 5, 10), 1), size=n)
        y = rng.integers(0, 17, n) / 16 if case % 2 else rng.uniform(size=n)
        grid, fitted = isotonic_at_distinct(x, y)
        want = IsotonicRegression(increasing=True, out_of_bounds="clip").fit(x, y).predict(np.unique(x))
        assert np.array_equal(grid, np.unique(x))
        np.testing.assert_allclose(fitted, want, rtol=0, atol=1e-12)
