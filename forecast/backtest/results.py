"""The result of a backtest: tidy tables built from the job results, and their summaries.

``BacktestResult`` holds the raw job results and derives, on demand:

* ``predictions``: held-out models only, one row per (dataset, task, method, cut-off, model),
  with the point and interval scores of each (``crps``, ``pit``, ``cover`` -- a value on an
  interval bound counts half --, ``cover_strict``, ``cover_inclusive``, ``interval_score``)
  and the binomial noise floor of its question count (``noise_mae``, ``noise_crps``: the
  error a perfect forecast of the true rate would make);
* ``metrics()``: per dataset x task x method x cut-off x window (``all`` held-out models,
  or an extrapolation-distance bin: ``0-0.5``, ``0.5-1``, ``1-2``, ``>2`` decades above the
  cut-off), the means of those scores and the split's threshold scores;
* ``thresholds``: per job, the forecast threshold at ``tau`` against the data, scored on
  every eligible split (not yet crossed at the cut-off), crossing or not: the CRPS of log10
  threshold capped at the largest held-out model (``thr_crps``), whether the interval
  overlaps the data's crossing bracket (``inside_bracket``), and false emergence (the
  forecast median crosses inside the held-out range where the data never do);
* ``emergence``: "will the task reach tau by budget B?" as a probability
  (:mod:`forecast.backtest.emergence`), three levels of tau;
* ``summary()`` and ``emergence_summary()``: per data set (and subset of tasks), means over
  tasks and ratios to the best baseline, each ratio with a 90% paired bootstrap interval
  over tasks (:mod:`forecast.backtest.bootstrap`);
* ``calibration()``, ``pit()``, ``curves``, ``jobs``.

Data of many model families (``EvalData.multi_family``, e.g. ``obsscaling``): every
prediction says whether its model's ``family`` was seen (``family_seen``: a model of its
family is among the task's fitted models); ``metrics()`` and ``summary()`` report ``all``,
``seen`` and ``new`` family models (column ``families``); emergence rows are per held-out
model (``model``; see :func:`forecast.backtest.jobs._family_emergence_rows`).  Per-task
means and task bootstraps use the task's ``task_group`` (variants of one task count once).

Like for like: a split counts in the summary only when no method failed on it and every
baseline present in the data set succeeded there; a method skipped on a split (too few
models for it) is left out there, and its ratios use only the splits it shares with the
baselines (paired by task and cut-off).

Every table has the same columns and dtypes whether or not any job succeeded.

The work is done in one module per stage: :mod:`~forecast.backtest.tables` (raw tables from
the job results), :mod:`~forecast.backtest.metrics` (per-split scores, calibration, PIT,
like-for-like splits), :mod:`~forecast.backtest.summary` (means over tasks, ratios to the
baselines, emergence scores) and :mod:`~forecast.backtest.format` (text tables); this class
holds the job results and caches what they derive.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from forecast.backtest.format import format_summary
from forecast.backtest.metrics import (  # noqa: F401  (re-exported)
    FAMILY_SETS,
    PRED_SCORES,
    SPLIT_KEYS,
    WINDOWS,
    calibration_table,
    common_splits,
    pit_table,
    split_metrics,
)
from forecast.backtest.summary import (  # noqa: F401  (re-exported)
    MC_SUBSET,
    N_BOOT,
    RATIO_LEVEL,
    emergence_summary_table,
    emergence_units,
    summary_columns,
    summary_table,
)
from forecast.backtest.tables import (
    curves_table,
    emergence_table,
    jobs_table,
    learned_table,
    predictability_flags,
    predictions_table,
    thresholds_table,
)
from forecast.data.bigg import BIGG_DATASET as TUNING_DATASET  # noqa: F401  (re-exported)
from forecast.data.bigg import bigg_half  # noqa: F401  (re-exported)
from forecast.data.readers import write_table
from forecast.methods.registry import names_where

#: the honest baselines ratios are taken against (whichever of them a run has): the
#: registered methods tagged ``is_baseline``
BASELINES = tuple(names_where(is_baseline=True))
#: methods kept for comparison with published figures, never a baseline
REFERENCES = ("published", "paper_sigmoid")


def _base_name(label: str) -> str:
    return label.split("(", 1)[0]


class BacktestResult:
    """Job results of one backtest and the tables derived from them.

    Parameters
    ----------
    results : list of dict
        What :func:`forecast.backtest.jobs.run_job` returned, one per job.
    task_info : DataFrame
        ``dataset, task, format, chance`` per backtested task.
    actuals : DataFrame
        ``dataset, task, model, compute, log10_compute, accuracy`` of every model.
    settings : dict
        ``level, tau, methods`` (labels, in run order), ``seed``...
    resumed : int
        How many results were read back from a checkpoint.
    recomputed : dict, optional
        Saved jobs run again on resume, by reason.
    contexts : list of dict, optional
        The settings each method learned per (dataset, cut-off) (``learn_context``).
    """

    def __init__(self, results: list[dict[str, Any]], task_info: pd.DataFrame,
                 actuals: pd.DataFrame, settings: dict[str, Any], resumed: int = 0,
                 recomputed: dict[str, int] | None = None,
                 contexts: list[dict[str, Any]] | None = None) -> None:
        self.results = sorted(results, key=lambda r: (r["dataset"], r["task"], r["method"], r["cutoff"]))
        self.task_info = task_info.reset_index(drop=True)
        self.actuals = actuals.reset_index(drop=True)
        self.settings = dict(settings)
        self.level = float(settings["level"])
        self.tau = float(settings["tau"])
        self.methods: list[str] = list(settings["methods"])
        self.resumed = int(resumed)
        self.recomputed: dict[str, int] = dict(recomputed or {})
        self.contexts: list[dict[str, Any]] = list(contexts or [])

    def __repr__(self) -> str:
        return (f"BacktestResult({len(self.results)} jobs, {len(self.failed)} failed, "
                f"{len(self.skipped)} skipped, {len(self.predictions)} predictions)")

    @property
    def ok(self) -> list[dict[str, Any]]:
        return [r for r in self.results if r["status"] == "ok"]

    def baselines(self) -> list[str]:
        """The run's methods that are honest baselines."""
        return [m for m in self.methods if _base_name(m) in BASELINES]

    # ------------------------------------------------------------------ raw tables
    @cached_property
    def jobs(self) -> pd.DataFrame:
        """One row per job (:func:`~forecast.backtest.tables.jobs_table`)."""
        return jobs_table(self.results)

    @property
    def failed(self) -> pd.DataFrame:
        """The jobs that failed, with their error messages."""
        j = self.jobs
        return j[j["status"] == "failed"].reset_index(drop=True)

    @property
    def skipped(self) -> pd.DataFrame:
        """The jobs whose method does not apply at that split (too few models, wrong data kind)."""
        j = self.jobs
        return j[j["status"] == "skipped"].reset_index(drop=True)

    @cached_property
    def predictions(self) -> pd.DataFrame:
        """Held-out models only, with their scores (see the module docstring)."""
        return predictions_table(self.ok, self.level)

    @cached_property
    def thresholds(self) -> pd.DataFrame:
        """One row per job: forecast and observed thresholds at ``tau`` and their scores
        (:func:`~forecast.backtest.tables.thresholds_table`)."""
        return thresholds_table(self.ok)

    @cached_property
    def emergence(self) -> pd.DataFrame:
        """``emergence.csv`` (:func:`~forecast.backtest.tables.emergence_table`)."""
        return emergence_table(self.ok)

    @cached_property
    def curves(self) -> pd.DataFrame:
        """Each job's forecast (mean, observed-score interval) on a compute grid."""
        return curves_table(self.ok)

    def learned(self) -> pd.DataFrame:
        """The settings learned at each (dataset, method, cut-off), one column each."""
        return learned_table(self.contexts)

    def predictability(self) -> pd.DataFrame:
        """Per dataset x task x cut-off: ``predictable`` (True / False / None = unknown) and its
        ``score``, computed from the fitted models alone (:mod:`forecast.predictability`)."""
        return predictability_flags(self.contexts)

    def _units(self) -> dict[tuple[str, str], str]:
        """The resampling / averaging unit of every (dataset, task): its ``task_group``."""
        ti = self.task_info
        groups = ti["task_group"] if "task_group" in ti.columns else ti["task"]
        groups = groups.where(groups.notna(), ti["task"]).astype(str)
        return {(d, t): g for d, t, g in zip(ti["dataset"], ti["task"], groups)}

    def with_unit(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame`` with a ``unit`` column (the task's group; the task itself by default)."""
        units = self._units()
        return frame.assign(unit=[units.get((d, t), t) for d, t in zip(frame["dataset"], frame["task"])])

    def multi_family_datasets(self) -> set[str]:
        """Data sets of many families: results split by seen / new family."""
        ti = self.task_info
        if "multi_family" not in ti.columns:
            return set()
        return set(ti.loc[ti["multi_family"].fillna(False).astype(bool), "dataset"])

    # ------------------------------------------------------------------ metrics
    def metrics(self) -> pd.DataFrame:
        """Per dataset x task x method x cut-off x window (:func:`~forecast.backtest.metrics.split_metrics`)."""
        return split_metrics(self.predictions, self.thresholds, self.task_info, self.multi_family_datasets())

    def calibration(self, common: bool = True) -> pd.DataFrame:
        """Nominal vs observed coverage (a value on a bound counts half) per dataset x method x
        window x level; with ``common`` only the like-for-like splits count."""
        return calibration_table(self.ok, self._common_set() if common else None)

    def pit(self) -> pd.DataFrame:
        """Randomised PIT histogram per dataset x method, with the KS statistic."""
        return pit_table(self.predictions, self.common_splits())

    def common_splits(self) -> pd.DataFrame:
        """Splits on which no method failed and every baseline present in the data set
        succeeded (methods skipped on a split are simply absent there)."""
        return common_splits(self.jobs, self.baselines())

    def _common_set(self) -> set[tuple[str, str, float]]:
        return set(self.common_splits().itertuples(index=False, name=None))

    # ------------------------------------------------------------------ summary
    @staticmethod
    def summary_columns() -> list[str]:
        return summary_columns()

    def summary(self, n_boot: int = N_BOOT) -> pd.DataFrame:
        """Per dataset x subset x window x method: means over tasks, ratios to the best
        baseline [90% paired bootstrap], wins / losses against persistence
        (:func:`~forecast.backtest.summary.summary_table`)."""
        return summary_table(self, n_boot)

    def emergence_units(self) -> dict[tuple[str, Any], tuple[pd.DataFrame, pd.DataFrame]]:
        """Scored emergence rows and per-unit Brier scores (:func:`~forecast.backtest.summary.emergence_units`)."""
        return emergence_units(self)

    def emergence_summary(self, n_boot: int = N_BOOT) -> pd.DataFrame:
        """Scores of ``p_emerged`` (:func:`~forecast.backtest.summary.emergence_summary_table`)."""
        return emergence_summary_table(self, n_boot)

    # ------------------------------------------------------------------ output
    def save(self, out: str | Path) -> list[Path]:
        """Write every table as CSV into ``out`` (overwriting this package's files)."""
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        tables = {
            "predictions.csv": self.predictions,
            "metrics.csv": self.metrics(),
            "summary.csv": self.summary(),
            "thresholds.csv": self.thresholds,
            "emergence.csv": self.emergence,
            "emergence_summary.csv": self.emergence_summary(),
            "calibration.csv": self.calibration(),
            "pit.csv": self.pit(),
            "learned.csv": self.learned(),
            "predictability.csv": self.predictability(),
            "curves.csv": self.curves,
            "jobs.csv": self.jobs,
        }
        return [write_table(df, out / name, force=True) for name, df in tables.items()]

    def format_summary(self, wide: bool = False) -> str:
        """The summary as text tables that fit 100 columns (``wide``: every column)."""
        return format_summary(self.summary(), self.emergence_summary(), self.level, self.tau,
                              len(self.failed), len(self.skipped), wide)
