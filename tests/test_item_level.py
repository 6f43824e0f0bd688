"""The item-level scaling model (forecast.methods.item_level): recovery of known question
parameters on simulated data, per-question output, refusals, seed stability, the mixture."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from forecast.data.dataset import EvalData
from forecast.errors import NotApplicable
from forecast.methods import make_method
from forecast.methods.item_level import ItemLevel, learn_priors

SIZES = 10.0 ** np.arange(6.0, 11.01, 0.25)  # 21 models, 6 to 11 decades


def simulate(n_tasks: int = 3, n_items: int = 150, chance: float = 0.0, seed: int = 0,
             families: list[str] | None = None) -> tuple[EvalData, dict[str, pd.DataFrame]]:
    """Per-question 0/1 answers drawn from the 2PL model with known a_j, b_j per task."""
    rng = np.random.default_rng(seed)
    x = np.log10(SIZES)
    names = [f"m{i:02d}" for i in range(SIZES.size)]
    models = pd.DataFrame({"model": names, "params": SIZES, "tokens": np.nan,
                           "family": families if families is not None else "sim"})
    rows, truth, tasks = [], {}, []
    for t in range(n_tasks):
        task = f"task{t}"
        b = rng.normal(8.0 + 0.5 * t, 1.0, n_items)
        a = np.exp(rng.normal(np.log(2.0), 0.3, n_items))
        p = chance + (1 - chance) * expit(a[:, None] * (x[None, :] - b[:, None]))
        y = (rng.uniform(size=p.shape) < p).astype(int)
        truth[task] = pd.DataFrame({"question_id": [f"q{j:03d}" for j in range(n_items)], "a": a, "b": b})
        for j in range(n_items):
            for i, m in enumerate(names):
                rows.append((task, f"q{j:03d}", m, int(y[j, i])))
        tasks.append({"task": task, "format": "multiple_choice" if chance else "generative",
                      "n_choices": round(1 / chance) if chance else None, "chance": chance})
    results = pd.DataFrame(rows, columns=["task", "question_id", "model", "correct"])
    return EvalData.from_frames(models, pd.DataFrame(tasks), results=results, name="simulated"), truth


@pytest.fixture(scope="module")
def sim():
    return simulate()


@pytest.fixture(scope="module")
def sim_context(sim):
    data, _ = sim
    return ItemLevel(extrapolation_sd=0.0).learn_context(data.restrict(SIZES[-1]), SIZES[-1])


def test_recovers_known_question_parameters(sim, sim_context):
    """Fitted on every model: crossing points and discriminations near the truth, and the
    learned hyperprior near the simulated one."""
    data, truth = sim
    fc = ItemLevel(extrapolation_sd=0.0, n_draws=200).fit(data, SIZES[-1], "task1", context=sim_context)
    q = fc.question_params().merge(truth["task1"], on="question_id")
    inside = (q["b"] > 6.5) & (q["b"] < 10.5)  # crossings inside the fitted range
    assert np.corrcoef(q.loc[inside, "b"], q.loc[inside, "b_mean"])[0, 1] > 0.9
    assert np.abs(q.loc[inside, "b"] - q.loc[inside, "b_mean"]).median() < 0.3
    # 90% intervals of the crossing cover the truth most of the time
    cover = ((q["b"] >= q["b_lower"]) & (q["b"] <= q["b_upper"])).mean()
    assert 0.8 <= cover <= 0.98
    # the discrimination's level (21 answers per question tell little about each one)
    assert 1.2 < np.median(q["a_mean"]) < 3.5
    assert abs(fc.hyper_["mu_b"] - 8.5) < 0.35
    assert 0.7 < fc.hyper_["s_b"] < 1.4
    assert abs(sim_context["m_mu"] - 8.5) < 0.5


def test_forecast_of_held_out_models(sim):
    """Fitted on the models up to 10^9, the forecast of the larger ones follows the true
    mean accuracy (the hard questions' tail), inside its intervals."""
    data, truth = sim
    cut = 1e9
    fc = ItemLevel(n_draws=400).fit(data, cut, "task0", cache=False)
    big = SIZES[SIZES > cut]
    t = truth["task0"]
    true_acc = expit(t["a"].to_numpy()[:, None] * (np.log10(big)[None, :] - t["b"].to_numpy()[:, None])).mean(axis=0)
    p = fc.predict(big, level=0.9, kind="mean")
    assert np.all(np.abs(p["mean"].to_numpy() - true_acc) < 0.12)
    assert np.all((p["lower"] <= true_acc + 0.02) & (true_acc - 0.02 <= p["upper"]))


def test_per_question_output(sim, sim_context):
    data, _ = sim
    fc = ItemLevel(extrapolation_sd=0.2, n_draws=100).fit(data, 1e9, "task2", context=sim_context)
    out = fc.predict_questions([2e9, 1e10], level=0.8)
    assert list(out.columns) == ["question_id", "compute", "log10_compute", "p_correct", "lower", "upper"]
    assert len(out) == 2 * 150 and out["question_id"].nunique() == 150
    v = out[["p_correct", "lower", "upper"]].to_numpy()
    assert np.isfinite(v).all() and (v >= 0).all() and (v <= 1).all()
    assert ((out["lower"] <= out["p_correct"]) & (out["p_correct"] <= out["upper"])).all()
    wide = out.pivot(index="question_id", columns="compute", values="p_correct")
    assert (wide[1e10] >= wide[2e9] - 1e-9).mean() > 0.95  # more compute, more often right
    # the questions' mean is the task curve (up to the per-question draws' MC error)
    curve = fc.predict([2e9, 1e10], kind="mean")["mean"].to_numpy()
    assert np.allclose(wide.mean(axis=0).to_numpy(), curve, atol=0.02)
    params = fc.question_params()
    assert {"question_id", "b_mean", "b_lower", "b_upper", "a_mean", "crossing_compute", "p_flat",
            "p_guess"} <= set(params.columns)
    assert (params["b_lower"] <= params["b_upper"]).all()
    assert params[["p_flat", "p_guess"]].apply(lambda v: v.between(0, 1).all()).all()
    # questions no fitted model got right cross after the cut-off (the prior's tail)
    none = params["n_correct"] == 0
    assert none.any() and (params.loc[none, "b_mean"] > 9.0).all()


def test_per_question_chance(sim_context):
    """With a chance floor the forecasts never go below it."""
    data, _ = simulate(n_tasks=1, n_items=60, chance=0.25, seed=3)
    fc = ItemLevel(extrapolation_sd=0.0, n_draws=50).fit(data, 1e9, "task0", cache=False)
    out = fc.predict_questions([1e8, 1e10])
    assert (out["p_correct"] >= 0.25 - 1e-9).all()
    assert np.allclose(fc.items_.chance, 0.25)


def test_refusals():
    """Group data by the tags; per-question data of two fitted families in fit, one line each."""
    with pytest.raises(NotApplicable) as info:
        make_method("item_level").fit("slice_sandwich", 3e22, task="mmlu")
    assert "\n" not in str(info.value) and "'item_level'" in str(info.value) and "group" in str(info.value)
    fams = ["a" if i % 2 else "b" for i in range(SIZES.size)]
    data, _ = simulate(n_tasks=1, n_items=30, families=fams)
    with pytest.raises(NotApplicable) as info:
        ItemLevel().fit(data, 1e9, "task0", context={})
    assert "\n" not in str(info.value) and "one model family" in str(info.value)


def test_seed_stable_and_json_settings(sim, sim_context):
    """Same seed, same bytes; another seed moves the forecast by Monte Carlo error only; the
    learned settings survive a JSON round trip."""
    data, _ = sim
    ctx = json.loads(json.dumps(sim_context))
    assert ctx == sim_context
    grid = [2e9, 1e10, 1e11]
    one = ItemLevel(n_draws=400, seed=0).fit(data, 1e9, "task0", context=ctx).predict(grid)
    again = ItemLevel(n_draws=400, seed=0).fit(data, 1e9, "task0", context=ctx).predict(grid)
    other = ItemLevel(n_draws=400, seed=1).fit(data, 1e9, "task0", context=ctx).predict(grid)
    assert one.equals(again)
    assert np.abs(one["mean"] - other["mean"]).max() < 0.01
    assert np.abs(one["upper"] - other["upper"]).max() < 0.03


def test_learned_priors_use_only_fitted_models(sim):
    """The hyperprior at a cut-off is the same whatever the models above it answered."""
    data, _ = sim
    cut = 1e9
    base = learn_priors(data.restrict(cut), cut)
    held = [m for m, c in zip(data.models["model"], SIZES) if c > cut]
    flipped = data.results.copy()
    rows = flipped["model"].isin(held)
    flipped.loc[rows, "correct"] = 1 - flipped.loc[rows, "correct"]
    other = EvalData.from_frames(data.models, data.tasks, results=flipped, name="flipped")
    assert learn_priors(other.restrict(cut), cut) == base


def test_component_of_the_mixture(sim):
    """item_level as a component of slice_sandwich's mixture: weights learned, forecast bounded."""
    data, _ = sim
    fc = make_method("slice_sandwich", combine=("sigmoid", "item_level"), n_draws=100, n_pseudo=2)
    fc.fit(data, 1e9, "task0", cache=False)
    assert "item_level" in fc.context_["combine_weights"]
    p = fc.predict([3e9, 3e10])
    assert np.isfinite(p[["mean", "lower", "upper"]].to_numpy()).all()
    assert ((p["lower"] >= 0) & (p["upper"] <= 1)).all()


def test_questions_that_do_not_scale():
    """A task whose questions are answered at a constant rate whatever the compute: most
    questions are read as not scaling, and the forecast stays flat."""
    rng = np.random.default_rng(5)
    names = [f"m{i:02d}" for i in range(SIZES.size)]
    models = pd.DataFrame({"model": names, "params": SIZES, "tokens": np.nan, "family": "sim"})
    rate = rng.uniform(0.05, 0.95, 120)
    y = (rng.uniform(size=(120, SIZES.size)) < rate[:, None]).astype(int)
    results = pd.DataFrame([("flat", f"q{j}", m, int(y[j, i])) for j in range(120) for i, m in enumerate(names)],
                           columns=["task", "question_id", "model", "correct"])
    tasks = pd.DataFrame({"task": ["flat"], "format": ["generative"], "n_choices": [None], "chance": [0.0]})
    data = EvalData.from_frames(models, tasks, results=results, name="flat")
    fc = ItemLevel(extrapolation_sd=0.0, growth_bias=0.0, n_draws=100).fit(data, 1e9, "flat", cache=False)
    assert fc.hyper_["flat"] > 0.5
    p = fc.predict([1e9, 1e11], kind="mean")["mean"].to_numpy()
    assert abs(p[1] - p[0]) < 0.05


def test_restricting_twice_is_restricting_once(sim):
    """A cut-off below the one data were restricted to gives the object restricting the
    unrestricted data there gives: what is memoised at a cut-off is shared by every route."""
    data, _ = sim
    assert data.restrict(SIZES[12]).restrict(SIZES[8]) is data.restrict(SIZES[8])
    assert data.restrict(SIZES[8]).restrict(SIZES[12]) is not data.restrict(SIZES[12])  # above: its own
    pd.testing.assert_frame_equal(data.restrict(SIZES[12]).restrict(SIZES[8]).results,
                                  data.restrict(SIZES[12]).drop_models(
                                      [f"m{i:02d}" for i in range(9, 13)]).results)


def test_growth_pairs_in_one_call_equal_one_at_a_time(sim):
    """observed_by_growth gives, per (bias, error) pair, the draws of setting the pair and
    sampling; and learning the growth settings inside a restricted pool (as a mixture does at
    its pseudo-cut-offs) gives the same settings as on a fresh copy of the data."""
    data, _ = sim
    cut = SIZES[14]
    fc = ItemLevel(extrapolation_sd=0.0, growth_bias=0.0, n_draws=64).fit(data, cut, "task0")
    compute = SIZES[15:18]
    pairs = [(0.0, 0.0), (-0.5, 0.3), (0.25, 1.0)]
    together = fc.observed_by_growth(compute, np.array([m for m, _ in pairs]), np.array([s for _, s in pairs]))
    for (m, s), draws in zip(pairs, together):
        fc.growth_bias_, fc.extrapolation_sd_ = m, s
        np.testing.assert_array_equal(draws, fc.sample(compute, "observed"))
    nested = ItemLevel().learn_context(data.restrict(SIZES[18]).restrict(cut), cut)
    fresh, _ = simulate()
    alone = ItemLevel().learn_context(fresh.restrict(cut), cut)
    assert json.dumps(nested, sort_keys=True) == json.dumps(alone, sort_keys=True)


def test_typed_settings_round_trip(sim, sim_context):
    """ItemLevelSettings reads item_level's JSON back without loss (same keys, same order, no
    unknown key), and a fit given the dataclass equals a fit given the dict."""
    from forecast.methods.item_level import ItemLevelSettings

    data, _ = sim
    assert ItemLevel().settings_class is ItemLevelSettings
    back = ItemLevelSettings.from_dict(json.loads(json.dumps(sim_context)))
    assert back.extra == {} and back.prior_learned
    assert json.dumps(back.to_dict()) == json.dumps(sim_context)
    empty = {"prior_learned": False, "n_tasks": 0}
    assert ItemLevelSettings.from_dict(empty).to_dict() == empty
    cut = SIZES[-1]
    a = ItemLevel(extrapolation_sd=0.0, n_draws=64).fit(data, cut, "task1", context=sim_context)
    b = ItemLevel(extrapolation_sd=0.0, n_draws=64).fit(data, cut, "task1", context=back)
    pd.testing.assert_frame_equal(a.predict([SIZES[-1] * 10]), b.predict([SIZES[-1] * 10]))
    assert isinstance(a.settings_, ItemLevelSettings) and a.settings_.mu_a == sim_context["mu_a"]
