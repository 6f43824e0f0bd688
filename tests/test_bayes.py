"""The PyMC engine: one model of all slices, diagnostics reported, bounded, seeded, leak-free.

MCMC runs are small (300 draws, 2 chains) and shared through a session fixture.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from forecast.methods import SliceSandwich
from test_forecaster import _held_out, _perturb

pytestmark = pytest.mark.slow
ARITH_CUT = 10**1.8 * 1e21


def test_pymc_reports_diagnostics(pymc_arithmetic):
    d = pymc_arithmetic.diagnostics_
    assert d["engine"] == "pymc"
    for key in ("divergences", "max_r_hat", "min_ess_bulk", "min_ess_tail"):
        assert key in d and np.isfinite(d[key])
    assert d["n_samples"] == 600
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
    again = SliceSandwich(engine="pymc", draws=300, tune=300, chains=2, seed=1).fit(
        changed, ARITH_CUT, task="arithmetic"
    )
    at = [1e23, 1e24]
    pd.testing.assert_frame_equal(pymc_arithmetic.predict(at), again.predict(at))
    assert pymc_arithmetic.threshold() == again.threshold()


def test_pymc_per_question(bigg):
    logging.getLogger("pymc").setLevel(logging.ERROR)
    f = SliceSandwich(engine="pymc", draws=200, tune=200, chains=2, seed=0).fit(bigg, 4e9, task="qa_wikidata")
    p = f.predict([8e9, 1.28e11])
    assert ((p[["lower", "upper"]] >= 0) & (p[["lower", "upper"]] <= 1)).all().all()
    assert f.diagnostics_["engine"] == "pymc"
