"""The forecaster: one interface for every method, the cut-off in one place, no leakage."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecast.data.dataset import EvalData
from forecast.data.task_table import task_table
from forecast.errors import InputError, NotApplicable
from forecast.methods import METHODS, PaperSigmoid, Published, Sigmoid, SliceSandwich, make_method
from forecast.threshold import first_crossing, observed_threshold

MMLU_CUT = 10**1.5 * 1e21
ARITH_CUT = 10**1.8 * 1e21
FAST = ["slice_sandwich", "slice_sandwich_ols", "published", "sigmoid", "persistence", "linear"]


def _held_out(data: EvalData, task: str, cutoff: float) -> set[str]:
    comp = data.compute_table(task)
    return set(comp.loc[comp["compute"] > cutoff, "model"])


def _perturb(data: EvalData, held: set[str], rng: np.random.Generator, delete: bool) -> EvalData:
    if delete:
        return data.drop_models(held)
    out = {}
    for label in ("results", "groups", "scores"):
        table = getattr(data, label)
        if table is None:
            out[label] = None
            continue
        table = table.copy()
        rows = table["model"].isin(held)
        if label == "results":
            table.loc[rows, "correct"] = 1 - table.loc[rows, "correct"]
        else:
            v = table.loc[rows, "value"]
            table.loc[rows, "value"] = np.where(
                table.loc[rows, "metric"] == "tc_brier", -rng.random(rows.sum()), rng.random(rows.sum())
            ) if len(v) else v
        out[label] = table
    models = data.models.copy()
    rows = models["model"].isin(held)
    models.loc[rows, "params"] *= 3.0
    models.loc[rows, "flops"] *= 3.0  # still above the cut-off
    return EvalData(models, data.tasks, out["results"], out["groups"], out["scores"], data.name)


@pytest.mark.parametrize("method", FAST)
@pytest.mark.parametrize("delete", [False, True])
@pytest.mark.parametrize("which", ["groups", "per_question"])
def test_no_leakage_from_held_out_models(method, delete, which, sas, bigg_four):
    data, task, cut = (sas, "mmlu", MMLU_CUT) if which == "groups" else (bigg_four, "qa_wikidata", 4e9)
    held = _held_out(data, task, cut)
    assert held
    changed = _perturb(data, held, np.random.default_rng(0), delete)
    at = [cut * 3, cut * 30]
    a = make_method(method, seed=3).fit(data, cut, task=task)
    b = make_method(method, seed=3).fit(changed, cut, task=task)
    pd.testing.assert_frame_equal(a.predict(at), b.predict(at))
    pd.testing.assert_frame_equal(a.predict(at, kind="mean"), b.predict(at, kind="mean"))
    assert a.threshold(budget=cut * 10) == b.threshold(budget=cut * 10)
    if hasattr(a, "easy_turn_draws"):  # the early signal too
        np.testing.assert_array_equal(a.easy_turn_draws(), b.easy_turn_draws())


def test_published_recipe_reproduces_the_paper(sas_paper):
    sas = sas_paper
    """Accuracy MSE over all larger models, as re-run from the released code (via predict)."""
    expected = {("mmlu", MMLU_CUT): (32, 27, 2.354, 0.058), ("arithmetic", ARITH_CUT): (44, 14, 0.2506, 0.0121)}
    for (task, cut), (n_fit, n_test, mse_pub, mse_sig) in expected.items():
        full = task_table(sas.for_task(task), task)
        test = full[full["compute"] > cut]
        pub = Published().fit(sas, cut, task=task)
        sig = PaperSigmoid(clip=False).fit(sas, cut, task=task)
        assert len(pub.fit_table_) == n_fit and len(test) == n_test
        y = test["accuracy"].to_numpy()
        got_pub = np.mean((pub.predict(test["compute"], kind="mean")["mean"].to_numpy() - y) ** 2)
        got_sig = np.mean((sig.predict(test["compute"])["mean"].to_numpy() - y) ** 2)
        assert got_pub == pytest.approx(mse_pub, abs=6e-4 if mse_pub > 1 else 1e-4)
        assert got_sig == pytest.approx(mse_sig, abs=6e-4)


def test_published_blows_up_but_ours_stays_bounded(sas):
    far = [1e24, 1e25, 1e26]
    pub = Published().fit(sas, MMLU_CUT, task="mmlu").predict(far, kind="mean")
    assert (pub["mean"] > 1).any() or (pub["mean"] < 0).any()
    ours = SliceSandwich().fit(sas, MMLU_CUT, task="mmlu")
    for kind in ("mean", "observed"):
        p = ours.predict(far, kind=kind)
        assert ((p[["mean", "lower", "upper"]] >= 0) & (p[["mean", "lower", "upper"]] <= 1)).all().all()
        assert (p["lower"] <= p["mean"]).all() and (p["mean"] <= p["upper"]).all()


def test_observed_interval_wider_than_curve_interval(sas):
    f = SliceSandwich().fit(sas, ARITH_CUT, task="arithmetic")
    obs = f.predict([1e23], kind="observed")
    mean = f.predict([1e23], kind="mean")
    assert (obs["upper"] - obs["lower"]).iloc[0] > (mean["upper"] - mean["lower"]).iloc[0]


def test_same_seed_same_output(sas):
    a = SliceSandwich(seed=5).fit(sas, ARITH_CUT, task="arithmetic")
    b = SliceSandwich(seed=5).fit(sas, ARITH_CUT, task="arithmetic")
    c = SliceSandwich(seed=6).fit(sas, ARITH_CUT, task="arithmetic")
    pd.testing.assert_frame_equal(a.predict([1e23, 1e24]), b.predict([1e23, 1e24]))
    assert not a.predict([1e23]).equals(c.predict([1e23]))


def test_threshold_contract(sas):
    f = SliceSandwich().fit(sas, ARITH_CUT, task="arithmetic")
    th = f.threshold(tau=0.25, budget=1e23)
    assert 0 <= th.p_reached <= 1 and 0 <= th.p_below_budget <= th.p_reached + 1e-12
    assert th.search_max == pytest.approx(ARITH_CUT * 100)
    if th.estimate is not None:
        assert th.lower <= th.estimate <= th.upper <= th.search_max * (1 + 1e-9)
    # a larger tau is reached later (or not at all)
    hi = f.threshold(tau=0.6)
    assert hi.p_reached <= th.p_reached
    d = th.to_dict()
    assert d["log10_search_max"] == pytest.approx(np.log10(ARITH_CUT) + 2)


def test_threshold_censoring():
    grid = np.linspace(0, 1, 11)
    curves = np.vstack([grid, 0.5 * grid, np.zeros_like(grid)])
    c = first_crossing(grid, curves, 0.4)
    assert c[0] == pytest.approx(0.4) and c[1] == pytest.approx(0.8) and np.isnan(c[2])
    from forecast.threshold import summarise_crossings

    s = summarise_crossings(np.array([0.4, 0.8, np.nan, np.nan]), 0.4, 0.5, (0.0, 1.0))
    assert s.p_reached == 0.5 and s.upper_censored


def test_observed_threshold_isotonic():
    x = np.array([1.0, 2.0, 3.0, 4.0])
    acc = np.array([0.25, 0.20, 0.50, 0.70])  # dip gets pooled by the isotonic fit
    # chance 0.25, tau 0.25 -> accuracy 0.4375; isotonic: 0.225, 0.225, 0.5, 0.7
    got = observed_threshold(x, acc, 0.25, 0.25)
    assert np.log10(got) == pytest.approx(2 + (0.4375 - 0.225) / (0.5 - 0.225))
    assert observed_threshold(x, np.full(4, 0.3), 0.25, 0.25) is None


def test_slices_report(sas, bigg_four):
    f = SliceSandwich().fit(sas, ARITH_CUT, task="arithmetic")
    s = f.slices_.summary
    assert list(s["label"]) == ["easiest", "middle", "hardest"]
    assert s["n_questions"].sum() == 15023
    # the paper's shapes on arithmetic: hard questions U-shaped, easy inverted-U
    assert s.loc[2, "shape"] == "U-shaped" and s.loc[0, "shape"] == "inverted-U"
    g = SliceSandwich(n_slices=3).fit(bigg_four, 8e9, task="qa_wikidata")
    assert g.slices_.cross_fitted and g.slices_.source == "quantile"
    assert set(g.slices_.membership.columns) >= {"question_id", "difficulty", "tie_order", "slice"}
    turn = f.easy_turn()
    assert 0 <= turn.p_reached <= 1


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(task="mmlu", cutoff=1.5), "below the smallest model"),
        (dict(task="mmlu", cutoff=1e30), "more than a decade above"),
        (dict(task="nope", cutoff=MMLU_CUT), "unknown task 'nope'"),
        (dict(task="mmlu", cutoff=1.3e20), "fitted models"),
    ],
)
def test_bad_fit_input(sas, kwargs, message):
    with pytest.raises(InputError, match=message.replace("+", r"\+").replace("(", r"\(")):
        SliceSandwich().fit(sas, **kwargs)


def test_bad_parameters(sas):
    with pytest.raises(InputError, match="single slice"):
        SliceSandwich(n_slices=1).fit(sas, MMLU_CUT, task="mmlu")
    f = SliceSandwich().fit(sas, MMLU_CUT, task="mmlu")
    for tau in (0, 1, 1.5, -0.1):
        with pytest.raises(InputError, match="tau must lie in"):
            f.threshold(tau=tau)
    with pytest.raises(InputError, match="level must lie in"):
        f.predict([1e23], level=1.2)
    with pytest.raises(InputError, match="unknown method"):
        make_method("magic")


def test_every_method_has_draws_and_intervals(sas, bigg_four):
    from forecast.data.shipped import load_dataset

    ladder = load_dataset("olmo_ladder_paper")
    obs = load_dataset("obsscaling")
    # per-question data: four BIG-G tasks, not all 66 (what is checked, the columns, ordered
    # intervals and draw shapes of every method, does not depend on the number of tasks the
    # settings are learned from; on 66 tasks item_level and slice_sandwich learn for ~20 s)
    for name in METHODS:
        fitted = 0
        for data, task, cut in ((sas, "arithmetic", ARITH_CUT), (bigg_four, "hindu_knowledge", 8e9),
                                (ladder, "arc_easy:test:rc:5", 1.3e20), (obs, "GSM8K", 1e23)):
            if (name != "two_step" and data is ladder) or (not name.startswith("obsscaling") and data is obs):
                continue
            try:
                f = make_method(name).fit(data, cut, task=task)
            except NotApplicable:  # e.g. the family baseline on one-family BIG-G
                continue
            fitted += 1
            p = f.predict([cut * 2, cut * 20], level=0.8)
            assert list(p.columns) == ["compute", "log10_compute", "mean", "lower", "upper", "level", "kind"]
            assert (p["lower"] <= p["upper"]).all()
            assert f.sample([cut * 2]).shape == (f.n_draws, 1)
        assert fitted, name


def test_budget_past_the_search_range(sas):
    f = SliceSandwich().fit(sas, MMLU_CUT, task="mmlu")
    th = f.threshold(tau=0.25)
    p = [f.threshold(tau=0.25, budget=b).p_below_budget for b in (MMLU_CUT * 10, MMLU_CUT * 100, MMLU_CUT * 1e4)]
    assert p[0] <= p[1] <= p[2]
    assert p[1] == pytest.approx(th.p_reached)  # the search ends two decades past the cut-off
    assert p[2] > th.p_reached  # draws that cross beyond the search range count below a larger budget


def test_observed_intervals_inside_unit_interval(bigg):
    for name in ("linear", "persistence", "sigmoid", "slice_sandwich"):
        p = make_method(name).fit(bigg, 8e9, task="qa_wikidata").predict([2.7e10, 1.28e11, 1e13])
        assert ((p[["mean", "lower", "upper"]] >= 0) & (p[["mean", "lower", "upper"]] <= 1)).all().all(), name


def test_scores_only_data_is_one_whole_task_slice(sas):
    only = EvalData(sas.models, sas.tasks, None, None, sas.scores, "scores only")
    fc = SliceSandwich().fit(only, MMLU_CUT, task="mmlu")
    assert fc.slice_set_.source == "whole_task" and fc.slice_set_.n_slices == 1
    assert any("one slice of the whole task" in w for w in fc.diagnostics_["warnings"])
    p = fc.predict([1e23, 1e24])
    assert p[["mean", "lower", "upper"]].stack().between(0, 1).all()
    assert Sigmoid().fit(only, MMLU_CUT, task="mmlu").predict([1e23])["mean"].between(0, 1).all()


def test_group_data_below_the_groups_horizon_falls_back_to_the_whole_task(sas):
    # the smallest 3-group horizon of MMLU is 10^1.1 x 1e21 FLOPs: below it the groups would leak
    cut = 10**0.5 * 1e21
    fc = SliceSandwich().fit(sas, cut, task="mmlu")
    assert fc.slice_set_.source == "whole_task"
    with pytest.raises(NotApplicable):
        Published().fit(sas, cut, task="mmlu")


@pytest.mark.parametrize("kwargs", [dict(degree=0), dict(n_draws=0), dict(seed=None), dict(seed=1.5)])
def test_bad_constructor_parameters(sas, kwargs):
    with pytest.raises(InputError):
        SliceSandwich(**kwargs).fit(sas, MMLU_CUT, task="mmlu")
