"""The digits data set: MLPs trained here, shipped, and regenerable."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import forecast
from forecast.cli import cli
from forecast.data.shipped import read_shipped_csv
from forecast.data.task_table import task_table
from forecast.metrics import loglik_matrix

ROOT = Path(__file__).resolve().parents[1]


def make_digits():
    spec = importlib.util.spec_from_file_location("make_digits", ROOT / "scripts" / "make_digits.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def digits():
    return forecast.load_dataset("digits")


def test_shipped_family_spans_low_to_high_accuracy(digits):
    t = task_table(digits, "digits")
    assert len(t) == 10 and t["n_questions"].eq(899).all()
    assert t["accuracy"].iloc[0] <= 0.3 and t["accuracy"].iloc[-1] >= 0.95
    m = digits.models.set_index("model")
    assert np.allclose(m["flops"], 6 * m["params"] * m["tokens"])
    assert digits.scale("digits") == "flops"
    # compute order is width order and accuracy rises with it
    assert t["model"].tolist() == [f"mlp-h{w}" for w in (1, 2, 3, 4, 6, 8, 12, 16, 32, 64)]
    assert (np.diff(t["accuracy"]) > 0).all() and (np.diff(t["tc_brier"]) > 0).all()


def test_probabilities_are_complete(digits):
    # stored as JSON text (forecast.data.schema), read back as floats without loss
    assert all(isinstance(t, str) and t.startswith("[") for t in digits.results["loglik"])
    ll = loglik_matrix(digits.results["loglik"])
    assert ll.shape == (8990, 10)
    assert np.allclose(np.exp(ll).sum(axis=1), 1.0, atol=1e-6)
    argmax = ll.argmax(axis=1) == digits.results["target"].to_numpy()
    assert (argmax.astype(int) == digits.results["correct"].to_numpy()).all()
    # the text is lossless: the same floats as the log of the shipped probabilities
    probs = read_shipped_csv("digits_probs.csv.gz")
    with np.errstate(divide="ignore"):
        exact = np.log(probs[[f"p_{k}" for k in range(10)]].to_numpy(dtype=float))
    assert np.array_equal(ll, exact)


def test_regenerated_models_equal_the_shipped_ones():
    module = make_digits()
    models, probs = module.build(widths=(1, 8, 64))
    shipped = pd.read_csv(ROOT / "datasets" / "digits_probs.csv.gz")
    shipped = shipped[shipped["model"].isin(models["model"])].reset_index(drop=True)
    cols = [f"p_{k}" for k in range(10)]
    assert shipped[["model", "image", "label"]].equals(probs[["model", "image", "label"]])
    assert np.abs(shipped[cols].to_numpy() - probs[cols].to_numpy()).max() < 1e-6
    shipped_models = pd.read_csv(ROOT / "datasets" / "digits_models.csv").set_index("model")
    got = models.set_index("model")
    assert np.allclose(shipped_models.loc[got.index, "test_accuracy"], got["test_accuracy"])
    assert (shipped_models.loc[got.index, "flops"] == got["flops"]).all()


def test_datasets_command_lists_digits():
    res = CliRunner().invoke(cli, ["datasets"])
    assert res.exit_code == 0 and "digits" in res.output


def test_k_of_k_subset_accuracy_looks_emergent_while_brier_is_smooth(digits):
    from forecast.composite import subset_accuracy
    from forecast.metrics import emergence_score

    t = task_table(digits, "digits")
    wide = digits.results.pivot(index="model", columns="question_id", values="p_correct").loc[t["model"]]
    x = t["log10_compute"].to_numpy()
    e_brier = emergence_score(x, t["tc_brier"].to_numpy())
    e_k8 = emergence_score(x, subset_accuracy(wide.to_numpy(), 8))
    assert e_k8 > e_brier


def test_fit_digits_by_the_cli_and_the_api():
    # the numpy-array loglik of the shipped table once crashed data_fingerprint (issue 21)
    res = CliRunner().invoke(cli, ["fit", "digits", "--task", "digits", "--cutoff", "2e8", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["n_fitted_models"] == 6 and out["task"] == "digits"
    fc = forecast.SliceSandwich(n_draws=200).fit(forecast.load_dataset("digits"), 2e8, task="digits")
    pred = fc.predict([4e8, 1.5e9])
    assert pred["mean"].between(0.25, 1.0).all()


def test_backtest_digits_runs_every_job():
    res = forecast.backtest("digits", methods=["slice_sandwich", "persistence"], cutoffs="2e8")
    assert (res.jobs["status"] == "ok").all(), res.jobs
