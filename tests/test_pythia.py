"""The Pythia data sets and the suite-file reader (issue 23): loading, a user's own suite,
bad input, a small backtest and the leak test."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from forecast.backtest import backtest
from forecast.data.loading import load_data
from forecast.data.pythia import (
    FLOPS_PER_PARAM_TOKEN,
    MMLU_AVERAGE,
    cross_family,
    load_both,
    read_suite,
    task_group,
)
from forecast.data.shipped import DESCRIPTIONS, dataset_names, load_dataset, pythia_frame
from forecast.errors import InputError

TASKS3 = ("lambada_openai", "arc_easy", "sciq")


@pytest.fixture(scope="module")
def raw() -> pd.DataFrame:
    return pythia_frame()


def small_suite(raw: pd.DataFrame, family: str = "Pythia", tasks=TASKS3, shots: int = 0) -> pd.DataFrame:
    """The raw rows of a few tasks of one family (every checkpoint), as a user's file holds them."""
    keep = (raw["family"] == family) & raw["task"].isin(tasks) & (raw["shots"] == shots)
    keep &= raw["eval_run"].isin(["zero-shot", "five-shot"]) & raw["variant"].isin(["standard", "bf16"])
    return raw[keep].reset_index(drop=True)


def test_shipped_pythia_loads_with_both_families_apart():
    assert {"pythia", "pythia_deduped"} <= set(dataset_names())
    assert "Pythia" in DESCRIPTIONS["pythia"]
    for name, family in (("pythia", "Pythia"), ("pythia_deduped", "Pythia-deduped")):
        d = load_dataset(name)
        assert set(d.models["family"]) == {family}
        assert len(d.models) == 8
        # 66 tasks at 0-shot and 66 at 5-shot (57 subjects, their average, 8 others)
        assert len(d.task_names) == 132
        assert {"arc_easy:0", "arc_easy:5", "mmlu_avg:0", "mmlu_avg:5", "lambada_openai:0"} <= set(d.task_names)
        m = d.models.set_index("model")
        small = m.loc[[x for x in m.index if x.startswith("pythia-70m")][0]]
        assert small["params"] == 70_426_624 and small["params_nonembedding"] == 18_915_328
        assert small["tokens"] == 143_000 * 2_097_152
        assert small["flops"] == pytest.approx(FLOPS_PER_PARAM_TOKEN * small["params"] * small["tokens"])
        # every checkpoint kept as steps: 27 at 0-shot, 15 at 5-shot, on every task
        st = d.steps
        assert st[st["task"] == "arc_easy:0"].groupby("model")["step"].nunique().eq(27).all()
        assert st[st["task"] == "arc_easy:5"].groupby("model")["step"].nunique().eq(15).all()
        lam = st[st["task"] == "lambada_openai:0"]
        assert lam["soft_log_prob"].notna().all() and st[st["task"] == "arc_easy:0"]["soft_log_prob"].isna().all()


def test_loss_and_average_are_read_off_the_file(raw):
    d = load_dataset("pythia")
    s = d.scores
    r = raw[(raw["model"] == "pythia-12b") & (raw["step"] == 143000) & (raw["eval_run"] == "zero-shot")]
    ppl = float(r[(r["task"] == "lambada_openai") & (r["metric"] == "ppl")]["value"].iloc[0])
    got = s[(s["task"] == "lambada_openai:0") & (s["model"] == "pythia-12b") & (s["metric"] == "soft_log_prob")]
    assert float(got["value"].iloc[0]) == pytest.approx(-np.log(ppl))
    subj = r[r["task"].str.startswith("hendrycksTest-") & (r["metric"] == "acc")]
    assert len(subj) == 57
    avg = s[(s["task"] == f"{MMLU_AVERAGE}:0") & (s["model"] == "pythia-12b") & (s["metric"] == "accuracy")]
    assert float(avg["value"].iloc[0]) == pytest.approx(subj["value"].mean())
    assert task_group("hendrycksTest-anatomy:5") == "mmlu_subjects"
    assert task_group("mmlu_avg:5") == "other" and task_group("arc_easy:0") == "other"
    # 0- and 5-shot of one task are one bootstrap unit
    # question counts read off the smallest model's standard error: the test sets' sizes
    n = d.tasks.set_index("task")["n_questions"]
    assert (n["arc_easy:0"], n["lambada_openai:5"], n["wsc:0"], n["hendrycksTest-anatomy:0"]) == (2376, 5153, 104, 135)
    assert 5000 < n["mmlu_avg:0"] < 14042  # effective count of an unweighted mean of 57 subjects
    groups = d.task_groups()
    assert groups["arc_easy:0"] == groups["arc_easy:5"] == "arc_easy"


def test_another_suite_loads_without_code_change(tmp_path):
    """Other family names and sizes, no checkpoints, no shots, a task the reader does not know."""
    sizes = np.array([1e7, 3e7, 1e8, 3e8, 1e9, 3e9])
    rows = []
    for i, n in enumerate(sizes):
        for task, acc in (("arc_easy", 0.3 + 0.05 * i), ("my_task", 0.1 + 0.1 * i)):
            rows.append({"model": f"mine-{i}", "family": "Mine", "task": task, "metric": "acc,none",
                         "value": acc, "params_total": n, "tokens_seen": 20 * n})
    path = tmp_path / "my_suite.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        d = load_data(str(path))
    assert d.steps is None and set(d.models["family"]) == {"Mine"}
    assert d.chance("arc_easy") == 0.25 and d.chance("my_task") == 0.0
    assert any("my_task" in str(w.message) for w in caught)  # chance 0 said once
    assert np.allclose(d.models.sort_values("params")["flops"], 6 * sizes * 20 * sizes)
    bt = backtest(str(path), methods=["sigmoid", "persistence", "linear"], backend="local")
    assert bt.failed.empty and len(bt.predictions) > 0


def test_bad_suite_files_get_one_clear_line(raw, tmp_path):
    suite = small_suite(raw)
    with pytest.raises(InputError, match="missing column 'tokens_seen'"):
        read_suite(suite.drop(columns=["tokens_seen"]), name="s.csv")
    odd = suite.copy()
    odd.loc[odd.index[0], "metric"] = "bleu"
    with pytest.raises(InputError, match="unknown value 'bleu'") as err:
        read_suite(odd, name="s.csv")
    assert "\n" not in str(err.value) and "s.csv" in str(err.value)
    path = tmp_path / "s.csv"
    odd.to_csv(path, index=False)
    with pytest.raises(InputError, match="column 'metric' has unknown value 'bleu'"):
        load_data(str(path))
    dup = pd.concat([suite.drop(columns="eval_run"), suite.drop(columns="eval_run").iloc[:1]])
    with pytest.raises(InputError, match="two rows for model"):
        read_suite(dup, name="s.csv")


def test_rerun_rows_are_dropped_with_a_note(raw):
    keep = (raw["family"] == "Pythia-deduped") & raw["task"].isin(TASKS3)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        d = read_suite(raw[keep & raw["variant"].isin(["standard"])], name="deduped")
    assert any("eval_run 'baseline'" in n for n in d.notes)
    assert len(d.models) == 8


def test_small_backtest_on_a_suite_file(raw, tmp_path):
    path = tmp_path / "pythia_small.csv.gz"
    small_suite(raw).to_csv(path, index=False)
    bt = backtest(str(path), methods=["slice_sandwich", "sigmoid", "persistence", "two_step_slp"],
                  backend="local", cutoffs="rolling")
    assert bt.failed.empty
    pred = bt.predictions
    assert set(pred["task"]) == {f"{t}:0" for t in TASKS3}
    # the loss -> accuracy chain runs where LAMBADA's perplexity gives a task loss
    assert (pred["method"] == "two_step_slp").any()
    assert set(pred.loc[pred["method"] == "two_step_slp", "task"]) == {"lambada_openai:0"}


def test_leak_rows_above_the_cutoff_change_no_forecast(raw, tmp_path):
    """Perturbing every row (all checkpoints) of the sizes above the cut-off leaves every
    forecast identical."""
    suite = small_suite(raw)
    cutoff = float(6 * 1_414_647_808 * 143_000 * 2_097_152)  # pythia-1.4b's FLOPs
    above = suite["params_total"] > 1_414_647_808
    assert above.any()
    bad = suite.copy()
    rng = np.random.default_rng(1)
    acc = bad["metric"].isin(["acc", "acc_norm"]) & above
    bad.loc[acc, "value"] = rng.uniform(0, 1, int(acc.sum()))
    ppl = (bad["metric"] == "ppl") & above
    bad.loc[ppl, "value"] = bad.loc[ppl, "value"] * rng.uniform(0.2, 5.0, int(ppl.sum()))
    outs = []
    for folder, table in (("a", suite), ("b", bad)):
        (tmp_path / folder).mkdir()
        path = tmp_path / folder / "suite.csv"
        table.to_csv(path, index=False)
        bt = backtest(str(path), methods=["slice_sandwich", "sigmoid", "linear", "two_step_slp"], backend="local",
                      cutoffs=repr(cutoff))
        assert bt.failed.empty
        outs.append(bt.predictions.sort_values(["task", "method", "model"]).reset_index(drop=True))
    a, b = outs
    assert len(a) > 0 and not np.allclose(a["y_true"], b["y_true"])
    for col in ("mean", "lower", "upper"):
        np.testing.assert_array_equal(a[col].to_numpy(), b[col].to_numpy())


def test_cross_family_split_fits_the_known_family_whole():
    both = load_both(pythia_frame())
    assert set(both.models["family"]) == {"Pythia", "Pythia-deduped"}
    flops = both.models.set_index("model")["flops"]
    cut = float(flops["pythia-1.4b-deduped"])
    d = cross_family(both, known="Pythia", cutoff=cut)
    held = set(d.held_out_models(float(d.default_cutoffs), "arc_easy:0"))
    assert held == {m for m in flops.index if m.endswith("-deduped") and flops[m] > cut}
    fitted = set(d.restrict(float(d.default_cutoffs), "arc_easy:0").models["model"])
    assert {m for m in flops.index if not m.endswith("-deduped")} <= fitted
    assert not fitted & held


def test_plan_splits_accepts_the_largest_compute_when_targets_are_held_out():
    """The across-family sets' cut-off is the largest compute (the known family's 12B has the
    same compute as the other family's 12B target): plan_splits takes it because targets are
    held out there, and refuses it on the same data without targets."""
    from forecast.backtest.splits import plan_splits
    from forecast.data.pythia import with_tasks

    both = with_tasks(load_both(pythia_frame()), ["arc_easy:0", "lambada_openai:0"])
    flops = both.models.set_index("model")["flops"]
    d = cross_family(both, known="Pythia", cutoff=float(flops["pythia-1.4b-deduped"]))
    top = float(d.default_cutoffs)
    assert top == float(flops.max()) and (flops == top).sum() == 2
    splits = plan_splits([d])  # the data set's default: its largest compute
    assert [(s.dataset, s.task, s.cutoff, s.order) for s in splits] == [
        (d.name, t, top, 0) for t in d.task_names]
    assert all(d.held_out_models(s.cutoff, s.task) for s in splits)
    # the rolling origin reaches the largest fitted size too (the targets stay held out)
    rolling = plan_splits([d], ["arc_easy:0"], "rolling")
    assert rolling[-1].cutoff == top and len(rolling) >= 2
    # without targets the same cut-off holds out no model
    with pytest.raises(InputError, match="holds out no model"):
        plan_splits([both], ["arc_easy:0"], repr(top))
