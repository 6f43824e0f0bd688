"""Backtests: fit every method below a cut-off, score its forecasts of the larger models.

    from forecast.backtest import backtest
    bt = backtest("slice_sandwich", methods=["slice_sandwich", "sigmoid"], level=0.9)
    bt.predictions      # held-out models: task, method, cutoff, model, compute, y_true, mean, lower, upper, level
    bt.metrics()        # per task x method x cut-off x window: n, MAE, MSE, coverage, width, CRPS, thresholds
    bt.summary()        # per method: mean/median over tasks, ratio to the best baseline

Modules, one concept each: :mod:`~forecast.backtest.splits` (cut-offs),
:mod:`~forecast.backtest.jobs` (one job = dataset x task x method x cut-off, a pure
function), :mod:`~forecast.backtest.parallel` (local / processes / Dask),
:mod:`~forecast.backtest.store` (job files, resume), :mod:`~forecast.backtest.scoring`,
:mod:`~forecast.backtest.results`, :mod:`~forecast.backtest.runner` (``backtest()``),
:mod:`~forecast.backtest.plots` (the CLI command is :mod:`forecast.cli.backtest`).
"""

import sys
import types

from forecast.backtest.jobs import Job, job_key, job_seed, run_job
from forecast.backtest.parallel import BACKENDS, imap_unordered, parallelize
from forecast.backtest.results import BASELINES, BacktestResult
from forecast.backtest.runner import DEFAULT_METHODS, backtest, plan_jobs
from forecast.backtest.scoring import crps_sample, point_metrics, score_threshold
from forecast.backtest.splits import DEFAULT_CUTOFFS, Split, parse_cutoffs, plan_splits



class _CallableModule(types.ModuleType):
    """``forecast.backtest(...)`` calls :func:`backtest`, whichever of the function or this
    package the name ``forecast.backtest`` ends up bound to (importing a subpackage rebinds
    the parent's attribute to the module)."""

    def __call__(self, *args, **kwargs):
        return backtest(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule

__all__ = [
    "backtest",
    "BacktestResult",
    "BACKENDS",
    "BASELINES",
    "DEFAULT_CUTOFFS",
    "DEFAULT_METHODS",
    "Job",
    "Split",
    "crps_sample",
    "imap_unordered",
    "job_key",
    "job_seed",
    "parallelize",
    "parse_cutoffs",
    "plan_jobs",
    "plan_splits",
    "point_metrics",
    "run_job",
    "score_threshold",
]
