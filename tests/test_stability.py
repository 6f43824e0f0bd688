"""Forecasts do not move with the seed beyond Monte Carlo error (quasi-random draws, fixed
slices, the mixture's mean from its components' means)."""

from __future__ import annotations

import numpy as np

from forecast.methods import make_method

CUT = 2.44e8
AT = [1.0e9, 4.22e9, 8.0e9, 1.37e11]


def test_two_seeds_give_the_same_forecast_within_mc_error(bigg_four):
    """Settings learned across four real BIG-G tasks, then one task's forecast at seeds 0 and 1:
    means within 0.005, interval bounds within 0.02, mixture weights within 0.05."""
    task = "qa_wikidata"
    fits = [make_method("slice_sandwich", seed=s).fit(bigg_four, CUT, task) for s in (0, 1)]
    a, b = (f.predict(AT, level=0.9) for f in fits)
    assert np.abs(a["mean"] - b["mean"]).max() <= 0.005
    assert np.abs(a[["lower", "upper"]].to_numpy() - b[["lower", "upper"]].to_numpy()).max() <= 0.02
    wa, wb = fits[0].weights_, fits[1].weights_
    assert set(wa) == set(wb) and max(abs(wa[k] - wb[k]) for k in wa) <= 0.05
    # same seed, same bytes
    again = make_method("slice_sandwich", seed=0).fit(bigg_four, CUT, task).predict(AT, level=0.9)
    assert again.equals(a)
