"""Combine, then calibrate: the mixture of ``slice_sandwich`` (``forecast.methods.mixture``,
``forecast.stacking``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from forecast.backtest.scoring import crps_sample
from forecast.data.dataset import EvalData
from forecast.errors import InputError
from forecast.methods import SliceSandwich, make_method
from forecast.stacking import crps_gram, draw_components, mix, scale_spread, simplex_weights

X = np.linspace(20.0, 23.5, 8)  # log10 FLOPs of the generated models
CUT = 10 ** X[6]  # fit 7 sizes (3 pseudo-cut-offs per task), hold out the largest
N_DRAWS = 200


def make_data(shape: str, n_tasks: int = 4, seed: int = 0) -> EvalData:
    """Task-level scores: ``linear`` tasks are exactly logistic-linear in log compute (rising from
    below the chance level of 0.25, where a chance-floored sigmoid cannot follow), ``flat``
    tasks stay at one level; binomial-sized noise of sd 0.005."""
    rng = np.random.default_rng(seed)
    models = pd.DataFrame({"model": [f"m{i}" for i in range(len(X))], "flops": 10.0**X})
    rows = []
    for t in range(n_tasks):
        a, b = rng.uniform(-3.0, -2.0), rng.uniform(1.2, 1.8)
        for name, x in zip(models["model"], X):
            y = expit(a + b * (x - 20.0)) if shape == "linear" else 0.3 + 0.02 * t
            rows.append((f"task{t}", name, float(np.clip(y + rng.normal(0, 0.005), 0, 1))))
    scores = pd.DataFrame(rows, columns=["task", "model", "value"]).assign(metric="accuracy",
                                                                           prob_renormalized=False)
    tasks = pd.DataFrame({"task": [f"task{t}" for t in range(n_tasks)], "format": "multiple_choice",
                          "chance": 0.25})
    return EvalData.from_frames(models, tasks, scores=scores, name=f"generated_{shape}")


@pytest.fixture(scope="module")
def linear_data():
    return make_data("linear")


@pytest.fixture(scope="module")
def linear_context(linear_data):
    return SliceSandwich(n_draws=N_DRAWS).learn_context(linear_data.restrict(CUT), CUT)


# ------------------------------------------------------------------------------ the objective
def test_mixture_crps_is_the_quadratic_form_of_the_sample_crps():
    rng = np.random.default_rng(1)
    draws = [rng.normal(0, 1, (40, 6)), np.round(rng.normal(1, 2, (40, 6)), 1), rng.uniform(-1, 1, (40, 6))]
    y = np.round(rng.normal(0, 1, 6), 1)
    y[0] = draws[1][3, 0]  # a tie with a draw
    gram = crps_gram(draws, y)
    for k in range(3):  # a vertex: the component's own sample CRPS
        np.testing.assert_allclose(gram[:, k, k], crps_sample(draws[k], y), atol=1e-12)
    # weights 0.2 / 0.5 / 0.3: the CRPS of the pooled draws, each repeated in proportion
    w = np.array([0.2, 0.5, 0.3])
    pooled = np.concatenate([np.repeat(d, r, axis=0) for d, r in zip(draws, (2, 5, 3))])
    np.testing.assert_allclose(np.einsum("j,tjk,k->t", w, gram, w), crps_sample(pooled, y), atol=1e-12)


def test_simplex_weights_minimise_the_crps():
    rng = np.random.default_rng(2)
    truth = rng.normal(0.5, 0.1, 30)
    good = truth[None, :] + rng.normal(0, 0.1, (100, 30))
    biased = good + 0.3
    wide = truth[None, :] + rng.normal(0, 0.8, (100, 30))
    gram = crps_gram([biased, good, wide], truth).mean(axis=0)
    w = simplex_weights(gram)
    assert w.sum() == pytest.approx(1.0) and (w >= 0).all()
    assert np.argmax(w) == 1
    for other in (np.eye(3)[0], np.eye(3)[2], np.full(3, 1 / 3)):
        assert w @ gram @ w <= other @ gram @ other + 1e-12


def test_draws_are_split_by_weight_and_whole_rows_are_kept():
    index = draw_components(np.array([0.5, 0.3, 0.2]), 1000, seed=3)
    assert np.bincount(index).tolist() == [500, 300, 200]
    assert (draw_components(np.array([0.5, 0.3, 0.2]), 1000, seed=3) == index).all()
    assert np.bincount(draw_components(np.array([0.3334, 0.3333, 0.3333]), 10, 0)).tolist() == [4, 3, 3]
    parts = [np.full((1000, 4), float(k)) + np.arange(4) for k in range(3)]
    mixed = mix(parts, index)
    np.testing.assert_array_equal(mixed[:, 0], index.astype(float))  # one component per row
    np.testing.assert_array_equal(mixed - mixed[:, :1], np.tile(np.arange(4.0), (1000, 1)))
    spread = scale_spread(np.array([[0.2], [0.4], [0.6]]), 2.0)
    np.testing.assert_allclose(spread[:, 0], [0.0, 0.4, 0.8])


# ------------------------------------------------------------------------------ in slice_sandwich
def test_weights_favour_the_right_component(linear_data, linear_context):
    """Exactly logistic-linear tasks: ``linear`` gets most of the weight."""
    w = linear_context["combine_weights"]
    assert set(w) == {"slice_sandwich", "sigmoid", "persistence_drift", "linear"}
    assert sum(w.values()) == pytest.approx(1.0)
    assert min(w.values()) > 0  # the shrinkage toward equal weights keeps every component
    assert w["linear"] > 0.6 and w["linear"] == max(w.values())
    report = linear_context["combine_report"]
    assert report["linear"]["crps"] < report["sigmoid"]["crps"]
    assert report["linear"]["crps"] < report["persistence_drift"]["crps"]
    assert linear_context["combine_learned"] and linear_context["combine_tasks"] == 4


def test_flat_tasks_favour_the_level():
    data = make_data("flat", n_tasks=3, seed=1)
    ctx = SliceSandwich(n_draws=N_DRAWS).learn_context(data.restrict(CUT), CUT)
    w = ctx["combine_weights"]
    assert w["persistence_drift"] > w["linear"] and w["persistence_drift"] > w["sigmoid"]


def test_mixture_is_made_of_whole_component_curves(linear_data, linear_context):
    f = SliceSandwich(n_draws=N_DRAWS, seed=4).fit(linear_data, CUT, "task0", context=linear_context)
    assert sum(f.weights_.values()) == pytest.approx(1.0)
    x = np.linspace(20.0, 24.0, 9)
    scale = f.spread_scale_
    f.mixture_.spread_scale_ = 1.0  # the raw mixture: each row is one component's curve
    mixed = f.curve_draws(x)
    own = f.curve_alone_draws(x)
    assert not np.array_equal(mixed, own)
    parts = [own] + [c.curve_draws(x) for c in f.components_.values()]
    for k, part in enumerate(parts):
        rows = f.mixture_.draw_component_ == k  # component k gives its first draws (a quasi-random prefix)
        np.testing.assert_array_equal(mixed[rows], part[:rows.sum()])
    f.mixture_.spread_scale_ = scale
    p = f.predict([10**23.5, 10**24], kind="observed")
    assert ((p[["lower", "mean", "upper"]] >= 0) & (p[["lower", "mean", "upper"]] <= 1)).all().all()
    assert (p["lower"] < p["upper"]).all()


def test_no_leakage_with_combine(linear_data):
    """Held-out rows changed or removed: the same weights, forecasts and thresholds."""
    held = set(linear_data.held_out_models(CUT))
    assert held == {"m7"}
    s = linear_data.scores.copy()
    s.loc[s["model"].isin(held), "value"] = 1.0 - s.loc[s["model"].isin(held), "value"]
    changed = EvalData.from_frames(linear_data.models, linear_data.tasks, scores=s, name="changed")
    dropped = linear_data.drop_models(held)
    at = [10**23.5, 10**24.5]
    a = SliceSandwich(n_draws=N_DRAWS, seed=5).fit(linear_data, CUT, "task1")
    assert a.components_  # the mixture is on
    for other in (changed, dropped):
        b = SliceSandwich(n_draws=N_DRAWS, seed=5).fit(other, CUT, "task1")
        assert a.context_["combine_weights"] == b.context_["combine_weights"]
        pd.testing.assert_frame_equal(a.predict(at), b.predict(at))
        pd.testing.assert_frame_equal(a.predict(at, kind="mean"), b.predict(at, kind="mean"))
        assert a.threshold(budget=10**24) == b.threshold(budget=10**24)


def test_same_seed_same_output(linear_data, linear_context):
    fits = [SliceSandwich(n_draws=N_DRAWS, seed=s).fit(linear_data, CUT, "task2", context=linear_context)
            for s in (7, 7, 8)]
    at = [10**23.5, 10**24]
    pd.testing.assert_frame_equal(fits[0].predict(at), fits[1].predict(at))
    assert fits[0].threshold() == fits[1].threshold()
    assert not fits[0].predict(at).equals(fits[2].predict(at))
    again = SliceSandwich(n_draws=N_DRAWS).learn_context(linear_data.restrict(CUT), CUT)
    assert again == linear_context


def test_combine_none_is_the_curve_alone(linear_data, linear_context):
    """``combine=None`` learns no weights and forecasts with the curve exactly as the curve
    inside the mixture (same draws, same random streams)."""
    alone_ctx = SliceSandwich(n_draws=N_DRAWS, combine=None).learn_context(linear_data.restrict(CUT), CUT)
    assert not any(k.startswith(("combine", "w_", "spread", "component")) for k in alone_ctx)
    assert {k: alone_ctx[k] for k in ("prior_sd", "extrapolation_sd")} == \
        {k: linear_context[k] for k in ("prior_sd", "extrapolation_sd")}
    alone = SliceSandwich(n_draws=N_DRAWS, combine=None, seed=9).fit(linear_data, CUT, "task0", context=alone_ctx)
    mixed = SliceSandwich(n_draws=N_DRAWS, seed=9).fit(linear_data, CUT, "task0", context=linear_context)
    assert alone.components_ == {} and alone.weights_ == {"slice_sandwich": 1.0}
    at = [10**23.5, 10**24]
    own = mixed.curve_alone_draws(np.log10(np.array(at, dtype=float)))
    np.testing.assert_array_equal(alone.sample(at, "mean"), own)
    np.testing.assert_array_equal(alone.sample(at, "observed"), mixed.observed_draws(own))
    assert alone.spread_ == mixed.spread_
    assert not np.array_equal(alone.sample(at), mixed.sample(at))


def test_bad_combine_settings_are_refused(linear_data, linear_context):
    with pytest.raises(InputError, match="combine: 'nope' is not a baseline"):
        SliceSandwich(combine=("nope",)).fit(linear_data, CUT, "task0", context=linear_context)
    with pytest.raises(InputError, match="combine names a method twice"):
        SliceSandwich(combine=("linear", "linear")).fit(linear_data, CUT, "task0", context=linear_context)
    with pytest.raises(InputError, match="calibrate must be True or False"):
        SliceSandwich(calibrate="yes").fit(linear_data, CUT, "task0", context=linear_context)
    bare = {k: linear_context[k] for k in ("prior_sd", "extrapolation_sd")}
    with pytest.raises(InputError, match="lacks the learned combine weights"):
        SliceSandwich().fit(linear_data, CUT, "task0", context=bare)
    assert make_method("slice_sandwich_alone").combine is None


def test_calibrate_scales_the_mixture_around_its_median(linear_data, linear_context):
    """``calibrate=True`` learns a scale of the fixed grid on the same pseudo-cut-offs and
    applies it to the mixture's draws; the default (False) keeps scale 1."""
    from forecast.stacking import SPREAD_GRID

    assert linear_context["spread_scale"] == 1.0 and linear_context["spread_crps"] == {}
    ctx = SliceSandwich(n_draws=N_DRAWS, calibrate=True).learn_context(linear_data.restrict(CUT), CUT)
    assert ctx["combine_weights"] == linear_context["combine_weights"]
    assert ctx["spread_scale"] in SPREAD_GRID and len(ctx["spread_crps"]) == len(SPREAD_GRID)
    at = [10**23.5, 10**24]
    cal = SliceSandwich(n_draws=N_DRAWS, calibrate=True, seed=2).fit(linear_data, CUT, "task3", context=ctx)
    raw = SliceSandwich(n_draws=N_DRAWS, seed=2).fit(linear_data, CUT, "task3", context=ctx)
    assert raw.spread_scale_ == 1.0  # the scale of a context is used only with calibrate=True
    np.testing.assert_allclose(cal.sample(at), scale_spread(raw.sample(at), ctx["spread_scale"]))
