"""Observational scaling (both forms) and the family-aware slice_sandwich on task-level data.

Most tests run on generated data of known structure: families of models whose compute
efficiency differs, standard benchmarks driven by two latent capabilities, a target that is
a sigmoid of the first one.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from forecast.data.dataset import EvalData
from forecast.data.obsscaling import STANDARD_BENCHMARKS
from forecast.errors import InputError, NotApplicable
from forecast.methods import make_method
from forecast.methods.obsscaling import (
    LowRankImputer,
    ObsScaling,
    ObsScalingGivenScores,
    family_trend,
    fit_link,
    link_predict,
    pca_inputs,
)

TARGET = "target_task"
CUT = 10**22.4
FAST = {"n_boot": 20, "n_draws": 200}


def make_data(n_families: int = 7, per_family: int = 6, seed: int = 0, target_chance: float = 0.25,
              missing: int = 6, efficiency_sd: float = 0.4) -> EvalData:
    """Task-level data: families with efficiency offsets, 8 standard benchmarks, one target."""
    rng = np.random.default_rng(seed)
    rows, models = [], []
    chance = {b: (0.0 if b in ("GSM8K", "HumanEval", "TruthfulQA") else 0.25) for b in STANDARD_BENCHMARKS}
    load = rng.uniform(0.5, 1.5, (len(STANDARD_BENCHMARKS), 2)) * np.array([1.0, 0.4])
    shift = rng.uniform(-1.0, 0.5, len(STANDARD_BENCHMARKS))
    for f in range(n_families):
        eff = rng.normal(0.0, efficiency_sd)
        for j, x in enumerate(np.sort(rng.uniform(20.0, 23.5, per_family))):
            name = f"fam{f}-m{j}"
            models.append({"model": name, "family": f"fam{f}", "params": 10 ** ((x - 1) / 2),
                           "tokens": 10 ** ((x - 1) / 2), "flops": 10.0**x})
            cap = np.array([1.2 * (x + eff - 21.75), rng.normal(0.0, 0.5)])
            for b, ld, sh in zip(STANDARD_BENCHMARKS, load, shift):
                v = chance[b] + (1 - chance[b]) * expit(ld @ cap + sh) + rng.normal(0, 0.01)
                rows.append((b, name, float(np.clip(v, 0, 1))))
            y = target_chance + (1 - target_chance) * expit(1.5 * cap[0] - 0.5) + rng.normal(0, 0.01)
            rows.append((TARGET, name, float(np.clip(y, 0, 1))))
    scores = pd.DataFrame(rows, columns=["task", "model", "value"])
    # a few missing standard-benchmark scores (HumanEval most often, as in the real data)
    drop = scores[(scores["task"] == "HumanEval")].sample(missing, random_state=seed).index
    scores = scores.drop(drop)
    scores = scores.assign(prob_renormalized=False, metric="accuracy")
    tasks = pd.DataFrame({"task": list(STANDARD_BENCHMARKS) + [TARGET], "format": "multiple_choice",
                          "chance": [chance[b] for b in STANDARD_BENCHMARKS] + [target_chance]})
    return EvalData.from_frames(pd.DataFrame(models), tasks, scores=scores, name="generated")


@pytest.fixture(scope="module")
def data() -> EvalData:
    return make_data()


def held_frame(data: EvalData, task: str = TARGET, cutoff: float = CUT) -> pd.DataFrame:
    """What the backtest hands a method for the held-out models: compute, family and each
    model's own scores on the other tasks (``score:<task>``)."""
    ct = data.compute_table(task)
    held = ct[ct["compute"] > cutoff][["model", "compute"]].merge(data.models[["model", "family"]], on="model")
    wide = data.scores.pivot(index="model", columns="task", values="value")
    for t in wide.columns:
        if t != task:
            held[f"score:{t}"] = wide[t].reindex(held["model"]).to_numpy()
    return held.reset_index(drop=True)


# ---------------------------------------------------------------------------- parts
def test_imputer_recovers_held_back_entries_of_a_low_rank_matrix():
    rng = np.random.default_rng(1)
    full = 0.5 + 0.05 * rng.normal(size=(60, 2)) @ rng.normal(size=(2, 7))  # exactly rank 2
    assert 0 < full.min() and full.max() < 1
    X = full.copy()
    hide = rng.random(X.shape) < 0.08
    X[hide] = np.nan
    imp = LowRankImputer(n_components=2).fit(X)
    assert hide.sum() > 10 and imp.converged_
    assert np.abs(imp.filled_[hide] - full[hide]).max() < 0.01
    # far better than filling in the column means
    assert np.abs(imp.filled_[hide] - full[hide]).mean() < 0.2 * np.abs(
        np.nanmean(X, axis=0)[np.nonzero(hide)[1]] - full[hide]).mean()
    assert np.array_equal(imp.filled_[~hide], full[~hide])  # observed entries untouched
    # a new row of the same structure with two entries missing, completed through the basis
    row = np.clip(0.5 + 0.15 * rng.normal(size=2) @ (imp.pca_.components_ / 0.15 * 0.05), 0, 1)
    row = imp.pca_.mean_ + (row - imp.pca_.mean_) @ imp.pca_.components_.T @ imp.pca_.components_
    given = row.copy()
    given[[1, 4]] = np.nan
    assert np.allclose(imp.transform(given[None, :])[0], row, atol=1e-9)


def test_imputer_clips_to_unit_interval():
    rng = np.random.default_rng(2)
    base = np.linspace(0.0, 1.0, 30)[:, None] * np.array([1.0, 1.2, 1.4, 0.9])[None, :] - 0.1
    X = np.clip(base + rng.normal(0, 0.01, base.shape), 0, 1)
    X[-1, 2] = np.nan  # its low-rank reconstruction is above 1
    X[3, 1] = np.nan
    filled = LowRankImputer(n_components=1).fit(X).filled_
    assert filled[-1, 2] == 1.0 and 0 < filled[3, 1] < 1
    with pytest.raises(InputError, match="no input score"):
        LowRankImputer(1).fit(X).transform(np.full((1, 4), np.nan))


def test_family_trend_recovers_shared_slope_and_offsets():
    rng = np.random.default_rng(3)
    groups = np.repeat(np.arange(5), 6)
    x = rng.uniform(20, 24, groups.size)
    theta = np.array([0.7, -0.2])
    nu = rng.normal(0, 2, (5, 2))
    S = np.outer(x, theta) + nu[groups] + rng.normal(0, 0.01, (groups.size, 2))
    t_hat, nu_hat = family_trend(S, x, groups)
    assert np.allclose(t_hat, theta, atol=0.01)
    assert np.allclose(nu_hat, nu, atol=0.2)
    with pytest.raises(np.linalg.LinAlgError):  # one compute value per group: no slope
        family_trend(S[::6], x[::6], np.arange(5))


def test_link_fit_recovers_parameters():
    rng = np.random.default_rng(4)
    S = rng.normal(size=(80, 3))
    true = np.array([-0.5, 2.0, -1.0, 0.3])
    y = link_predict(true, S, 0.25)
    assert y.min() >= 0.25 and y.max() <= 1.0
    assert np.allclose(fit_link(S, y, 0.25), true, atol=1e-4)


def test_pca_inputs_follow_the_recipe():
    everything = list(STANDARD_BENCHMARKS) + ["arithmetic_2da_2_acc", "leaderboard_bbh"]
    assert pca_inputs("MMLU", everything) == [b for b in STANDARD_BENCHMARKS if b != "MMLU"]
    assert "GSM8K" not in pca_inputs("arithmetic_2da_2_acc", everything)
    assert len(pca_inputs("arithmetic_2da_2_acc", everything)) == 7
    assert pca_inputs("leaderboard_bbh", everything) == list(STANDARD_BENCHMARKS)


# ---------------------------------------------------------------------------- form (a)
def test_form_a_forecasts_seen_families_well_and_new_families_wider(data):
    fc = ObsScaling(**FAST).fit(data, CUT, TARGET)
    assert fc.inputs_ == list(STANDARD_BENCHMARKS)
    assert fc.diagnostics_["imputed_entries"] > 0
    held = held_frame(data)
    y = data.scores.set_index(["task", "model"])["value"].loc[TARGET].reindex(held["model"]).to_numpy()
    seen = fc.predict_models(held)
    assert np.mean(np.abs(seen["mean"] - y)) < 0.08
    new = fc.predict_models(held.assign(family="a new family"))
    assert ((new["upper"] - new["lower"]) > (seen["upper"] - seen["lower"])).mean() > 0.8
    # the base class's outputs work: a compute grid is a model of a new family
    grid = fc.predict([1e21, 1e22, 1e23])
    assert (grid["lower"] <= grid["mean"]).all() and (grid["mean"] <= grid["upper"]).all()
    th = fc.threshold(0.5)
    assert th.estimate is None or np.isfinite(th.estimate)


def test_form_a_never_uses_a_score_above_the_cutoff(data):
    held = held_frame(data)
    base = ObsScaling(**FAST).fit(data, CUT, TARGET).sample_models(held)
    above = set(data.compute_table().query("compute > @CUT")["model"])
    s = data.scores.copy()
    rows = s["model"].isin(above)
    s.loc[rows, "value"] = np.random.default_rng(9).random(rows.sum())  # every task's score
    perturbed = EvalData.from_frames(data.models, data.tasks, scores=s, name="perturbed")
    again = ObsScaling(**FAST).fit(perturbed, CUT, TARGET).sample_models(held)
    assert np.array_equal(base, again)


def test_same_seed_same_output(data):
    held = held_frame(data)
    a = ObsScalingGivenScores(**FAST, seed=3).fit(data, CUT, TARGET).sample_models(held)
    b = ObsScalingGivenScores(**FAST, seed=3).fit(data, CUT, TARGET).sample_models(held)
    c = ObsScalingGivenScores(**FAST, seed=4).fit(data, CUT, TARGET).sample_models(held)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert a.shape == (FAST["n_draws"], len(held))


# ---------------------------------------------------------------------------- form (b)
def test_form_b_uses_only_the_models_own_input_scores(data):
    held = held_frame(data)
    fc = ObsScalingGivenScores(**FAST).fit(data, CUT, TARGET)
    base = fc.sample_models(held)
    y = data.scores.set_index(["task", "model"])["value"].loc[TARGET].reindex(held["model"]).to_numpy()
    assert np.mean(np.abs(base.mean(axis=0) - y)) < 0.08  # the scores tell the capabilities
    # the held-out model's target score (in the data and even as a column) is never read
    s = data.scores.copy()
    s.loc[(s["task"] == TARGET) & s["model"].isin(held["model"]), "value"] = 0.999
    perturbed = EvalData.from_frames(data.models, data.tasks, scores=s, name="perturbed")
    again = ObsScalingGivenScores(**FAST).fit(perturbed, CUT, TARGET).sample_models(
        held.assign(**{f"score:{TARGET}": 0.999}))
    assert np.array_equal(base, again)
    # another held-out model's scores never change this model's forecast
    other = held.copy()
    cols = [c for c in held.columns if c.startswith("score:")]
    other.loc[1:, cols] = 1.0 - other.loc[1:, cols].to_numpy()
    assert np.array_equal(fc.sample_models(other)[:, 0], base[:, 0])
    # its own input scores do
    mine = held.copy()
    mine.loc[0, "score:MMLU"] = 1.0 - mine.loc[0, "score:MMLU"]
    assert not np.array_equal(fc.sample_models(mine)[:, 0], base[:, 0])


def test_form_b_completes_missing_inputs_and_falls_back_to_form_a(data):
    held = held_frame(data)
    fa = ObsScaling(**FAST).fit(data, CUT, TARGET)
    fb = ObsScalingGivenScores(**FAST).fit(data, CUT, TARGET)
    partial = held.copy()
    partial.loc[0, ["score:HumanEval", "score:GSM8K"]] = np.nan
    draws = fb.sample_models(partial)
    assert np.isfinite(draws).all()
    assert abs(draws[:, 0].mean() - fb.sample_models(held)[:, 0].mean()) < 0.05
    none = held.drop(columns=[c for c in held.columns if c.startswith("score:")])
    assert np.array_equal(fb.sample_models(none), fa.sample_models(none))
    assert np.array_equal(fb.sample([1e22, 1e23]), fa.sample([1e22, 1e23]))
    bad = held.copy()
    bad.loc[2, "score:ARC-C"] = 7.0
    with pytest.raises(InputError, match="score:ARC-C"):
        fb.sample_models(bad)


# ---------------------------------------------------------------------------- refusals
def test_not_applicable_without_benchmarks_or_families(data):
    only_target = EvalData.from_frames(data.models, data.tasks[data.tasks["task"] == TARGET],
                                       scores=data.scores[data.scores["task"] == TARGET], name="one task")
    with pytest.raises(NotApplicable, match="standard-benchmark inputs"):
        ObsScaling(**FAST).fit(only_target, CUT, TARGET)
    two = make_data(n_families=2, per_family=12)
    with pytest.raises(NotApplicable, match="families"):
        ObsScaling(**FAST).fit(two, CUT, TARGET)


@pytest.mark.parametrize("params, word", [({"n_components": 0}, "n_components"), ({"n_boot": "x"}, "n_boot"),
                                          ({"n_draws": 3}, "n_draws"), ({"seed": -1}, "seed")])
def test_bad_parameters_are_one_line_input_errors(data, params, word):
    with pytest.raises(InputError, match=word) as err:
        make_method("obsscaling", **params).fit(data, CUT, TARGET)
    assert "\n" not in str(err.value)


def test_real_data_inputs_and_fit():
    from forecast.data.shipped import load_dataset

    d = load_dataset("obsscaling")
    fc = make_method("obsscaling", n_boot=20, n_draws=200).fit(d, 1e23, "arithmetic_3ds_2_acc")
    assert "GSM8K" not in fc.inputs_ and len(fc.inputs_) == 7
    assert fc.diagnostics_["explained_variance"] > 0.9
    assert fc.predict([1e24])["upper"].iloc[0] <= 1.0


# ---------------------------------------------------------------------------- slice_sandwich
SS_FIXED = {"prior_sd": (2.0, 1.0, 0.5), "extrapolation_sd": 0.3, "n_draws": 300}


def test_slice_sandwich_uses_families_on_task_level_data():
    data = make_data(efficiency_sd=1.0, seed=5)
    fc = make_method("slice_sandwich", **SS_FIXED).fit(data, CUT, TARGET)
    assert fc.family_offsets_ is not None and len(fc.family_offsets_.families) == 7
    assert fc.family_offsets_.new.std() > 0.3  # the families' learned spread (decades)
    held = held_frame(data)
    # where the curve rises, a model of a new family has the wider interval
    mid = held.assign(compute=10**21.75)
    seen, new = fc.predict_models(mid), fc.predict_models(mid.assign(family="a new family"))
    assert (new["upper"] - new["lower"]).mean() > 1.2 * (seen["upper"] - seen["lower"]).mean()
    y = data.scores.set_index(["task", "model"])["value"].loc[TARGET].reindex(held["model"]).to_numpy()
    plain = make_method("slice_sandwich", family=False, **SS_FIXED).fit(data, CUT, TARGET)
    assert plain.family_offsets_ is None
    mae = np.mean(np.abs(fc.predict_models(held)["mean"] - y))
    assert mae < np.mean(np.abs(plain.predict_models(held)["mean"] - y))
    one = data.models.assign(family="one")
    single = EvalData.from_frames(one, data.tasks, scores=data.scores, name="one family")
    assert make_method("slice_sandwich", **SS_FIXED).fit(single, CUT, TARGET).family_offsets_ is None
    with pytest.raises(InputError, match="family must be True or False"):
        make_method("slice_sandwich", family="yes", **SS_FIXED).fit(data, CUT, TARGET)


def test_slice_sandwich_decides_once_not_to_mix_on_several_families(data):
    """On task-level data of several families the mixture is skipped in learn_context (no
    weights are learned that would never be used); one family mixes as usual."""
    ss = make_method("slice_sandwich", **SS_FIXED)
    ctx = ss.learn_context(data.restrict(CUT), CUT)
    assert "several families" in ctx["combine_skipped"] and "combine_weights" not in ctx
    fc = ss.fit(data, CUT, TARGET, context=ctx)
    assert fc.weights_ == {"slice_sandwich": 1.0} and not fc.components_
    assert any("not mixed on data of several families" in w for w in fc.diagnostics_["warnings"])
    single = EvalData.from_frames(data.models.assign(family="one"), data.tasks, scores=data.scores, name="one")
    one_ctx = ss.learn_context(single.restrict(CUT), CUT)
    assert "combine_skipped" not in one_ctx and "slice_sandwich" in one_ctx["combine_weights"]


@pytest.mark.slow
def test_backtest_job_hands_form_b_the_held_out_scores():
    """Through the harness: form (b) reads the score:<task> columns a job passes, form (a)
    does not; both forecast every held-out model."""
    from forecast.backtest.jobs import _evaluate
    from forecast.backtest.runner import plan_jobs
    from forecast.data.shipped import load_dataset

    d = load_dataset("obsscaling")
    params = {"n_boot": 20, "n_draws": 200}
    jobs, _, _ = plan_jobs([d], [("obsscaling", params), ("obsscaling_given_scores", params)], ["MMLU"], 1e23)
    a, b = (_evaluate(job)["predictions"] for job in jobs)
    assert a["model"] == b["model"] and len(a["model"]) > 10
    err_a = np.mean(np.abs(np.subtract(a["mean"], a["y_true"])))
    err_b = np.mean(np.abs(np.subtract(b["mean"], b["y_true"])))
    assert err_b < err_a  # the model's own scores on the other benchmarks tell more than compute


def test_slice_sandwich_family_offsets_never_use_a_model_above_the_cutoff(data):
    held = held_frame(data)
    base = make_method("slice_sandwich", **SS_FIXED).fit(data, CUT, TARGET).sample_models(held)
    above = set(data.compute_table().query("compute > @CUT")["model"])
    s = data.scores.copy()
    rows = s["model"].isin(above)
    s.loc[rows, "value"] = 1.0 - s.loc[rows, "value"]
    perturbed = EvalData.from_frames(data.models, data.tasks, scores=s, name="perturbed")
    again = make_method("slice_sandwich", **SS_FIXED).fit(perturbed, CUT, TARGET).sample_models(held)
    assert np.array_equal(base, again)
