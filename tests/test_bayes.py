"""The PyMC engine: one model of all slices, diagnostics reported, bounded, seeded, leak-free.

MCMC runs are small (:data:`PYMC_SMALL`) and the arithmetic fit is shared through a fixture.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from forecast.methods import SliceSandwich
from task_slices import BIGG_FEW, task_slice
from test_forecaster import _held_out, _perturb

pytestmark = pytest.mark.slow
ARITH_CUT = 10**1.8 * 1e21
#: two chains (R-hat needs more than one) of 100 draws after the usual 300 tuning steps
#: (shorter tuning leaves a small step size and deep trees, which costs more than it saves):
#: what these tests check (diagnostics reported, forecasts bounded, same seed same draws,
#: nothing above the cut-off used) does not depend on the chains having mixed
PYMC_SMALL = {"draws": 100, "tune": 300, "chains": 2}


@pytest.fixture(scope="module")
def pymc_arithmetic(sas):
    """One small PyMC fit shared by the tests below."""
    logging.getLogger("pymc").setLevel(logging.ERROR)
    return SliceSandwich(engine="pymc", **PYMC_SMALL, seed=1).fit(sas, ARITH_CUT, task="arithmetic")


def test_pymc_reports_diagnostics(pymc_arithmetic):
    d = pymc_arithmetic.diagnostics_
    assert d["engine"] == "pymc"
    for key in ("divergences", "max_r_hat", "min_ess_bulk", "min_ess_tail"):
        assert key in d and np.isfinite(d[key])
    assert d["n_samples"] == PYMC_SMALL["draws"] * PYMC_SMALL["chains"]
    # the posterior is kept as an ArviZ object with the between-model spread term
    assert "between_model_sd" in pymc_arithmetic.posterior_.posterior
    # warnings are listed exactly when a diagnostic is off
    bad = d["divergences"] > 0 or d["max_r_hat"] > 1.01
    assert bool(d["warnings"]) >= bad


def test_pymc_forecasts_stay_bounded(pymc_arithmetic):
    p = pymc_arithmetic.predict([1e23, 1e25, 1e27])
    assert ((p[["lower", "mean", "upper"]] >= 0) & (p[["lower", "mean", "upper"]] <= 1)).all().all()
    th = pymc_arithmetic.threshold(budget=1e24)
    assert 0 <= th.p_below_budget <= 1


def test_pymc_same_seed_no_leakage(pymc_arithmetic, sas):
    logging.getLogger("pymc").setLevel(logging.ERROR)
    held = _held_out(sas, "arithmetic", ARITH_CUT)
    changed = _perturb(sas, held, np.random.default_rng(1), delete=False)
    again = SliceSandwich(engine="pymc", **PYMC_SMALL, seed=1).fit(
        changed, ARITH_CUT, task="arithmetic"
    )
    at = [1e23, 1e24]
    pd.testing.assert_frame_equal(pymc_arithmetic.predict(at), again.predict(at))
    assert pymc_arithmetic.threshold() == again.threshold()


def test_pymc_per_question(bigg):
    logging.getLogger("pymc").setLevel(logging.ERROR)
    # two tasks: the settings learned from every task at the cut-off take seconds, not minutes
    few = task_slice(bigg, BIGG_FEW)
    f = SliceSandwich(engine="pymc", **PYMC_SMALL, seed=0).fit(few, 4e9, task="qa_wikidata")
    p = f.predict([8e9, 1.28e11])
    assert ((p[["lower", "upper"]] >= 0) & (p[["lower", "upper"]] <= 1)).all().all()
    assert f.diagnostics_["engine"] == "pymc"
