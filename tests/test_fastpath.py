"""The fast path of settings learning cannot drift from the public fit.

Inside ``learn_context`` a pseudo-cut-off fit reads tables derived from the pool's (a
task's table, its score matrix, its rows: row and column masks of tables built once per
data instance, :attr:`forecast.data.dataset.EvalData.derived`).  Each such fit must equal
the ordinary fit, same seed, on data loaded afresh and restricted to the pseudo-cut-off.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import forecast
from forecast.data.dataset import EvalData
from forecast.data.task_table import build_task_table, task_table
from forecast.methods import make_method
from forecast.slicing import ScoreMatrix, score_matrix
from forecast.tuning import pseudo_forecasts, pseudo_splits

CASES = [("bigbench_bigg", 8e9, ["abstract_narrative_understanding", "modified_arithmetic", "qa_wikidata"]),
         ("slice_sandwich", 10**1.5 * 1e21, ["mmlu", "arc"])]


def _fresh(data: EvalData) -> EvalData:
    """The same tables in a new instance: nothing derived, no parent."""
    return EvalData(**{name: getattr(data, name) for name in EvalData.__dataclass_fields__})


def _forecast(fc) -> np.ndarray:
    comp = fc.cutoff_ * np.array([1.0, 4.0, 40.0])
    parts = [fc.predict(comp, kind=k)[["mean", "lower", "upper"]].to_numpy() for k in ("observed", "mean")]
    th = fc.threshold(0.25, budget=fc.cutoff_ * 10)
    extra = [th.estimate or np.nan, th.lower or np.nan, th.upper or np.nan, th.p_below_budget, fc.spread_]
    return np.concatenate([p.ravel() for p in parts] + [np.array(extra, dtype=float)])


@pytest.mark.parametrize("dataset, cutoff, tasks", CASES)
def test_pseudo_cutoff_fits_equal_fresh_fits(dataset, cutoff, tasks):
    pool = forecast.load_dataset(dataset).restrict(cutoff)
    splits = list(pseudo_splits(pool, tasks=tasks))
    assert splits
    settings = {"prior_sd": (10.0, 1.0, 0.3), "extrapolation_sd": 0.2, "family": False, "combine": None}

    def fit(d, c, t):
        return make_method("slice_sandwich", seed=3, **settings).fit(d, c, t, context={})

    fast = pseudo_forecasts(pool, fit, splits)
    assert len(fast) == len(splits)
    for split, fc in fast:
        plain = forecast.load_dataset(dataset).restrict(split.cutoff)
        ref = fit(plain, split.cutoff, split.task)
        np.testing.assert_array_equal(_forecast(fc), _forecast(ref))
        pd.testing.assert_frame_equal(fc.fit_table_, ref.fit_table_)
        # the components at the pseudo-cut-off, fitted on the shared per-task data
        for name in ("sigmoid", "linear", "persistence"):
            a = make_method(name, seed=3).fit(pool.for_task(split.task), split.cutoff, split.task, context={})
            b = make_method(name, seed=3).fit(plain, split.cutoff, split.task, context={})
            np.testing.assert_array_equal(_forecast(a), _forecast(b))


@pytest.mark.parametrize("dataset, cutoff, tasks", CASES)
def test_derived_tables_equal_fresh_ones(dataset, cutoff, tasks):
    data = forecast.load_dataset(dataset)
    for task in tasks:
        for split in pseudo_splits(data.restrict(cutoff), tasks=[task]):
            for sub in (data.restrict(split.cutoff), data.for_task(task).restrict(split.cutoff, task)):
                fresh = _fresh(sub)
                pd.testing.assert_frame_equal(task_table(sub, task), build_task_table(fresh, task))
                # one task's own pass (not every task's at once)
                alone = _fresh(sub.for_task(task))
                pd.testing.assert_frame_equal(task_table(sub, task), build_task_table(alone, task))
                assert sub.task_names == fresh.task_names
                assert sub.models_of(task) == fresh.models_of(task)
                if sub.results is not None:
                    a = score_matrix(sub, task)
                    b = ScoreMatrix.from_results(fresh.results[fresh.results["task"] == task])
                    np.testing.assert_array_equal(a.values, b.values)
                    assert list(a.question_ids) == list(b.question_ids) and a.models == b.models


@pytest.mark.parametrize("n", [1, 5, 35, 205, 5000, 10**6])
def test_binomial_quantile_equals_scipy(n):
    """The stepped binomial quantile gives scipy's numbers (also at p = 0, p = 1 and the
    extreme uniforms of the quasi-random points)."""
    from scipy.stats import binom

    from forecast.curves.draws import binomial_quantile

    rng = np.random.default_rng(n)
    u = rng.uniform(1e-12, 1 - 1e-12, (400, 3))
    p = rng.uniform(0.0, 1.0, (400, 3))
    p[:4], p[4:8], p[8:12] = 0.0, 1.0, 1e-9
    u[12:16], u[16:20] = 1e-12, 1 - 1e-12
    assert np.array_equal(binomial_quantile(u, n, p), binom.ppf(u, n, p))


def test_spread_counts_move_continuously_and_stay_in_their_step():
    """``spread=True`` places each count inside its lattice step, and a small change of the
    rate moves the spread draws by little (no jump of one count)."""
    from forecast.curves.draws import binomial_quantile

    u = np.random.default_rng(0).uniform(size=5000)
    k = binomial_quantile(u, 20, np.full(u.size, 0.3))
    y = binomial_quantile(u, 20, np.full(u.size, 0.3), spread=True)
    assert ((y >= k - 0.5 - 1e-12) & (y <= k + 0.5 + 1e-12)).all()
    # a rate 0.001 higher: some counts jump by one, no spread draw moves by more than 0.05
    jumped = binomial_quantile(u, 20, np.full(u.size, 0.301)) != k
    moved = binomial_quantile(u, 20, np.full(u.size, 0.301), spread=True)
    assert jumped.sum() > 10
    assert np.abs(moved - y).max() < 0.05


def test_shared_points_give_the_same_draws():
    """Inside ``shared_points`` a fit reads one scrambled set per seed: the same numbers."""
    from forecast.curves.draws import shared_points

    data = forecast.load_dataset("bigbench_bigg")
    task = "abstract_narrative_understanding"
    ctx = {"prior_sd": [10.0, 1.0, 0.1], "extrapolation_sd": 0.3}
    plain = make_method("slice_sandwich", combine=None, seed=3).fit(data, 8e9, task, context=ctx)
    with shared_points():
        first = make_method("slice_sandwich", combine=None, seed=3).fit(data, 8e9, task, context=ctx)
        again = make_method("slice_sandwich", combine=None, seed=3).fit(data, 8e9, task, context=ctx)
    assert np.array_equal(_forecast(plain), _forecast(first))
    assert np.array_equal(_forecast(plain), _forecast(again))


def test_pickled_subset_carries_only_its_own_tables():
    """A job's data (a subset of one task) pickles without its parent and memoised tables,
    and reads the same after the round trip."""
    import pickle

    data = forecast.load_dataset("bigbench_bigg")
    data.restrict(8e9)  # memoise a large subset on the parent
    sub = data.for_task("abstract_narrative_understanding")
    back = pickle.loads(pickle.dumps(sub))
    assert len(pickle.dumps(sub)) < len(pickle.dumps(data)) / 10
    assert "origin" not in back.derived
    pd.testing.assert_frame_equal(task_table(back, "abstract_narrative_understanding"),
                                  task_table(sub, "abstract_narrative_understanding"))
