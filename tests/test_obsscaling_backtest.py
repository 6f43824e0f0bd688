"""Backtest rules of the ``obsscaling`` data set: grid cut-offs, score columns, emergence
rows per held-out model of an unseen family, seen / new family results."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecast.backtest.splits import GRID_MIN_MODELS, parse_cutoffs, plan_splits
from forecast.data.dataset import EvalData
from forecast.data.shipped import load_dataset
from forecast.data.task_table import task_table
from forecast.errors import InputError
from forecast.tuning import MIN_FITTED_SIZES


@pytest.fixture(scope="module")
def obs() -> EvalData:
    return load_dataset("obsscaling")


def test_default_cutoffs_are_the_data_sets_grid(obs):
    splits = plan_splits([obs], tasks=["GSM8K", "leaderboard_gpqa"])
    grid = {round(10.0 ** (20.5 + 0.5 * k)) for k in range(9)}
    assert {round(s.cutoff) for s in splits} <= grid
    for s in splits:
        table = task_table(obs, s.task)
        fitted = table[table["compute"] <= s.cutoff * (1 + 1e-12)]
        assert len(fitted) >= GRID_MIN_MODELS
        assert fitted["compute"].nunique() >= MIN_FITTED_SIZES
        assert (table["compute"] > s.cutoff).any()
        assert s.rule.startswith("grid:")
    # every grid point that meets the rule is used, and no other
    for task in ("GSM8K", "leaderboard_gpqa"):
        table = task_table(obs, task)
        want = []
        for k in range(9):
            c = 10.0 ** (20.5 + 0.5 * k)
            fitted = table[table["compute"] <= c * (1 + 1e-12)]
            if (len(fitted) >= 10 and fitted["compute"].nunique() >= 4 and (table["compute"] > c).any()):
                want.append(c)
        got = [s.cutoff for s in splits if s.task == task]
        np.testing.assert_allclose(got, want)
    # GSM8K (123 models) is split at 10^21 .. 10^24.5; the leaderboard tasks have fewer small models
    assert len([s for s in splits if s.task == "GSM8K"]) == 8


def test_grid_rule_and_rolling_still_available(obs):
    (item,) = parse_cutoffs("grid:21:23:1:30")
    assert item.kind == "grid" and item.value == (21.0, 23.0, 1.0, 30)
    splits = plan_splits([obs], tasks=["MMLU"], cutoffs="grid:21:23:1:30")
    assert [round(np.log10(s.cutoff), 6) for s in splits] == [22.0, 23.0]  # 10^21 keeps < 30 models
    rolling = plan_splits([obs], tasks=["MMLU"], cutoffs="rolling")
    assert len(rolling) > 50 and all(s.rule == "rolling" for s in rolling)
    with pytest.raises(InputError, match="grid"):
        parse_cutoffs("grid:23:21:0.5")


def test_other_data_keep_rolling_default():
    splits = plan_splits([load_dataset("slice_sandwich")], tasks=["mmlu"])
    assert {s.rule for s in splits} == {"rolling"}


# ------------------------------------------------------------------ harness: score columns
def _replace_scores(data: EvalData, model: str, tasks, shift: float) -> EvalData:
    from dataclasses import replace

    s = data.scores.copy()
    rows = (s["model"] == model) & s["task"].isin(list(tasks))
    s.loc[rows, "value"] = (s.loc[rows, "value"] + shift).clip(0, 1)
    return replace(data, scores=s)


def _passed_frames(data: EvalData, task: str, cutoff: float, monkeypatch) -> pd.DataFrame:
    """What a backtest job hands ``predict_models`` for ``task`` at ``cutoff``."""
    import forecast.methods as methods
    from forecast.backtest.jobs import _evaluate
    from forecast.backtest.runner import plan_jobs

    seen: list[pd.DataFrame] = []
    real = methods.make_method

    def spy(name, **params):
        fc = real(name, **params)
        original = fc.predict_models

        def record(models, *args, **kwargs):
            seen.append(models.copy())
            return original(models, *args, **kwargs)

        fc.predict_models = record
        return fc

    monkeypatch.setattr(methods, "make_method", spy)
    jobs, _, _ = plan_jobs([data], ["linear"], [task], cutoff)
    _evaluate(jobs[0])
    return seen[0].set_index("model")


def test_held_out_models_get_only_their_own_other_scores(obs, monkeypatch):
    task, cutoff = "GSM8K", 1e23
    passed = _passed_frames(obs, task, cutoff, monkeypatch)
    cols = [c for c in passed.columns if c.startswith("score:")]
    assert f"score:{task}" not in cols and "score:MMLU" in cols
    assert len(cols) == len(obs.task_names) - 1
    acc = obs.scores[obs.scores["metric"] == "accuracy"].pivot(index="model", columns="task", values="value")
    for model in passed.index[:5]:
        for c in cols:
            want = acc.loc[model, c.removeprefix("score:")] if model in acc.index else np.nan
            got = passed.loc[model, c]
            assert (np.isnan(want) and np.isnan(got)) or got == want
    held = list(passed.index)
    a, b = held[0], held[-1]
    # perturb a's target score and every score of b: a's row is unchanged
    changed = _replace_scores(_replace_scores(obs, a, [task], 0.3), b, obs.task_names, -0.2)
    again = _passed_frames(changed, task, cutoff, monkeypatch)
    pd.testing.assert_series_equal(again.loc[a], passed.loc[a])
    others = [m for m in held if m != b]
    pd.testing.assert_frame_equal(again.loc[others], passed.loc[others])
    assert not again.loc[b].equals(passed.loc[b])  # b's own row does change


def test_variants_of_the_forecast_task_are_not_passed(obs, monkeypatch):
    passed = _passed_frames(obs, "ipa_transliterate_2_bleu", 1e23, monkeypatch)
    assert "score:ipa_transliterate_2_exact_match" not in passed.columns
    assert "score:GSM8K" in passed.columns


# ------------------------------------------------------------------ emergence and families
@pytest.fixture(scope="module")
def small_run(obs):
    from forecast.backtest.runner import backtest

    return backtest(obs, methods=["linear", "family"], tasks=["GSM8K", "TruthfulQA",
                    "ipa_transliterate_2_bleu", "ipa_transliterate_2_exact_match"], cutoffs="1e23")


def test_family_emergence_rows_rule():
    from forecast.backtest.jobs import _family_emergence_rows

    fit = pd.DataFrame({"model": ["a1", "b1", "b2"], "family": ["A", "B", "B"], "accuracy": [0.30, 0.20, 0.70]})
    held = pd.DataFrame({"model": ["a2", "b3", "c1"], "family": ["A", "B", "C"],
                         "accuracy": [0.40, 0.90, 0.55], "log10_compute": [23.2, 23.5, 24.0]})
    draws = np.array([[0.1, 0.9, 0.2], [0.5, 0.9, 0.6], [0.5, 0.9, 0.7], [0.5, 0.9, 0.8]])
    rows = pd.DataFrame(_family_emergence_rows(fit, held, draws, chance=0.0, cutoff=1e23))
    # normalised = accuracy here (chance 0): at tau 0.1 and 0.25 families A and B have emerged
    assert list(rows.loc[rows["tau"] == 0.25, "model"]) == ["c1"]
    half = rows[rows["tau"] == 0.5].set_index("model")
    assert list(half.index) == ["a2", "c1"]  # B reached 0.5 at the cut-off (b2: 0.70)
    assert half.loc["a2", "observed"] == 0.0 and half.loc["c1", "observed"] == 1.0
    assert half.loc["a2", "p_emerged"] == 0.75 and half.loc["c1", "p_emerged"] == 0.75
    assert bool(half.loc["a2", "family_seen"]) and not bool(half.loc["c1", "family_seen"])
    np.testing.assert_allclose(half["budget"], [10**23.2, 10**24.0])
    # with chance 0.5, normalised = (acc - 0.5) / 0.5: no fitted family reached 0.25 but b2
    rows = pd.DataFrame(_family_emergence_rows(fit, held, draws, chance=0.5, cutoff=1e23))
    assert set(rows.loc[rows["tau"] == 0.25, "model"]) == {"a2", "c1"}


@pytest.mark.slow
def test_family_emergence_rows(obs, small_run):
    e = small_run.emergence
    assert "TruthfulQA" not in set(e["task"])  # no meaningful chance: never emergence-scored
    g = e[(e["task"] == "GSM8K") & (e["method"] == "linear")]
    table = task_table(obs, "GSM8K").merge(obs.models[["model", "family"]], on="model")
    fitted = table[table["compute"] <= 1e23]
    held = table[table["compute"] > 1e23].set_index("model")
    for tau in (0.1, 0.25, 0.5):
        rows = g[g["tau"] == tau]
        emerged = set(fitted.loc[fitted["accuracy"] >= tau - 1e-9, "family"])  # chance 0
        want = {m for m, f in held["family"].items() if f not in emerged}
        assert set(rows["model"]) == want
        np.testing.assert_array_equal(rows["observed"].to_numpy(),
                                      (held.loc[rows["model"], "accuracy"] >= tau - 1e-9).astype(float))
        assert rows["p_emerged"].between(0, 1).all()
    assert g["observed"].sum() > 0 and (g["observed"] == 0).sum() > 0
    summary = small_run.emergence_summary()
    assert {"n_events", "skill", "skill_lo", "skill_hi"} <= set(summary.columns)
    assert (summary.loc[summary["tau"] == "0.25", "n_events"] > 0).all()


@pytest.mark.slow
def test_predictions_split_by_seen_and_new_family(obs, small_run):
    p = small_run.predictions
    fams = obs.models.set_index("model")["family"]
    table = task_table(obs, "GSM8K")
    fitted_families = set(fams.loc[table.loc[table["compute"] <= 1e23, "model"]])
    g = p[p["task"] == "GSM8K"]
    np.testing.assert_array_equal(g["family_seen"].astype(bool).to_numpy(),
                                  g["model"].map(fams).isin(fitted_families).to_numpy())
    s = small_run.summary()
    s = s[(s["subset"] == "all") & (s["window"] == "all")]
    assert set(s["families"]) == {"all", "seen", "new"}
    by = s.set_index(["families", "method"])["n"]
    assert by["seen", "linear"] + by["new", "linear"] == by["all", "linear"]
    # the two IPA variants are one task in the per-task means: 3 units, not 4
    assert (s["n_tasks"] <= 3).all() and (s.loc[s["families"] == "all", "n_tasks"] == 3).all()
    assert small_run.settings["default_method"] == "slice_sandwich"


def test_obsscaling_methods_join_the_defaults_only_when_registered(obs, monkeypatch):
    import forecast.methods as methods
    from forecast.backtest.runner import default_methods

    registered = "obsscaling" in methods.METHODS
    names = default_methods([obs])
    assert ("obsscaling" in names) == registered
    monkeypatch.setitem(methods.METHODS, "obsscaling", methods.METHODS["linear"])
    assert "obsscaling" in default_methods([obs])
    assert "obsscaling" not in default_methods([load_dataset("slice_sandwich")])


@pytest.mark.slow
def test_cli_backtest_obsscaling_uses_the_grid(tmp_path):
    import json
    import subprocess
    import sys

    out = tmp_path / "bt"
    proc = subprocess.run(
        [sys.executable, "-m", "forecast.cli", "backtest", "obsscaling", "--tasks", "leaderboard_gpqa",
         "--methods", "linear,persistence", "--no-plots", "--no-progress", "--out", str(out)],
        capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    run = json.loads((out / "run.json").read_text())
    assert run["default_method"] == "slice_sandwich"
    jobs = pd.read_csv(out / "jobs.csv")
    cutoffs = sorted(set(jobs["cutoff"]))
    assert len(cutoffs) == 6 and all(abs(np.log10(c) * 2 - round(np.log10(c) * 2)) < 1e-9 for c in cutoffs)
    pred = pd.read_csv(out / "predictions.csv")
    assert {"family", "family_seen"} <= set(pred.columns)
    assert set(pd.read_csv(out / "summary.csv")["families"]) == {"all", "seen", "new"}
