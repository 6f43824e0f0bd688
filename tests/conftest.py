"""Shared fixtures: shipped datasets load once; the PyMC fit runs once per session."""

from __future__ import annotations

import logging

import pytest

import forecast


@pytest.fixture(scope="session")
def sas():
    """The shipped Slice-and-Sandwich group data."""
    return forecast.load_dataset("slice_sandwich")


@pytest.fixture(scope="session")
def sas_paper(sas):
    """The Slice-and-Sandwich data with the paper's six exclusions (its model set)."""
    from forecast.data.shipped import with_paper_exclusions

    return with_paper_exclusions(sas)


@pytest.fixture(scope="session")
def bigg():
    """The shipped BIG-G per-question data."""
    return forecast.load_dataset("bigbench_bigg")


@pytest.fixture(scope="session")
def pymc_arithmetic(sas):
    """One small PyMC fit shared by every slow test that needs it."""
    logging.getLogger("pymc").setLevel(logging.ERROR)
    from forecast.methods import SliceSandwich

    return SliceSandwich(engine="pymc", draws=300, tune=300, chains=2, seed=1).fit(
        sas, 10**1.8 * 1e21, task="arithmetic"
    )
