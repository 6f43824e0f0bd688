"""The mirage check: inputs of every kind, emergence scores, resolution, CLI."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from forecast.cli import cli
from forecast.data import load_data
from forecast.data.task_table import task_table
from forecast.errors import InputError, NotApplicable
from forecast.mirage import mirage, questions_needed
from forecast.sampling import default_ks, greedy_grade, pass_at_k

MODELS = pd.DataFrame({"model": [f"m{i}" for i in range(6)], "params": [10.0 ** (i + 6) for i in range(6)]})
TASKS = pd.DataFrame({"task": ["t"], "format": ["multiple_choice"], "n_choices": [4], "chance": [0.25]})


def jump_table(n_q: int = 100) -> pd.DataFrame:
    """Accuracy 0, .1, .2, .3, .4, 1 over six sizes; p_correct .1 ... .6 on every question."""
    right = [0, 10, 20, 30, 40, 100]
    rows = []
    for m, k in enumerate(right):
        for q in range(n_q):
            rows.append({"task": "t", "question_id": q, "model": f"m{m}",
                         "correct": int(q < k * n_q // 100), "p_correct": 0.1 * (m + 1)})
    return pd.DataFrame(rows)


def test_emergence_score_of_a_hand_made_curve():
    r = mirage(load_data(jump_table(), models=MODELS, task_info=TASKS), "t", n_boot=200)
    e = r.metrics.set_index("metric")["emergence_score"]
    # accuracy steps .1 .1 .1 .1 .6: range 1 over the median step .1
    assert e["accuracy"] == pytest.approx(10.0)
    # p_correct is a straight line, steps .1: range .5 over .1
    assert e["p_correct"] == pytest.approx(5.0)
    assert r.metrics.set_index("metric").loc["accuracy", "kind"] == "discontinuous"
    assert r.verdict.startswith("mirage")
    acc = r.curves[r.curves["metric"] == "accuracy"]
    assert np.allclose(acc["value"], [0, 0.1, 0.2, 0.3, 0.4, 1.0])
    assert (acc["low"] <= acc["value"] + 1e-12).all() and (acc["high"] >= acc["value"] - 1e-12).all()
    # a model at chance cannot be told from chance; one far above needs few questions
    needed = acc.set_index("model")["questions_needed"]
    assert needed["m5"] <= 2 and needed["m3"] > 50


def test_questions_needed_matches_the_normal_formula():
    # |0.35 - 0.25| / sd 0.477: n = ((1.96 + 0.8416) * 0.477 / 0.1)^2 = 178.6 -> 179
    assert questions_needed(0.35, math.sqrt(0.35 * 0.65), 0.25) == 179
    assert questions_needed(0.25, 0.4, 0.25) == math.inf
    assert questions_needed(0.0, 0.0, 0.0) == math.inf
    assert questions_needed(1.0, 0.0, 0.25) == 1


@pytest.mark.parametrize("n", range(1, 8))
def test_pass_at_k_against_a_brute_force_count(n):
    for c in range(n + 1):
        samples = [1] * c + [0] * (n - c)
        for k in range(1, n + 1):
            hits = [any(s) for s in itertools.combinations(samples, k)]
            assert pass_at_k([n], [c], k)[0] == pytest.approx(np.mean(hits), abs=1e-12)
    assert np.isnan(pass_at_k([n], [0], n + 1)[0])


def test_greedy_grade_and_default_ks():
    assert greedy_grade([4, 4, 5], [2, 3, 3]).tolist() == [0, 1, 1]
    assert default_ks([25, 120]) == [1, 10]
    with pytest.raises(InputError, match="n_correct 5 of n_samples 4"):
        pass_at_k([4], [5], 1)


def sampled_table() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    rows = []
    for m in range(6):
        for q in range(40):
            p = 1 / (1 + np.exp(-(m - 3 + q / 20)))
            rows.append({"task": "t", "question_id": q, "model": f"m{m}", "n_samples": 20,
                         "n_correct": int(rng.binomial(20, p))})
    return pd.DataFrame(rows)


def test_sampled_answers_load_forecast_and_give_pass_at_k():
    raw = sampled_table()
    d = load_data(raw, models=MODELS, task_info=TASKS)
    res = d.results
    assert np.allclose(res["p_correct"], raw["n_correct"] / 20)
    assert (res["correct"] == (raw["n_correct"] > 10).astype(int)).all()
    table = task_table(d, "t")
    expect = raw.assign(r=raw["n_correct"] / 20).groupby("model")["r"].mean()
    assert np.allclose(table.set_index("model")["accuracy"], expect)
    r = mirage(d, "t", n_boot=100)
    keys = set(r.metrics["metric"])
    assert {"pass@1", "pass@10", "p_correct", "accuracy", "tc_brier"} <= keys
    curves = r.curves.pivot(index="model", columns="metric", values="value")
    assert np.allclose(curves["pass@1"], curves["p_correct"])  # pass@1 is the success rate
    assert (curves["pass@10"] >= curves["pass@1"] - 1e-12).all()
    assert "loglik" in r.unavailable
    p1 = r.curves[r.curves["metric"] == "pass@1"].set_index("model")
    assert p1["samples_needed"].notna().all()
    assert r.curves[r.curves["metric"] != "pass@1"]["samples_needed"].isna().all()


def test_samples_needed():
    from forecast.mirage import samples_needed

    # 0.99^(s * 10) <= 0.05  ->  s >= 29.8
    assert samples_needed(0.01, 10) == 30
    assert samples_needed(0.0, 10) == math.inf and samples_needed(1.0, 3) == 1


def test_sampled_answers_refuse_bad_counts():
    bad = sampled_table()
    bad.loc[5, "n_correct"] = 21
    with pytest.raises(InputError, match="'n_correct' must be a whole number in \\[0, n_samples\\]"):
        load_data(bad, models=MODELS, task_info=TASKS)


def test_probability_only_results_work_where_they_can():
    raw = jump_table().drop(columns="correct")
    d = load_data(raw, models=MODELS, task_info=TASKS)
    assert "correct" not in d.results.columns
    r = mirage(d, "t", n_boot=50)
    assert set(r.metrics["metric"]) == {"p_correct", "tc_brier"}
    assert "'correct'" in r.unavailable["accuracy"]
    assert r.verdict.startswith("cannot tell")
    with pytest.raises(NotApplicable, match="no column 'correct'"):
        task_table(d, "t")
    with pytest.raises(InputError, match="missing column 'correct'"):
        load_data(raw.drop(columns="p_correct"), models=MODELS, task_info=TASKS)


def test_slice_level_data(sas):
    r = mirage(sas, "arithmetic")
    assert list(r.metrics["metric"]) == ["accuracy", "tc_brier"]
    acc = r.curves[r.curves["metric"] == "accuracy"]
    assert acc["low"].notna().all() and (acc["low"] <= acc["value"]).all()
    assert "point estimates only" in r.verdict


@pytest.mark.parametrize("name", ["pythia", "pythia_deduped"])
def test_pythia_lambada_task_loss_is_the_continuous_metric(name):
    """Pythia is task-level: LAMBADA's perplexity, stored as ``soft_log_prob = -ln ppl``, is
    read from the score table as a continuous metric (declared in the registry) beside
    accuracy; its curve is lm-eval's ``-ln ppl`` at the final checkpoint over 6·N·D."""
    from forecast.data.shipped import load_dataset, pythia_frame
    from forecast.metrics import emergence_score, get_metric

    d = load_dataset(name)
    r = mirage(d, "lambada_openai:0")
    assert list(r.metrics["metric"]) == ["accuracy", "soft_log_prob"]
    kinds = dict(zip(r.metrics["metric"], r.metrics["kind"]))
    assert kinds == {"accuracy": "discontinuous", "soft_log_prob": "continuous"}
    assert get_metric("soft_log_prob").continuous
    raw = pythia_frame()
    family = {"pythia": "Pythia", "pythia_deduped": "Pythia-deduped"}[name]
    ppl = raw[(raw["family"] == family) & (raw["task"] == "lambada_openai") & (raw["metric"] == "ppl")
              & (raw["shots"] == 0) & (raw["step"] == 143000) & raw["eval_run"].isin(["zero-shot"])
              & raw["variant"].isin(["standard", "bf16"])]
    ppl = ppl.sort_values("params_total")
    x = np.log10(6 * ppl["params_total"].to_numpy(float) * ppl["tokens_seen"].to_numpy(float))
    y = -np.log(ppl["value"].to_numpy(float))
    curve = r.curves[r.curves["metric"] == "soft_log_prob"].sort_values("log10_compute")
    np.testing.assert_allclose(curve["value"].to_numpy(), y, rtol=1e-12)
    np.testing.assert_allclose(curve["log10_compute"].to_numpy(), x, rtol=1e-12)
    e = r.metrics.set_index("metric")["emergence_score"]
    assert e["soft_log_prob"] == pytest.approx(emergence_score(x, y), rel=1e-12)
    assert "survives" in r.verdict and "point estimates only" in r.verdict
    assert "soft_log_prob" in r.unavailable["loglik"]  # says what the task-level data hold
    # a task without a loss has only accuracy
    assert mirage(d, "arc_easy:0").verdict.startswith("cannot tell")


def test_same_seed_same_output():
    d = load_data(jump_table(), models=MODELS, task_info=TASKS)
    a, b = mirage(d, "t", n_boot=50, seed=4), mirage(d, "t", n_boot=50, seed=4)
    pd.testing.assert_frame_equal(a.curves, b.curves)


def test_cli_json_keys_plot_and_exit_codes(tmp_path):
    runner = CliRunner()
    res = runner.invoke(cli, ["mirage", "digits", "--task", "digits", "--n-boot", "20", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert list(out["metrics"]) == ["accuracy", "p_correct", "tc_brier", "loglik"]
    assert set(out["unavailable"]) == {"exact_match", "edit_distance", "pass@k"}
    curve = out["metrics"]["accuracy"]["curve"]
    assert len(curve) == 10 and {"model", "compute", "value", "low", "high", "questions_needed"} <= set(curve[0])
    assert out["verdict"]
    png = tmp_path / "m.png"
    res = runner.invoke(cli, ["mirage", "digits", "--task", "digits", "--n-boot", "20", "--plot", str(png)])
    assert res.exit_code == 0 and png.stat().st_size > 10_000
    assert "verdict:" in res.output
    for args in (["--task", "nope"], ["--task", "digits", "--plot", str(tmp_path / "x.pdf")],
                 ["--task", "digits", "--plot", str(png)]):
        res = runner.invoke(cli, ["mirage", "digits", *args])
        assert res.exit_code == 2, res.output
    assert not (tmp_path / "x.pdf").exists()


REAL = __import__("pathlib").Path(__file__).parent / "fixtures" / "lmeval_real"


def test_real_lmeval_output_is_ingested_with_its_text():
    from forecast.data.lmeval import read_lmeval

    df = read_lmeval(REAL)
    assert len(df) == 10 and set(df["metric"]) == {"exact_match"}
    samples = next(REAL.rglob("samples_*.jsonl"))
    records = [json.loads(line) for line in samples.read_text().splitlines() if line.strip()]
    by_doc = df.set_index("question_id")
    for rec in records:
        row = by_doc.loc[str(rec["doc_id"])]
        assert row["output"] == rec["filtered_resps"][0]
        assert row["target_text"] == rec["target"]
        assert row["correct"] == int(float(rec["exact_match"]))
    assert by_doc.loc["0", "target_text"] == "3"
    # exact match and edit distance recomputed from the same outputs
    model = df["model"].iloc[0]
    models = pd.DataFrame({"model": [model], "params": [93e6]})
    r = mirage(REAL, "math_perturbed_full", models=models, n_boot=20)
    curves = r.curves.set_index("metric")
    assert curves.loc["exact_match", "value"] == 0.0  # as lm-eval scored it
    assert curves.loc["edit_distance", "value"] > 1
    assert set(r.metrics["metric"]) == {"accuracy", "exact_match", "edit_distance"}
    assert "p_correct" in r.unavailable


def test_forecast_mirage_is_callable_from_the_package():
    import forecast

    r = forecast.mirage(load_data(jump_table(), models=MODELS, task_info=TASKS), "t", n_boot=20)
    assert r.metrics.set_index("metric").loc["accuracy", "emergence_score"] == pytest.approx(10.0)
