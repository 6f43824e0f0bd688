"""The direct log-accuracy power law (``log_power``) and the pooled-slope logistic trend
(``pooled_logit``): their closed forms, and the pooling at work on shipped data."""

from __future__ import annotations

import json

import numpy as np
import pytest

import pandas as pd

from forecast.data.dataset import EvalData
from forecast.methods import make_method
from forecast.methods.log_power import loglog_accuracy, power_law_accuracy
from forecast.methods.pooled_logit import MIN_TAU, shrink, slope_prior, wls_line


@pytest.fixture(scope="module")
def small_power_law_data():
    """One task of whole-task scores on an exact power law, -log acc = 2 (N / 1e6)^-0.3."""
    params = 10.0 ** np.arange(6.0, 10.01, 0.5)
    acc = np.exp(-2.0 * (params / 1e6) ** -0.3)
    models = pd.DataFrame({"model": [f"m{i}" for i in range(len(params))], "params": params})
    scores = pd.DataFrame({"task": "t", "model": models["model"], "value": acc,
                           "prob_renormalized": False, "metric": "accuracy"})
    tasks = pd.DataFrame({"task": ["t"], "format": ["multiple_choice"], "chance": [0.25]})
    return EvalData.from_frames(models, tasks, scores=scores, name="power_law")


@pytest.fixture(scope="module")
def group_data():
    import forecast

    return forecast.load_dataset("slice_sandwich")


def test_power_law_round_trip():
    x = np.linspace(6, 10, 9)
    coef = np.array([[0.3, -0.4]])
    acc = power_law_accuracy(coef, x)[0]
    y, w = loglog_accuracy(acc, None)
    assert np.allclose(y, 0.3 - 0.4 * x, atol=1e-3)
    assert np.all(w == 1.0)
    # with question counts, a score is moved off the bounds by half a question
    y0, w0 = loglog_accuracy(np.array([0.0, 1.0]), np.array([10.0, 10.0]))
    assert np.isfinite(y0).all() and (w0 > 0).all()


def test_log_power_recovers_an_exact_power_law(small_power_law_data):
    fc = make_method("log_power").fit(small_power_law_data, 1e9, task="t")
    fitted = fc.predict(fc.fit_table_["compute"].to_numpy(), kind="mean")
    assert np.allclose(fitted["mean"], fc.fit_table_["accuracy"].to_numpy(), atol=0.01)
    # the trend continues: a larger model scores higher
    p = fc.predict([1e10, 1e11])
    assert p["mean"].is_monotonic_increasing and (p["lower"] <= p["mean"]).all()


def test_wls_line_and_shrinkage():
    x = np.array([1.0, 2.0, 3.0, 4.0])
    line = wls_line(x, 2.0 + 0.5 * x, np.ones(4), known=True)
    assert line["b"] == pytest.approx(0.5) and line["var_b"] > 0
    # a tight prior pulls the slope to its mean, a loose one leaves it
    assert shrink(line, 0.0, 1e-6)[0] == pytest.approx(0.0, abs=1e-6)
    assert shrink(line, 0.0, 1e6)[0] == pytest.approx(0.5, abs=1e-6)
    assert shrink(line, None, None) == (line["b"], line["var_b"])
    assert wls_line(np.ones(3), np.ones(3), np.ones(3), True) is None


def test_slope_prior():
    same = [{"b": 0.3, "var_b": 0.01}] * 5
    mu, tau = slope_prior(same)
    assert mu == pytest.approx(0.3) and tau == MIN_TAU
    spread = [{"b": b, "var_b": 0.001} for b in (-1.0, 0.0, 1.0, 2.0)]
    assert slope_prior(spread)[1] > 0.5
    assert slope_prior(same[:2]) == (None, None)


def test_pooled_logit_pools_the_group_tasks(group_data):
    fc = make_method("pooled_logit").fit(group_data, 1e23, task="mmlu", cache=False)
    ctx = fc.context_
    assert ctx["n_tasks"] == 5 and ctx["slope_sd"] > 0 and ctx["s1"] is not None
    json.dumps(ctx)  # learned settings are JSON
    own, pooled = fc.line_["b"], fc.line_["b_post"]
    # the posterior slope lies between the task's own slope and the prior mean
    lo, hi = sorted((own, ctx["slope_mean"]))
    assert lo - 1e-12 <= pooled <= hi + 1e-12
    p = fc.predict([1e24, 1e25])
    assert ((p["lower"] <= p["mean"]) & (p["mean"] <= p["upper"])).all()
