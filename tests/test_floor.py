"""A task at the floor stays at the floor: the half-question continuity correction of the
link (``(k + 0.5) / (n + 1)``) is undone when curves are mapped back to scores."""

from __future__ import annotations

import numpy as np
import pytest

from forecast.curves.basis import from_link, to_link
from forecast.methods import make_method

#: fixed settings, so the test does not learn the context from every BIG-G task
FIXED = {"prior_sd": (10.0, 0.5, 0.3), "extrapolation_sd": 0.0}


@pytest.mark.parametrize("n", [6, 50, 204])
def test_link_round_trip_with_counts(n):
    k = np.arange(n + 1)
    acc = k / n
    z = to_link(acc, "accuracy", n)
    np.testing.assert_allclose(from_link(z, "accuracy", n), acc, atol=1e-12)
    # per-slice counts broadcast over (draws, slices, points)
    counts = np.array([n, 2 * n])
    zz = to_link(np.zeros((3, 2, 4)), "accuracy", counts[:, None])
    np.testing.assert_allclose(from_link(zz, "accuracy", counts), 0.0, atol=1e-12)


def test_without_counts_the_link_is_plain_expit():
    z = np.linspace(-3, 3, 7)
    np.testing.assert_allclose(from_link(z, "accuracy"), 1 / (1 + np.exp(-z)))


@pytest.mark.parametrize("task", ["repeat_copy_logic", "modified_arithmetic"])
def test_task_at_zero_on_every_fitted_model_is_forecast_at_the_floor(bigg, task):
    # both tasks score 0 on every BIG-G model up to 8B (6 and 204 questions)
    cutoff = 8e9
    fc = make_method("slice_sandwich", seed=0, **FIXED).fit(bigg, cutoff, task)
    assert (fc.fit_table_["accuracy"] == 0).all()
    near = cutoff * 10 ** np.array([0.0, 0.25, 0.5])
    draws = fc.sample(near, "observed")
    assert np.median(draws, axis=0).max() <= 0.02  # the floor target (the default mixture)
    # the sandwich curve itself carries no continuity-correction bias: even its mean stays at
    # the floor (the mixture's mean is lifted by the baselines' binomial noise on 6 questions)
    alone = make_method("slice_sandwich", seed=0, combine=None, **FIXED).fit(bigg, cutoff, task)
    assert alone.predict(near)["mean"].max() <= 0.02
    # the curve is not pinned at 0: its draws leave room to rise
    assert alone.sample(near, "mean").max() > 0
