"""Shared fixtures: shipped datasets load once per session.

Learned settings go to a cache folder of this test session (``$FORECAST_CACHE_DIR``, set
here so that CLI subprocesses and worker processes use it too): settings learned by one
test are read back by the next one that fits the same data at the same cut-off, and the
user's own cache folder is never touched.
"""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest

import forecast

_SESSION_CACHE = tempfile.mkdtemp(prefix="forecast-test-cache-")
os.environ["FORECAST_CACHE_DIR"] = _SESSION_CACHE
os.environ.pop("FORECAST_NO_CACHE", None)


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(_SESSION_CACHE, ignore_errors=True)


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
def bigg_four(bigg):
    """Four BIG-G tasks (``qa_wikidata`` among them): enough for settings learned across tasks
    and for the mixture's weights (3 tasks or more), at a fraction of the 66 tasks' cost."""
    from task_slices import BIGG_FEW, task_slice

    return task_slice(bigg, (*BIGG_FEW, "physics", "hindu_knowledge"))
