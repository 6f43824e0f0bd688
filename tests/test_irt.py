"""IRT slicing: recovers a known 2PL difficulty, equal ordered slices, seeded, cross-fitted."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit
from scipy.stats import spearmanr

from forecast.errors import InputError
from forecast.irt import IRTModel, irt_assignment, irt_slices, model_folds


def simulate_2pl(n_models=8, n_questions=120, seed=0, p_correct=False):
    """Answers from a known 2PL whose abilities rise with log compute."""
    rng = np.random.default_rng(seed)
    x = np.linspace(7.0, 11.0, n_models)
    theta = -0.3 + 1.2 * (x - 9.0) + rng.normal(0.0, 0.3, n_models)
    b = rng.uniform(-2.5, 2.5, n_questions)
    a = rng.lognormal(np.log(1.5), 0.25, n_questions)
    p = expit(a[:, None] * (theta[None, :] - b[:, None]))  # (Q, M)
    correct = (rng.random(p.shape) < p).astype(int)
    models = [f"m{j}" for j in range(n_models)]
    # shuffle the model order so nothing relies on names sorting like compute
    order = rng.permutation(n_models)
    rows = pd.DataFrame(
        {
            "task": "sim",
            "question_id": np.repeat([f"q{i:03d}" for i in range(n_questions)], n_models),
            "model": np.tile(models, n_questions),
            "correct": correct.ravel(),
        }
    )
    if p_correct:
        rows["p_correct"] = np.clip(p.ravel() + rng.normal(0, 0.05, p.size), 0.0, 1.0)
    compute = pd.DataFrame({"model": models, "compute": 10**x, "log10_compute": x}).iloc[order]
    return rows, compute.reset_index(drop=True), b


@pytest.fixture(scope="module")
def sim():
    return simulate_2pl()


@pytest.fixture(scope="module")
def sim_slices(sim):
    rows, compute, _ = sim
    return irt_slices(rows, compute, 3, seed=0, task="sim")


def test_difficulty_recovers_the_true_ranking(sim):
    rows, compute, b = sim
    a = irt_assignment(rows, compute, 3, seed=0, task="sim")
    est = a.membership.set_index("question_id")["difficulty"]
    true = pd.Series(b, index=[f"q{i:03d}" for i in range(len(b))]).reindex(est.index)
    assert spearmanr(est, true)[0] > 0.8
    # each cross-fitted fit (on about 2/3 of the models) still ranks well
    assert len(a.fold_fits) == 3
    for fit in a.fold_fits.values():
        assert spearmanr(fit.difficulty, true)[0] > 0.7
        assert fit.converged
    assert a.overall_fit.beta > 0  # ability rises with compute
    assert np.all(a.membership["discrimination"] > 0)


def test_slices_are_equal_count_and_ordered(sim, sim_slices):
    rows, _, _ = sim
    s = sim_slices
    assert s.source == "irt" and s.cross_fitted and s.metric == "accuracy"
    assert s.n_slices == 3
    np.testing.assert_array_equal(s.weights, [40, 40, 40])
    assert (s.scores["n_questions"] == 40).all()
    assert set(s.scores["model"]) == set(rows["model"])
    assert s.scores["score"].between(0, 1).all()
    # slice 0 is the easiest: highest mean correctness, falling from slice to slice
    means = s.scores.groupby("slice")["score"].mean().to_numpy()
    assert np.all(np.diff(means) < 0)
    # membership: lowest difficulty first, slices contiguous in difficulty
    m = s.membership
    assert list(m.columns[:3]) == ["question_id", "difficulty", "discrimination"]
    assert "slice" in m.columns and len(m) == 120
    for g in range(2):
        assert m.loc[m["slice"] == g, "difficulty"].max() <= m.loc[m["slice"] == g + 1, "difficulty"].min()
    # the long assignment agrees with the per-model scores
    assert len(s.assignment) == 120 * 8
    one = s.assignment[s.assignment["model"] == "m3"].merge(rows[rows["model"] == "m3"], on="question_id")
    got = one.groupby("slice")["correct"].mean().to_numpy()
    want = s.scores[s.scores["model"] == "m3"].sort_values("slice")["score"].to_numpy()
    np.testing.assert_allclose(got, want)


def test_same_seed_same_slices(sim, sim_slices):
    rows, compute, _ = sim
    again = irt_slices(rows, compute, 3, seed=0, task="sim")
    pd.testing.assert_frame_equal(again.scores, sim_slices.scores)
    pd.testing.assert_frame_equal(again.membership, sim_slices.membership)
    pd.testing.assert_frame_equal(again.assignment, sim_slices.assignment)
    np.testing.assert_array_equal(again.weights, sim_slices.weights)
    other = irt_slices(rows, compute, 3, seed=1, task="sim")
    assert not np.array_equal(other.membership["tie_order"], sim_slices.membership["tie_order"])


def test_folds_interleave_in_compute_order():
    compute = pd.DataFrame({"model": list("abcdefg"), "log10_compute": [9.0, 7.0, 8.0, 10.0, 6.0, 11.0, 8.5]})
    folds = model_folds(compute, n_folds=3)
    # compute order: e b c g a d f
    assert folds.to_dict() == {"e": 0, "b": 1, "c": 2, "g": 0, "a": 1, "d": 2, "f": 0}
    assert model_folds(compute, n_folds=50).nunique() == 7  # leave-one-model-out
    assert model_folds(compute.iloc[:2], n_folds=3).nunique() == 2
    with pytest.raises(InputError):
        model_folds(compute, n_folds=1)


def test_a_models_own_answers_do_not_place_its_points(sim):
    rows, compute, _ = sim
    base = irt_assignment(rows, compute, 3, seed=0, task="sim")
    for target in ("m0", "m5"):
        flipped = rows.copy()
        own = flipped["model"] == target
        flipped.loc[own, "correct"] = 1 - flipped.loc[own, "correct"]
        new = irt_assignment(flipped, compute, 3, seed=0, task="sim")
        # the slices used for the target's points (and its fold-mates') are unchanged ...
        fold = base.folds[target]
        mates = list(base.folds.index[base.folds == fold])
        pd.testing.assert_frame_equal(new.labels[mates], base.labels[mates])
        np.testing.assert_array_equal(new.fold_fits[fold].difficulty, base.fold_fits[fold].difficulty)
        # ... while an in-sample fit does see the flip (so the check has power)
        assert not np.array_equal(new.overall_fit.difficulty, base.overall_fit.difficulty)
        assert not new.membership["slice"].equals(base.membership["slice"])
        others = [m for m in base.labels.columns if m not in mates]
        assert not new.labels[others].equals(base.labels[others])


def test_not_cross_fitted_uses_the_overall_sort(sim):
    rows, compute, _ = sim
    a = irt_assignment(rows, compute, 3, seed=0, task="sim", cross_fit=False)
    assert not a.cross_fitted and a.fold_fits == {}
    for model in a.labels.columns:
        np.testing.assert_array_equal(a.labels[model].to_numpy(), a.membership["slice"].to_numpy())


def test_unanimous_questions_get_finite_extreme_difficulty(sim):
    rows, compute, _ = sim
    rows = rows.copy()
    rows.loc[rows["question_id"].isin(["q000", "q001"]), "correct"] = 1  # every model right
    rows.loc[rows["question_id"].isin(["q002", "q003"]), "correct"] = 0  # every model wrong
    a = irt_assignment(rows, compute, 3, seed=0, task="sim")
    m = a.membership.set_index("question_id")
    assert np.isfinite(m["difficulty"]).all() and np.isfinite(m["discrimination"]).all()
    # the simulation has other unanimous questions: they tie exactly
    others = m.drop(["q000", "q001", "q002", "q003"])["difficulty"]
    assert m.loc["q000", "difficulty"] == m.loc["q001", "difficulty"] == others.min()
    assert m.loc["q002", "difficulty"] == m.loc["q003", "difficulty"] == others.max()
    assert -10 < others.min() < others.max() < 10
    assert (m.loc[["q000", "q001"], "slice"] == 0).all() and (m.loc[["q002", "q003"], "slice"] == 2).all()
    assert (a.labels.loc[["q000", "q001"]] == 0).all().all()


def test_p_correct_scores_tc_brier_but_fit_uses_correct():
    rows, compute, _ = simulate_2pl(p_correct=True)
    s = irt_slices(rows, compute, 3, seed=0, task="sim")
    plain = irt_slices(rows.drop(columns="p_correct"), compute, 3, seed=0, task="sim")
    assert s.metric == "tc_brier" and plain.metric == "accuracy"
    assert s.scores["score"].between(-1, 0).all()
    pd.testing.assert_frame_equal(s.membership, plain.membership)
    pd.testing.assert_frame_equal(s.assignment, plain.assignment)
    means = s.scores.groupby("slice")["score"].mean().to_numpy()
    assert np.all(np.diff(means) < 0)


def test_fewer_slices_when_questions_are_few():
    rows, compute, _ = simulate_2pl(n_questions=25)
    s = irt_slices(rows, compute, 3, seed=0, task="sim")
    assert s.n_slices == 2
    np.testing.assert_array_equal(s.weights, [13, 12])


def test_other_tasks_in_the_results_are_ignored(sim, sim_slices):
    rows, compute, _ = sim
    extra = rows.assign(task="other", correct=1 - rows["correct"])
    s = irt_slices(pd.concat([extra, rows], ignore_index=True), compute, 3, seed=0, task="sim")
    pd.testing.assert_frame_equal(s.scores, sim_slices.scores)


def test_bad_input_is_one_line_input_error():
    rows, compute, _ = simulate_2pl(n_questions=15)
    with pytest.raises(InputError, match="15 questions") as err:
        irt_slices(rows, compute, 3, task="sim")
    assert "\n" not in str(err.value)
    rows, compute, _ = simulate_2pl(n_models=1)
    with pytest.raises(InputError, match="at least 2 fitted models"):
        irt_slices(rows, compute, 3, task="sim")
    rows, compute, _ = simulate_2pl()
    with pytest.raises(InputError, match="no compute"):
        irt_slices(rows, compute.iloc[1:], 3, task="sim")
    with pytest.raises(InputError, match="correct"):
        irt_slices(rows.drop(columns="correct"), compute, 3, task="sim")
    with pytest.raises(InputError, match=r"\[0, 1\]"):
        irt_slices(rows.assign(correct=rows["correct"] * 2), compute, 3, task="sim")


def test_missing_answers_are_left_out():
    rows, compute, _ = simulate_2pl()
    rows = rows[~((rows["model"] == "m2") & (rows["question_id"] < "q010"))]
    s = irt_slices(rows, compute, 3, seed=0, task="sim")
    counts = s.scores[s.scores["model"] == "m2"]["n_questions"]
    assert counts.sum() == 110
    assert (s.scores[s.scores["model"] != "m2"]["n_questions"] == 40).all()


def test_irt_model_refits_without_recompiling():
    rng = np.random.default_rng(3)
    y = (rng.random((30, 4)) < 0.5).astype(float)
    y[0, 1] = np.nan
    model = IRTModel(y, np.array([7.0, 8.0, 9.0, 10.0]))
    full = model.fit()
    part = model.fit(np.array([True, False, True, True]))
    assert full.trained.all() and not part.trained[1]
    assert full.difficulty.shape == (30,) and full.ability.shape == (4,)
    # refitting on all models again gives the first answer back exactly
    np.testing.assert_array_equal(model.fit().difficulty, full.difficulty)
    with pytest.raises(InputError):
        model.fit(np.array([True, False]))


def test_slice_sandwich_with_irt_slicing(bigg):
    from forecast.methods import SliceSandwich

    # one task's data: the settings are learned from its own pseudo-cut-offs (IRT on every task
    # of BIG-G would take minutes)
    m = SliceSandwich(slicing="irt").fit(bigg.for_task("qa_wikidata"), 8e9, task="qa_wikidata")
    assert m.slices_.source == "irt" and m.slices_.cross_fitted
    mean = m.predict([1.28e11])["mean"].iloc[0]
    assert 0.0 <= mean <= 1.0
