"""The result of a backtest: tidy tables built from the job results, and their summary.

``BacktestResult`` holds the raw job results and derives, on demand:

* ``predictions``: held-out models only, one row per (dataset, task, method, cut-off,
  model): ``compute, log10_compute, horizon_dec, y_true, mean, lower, upper, level, crps``;
* ``metrics()``: per dataset x task x method x cut-off x window (``all`` held-out models,
  or ``0.5dec``: within half a decade above the cut-off), the point/interval scores and the
  split's threshold scores (see :mod:`forecast.backtest.scoring`);
* ``summary()``: per dataset x subset x window x method, mean and median over tasks (each
  task's scores first averaged over its cut-offs), threshold and false-emergence counts,
  and ratios to the best baseline;
* ``thresholds``, ``calibration()``, ``curves``, ``jobs``.

Like for like: the summary uses only the (dataset, task, cut-off) splits on which *every*
method's job succeeded, so each method is averaged over the same splits; its threshold
error uses only the eligible splits that every method scored (exactly, or as a censored
miss: see :mod:`forecast.backtest.scoring`).

Every table has the same columns and dtypes whether or not any job succeeded (an empty
table is typed, so the tables merge and save even when every job failed).
"""

from __future__ import annotations

import math
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from forecast.backtest.jobs import NEAR_DECADES
from forecast.backtest.scoring import POINT_METRICS, point_metrics, score_threshold
from forecast.data.readers import write_table

#: the baselines ratios are taken against
BASELINES = ("published", "sigmoid", "persistence", "linear")
#: the no-emergence control tasks, by default
DEFAULT_CONTROLS = ("arc", "hellaswag")
WINDOWS = ("all", "0.5dec")
#: subsets of tasks in the summary: every task, and (when it is a proper subset) the
#: pure multiple-choice tasks
MC_SUBSET = "multiple_choice"

SPLIT_KEYS = ["dataset", "task", "cutoff"]


#: dtypes of the columns of the tables (any other column: object)
DTYPES: dict[str, str] = {
    "cutoff": "float64", "order": "int64", "seed": "int64", "n_fitted": "float64",
    "n_heldout": "float64", "seconds": "float64", "compute": "float64", "log10_compute": "float64",
    "horizon_dec": "float64", "y_true": "float64", "mean": "float64", "lower": "float64",
    "upper": "float64", "level": "float64", "crps": "float64", "tau": "float64",
    "control": "bool", "estimate": "float64", "upper_censored": "bool", "p_reached": "float64",
    "search_max": "float64", "observed_fitted": "float64", "observed": "float64",
    "max_compute": "float64", "eligible": "bool", "error_dec": "float64", "abs_error_dec": "float64",
    "censored": "bool", "n": "int64", "mae": "float64", "mse": "float64", "coverage": "float64",
    "width": "float64", "thr_eligible": "bool", "thr_error_dec": "float64",
    "thr_abs_error_dec": "float64", "thr_censored": "bool", "nominal": "float64",
    "n_tasks": "int64", "n_splits": "int64", "thr_n": "int64", "thr_tasks": "int64",
    "thr_scored": "int64", "thr_censored_n": "int64", "fe_n": "int64", "control_tau": "float64",
    "control_estimate": "float64", "control_observed": "float64",
}


for _metric in POINT_METRICS:
    DTYPES[f"{_metric}_mean"] = DTYPES[f"{_metric}_median"] = "float64"
for _col in ("thr_abs_err_mean", "thr_abs_err_median", "thr_err_median", "ratio_mae", "ratio_mse",
             "ratio_crps", "ratio_thr"):
    DTYPES[_col] = "float64"


def _empty(cols: list[str]) -> pd.DataFrame:
    """A table with no rows and typed columns (so it merges with filled tables)."""
    return pd.DataFrame({c: pd.Series(dtype=DTYPES.get(c, "object")) for c in cols})


def _base_name(label: str) -> str:
    return label.split("(", 1)[0]


class BacktestResult:
    """Job results of one backtest and the tables derived from them.

    Parameters
    ----------
    results : list of dict
        What :func:`forecast.backtest.jobs.run_job` returned, one per job.
    task_info : DataFrame
        ``dataset, task, format, chance, control`` per backtested task.
    actuals : DataFrame
        ``dataset, task, model, compute, log10_compute, accuracy`` of every model.
    settings : dict
        ``level, tau, control_tau, methods`` (labels, in run order), ``seed``...
    resumed : int
        How many of ``results`` were read back from a checkpoint.
    recomputed : dict, optional
        Saved jobs run again on resume, by reason (``code changed``, ``inputs changed``,
        ``failed before``).
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
        #: how many job results were read back from a checkpoint instead of run
        self.resumed = int(resumed)
        #: saved jobs run again on resume, by reason
        self.recomputed: dict[str, int] = dict(recomputed or {})
        #: settings learned at each (dataset, method, cut-off) from the models at or below it
        self.contexts: list[dict[str, Any]] = list(contexts or [])

    def __repr__(self) -> str:
        failed = len(self.failed)
        return (f"BacktestResult({len(self.results)} jobs, {failed} failed, "
                f"{len(self.predictions)} predictions)")

    @property
    def ok(self) -> list[dict[str, Any]]:
        return [r for r in self.results if r["status"] == "ok"]

    # ------------------------------------------------------------------ raw tables
    @cached_property
    def jobs(self) -> pd.DataFrame:
        """One row per job: key, dataset, task, method, cutoff, status, error, n_fitted, n_heldout, seconds."""
        cols = ["key", "dataset", "task", "method", "cutoff", "order", "seed", "status", "error",
                "n_fitted", "n_heldout", "seconds"]
        rows = [{c: r.get(c) for c in cols} for r in self.results]
        if not rows:
            return _empty(cols)
        return pd.DataFrame(rows, columns=cols)

    @property
    def failed(self) -> pd.DataFrame:
        """The jobs that failed, with their error messages."""
        j = self.jobs
        return j[j["status"] == "failed"].reset_index(drop=True)

    @cached_property
    def predictions(self) -> pd.DataFrame:
        """Held-out models only: dataset, task, method, cutoff, model, compute, log10_compute,
        horizon_dec, y_true, mean, lower, upper, level, crps."""
        cols = ["dataset", "task", "method", "cutoff", "model", "compute", "log10_compute",
                "horizon_dec", "y_true", "mean", "lower", "upper", "level", "crps"]
        frames = []
        for r in self.ok:
            p = pd.DataFrame(r["predictions"])
            p.insert(0, "dataset", r["dataset"])
            p.insert(1, "task", r["task"])
            p.insert(2, "method", r["method"])
            p.insert(3, "cutoff", r["cutoff"])
            p["level"] = r["level"]
            frames.append(p)
        if not frames:
            return _empty(cols)
        out = pd.concat(frames, ignore_index=True)[cols]
        return out.sort_values(["dataset", "task", "method", "cutoff", "compute", "model"],
                               kind="mergesort").reset_index(drop=True)

    @cached_property
    def thresholds(self) -> pd.DataFrame:
        """One row per job and tau (``role`` main, and control for the control tasks):
        forecast and observed thresholds (raw compute) and their scores."""
        rows = []
        info = self._info()
        for r in self.ok:
            for t in r["thresholds"]:
                row = {"dataset": r["dataset"], "task": r["task"], "method": r["method"],
                       "cutoff": r["cutoff"], **t}
                for k, v in list(row.items()):
                    if v is None and k not in ("dataset", "task", "method", "role"):
                        row[k] = math.nan
                row.update(score_threshold(t["estimate"], t["lower"], t["upper"], t["upper_censored"],
                                           t["observed"], t["observed_fitted"], t["max_compute"],
                                           t.get("search_max")))
                row["control"] = bool(info.get((r["dataset"], r["task"]), {}).get("control", False))
                rows.append(row)
        cols = ["dataset", "task", "method", "cutoff", "role", "tau", "control", "estimate", "lower",
                "upper", "upper_censored", "p_reached", "search_max", "observed_fitted", "observed",
                "max_compute", "eligible", "error_dec", "abs_error_dec", "censored", "inside", "outcome",
                "false_emergence"]
        if not rows:
            return _empty(cols)
        out = pd.DataFrame(rows)[cols]
        return out.sort_values(["dataset", "task", "method", "cutoff", "role"],
                               kind="mergesort").reset_index(drop=True)

    @cached_property
    def curves(self) -> pd.DataFrame:
        """Each job's forecast (mean, observed-score interval) on a compute grid."""
        frames = []
        for r in self.ok:
            c = pd.DataFrame(r["curve"])
            c.insert(0, "dataset", r["dataset"])
            c.insert(1, "task", r["task"])
            c.insert(2, "method", r["method"])
            c.insert(3, "cutoff", r["cutoff"])
            c.insert(4, "order", r["order"])
            frames.append(c)
        cols = ["dataset", "task", "method", "cutoff", "order", "compute", "mean", "lower", "upper"]
        if not frames:
            return _empty(cols)
        return pd.concat(frames, ignore_index=True)[cols]

    def _info(self) -> dict[tuple[str, str], dict[str, Any]]:
        return {(row.dataset, row.task): row._asdict() for row in self.task_info.itertuples(index=False)}

    # ------------------------------------------------------------------ metrics
    def metrics(self) -> pd.DataFrame:
        """Per dataset x task x method x cut-off x window: ``n, mae, mse, coverage, width, crps``
        and the split's threshold scores (``thr_eligible, thr_error_dec, thr_abs_error_dec,
        thr_censored, thr_inside``; the control tasks' ``false_emergence`` at the control tau).

        An empty window has ``n = 0`` and NaN scores.
        """
        info = self._info()
        th = self.thresholds
        main = {(r.dataset, r.task, r.method, r.cutoff): r for r in th[th["role"] == "main"].itertuples()}
        ctrl = {(r.dataset, r.task, r.method, r.cutoff): r for r in th[th["role"] == "control"].itertuples()}
        rows = []
        for r in self.ok:
            p = r["predictions"]
            arrays = {k: np.asarray(p[k], dtype=float)
                      for k in ("y_true", "mean", "lower", "upper", "crps", "horizon_dec")}
            key = (r["dataset"], r["task"], r["method"], r["cutoff"])
            t = main.get(key)
            c = ctrl.get(key)
            meta = info.get((r["dataset"], r["task"]), {})
            for window in WINDOWS:
                keep = np.ones(arrays["y_true"].shape, bool) if window == "all" else (
                    arrays["horizon_dec"] <= NEAR_DECADES + 1e-9)
                scores = point_metrics(*(arrays[k][keep] for k in ("y_true", "mean", "lower", "upper", "crps")))
                rows.append({
                    "dataset": r["dataset"], "task": r["task"], "format": meta.get("format"),
                    "control": bool(meta.get("control", False)), "method": r["method"],
                    "cutoff": r["cutoff"], "window": window, **scores,
                    "thr_eligible": bool(t.eligible) if t is not None else False,
                    "thr_error_dec": float(t.error_dec) if t is not None else math.nan,
                    "thr_abs_error_dec": float(t.abs_error_dec) if t is not None else math.nan,
                    "thr_censored": bool(t.censored) if t is not None else False,
                    "thr_inside": t.inside if t is not None and t.eligible else None,
                    "false_emergence": bool(c.false_emergence) if c is not None else None,
                })
        cols = ["dataset", "task", "format", "control", "method", "cutoff", "window", "n",
                *POINT_METRICS, "thr_eligible", "thr_error_dec", "thr_abs_error_dec", "thr_censored",
                "thr_inside", "false_emergence"]
        if not rows:
            return _empty(cols)
        out = pd.DataFrame(rows)[cols]
        out["window"] = pd.Categorical(out["window"], WINDOWS, ordered=True)
        out = out.sort_values(["dataset", "task", "method", "cutoff", "window"], kind="mergesort")
        out["window"] = out["window"].astype(str)
        return out.reset_index(drop=True)

    def calibration(self, common: bool = True) -> pd.DataFrame:
        """Nominal vs observed coverage per dataset x method x window x level.

        With ``common`` (default) only the splits on which every method succeeded count,
        as in :meth:`summary`.
        """
        keep_splits = self._common_set() if common else None
        acc: dict[tuple, list[int]] = {}
        for r in self.ok:
            if keep_splits is not None and (r["dataset"], r["task"], r["cutoff"]) not in keep_splits:
                continue
            horizon = np.asarray(r["predictions"]["horizon_dec"], dtype=float)
            covered = np.asarray(r["calibration"]["covered"], dtype=bool)
            for window in WINDOWS:
                keep = np.ones(horizon.shape, bool) if window == "all" else horizon <= NEAR_DECADES + 1e-9
                for level, row in zip(r["calibration"]["levels"], covered):
                    slot = acc.setdefault((r["dataset"], r["method"], window, float(level)), [0, 0])
                    slot[0] += int(keep.sum())
                    slot[1] += int(row[keep].sum())
        rows = [{"dataset": d, "method": m, "window": w, "nominal": lv, "n": n,
                 "coverage": (k / n) if n else math.nan} for (d, m, w, lv), (n, k) in acc.items()]
        cols = ["dataset", "method", "window", "nominal", "n", "coverage"]
        if not rows:
            return _empty(cols)
        return pd.DataFrame(rows)[cols].sort_values(["dataset", "method", "window", "nominal"]).reset_index(drop=True)

    # ------------------------------------------------------------------ summary
    def common_splits(self) -> pd.DataFrame:
        """(dataset, task, cut-off) splits on which every method succeeded."""
        j = self.jobs
        if j.empty:
            return _empty(SPLIT_KEYS)
        ok = j.assign(good=j["status"] == "ok").groupby(SPLIT_KEYS)["good"].agg(["sum", "size"])
        n_methods = len(self.methods)
        good = ok[(ok["sum"] == n_methods) & (ok["size"] == n_methods)]
        if good.empty:
            return _empty(SPLIT_KEYS)
        return good.reset_index()[SPLIT_KEYS]

    def threshold_splits(self) -> pd.DataFrame:
        """Eligible splits (common to every method) whose threshold error every method scored.

        Eligible: the task had not crossed tau at the cut-off; scored: the data cross tau and
        each method's error is known exactly or as a censored miss.  The summary's threshold
        errors use only these splits (like for like).
        """
        th = self.thresholds.merge(self.common_splits(), on=SPLIT_KEYS, how="inner")
        th = th[(th["role"] == "main") & th["eligible"].astype(bool)]
        th = th[np.isfinite(th["abs_error_dec"].to_numpy(dtype=float))]
        if th.empty:
            return _empty(SPLIT_KEYS)
        counts = th.groupby(SPLIT_KEYS)["method"].nunique()
        keep = counts[counts == len(self.methods)]
        if keep.empty:
            return _empty(SPLIT_KEYS)
        return keep.reset_index()[SPLIT_KEYS]

    def _common_set(self) -> set[tuple[str, str, float]]:
        return set(self.common_splits().itertuples(index=False, name=None))

    def _subsets(self, dataset: str) -> list[tuple[str, set[str]]]:
        ti = self.task_info[self.task_info["dataset"] == dataset]
        everything = set(ti["task"])
        subsets = [("all", everything)]
        mc = set(ti.loc[ti["format"] == MC_SUBSET, "task"])
        if mc and mc != everything:
            subsets.append((MC_SUBSET, mc))
        return subsets

    #: columns of :meth:`summary`
    @staticmethod
    def summary_columns() -> list[str]:
        cols = ["dataset", "subset", "window", "method", "n_tasks", "n_splits"]
        for metric in POINT_METRICS:
            cols += [f"{metric}_mean", f"{metric}_median"]
        cols += ["thr_n", "thr_tasks", "thr_scored", "thr_censored_n", "thr_abs_err_mean",
                 "thr_abs_err_median", "thr_err_median", "thr_inside", "fe_n", "false_emergence"]
        for r in ("mae", "mse", "crps", "thr"):
            cols += [f"ratio_{r}", f"best_{r}"]
        return cols

    def summary(self) -> pd.DataFrame:
        """Per dataset x subset x window x method: mean and median over tasks of every score,
        threshold counts and scores, the control tasks' false-emergence rate, and the ratio
        of the mean MAE, MSE, CRPS and absolute threshold error to the best baseline's.

        Columns: ``n_tasks`` (tasks with a non-empty window), ``n_splits``; ``<metric>_mean``,
        ``<metric>_median``; ``thr_n`` (eligible splits: not crossed at the cut-off);
        ``thr_scored`` and ``thr_tasks``: the eligible splits (and their tasks) on which the
        data cross tau and *every* method's threshold error is scored (:meth:`threshold_splits`),
        the only splits ``thr_abs_err_mean/_median`` (decades), ``thr_err_median`` (signed) and
        ``ratio_thr`` use, so every method is scored on the same splits; ``thr_censored_n``: of
        those, the method's misses (no crossing in its search range) scored at their lower
        bound, which makes its error a lower bound; ``thr_inside`` (share of ``thr_n``);
        ``fe_n`` (control splits), ``false_emergence`` (their share); ``ratio_<m>`` and
        ``best_<m>`` (the best baseline) for ``mae, mse, crps, thr``.

        With no successful job the table is empty (typed columns).
        """
        cols = self.summary_columns()
        if not self.ok:
            return _empty(cols)
        common = self.common_splits()
        m = self.metrics().merge(common, on=SPLIT_KEYS, how="inner")
        th = self.thresholds.merge(common, on=SPLIT_KEYS, how="inner")
        scored = self.threshold_splits()
        ths = self.thresholds.merge(scored, on=SPLIT_KEYS, how="inner")
        ths = ths[ths["role"] == "main"]
        rows = []
        for dataset in sorted(self.task_info["dataset"].unique()):
            for subset, tasks in self._subsets(dataset):
                md = m[(m["dataset"] == dataset) & m["task"].isin(tasks)]
                td = th[(th["dataset"] == dataset) & th["task"].isin(tasks)]
                ts = ths[(ths["dataset"] == dataset) & ths["task"].isin(tasks)]
                for window in WINDOWS:
                    block = []
                    for method in self.methods:
                        mm = md[(md["window"] == window) & (md["method"] == method)]
                        row: dict[str, Any] = {"dataset": dataset, "subset": subset, "window": window,
                                               "method": method}
                        row["n_splits"] = int(len(mm))
                        per_task = (mm[mm["n"] > 0].groupby("task")[list(POINT_METRICS)]
                                    .mean() if len(mm) else pd.DataFrame(columns=POINT_METRICS))
                        row["n_tasks"] = int(len(per_task))
                        for metric in POINT_METRICS:
                            vals = per_task[metric].to_numpy(dtype=float) if len(per_task) else np.array([])
                            row[f"{metric}_mean"] = float(np.mean(vals)) if vals.size else math.nan
                            row[f"{metric}_median"] = float(np.median(vals)) if vals.size else math.nan
                        tm = td[(td["method"] == method) & (td["role"] == "main") & td["eligible"].astype(bool)]
                        row["thr_n"] = int(len(tm))
                        sm = ts[ts["method"] == method]
                        err = sm["error_dec"].to_numpy(dtype=float)
                        abs_err = sm["abs_error_dec"].to_numpy(dtype=float)
                        row["thr_tasks"] = int(sm["task"].nunique())
                        row["thr_scored"] = int(len(sm))
                        row["thr_censored_n"] = int(sm["censored"].astype(bool).sum())
                        row["thr_abs_err_mean"] = float(np.mean(abs_err)) if abs_err.size else math.nan
                        row["thr_abs_err_median"] = float(np.median(abs_err)) if abs_err.size else math.nan
                        row["thr_err_median"] = float(np.median(err)) if err.size else math.nan
                        row["thr_inside"] = float(tm["inside"].astype(bool).mean()) if len(tm) else math.nan
                        tc = td[(td["method"] == method) & (td["role"] == "control") & td["control"].astype(bool)]
                        row["fe_n"] = int(len(tc))
                        row["false_emergence"] = (float(tc["false_emergence"].astype(bool).mean())
                                                  if len(tc) else math.nan)
                        block.append(row)
                    self._add_ratios(block)
                    rows.extend(block)
        if not rows:
            return _empty(cols)
        return pd.DataFrame(rows)[cols]

    def controls(self) -> pd.DataFrame:
        """The no-emergence control tasks: per task x method x cut-off, the forecast and observed
        thresholds at ``tau`` (``estimate, observed``: raw compute, None/NaN = not reached;
        ``error_dec`` = log10 forecast - log10 observed) and at ``control_tau``
        (``control_estimate, control_observed``, ``false_emergence``)."""
        cols = ["dataset", "task", "method", "cutoff", "tau", "estimate", "observed", "error_dec",
                "control_tau", "control_estimate", "control_observed", "false_emergence"]
        th = self.thresholds
        th = th[th["control"].astype(bool)]
        if th.empty:
            return _empty(cols)
        main = th[th["role"] == "main"].set_index(["dataset", "task", "method", "cutoff"])
        ctrl = th[th["role"] == "control"].set_index(["dataset", "task", "method", "cutoff"])
        out = pd.DataFrame({
            "tau": main["tau"], "estimate": main["estimate"], "observed": main["observed"],
            "error_dec": np.log10(main["estimate"].astype(float)) - np.log10(main["observed"].astype(float)),
        })
        out = out.join(ctrl[["tau", "estimate", "observed", "false_emergence"]].rename(columns={
            "tau": "control_tau", "estimate": "control_estimate", "observed": "control_observed"}), how="left")
        out = out.reset_index()[cols]
        return out.sort_values(["dataset", "task", "method", "cutoff"], kind="mergesort").reset_index(drop=True)

    @staticmethod
    def _add_ratios(block: list[dict[str, Any]]) -> None:
        for short, column in (("mae", "mae_mean"), ("mse", "mse_mean"), ("crps", "crps_mean"),
                              ("thr", "thr_abs_err_mean")):
            # a baseline whose every threshold error is censored (a lower bound only, e.g.
            # persistence, which never crosses) cannot be the best threshold baseline
            base = [(r[column], r["method"]) for r in block
                    if _base_name(r["method"]) in BASELINES and np.isfinite(r[column])
                    and not (short == "thr" and r.get("thr_scored", 0)
                             and r.get("thr_censored_n", 0) >= r.get("thr_scored", 0))]
            best_value, best_name = min(base) if base else (math.nan, None)
            for r in block:
                value = r[column]
                ok = best_name is not None and np.isfinite(value) and best_value > 0
                r[f"ratio_{short}"] = float(value / best_value) if ok else math.nan
                r[f"best_{short}"] = best_name

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
            "calibration.csv": self.calibration(),
            "curves.csv": self.curves,
            "controls.csv": self.controls(),
            "jobs.csv": self.jobs,
        }
        return [write_table(df, out / name, force=True) for name, df in tables.items()]

    def plot(self, out: str | Path) -> list[Path]:
        """Write the backtest plots (PNG) into ``out``; see :mod:`forecast.backtest.plots`."""
        from forecast.backtest.plots import plot_all

        return plot_all(self, out)

    def format_summary(self, max_width: int = 200) -> str:
        """The summary as a fixed-width text table (the main columns), and the control tasks'
        thresholds."""
        return format_summary(self.summary(), self.level, self.tau,
                              self.settings.get("control_tau"), len(self.failed), self.controls())


def _fmt(v: Any, digits: int = 3) -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "nan"
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        return f"{float(v):.{digits}g}" if abs(v) >= 1e-3 or v == 0 else f"{float(v):.2e}"
    return str(v)


def _table(cells: list[list[str]], n_left: int) -> list[str]:
    widths = [max(len(r[i]) for r in cells) for i in range(len(cells[0]))]
    return ["  ".join(c.ljust(w) if i < n_left else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
            for r in cells]


def _fmt_compute(v: Any) -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "none"
    return f"{float(v):.3g}"


def format_summary(summary: pd.DataFrame, level: float, tau: float, control_tau: float | None,
                   n_failed: int = 0, controls: pd.DataFrame | None = None) -> str:
    """Text table of the main summary columns, with a legend (and the control tasks' thresholds)."""
    show = [("dataset", "dataset"), ("subset", "subset"), ("window", "window"), ("method", "method"),
            ("n_tasks", "tasks"), ("mae_mean", "MAE"), ("mse_mean", "MSE"), ("coverage_mean", "cover"),
            ("width_mean", "width"), ("crps_mean", "CRPS"), ("ratio_mae", "MAE/base"),
            ("ratio_crps", "CRPS/base"), ("thr_n", "thr_n"), ("thr_tasks", "thr_tasks"),
            ("thr_scored", "thr_scored"), ("thr_abs_err_mean", "|thr err|"), ("thr_censored_n", "thr_cens"),
            ("ratio_thr", "thr/base"), ("thr_inside", "thr_in"), ("fe_n", "ctl_n"),
            ("false_emergence", "false_em")]
    cells = [[title for _, title in show]]
    for row in summary.itertuples(index=False):
        d = row._asdict()
        cells.append([_fmt(d[c]) for c, _ in show])
    lines = _table(cells, 4)
    ctau = control_tau if control_tau is not None else tau
    legend = (
        f"means over tasks (each task averaged over its cut-offs); window all = every held-out model, "
        f"0.5dec = within half a decade above the cut-off; cover = share inside the {level:g} "
        f"observed-score interval; MAE/base, CRPS/base, thr/base = ratio to the best baseline; "
        f"thresholds only on the splits whose task had not yet crossed tau={tau:g} at the cut-off "
        f"(thr_n of them); of those, |thr err| = mean |log10 forecast - log10 observed| threshold "
        f"(decades) over the thr_scored splits (of thr_tasks tasks) where the data cross tau and "
        f"every method is scored, the same splits for every method; a forecast that does not cross "
        f"within its search range (to 2 decades above the cut-off) counts as a censored miss at its "
        f"lower bound log10(search end / observed) (thr_cens of them; |thr err| is then a lower "
        f"bound); thr_in = share of thr_n with the observed threshold inside the forecast interval; "
        f"false_em = share of ctl_n control splits (no-emergence tasks) with a forecast "
        f"tau={ctau:g} crossing inside the data range that the data do not show."
    )
    out = "\n".join(lines) + "\n" + legend
    if controls is not None and len(controls):
        c_cells = [["dataset", "task", "method", "cutoff", f"thr@{tau:g}", "observed", "err_dec",
                    f"thr@{ctau:g}", "observed", "false_em"]]
        for r in controls.itertuples(index=False):
            c_cells.append([str(r.dataset), str(r.task), str(r.method), _fmt_compute(r.cutoff),
                            _fmt_compute(r.estimate), _fmt_compute(r.observed), _fmt(r.error_dec),
                            _fmt_compute(r.control_estimate), _fmt_compute(r.control_observed),
                            _fmt(None if pd.isna(r.false_emergence) else bool(r.false_emergence))])
        out += ("\n\ncontrol tasks: forecast vs observed threshold (raw compute; none = not reached "
                f"in range) at tau={tau:g} and at the control tau={ctau:g}\n" + "\n".join(_table(c_cells, 3)))
    if n_failed:
        out += (f"\n{n_failed} job(s) failed: see jobs.csv; the summary uses only the splits where "
                "every method succeeded.")
    return out
