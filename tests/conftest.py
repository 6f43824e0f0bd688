"""Shared fixtures: shipped datasets load once per session.

Learned settings go to a cache folder of this test session (``$FORECAST_CACHE_DIR``, set
here so that CLI subprocesses and worker processes use it too): settings learned by one
test are read back by the next one that fits the same data at the same cut-off, and the
user's own cache folder is never touched.

Under ``pytest-xdist`` (``-n 2``: a worker per core) every process of the run does its linear
algebra on one thread: a worker's BLAS threads otherwise spin on the core the other worker
needs (PyMC's fits spent half again their CPU time that way), for no gain in wall time; and
the test files are handed to the workers longest first (:data:`FILE_SECONDS`).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections import OrderedDict

import pytest

#: the BLAS / OpenMP thread-count variables, read when numpy loads (here and in every process
#: started from here: CLI subprocesses, loky and Dask workers); a value already set is kept
_THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
if os.environ.get("PYTEST_XDIST_WORKER"):
    for _var in _THREAD_VARS:
        os.environ.setdefault(_var, "1")

import forecast  # noqa: E402  (after the thread limits)

if os.environ.get("PYTEST_XDIST_WORKER"):
    from threadpoolctl import threadpool_limits

    # in case numpy was loaded before this file (by a plugin)
    threadpool_limits(limits=int(os.environ["OPENBLAS_NUM_THREADS"]), user_api="blas")

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
    from task_slices import BIGG_FOUR, task_slice

    return task_slice(bigg, BIGG_FOUR)


# ------------------------------------------------------------------ the order files are run in
#: wall seconds of a file's tests (``--durations``, 2-core machine, 2 workers); only their
#: order matters: files not listed take a second or two each
FILE_SECONDS = {
    "test_contract.py": 87, "test_backtest.py": 73, "test_properties.py": 46, "test_settings_cache.py": 30,
    "test_bayes.py": 30, "test_cli.py": 28, "test_forecaster.py": 26, "test_badinput.py": 17,
    "test_ladder.py": 14, "test_obsscaling_backtest.py": 13, "test_irt.py": 12, "test_golden_tables.py": 10,
    "test_routes.py": 9, "test_pythia.py": 9, "test_obsscaling_method.py": 8, "test_ux.py": 7,
    "test_floor.py": 5, "test_digits.py": 5, "test_item_level.py": 5,
}


class _LongestFileFirst(OrderedDict):
    """The queue of files (``--dist loadfile``'s work units) waiting for a worker: the next one
    handed out is the longest to run, not the one with the most tests (xdist's order), so a
    long file of few tests (test_bayes.py) does not start last and leave the other worker
    idle; files of equal cost keep xdist's order."""

    def popitem(self, last: bool = True):
        if last or not self:
            return super().popitem(last)
        scope = max(self, key=lambda s: FILE_SECONDS.get(s.rsplit("/", 1)[-1], 0))
        return scope, self.pop(scope)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    scheduler = LoadFileScheduling(config, log)
    if type(getattr(scheduler, "workqueue", None)) is OrderedDict:  # else xdist's own order
        scheduler.workqueue = _LongestFileFirst(scheduler.workqueue)
    return scheduler
