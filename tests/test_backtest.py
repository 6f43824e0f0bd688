"""The backtest harness: splits, scores against hand-computed values, no leakage, failed jobs,
the results folder (refuse / force / resume), backend equivalence and kill-and-resume."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import forecast
from forecast.backtest import (
    BacktestResult,
    backtest,
    crps_sample,
    job_seed,
    parse_cutoffs,
    plan_splits,
    point_metrics,
    score_threshold,
)
from forecast.backtest.command import backtest as backtest_command
from forecast.backtest.parallel import parallelize
from forecast.backtest.splits import DEFAULT_CUTOFFS
from forecast.backtest.store import job_filename
from forecast.errors import InputError
from forecast.methods.base import Forecaster
from task_slices import BIGG_FEW, task_slice, write_task_slice

REPO = Path(__file__).resolve().parents[1]
FAST_METHODS = ["slice_sandwich", "sigmoid", "persistence", "linear"]
# BIG-G tasks with enough questions for every method's slices
BIGG_TASKS = ["abstract_narrative_understanding", "qa_wikidata", "bbq_lite_json", "linguistic_mappings",
              "mult_data_wrangling", "dyck_languages", "cs_algorithms", "timedial"]


@pytest.fixture(scope="module")
def bigg_data():
    return forecast.load_dataset("bigbench_bigg")


@pytest.fixture(scope="module")
def bigg_few(bigg_data):
    """Two BIG-G tasks: settings learned from every task at a cut-off take seconds, not minutes."""
    return task_slice(bigg_data, BIGG_FEW)


@pytest.fixture(scope="module")
def sas_data():
    return forecast.load_dataset("slice_sandwich")


@pytest.fixture
def repo_on_path(monkeypatch):
    """Worker and child processes must import this checkout."""
    old = os.environ.get("PYTHONPATH", "")
    monkeypatch.setenv("PYTHONPATH", str(REPO) + (os.pathsep + old if old else ""))


def _square(x):
    return x * x


# ---------------------------------------------------------------------------------- scoring
def brute_crps(draws, y):
    m = len(draws)
    t1 = sum(abs(x - y) for x in draws) / m
    t2 = sum(abs(a - b) for a in draws for b in draws) / (m * m)
    return t1 - 0.5 * t2


def test_crps_matches_brute_force_double_loop():
    rng = np.random.default_rng(3)
    draws = rng.beta(2, 5, size=(37, 4))
    y = np.array([0.1, 0.3, 0.95, 0.0])
    fast = crps_sample(draws, y)
    slow = [brute_crps(list(draws[:, j]), y[j]) for j in range(4)]
    np.testing.assert_allclose(fast, slow, rtol=0, atol=1e-12)
    # a point forecast: CRPS is the absolute error
    np.testing.assert_allclose(crps_sample(np.full((5, 1), 0.4), [0.1]), [0.3], atol=1e-12)


def test_point_metrics_hand_computed():
    y = [0.2, 0.5, 0.9]
    mean = [0.3, 0.5, 0.6]
    lower = [0.1, 0.55, 0.5]
    upper = [0.4, 0.7, 0.9]
    got = point_metrics(y, mean, lower, upper, [0.05, 0.1, 0.2])
    assert got["n"] == 3
    assert got["mae"] == pytest.approx((0.1 + 0.0 + 0.3) / 3)
    assert got["mse"] == pytest.approx((0.01 + 0.0 + 0.09) / 3)
    assert got["coverage"] == pytest.approx(2 / 3)  # 0.5 is below 0.55; 0.9 on the bound counts
    assert got["width"] == pytest.approx((0.3 + 0.15 + 0.4) / 3)
    assert got["crps"] == pytest.approx(0.35 / 3)
    empty = point_metrics([], [], [], [], [])
    assert empty["n"] == 0 and all(math.isnan(empty[k]) for k in ("mae", "mse", "coverage", "width", "crps"))


def _fake_job(method, draws, y, horizon, model_names, cutoff=1e9, thresholds=None):
    draws = np.asarray(draws, float)
    y = np.asarray(y, float)
    alpha = 0.05
    lower, upper = np.quantile(draws, [alpha, 1 - alpha], axis=0)
    return {
        "key": f"d|t|{method}|{cutoff:.10g}", "dataset": "d", "task": "t", "method": method, "cutoff": cutoff,
        "order": 0, "seed": 0, "level": 0.9, "status": "ok", "error": None, "seconds": 0.0,
        "n_fitted": 5, "n_heldout": len(y),
        "predictions": {
            "model": model_names, "compute": list(cutoff * 10 ** np.asarray(horizon)),
            "log10_compute": list(np.log10(cutoff) + np.asarray(horizon)), "horizon_dec": list(horizon),
            "y_true": list(y), "mean": list(draws.mean(axis=0)), "lower": list(lower), "upper": list(upper),
            "crps": list(crps_sample(draws, y)), "n_questions": [float("nan")] * len(y),
            "pit": [0.5] * len(y),
        },
        "calibration": {"levels": [0.9], "covered": [[float(v) for v in (lower <= y) & (y <= upper)]]},
        "thresholds": thresholds or [],
        "curve": {"compute": [cutoff], "mean": [0.5], "lower": [0.4], "upper": [0.6]},
    }


def _fake_result(jobs, methods):
    info = pd.DataFrame([{"dataset": "d", "task": "t", "format": "multiple_choice", "chance": 0.25}])
    actuals = pd.DataFrame(columns=["dataset", "task", "model", "compute", "log10_compute", "accuracy"])
    return BacktestResult(jobs, info, actuals, {"level": 0.9, "tau": 0.25, "methods": methods})


def test_metrics_on_a_constructed_table_with_known_draws():
    # 3 held-out models, 4 draws each; horizons 0.2, 0.4 (the 0-0.5 window) and 1.3 decades (1-2)
    draws = [[0.2, 0.4, 0.6], [0.3, 0.5, 0.7], [0.4, 0.6, 0.9], [0.5, 0.7, 1.0]]
    y = [0.35, 0.75, 0.5]
    job = _fake_job("sigmoid", draws, y, [0.2, 0.4, 1.3], ["a", "b", "c"])
    m = _fake_result([job], ["sigmoid"]).metrics().set_index("window")
    d = np.asarray(draws)
    lo, hi = np.quantile(d, [0.05, 0.95], axis=0)
    crps = [brute_crps(list(d[:, j]), y[j]) for j in range(3)]
    allw = m.loc["all"]
    assert allw["n"] == 3
    assert allw["mae"] == pytest.approx((0.0 + 0.2 + 0.3) / 3)
    assert allw["mse"] == pytest.approx((0.0 + 0.04 + 0.09) / 3)
    inside = [(lo[j] <= y[j] <= hi[j]) for j in range(3)]
    assert inside == [True, False, False]  # 0.75 > q95 of (0.4..0.7); 0.5 < q05 of (0.6..1.0)
    assert allw["cover"] == pytest.approx(1 / 3)
    assert allw["width"] == pytest.approx(np.mean(hi - lo))
    assert allw["crps"] == pytest.approx(np.mean(crps), abs=1e-12)
    alpha = 0.1
    score = [(hi[j] - lo[j]) + 2 / alpha * max(lo[j] - y[j], 0) + 2 / alpha * max(y[j] - hi[j], 0) for j in range(3)]
    assert allw["interval_score"] == pytest.approx(np.mean(score))
    near = m.loc["0-0.5"]
    assert near["n"] == 2
    assert near["mae"] == pytest.approx(0.1)
    assert near["crps"] == pytest.approx(np.mean(crps[:2]), abs=1e-12)
    assert m.loc["1-2", "n"] == 1 and "0.5-1" not in m.index  # an empty window has no row


def test_ties_on_a_bound_count_half():
    # held-out accuracy exactly on the upper bound: half covered, strict 0, inclusive 1
    job = _fake_job("linear", [[0.2], [0.4], [0.4]], [0.4], [0.9], ["m"])
    job["predictions"]["upper"] = [0.4]
    p = _fake_result([job], ["linear"]).predictions.iloc[0]
    assert (p["cover"], p["cover_strict"], p["cover_inclusive"]) == (0.5, 0.0, 1.0)


def test_distance_windows_on_real_data(bigg_few):
    # BIG-G above 8e9: 27e9 (0.53 decades: 0.5-1) and 128e9 (1.2 decades: 1-2); 0-0.5 is empty
    bt = backtest(bigg_few, methods=["linear"], tasks=["qa_wikidata"], cutoffs="8e9")
    m = bt.metrics()
    assert set(m["window"]) == {"all", "0.5-1", "1-2"}
    assert m.set_index("window").loc["all", "n"] == 2
    # the noise floor: the error of a perfect forecast of the true rate, below the MAE
    p = bt.predictions
    assert (p["noise_mae"] > 0).all() and (p["noise_mae"] < 0.06).all()


def test_summary_ratio_to_best_baseline():
    good = _fake_job("slice_sandwich", [[0.30], [0.32]], [0.3], [0.2], ["a"])
    base1 = _fake_job("sigmoid", [[0.40], [0.40]], [0.3], [0.2], ["a"])
    base2 = _fake_job("linear", [[0.50], [0.50]], [0.3], [0.2], ["a"])
    s = _fake_result([good, base1, base2], ["slice_sandwich", "sigmoid", "linear"]).summary()
    s = s[s["window"] == "all"].set_index("method")
    # a baseline is compared with the best of the others
    assert s.loc["sigmoid", "best_mae"] == "linear" and s.loc["sigmoid", "ratio_mae"] == pytest.approx(0.5)
    assert s.loc["linear", "ratio_mae"] == pytest.approx(0.2 / 0.1)
    assert s.loc["slice_sandwich", "best_mae"] == "sigmoid"
    assert s.loc["slice_sandwich", "ratio_mae"] == pytest.approx(0.01 / 0.1)
    # one task: the bootstrap interval is the point
    assert s.loc["slice_sandwich", "ratio_mae_lo"] == pytest.approx(0.1)


def test_threshold_scoring_rules():
    # both exist: error in decades, inside the interval
    r = score_threshold(1e23, 1e22, 1e24, False, 1e22, None, 1e24)
    assert r["eligible"] and r["error_dec"] == pytest.approx(1.0) and r["inside"] and r["outcome"] == "both"
    # observed outside [lower, upper]
    r = score_threshold(1e23, 5e22, 2e23, False, 1e22, None, 1e24)
    assert r["inside"] is False
    # crossed already at the cut-off: not eligible, nothing scored
    r = score_threshold(1e23, 1e22, 1e24, False, 1e22, 1e22, 1e24)
    assert not r["eligible"] and math.isnan(r["error_dec"]) and r["inside"] is None
    # forecast never crosses (median): NaN error; interval censored above -> inside
    r = score_threshold(None, 1e23, 1e25, True, 3e23, None, 1e24)
    assert math.isnan(r["error_dec"]) and r["inside"] and r["outcome"] == "forecast_none"
    # lower None (the whole interval lies past the search range) -> observed not inside
    r = score_threshold(None, None, 1e25, True, 3e23, None, 1e24)
    assert r["inside"] is False
    # observed never crosses: inside iff the interval reaches past the largest model
    r = score_threshold(5e23, 1e23, 8e23, False, None, None, 1e24)
    assert r["inside"] is False and r["false_emergence"] and r["outcome"] == "observed_none"
    r = score_threshold(5e23, 1e23, 1e25, True, None, None, 1e24)
    assert r["inside"] is True
    # a forecast crossing beyond the data is not a false emergence (the data cannot show it)
    assert not score_threshold(5e24, 1e24, 1e25, True, None, None, 1e24)["false_emergence"]


def test_threshold_table_on_real_data(sas_data):
    bt = backtest(sas_data, methods=["sigmoid", "linear"], tasks=["mmlu", "arc"], cutoffs="paper")
    th = bt.thresholds
    mmlu = th[th["task"] == "mmlu"]
    # MMLU has not crossed tau = 0.25 at any paper cut-off; it does at 10^1.9 x 1e21 FLOPs
    assert mmlu["eligible"].all() and not mmlu["never_crosses"].any()
    assert np.log10(mmlu["observed"].iloc[0]) == pytest.approx(22.895, abs=0.01)
    assert np.isfinite(mmlu["thr_crps"]).all() and (mmlu["thr_crps"] >= 0).all()
    assert mmlu["inside_bracket"].notna().all()
    # the crossing bracket: the two adjacent model sizes around the observed crossing
    assert (mmlu["bracket_lo"] < mmlu["observed"]).all() and (mmlu["observed"] <= mmlu["bracket_hi"]).all()
    arc = th[th["task"] == "arc"]
    assert not arc["eligible"].any()  # ARC is past tau at small scale
    s = bt.summary()
    s = s[(s["window"] == "all") & (s["subset"] == "all")]
    assert (s["thr_n"] == 3).all()  # three MMLU cut-offs


def test_emergence_rows_on_real_data(sas_data):
    bt = backtest(sas_data, methods=["sigmoid"], tasks=["mmlu"], cutoffs=f"{10**1.5 * 1e21!r}")
    e = bt.emergence
    # below 10^1.5 MMLU's isotonic fit already reaches tau = 0.1 (the small Qwen1.5 and phi models
    # the paper dropped score 0.38-0.57): only 0.25 and 0.5 are still to forecast
    assert set(e["tau"]) == {0.25, 0.5}
    assert e["p_emerged"].between(0, 1).all()
    at = e[e["tau"] == 0.25].set_index("budget")
    # MMLU crosses 0.25 at 10^22.9 FLOPs: budgets below are 0, budgets above 1
    assert (at.loc[at.index < 10**22.85, "observed"] == 0).all()
    assert (at.loc[(at.index > 10**22.95) & ~at["beyond"], "observed"] == 1).all()
    assert at.loc[at["beyond"], "observed"].isna().all()  # past the largest model: not scored
    # p_emerged is non-decreasing in the budget (the event by B implies the event by B' > B)
    assert np.all(np.diff(at["p_emerged"].to_numpy()) >= -1e-12)
    es = bt.emergence_summary()
    assert {"brier", "auc", "skill", "skill_lo", "skill_hi", "n_events"} <= set(es.columns)


# ---------------------------------------------------------------------------------- splits
def test_cutoff_specs(bigg_data, sas_data):
    items = parse_cutoffs("1e9, largest:2, expanding:3, default, paper, mmlu=3e22")
    assert [i.kind for i in items] == ["raw", "largest", "expanding", "default", "paper", "raw"]
    assert items[-1].scope == "mmlu"
    s = plan_splits([bigg_data], ["qa_wikidata"], "largest:2")
    assert [x.cutoff for x in s] == [8e9]  # 27e9 and 128e9 held out
    s = plan_splits([bigg_data], ["qa_wikidata"], "expanding:3")
    cut = [x.cutoff for x in s]
    assert cut == sorted(cut) and len(cut) == 3 and cut == [422e6, 2e9, 27e9]
    # rolling origin by default: every size leaving >= 4 fitted sizes and one larger model
    s = plan_splits([bigg_data], ["qa_wikidata"], None)
    assert [x.cutoff for x in s] == [125e6, 244e6, 422e6, 1e9, 2e9, 4e9, 8e9, 27e9]
    assert {x.rule for x in s} == {"rolling"}
    s = plan_splits([sas_data], ["mmlu", "arc"], "paper")
    got = {(x.task, round(np.log10(x.cutoff) - 21, 6)) for x in s}
    assert got == {("arc", 2.3), ("mmlu", 1.5), ("mmlu", 1.1), ("mmlu", 1.3)}
    assert [x.order for x in s if x.task == "mmlu"] == [0, 1, 2]
    # scoped items: the task scope beats the dataset scope beats the plain items
    s = plan_splits([sas_data, bigg_data], ["mmlu", "arc", "qa_wikidata"],
                    "mmlu=3e22,slice_sandwich=largest:1,bigbench_bigg=4e9")
    got = {(x.task, x.cutoff) for x in s}
    assert ("mmlu", 3e22) in got and ("qa_wikidata", 4e9) in got and len(got) == 3
    assert DEFAULT_CUTOFFS["slice_sandwich"]["arc"] == (10**2.3 * 1e21,)


@pytest.mark.parametrize("spec, fragment", [
    ("1e3", "below the smallest model"),
    ("128e9", "holds out no model"),
    ("1.5", "below the smallest model"),
    ("largest:x", "not raw compute"),
    ("nope=1e9", "names no dataset or task"),
    ("-1", "positive"),
])
def test_bad_cutoffs_are_input_errors(bigg_data, spec, fragment):
    with pytest.raises(InputError, match=fragment):
        plan_splits([bigg_data], ["qa_wikidata"], spec)


def test_job_seed_is_stable_and_key_dependent():
    a = job_seed(0, "bigbench_bigg|qa_wikidata|linear|1000000000")
    ss = np.random.SeedSequence([0, 3])
    assert isinstance(a, int) and 0 <= a < 2**32
    assert a == job_seed(0, "bigbench_bigg|qa_wikidata|linear|1000000000")
    assert a != job_seed(1, "bigbench_bigg|qa_wikidata|linear|1000000000")
    assert a != job_seed(0, "bigbench_bigg|qa_wikidata|linear|4000000000")
    assert ss.entropy == [0, 3]
    # a fresh interpreter (another hash seed) derives the same seed: no hash()
    code = ("from forecast.backtest import job_seed; "
            "print(job_seed(0, 'bigbench_bigg|qa_wikidata|linear|1000000000'))")
    env = {**os.environ, "PYTHONHASHSEED": "123", "PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert int(out.stdout) == a


def test_job_file_names_are_safe_and_unique():
    a = job_filename("data/x.csv|t|m|1e9")
    b = job_filename("data_x.csv|t|m|1e9")
    assert "/" not in a and a != b and a.endswith(".json")


# ---------------------------------------------------------------------------------- leakage
PRED_COLS = ["dataset", "task", "method", "cutoff", "model", "compute", "mean", "lower", "upper"]
THR_COLS = ["dataset", "task", "method", "cutoff", "estimate", "lower", "upper", "upper_censored",
            "p_reached", "observed_fitted"]
EMERGE_COLS = ["dataset", "task", "method", "cutoff", "tau", "budget", "p_emerged"]


def test_no_leakage_per_question_data(bigg_few):
    task, cutoff = "abstract_narrative_understanding", 4e9
    # persistence_drift and slice_sandwich learn settings from EVERY task at the cut-off (here
    # two): the perturbation below touches the held-out models of every task
    bigg_data = bigg_few
    methods = ["slice_sandwich", "published", "sigmoid", "persistence", "persistence_drift", "linear"]
    base = backtest(bigg_data, methods=methods, tasks=[task], cutoffs=cutoff)
    assert base.failed.empty
    res = bigg_data.results
    held = set(bigg_data.models.loc[bigg_data.models["params"] > cutoff, "model"])
    assert held
    flip = res["model"].isin(held)
    perturbed = dataclasses.replace(bigg_data, results=res.assign(correct=np.where(flip, 1 - res["correct"],
                                                                                     res["correct"])))
    other = backtest(perturbed, methods=methods, tasks=[task], cutoffs=cutoff)
    pd.testing.assert_frame_equal(base.predictions[PRED_COLS], other.predictions[PRED_COLS], check_exact=True)
    pd.testing.assert_frame_equal(base.thresholds[THR_COLS], other.thresholds[THR_COLS], check_exact=True)
    pd.testing.assert_frame_equal(base.curves, other.curves, check_exact=True)
    pd.testing.assert_frame_equal(base.emergence[EMERGE_COLS], other.emergence[EMERGE_COLS], check_exact=True)
    pd.testing.assert_frame_equal(base.learned(), other.learned(), check_exact=True)
    pd.testing.assert_frame_equal(base.predictability(), other.predictability(), check_exact=True)
    # ... while the scored truth did change
    assert not np.allclose(base.predictions["y_true"], other.predictions["y_true"])


def test_no_leakage_group_data(sas_data):
    cutoff = 10**1.5 * 1e21
    methods = ["slice_sandwich", "published", "sigmoid", "persistence_drift", "family", "linear"]
    base = backtest(sas_data, methods=methods, tasks=["mmlu"], cutoffs=cutoff)
    assert base.failed.empty
    held = set(sas_data.models.loc[sas_data.models["flops"] > cutoff, "model"])
    g, s = sas_data.groups, sas_data.scores
    perturbed = dataclasses.replace(
        sas_data,
        groups=g.assign(value=np.where(g["model"].isin(held), g["value"] * 0.5, g["value"])),
        scores=s.assign(value=np.where(s["model"].isin(held), 1.0 - s["value"], s["value"])),
    )
    other = backtest(perturbed, methods=methods, tasks=["mmlu"], cutoffs=cutoff)
    pd.testing.assert_frame_equal(base.predictions[PRED_COLS], other.predictions[PRED_COLS], check_exact=True)
    pd.testing.assert_frame_equal(base.thresholds[THR_COLS], other.thresholds[THR_COLS], check_exact=True)
    pd.testing.assert_frame_equal(base.emergence[EMERGE_COLS], other.emergence[EMERGE_COLS], check_exact=True)
    pd.testing.assert_frame_equal(base.learned(), other.learned(), check_exact=True)
    assert not np.allclose(base.predictions["y_true"], other.predictions["y_true"])


# ---------------------------------------------------------------------------------- API shape
def test_api_tables(bigg_data):
    # two tasks of BIG-G: the predictability flags learned from every task stay quick
    two = task_slice(bigg_data, ["qa_wikidata", "bbq_lite_json"])
    bt = backtest(two, methods=["sigmoid", "persistence"], tasks=["qa_wikidata", "bbq_lite_json"],
                  cutoffs="1e9,4e9", level=0.8)
    p = bt.predictions
    for col in ("task", "method", "cutoff", "model", "compute", "y_true", "mean", "lower", "upper", "level"):
        assert col in p.columns
    assert (p["compute"] > p["cutoff"]).all() and (p["level"] == 0.8).all()
    assert p.equals(p.sort_values(["dataset", "task", "method", "cutoff", "compute", "model"]).reset_index(drop=True))
    assert len(bt.jobs) == 2 * 2 * 2
    m = bt.metrics()
    assert set(m["window"]) <= {"all", "0-0.5", "0.5-1", "1-2", ">2"} and (m["window"] == "all").sum() == len(bt.jobs)
    s = bt.summary()
    # BIG-G's pure multiple-choice tasks get their own subset rows (qa_wikidata is generative),
    # and so do the two fixed halves of the BIG-G tasks
    assert {"all", "multiple_choice"} <= set(s["subset"])
    assert set(s.loc[(s["subset"] == "multiple_choice") & (s["window"] == "all"), "n_tasks"]) == {1}
    assert set(s.loc[(s["subset"] == "all") & (s["window"] == "all"), "n_tasks"]) == {2}
    assert {"ratio_mae", "ratio_mae_lo", "ratio_mae_hi", "ratio_crps", "ratio_is", "ratio_thr", "best_mae",
            "thr_n", "thr_crps", "false_emergence", "cover", "cover_strict", "cover_inclusive",
            "noise_mae", "wins"} <= set(s.columns)


def test_forecast_backtest_is_callable_every_time():
    import forecast.backtest.plots  # noqa: F401  (importing a submodule must not break the call)

    for _ in range(2):
        bt = forecast.backtest("bigbench_bigg", methods=["linear"], tasks=["qa_wikidata"], cutoffs="4e9")
        assert isinstance(bt, BacktestResult) and len(bt.predictions) == 3


def test_parallelize_local_keeps_order():
    seen = []
    out = parallelize(_square, [3, 1, 2], backend="local", on_result=lambda i, r: seen.append(i))
    assert out == [9, 1, 4] and seen == [0, 1, 2]
    with pytest.raises(InputError, match="backend"):
        parallelize(_square, [1], backend="threads")
    with pytest.raises(InputError, match="scheduler"):
        parallelize(_square, [1], backend="local", scheduler="tcp://x:1")


# ---------------------------------------------------------------------------------- CLI
class Boom(Forecaster):
    """A method that fails on one task (with a generic exception) and works elsewhere."""

    name = "boom"

    def __init__(self, n_draws: int = 50, seed: int = 0) -> None:
        self.n_draws = n_draws
        self.seed = seed

    def _fit(self, fitted):
        if self.task_ == "qa_wikidata":
            raise RuntimeError("boom on purpose")
        self.level_ = float(self.fit_table_["accuracy"].iloc[-1])

    def _mean_draws(self, x):
        return np.full((self.n_draws, np.size(x)), self.level_)


def invoke(*args):
    return CliRunner().invoke(backtest_command, list(args), catch_exceptions=False)


SMALL = ["bigbench_bigg", "--tasks", "qa_wikidata", "--cutoffs", "4e9", "--methods", "linear,persistence",
         "--no-progress"]


def test_cli_failed_job_is_recorded_and_exit_code_is_1(tmp_path, monkeypatch):
    from forecast.methods import METHODS

    monkeypatch.setitem(METHODS, "boom", Boom)
    out = tmp_path / "run"
    r = invoke("bigbench_bigg", "--tasks", "qa_wikidata,bbq_lite_json", "--cutoffs", "4e9",
               "--methods", "boom,linear", "--out", str(out), "--no-plots", "--no-progress")
    assert r.exit_code == 1, r.output
    jobs = pd.read_csv(out / "jobs.csv")
    failed = jobs[jobs["status"] == "failed"]
    assert failed["key"].tolist() == ["bigbench_bigg|qa_wikidata|boom|4000000000"]
    assert failed["error"].iloc[0] == "RuntimeError: boom on purpose"
    assert (jobs["status"] == "ok").sum() == 3
    pred = pd.read_csv(out / "predictions.csv")
    assert set(zip(pred["task"], pred["method"])) == {("qa_wikidata", "linear"), ("bbq_lite_json", "linear"),
                                                      ("bbq_lite_json", "boom")}
    summary = pd.read_csv(out / "summary.csv")
    # like for like: the summary uses only the split where both methods succeeded
    assert set(summary.loc[summary["window"] == "all", "n_splits"]) == {1}
    assert "boom on purpose" in r.stderr
    saved = json.loads((out / "jobs" / job_filename(failed["key"].iloc[0])).read_text())
    assert saved["status"] == "failed"


def test_cli_writes_outputs_and_refuses_an_existing_dir(tmp_path):
    out = tmp_path / "run"
    r = invoke(*SMALL, "--out", str(out))
    assert r.exit_code == 0, r.output
    for name in ("predictions.csv", "metrics.csv", "summary.csv", "jobs.csv", "thresholds.csv",
                 "emergence.csv", "emergence_summary.csv", "calibration.csv", "pit.csv",
                 "predictability.csv", "forecast_vs_actual_bigbench_bigg.png", "calibration.png",
                 "error_by_horizon.png"):
        assert (out / name).stat().st_size > 0, name
    assert "MAE/base" in r.stdout and "linear" in r.stdout
    before = (out / "predictions.csv").read_bytes()
    # refused without --force / --resume: exit 2, one line, nothing touched
    r = invoke(*SMALL, "--out", str(out))
    assert r.exit_code == 2
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "already holds backtest results" in lines[0]
    assert (out / "predictions.csv").read_bytes() == before
    # --resume reads every job back and writes the same predictions
    r = invoke(*SMALL, "--out", str(out), "--resume", "--no-plots")
    assert r.exit_code == 0 and "resumed: 3" in r.stderr  # 2 jobs and the predictability flags
    assert (out / "predictions.csv").read_bytes() == before
    # --force starts over (the old job files are removed)
    (out / "jobs" / "stray.json").write_text("{}")
    r = invoke(*SMALL, "--out", str(out), "--force", "--no-plots")
    assert r.exit_code == 0
    assert not (out / "jobs" / "stray.json").exists()
    assert (out / "predictions.csv").read_bytes() == before
    assert not (out / "calibration.png").exists()


@pytest.mark.parametrize("args, fragment", [
    (["nope_dataset"], "no such file"),
    (["bigbench_bigg", "--cutoffs", "1e30"], "holds out no model"),
    (["bigbench_bigg", "--methods", "magic"], "unknown method"),
    (["bigbench_bigg", "--tasks", "mmlu"], "unknown task"),
    (["bigbench_bigg", "--level", "1.5"], "level"),
    (["bigbench_bigg", "--resume", "--force"], "exclude each other"),
])
def test_cli_bad_input_exit_2_one_line_nothing_written(tmp_path, args, fragment):
    out = tmp_path / "never"
    r = invoke(*args, "--out", str(out), "--no-progress")
    assert r.exit_code == 2, r.output
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and fragment in lines[0] and "Traceback" not in r.stderr
    assert not out.exists()


# ---------------------------------------------------------------------------------- slow
# slice_sandwich and the predictability flags learn settings from every task at a cut-off:
# both phases of a run (settings, then jobs) go through the backend
EQUIV = dict(methods=["slice_sandwich", "sigmoid", "persistence"], tasks=list(BIGG_FEW), cutoffs="1e9,8e9")


def _tables(bt):
    return {"predictions": bt.predictions, "thresholds": bt.thresholds, "metrics": bt.metrics(),
            "summary": bt.summary(), "curves": bt.curves}


def _assert_same(want, b):
    for name, table in _tables(b).items():
        pd.testing.assert_frame_equal(want[name], table, check_exact=True, obj=name)


@pytest.mark.slow
def test_backends_give_identical_results(bigg_few, repo_on_path):
    bigg_data = bigg_few
    local = backtest(bigg_data, backend="local", **EQUIV)
    assert len(local.jobs) == 12 and local.failed.empty
    want = _tables(local)
    procs = backtest(bigg_data, backend="processes", n_jobs=2, **EQUIV)
    _assert_same(want, procs)
    from dask.distributed import Client, LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        threaded = backtest(bigg_data, backend="dask", scheduler=client, **EQUIV)
    _assert_same(want, threaded)
    # a LocalCluster of two worker processes started for the run
    dask_procs = backtest(bigg_data, backend="dask", n_jobs=2, **EQUIV)
    _assert_same(want, dask_procs)


def _cli(*args):
    return [sys.executable, "-m", "forecast.cli", "backtest", *args]


@pytest.mark.slow
def test_kill_and_resume_loses_nothing(tmp_path, repo_on_path, bigg_data):
    methods, tasks = ["sigmoid", "persistence", "linear"], BIGG_TASKS[:3]
    # three tasks as a user's files: the predictability flags learned from every task at a
    # cut-off take seconds, not minutes; 12 of the 20 jobs are left for the kill to interrupt
    args = [*write_task_slice(bigg_data, tasks, tmp_path / "data"), "--methods", ",".join(methods),
            "--cutoffs", "1e9,8e9", "--no-plots", "--no-progress"]
    # the jobs, and one predictability-flag job per cut-off (saved the same way)
    total = len(tasks) * 2 * len(methods) + 2
    out = tmp_path / "killed"
    proc = subprocess.Popen(_cli(*args, "--out", str(out)), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=os.environ.copy())
    jobs_dir = out / "jobs"
    deadline = time.time() + 60
    try:
        while time.time() < deadline:
            if jobs_dir.is_dir() and len(list(jobs_dir.glob("*.json"))) >= 8:
                break
            assert proc.poll() is None, "the run ended before it could be killed"
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    saved = list(jobs_dir.glob("*.json"))
    assert 8 <= len(saved) < total
    for path in saved:  # every saved job file is whole
        assert json.loads(path.read_text())["status"] == "ok"
    assert not (out / "predictions.csv").exists()
    # without --resume the folder is refused
    refused = subprocess.run(_cli(*args, "--out", str(out)), capture_output=True, text=True)
    assert refused.returncode == 2 and "already holds" in refused.stderr
    resumed = subprocess.run(_cli(*args, "--out", str(out), "--resume"), capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert f"resumed: {len(saved)}" in resumed.stderr
    assert len(list(jobs_dir.glob("*.json"))) == total
    # an uninterrupted run writes byte-identical tables
    ref = tmp_path / "straight"
    r = invoke(*args, "--out", str(ref))
    assert r.exit_code == 0
    for name in ("predictions.csv", "metrics.csv", "summary.csv", "thresholds.csv", "calibration.csv",
                 "curves.csv"):
        assert (out / name).read_bytes() == (ref / name).read_bytes(), name
    a = pd.read_csv(out / "jobs.csv").drop(columns="seconds")
    b = pd.read_csv(ref / "jobs.csv").drop(columns="seconds")
    pd.testing.assert_frame_equal(a, b)


# ---------------------------------------------------------------------------------- review fixes
def _thr(estimate, observed, lower=None, upper=None, observed_fitted=None, thr_crps=0.1, inside=True):
    return {"tau": 0.25, "estimate": estimate, "lower": lower, "upper": upper,
            "upper_censored": estimate is None, "p_reached": 1.0 if estimate else 0.0, "search_max": 1e12,
            "observed_fitted": observed_fitted, "observed": observed, "max_compute": 1e11,
            "thr_crps": thr_crps, "bracket_lo": None, "bracket_hi": None, "inside_bracket": inside}


def test_threshold_summary_scores_every_eligible_split():
    # 1e9: both cross (data too); 2e9: the data never cross, linear's median crosses inside the
    # data range (false emergence), slice_sandwich's does not; 3e9: crossed at the cut-off
    jobs = []
    for cutoff, good, bad, obs, obs_fit in ((1e9, 2e10, 1e11, 1e10, None), (2e9, None, 5e10, None, None),
                                             (3e9, 1e10, 1e10, 1e10, 2e9)):
        for method, est, crps in (("slice_sandwich", good, 0.1), ("linear", bad, 0.4)):
            jobs.append(_fake_job(method, [[0.3], [0.3]], [0.3], [0.2], ["a"], cutoff=cutoff,
                                  thresholds=[_thr(est, obs, observed_fitted=obs_fit, thr_crps=crps)]))
    bt = _fake_result(jobs, ["slice_sandwich", "linear"])
    th = bt.thresholds.set_index(["method", "cutoff"])
    assert th["eligible"].tolist().count(True) == 4  # the 3e9 split had crossed already
    assert bool(th.loc[("linear", 2e9), "false_emergence"]) and not th.loc[("slice_sandwich", 2e9), "false_emergence"]
    assert th.loc[("linear", 2e9), "never_crosses"] and pd.isna(th.loc[("linear", 1e9), "false_emergence"])
    s = bt.summary()
    s = s[s["window"] == "all"].set_index("method")
    assert s["thr_n"].tolist() == [2, 2] and s["fe_n"].tolist() == [1, 1]
    assert s.loc["linear", "false_emergence"] == 1.0 and s.loc["slice_sandwich", "false_emergence"] == 0.0
    assert s.loc["slice_sandwich", "thr_crps"] == pytest.approx(0.1)
    assert s.loc["slice_sandwich", "ratio_thr"] == pytest.approx(0.25)  # against linear, the baseline
    assert "thrCRPS" in bt.format_summary()


def test_code_version_in_fingerprint_and_resume_recomputes(tmp_path, monkeypatch):
    from forecast.backtest import jobs as jobs_mod
    from forecast.backtest import runner

    code = jobs_mod.code_version()
    assert code["version"] == forecast.__version__ and len(code["source_hash"]) == 12
    out = tmp_path / "run"
    r = invoke(*SMALL, "--out", str(out), "--no-plots")
    assert r.exit_code == 0
    run = json.loads((out / "run.json").read_text())
    assert run["code"] == code
    saved = json.loads(next((out / "jobs").glob("*.json")).read_text())
    assert saved["code"] == jobs_mod.code_label(code)
    # same code: everything is reused
    r = invoke(*SMALL, "--out", str(out), "--resume", "--no-plots")
    assert "resumed: 3 " in r.stderr and "recomputed" not in r.stderr
    # other code (a new version or edited source): every job is run again, and the user is told
    monkeypatch.setattr(runner, "code_version", lambda: {**code, "source_hash": "0" * 12})
    r = invoke(*SMALL, "--out", str(out), "--resume", "--no-plots")
    assert r.exit_code == 0
    assert "resumed: 0 " in r.stderr and "recomputed 3 (code changed)" in r.stderr
    assert json.loads((out / "run.json").read_text())["code"]["source_hash"] == "0" * 12


def test_force_removes_only_the_harness_files(tmp_path):
    out = tmp_path / "run"
    r = invoke(*SMALL, "--out", str(out))
    assert r.exit_code == 0 and (out / "calibration.png").exists()
    (out / "my_figure.png").write_bytes(b"mine")
    (out / "notes.txt").write_text("mine")
    r = invoke(*SMALL, "--out", str(out), "--force", "--no-plots")
    assert r.exit_code == 0
    assert (out / "my_figure.png").read_bytes() == b"mine" and (out / "notes.txt").exists()
    for name in ("calibration.png", "error_by_horizon.png", "forecast_vs_actual_bigbench_bigg.png"):
        assert not (out / name).exists(), name


def test_no_job_can_run_is_bad_input(tmp_path):
    r = invoke("bigbench_bigg", "--tasks", "qa_wikidata", "--methods", "published", "--cutoffs", "largest:9",
               "--no-progress", "--no-plots")
    assert r.exit_code == 2 and "no job can run" in r.stderr and "published needs" in r.stderr


def test_every_job_failing_writes_typed_empty_tables_exit_1(tmp_path, monkeypatch):
    from forecast.backtest import jobs as jobs_mod

    def broken(job):
        raise RuntimeError("boom")

    monkeypatch.setattr(jobs_mod, "_evaluate", broken)
    out = tmp_path / "run"
    r = invoke("bigbench_bigg", "--tasks", "qa_wikidata", "--methods", "persistence", "--cutoffs", "8e9",
               "--out", str(out), "--no-progress", "--no-plots")
    assert r.exit_code == 1, r.output
    jobs = pd.read_csv(out / "jobs.csv")
    assert len(jobs) == 1 and (jobs["status"] == "failed").all() and "boom" in jobs["error"].iloc[0]
    for name in ("predictions.csv", "metrics.csv", "summary.csv", "thresholds.csv", "calibration.csv",
                 "curves.csv", "emergence.csv", "emergence_summary.csv"):
        table = pd.read_csv(out / name)
        assert table.empty and len(table.columns) > 3, name
    assert "thr_crps" in pd.read_csv(out / "summary.csv").columns


def _group_files(sas_data, folder, task="arithmetic", horizon=None):
    """A user's group-level files (one task of the shipped data); ``horizon`` (x 1e21 FLOPs):
    keep one group file, relabelled as sorted with models up to that horizon."""
    folder.mkdir(parents=True, exist_ok=True)
    groups = sas_data.groups[sas_data.groups["task"] == task]
    if horizon is not None:
        top = groups["difficulty_flops_max_1e21"].max()
        groups = groups[groups["difficulty_flops_max_1e21"] == top].assign(difficulty_flops_max_1e21=horizon)
    groups.to_csv(folder / "groups.csv", index=False)
    sas_data.scores[sas_data.scores["task"] == task].to_csv(folder / "scores.csv", index=False)
    return folder / "groups.csv", folder / "scores.csv"


def test_group_data_cutoffs_stay_at_or_above_the_group_horizon(sas_data, tmp_path):
    groups, scores = _group_files(sas_data, tmp_path / "in")
    user = forecast.load_data(str(groups), scores=str(scores))
    floor = 10**1.4 * 1e21  # arithmetic's smallest TC Brier horizon with 3 groups
    splits = plan_splits([user], None, "expanding:3")
    assert min(s.cutoff for s in splits) == pytest.approx(floor) and splits[0].rule.endswith("^horizon")
    # without a group-slicing method there is no limit
    assert min(s.cutoff for s in plan_splits([user], None, "expanding:3", n_groups=None)) < floor
    # the run: no job fails for want of legal groups
    r = invoke(str(groups), "--scores", str(scores), "--methods", "slice_sandwich,sigmoid", "--out",
               str(tmp_path / "run"), "--cutoffs", "expanding:3", "--no-progress", "--no-plots")
    assert r.exit_code == 0, r.output
    assert (pd.read_csv(tmp_path / "run" / "jobs.csv")["status"] == "ok").all()
    # a raw cut-off below the horizon: refused at planning, naming the smallest legal cut-off
    r = invoke(str(groups), "--scores", str(scores), "--methods", "slice_sandwich", "--cutoffs", "1e22",
               "--no-progress")
    assert r.exit_code == 2 and "smallest legal cut-off is 2.51189e+22" in r.stderr
    # groups sorted with every model: no legal cut-off is left
    groups2, scores2 = _group_files(sas_data, tmp_path / "late", horizon=1e9)
    late = forecast.load_data(str(groups2), scores=str(scores2))
    with pytest.raises(InputError, match="no legal cut-off"):
        plan_splits([late], None, "expanding:3")


def test_file_dataset_named_by_stem_and_keys_do_not_depend_on_the_path(bigg_data, tmp_path, monkeypatch):
    res = bigg_data.results[bigg_data.results["task"] == "qa_wikidata"]
    (tmp_path / "data").mkdir()
    res.to_csv(tmp_path / "data" / "my_results.csv.gz", index=False)
    bigg_data.models.to_csv(tmp_path / "data" / "models.csv", index=False)
    monkeypatch.chdir(tmp_path)
    kw = dict(methods=["linear"], cutoffs="4e9", models="data/models.csv")
    rel = backtest("data/my_results.csv.gz", **kw)
    absolute = backtest(str(tmp_path / "data" / "my_results.csv.gz"), **kw)
    assert rel.jobs["key"].tolist() == ["my_results|qa_wikidata|linear|4000000000"]
    pd.testing.assert_frame_equal(rel.jobs.drop(columns="seconds"), absolute.jobs.drop(columns="seconds"))
    assert set(rel.summary()["dataset"]) == {"my_results"}
    # resume through the other spelling of the path reuses every job
    args = ["--methods", "linear", "--cutoffs", "4e9", "--models", "data/models.csv", "--out", "run",
            "--no-progress", "--no-plots"]
    assert invoke("data/my_results.csv.gz", *args).exit_code == 0
    r = invoke(str(tmp_path / "data" / "my_results.csv.gz"), *args, "--resume")
    assert r.exit_code == 0 and "resumed: 2 " in r.stderr  # the job and its predictability flags


