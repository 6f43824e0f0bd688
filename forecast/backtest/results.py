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
method's job succeeded, so each method is averaged over the same splits.
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
    """

    def __init__(self, results: list[dict[str, Any]], task_info: pd.DataFrame,
                 actuals: pd.DataFrame, settings: dict[str, Any], resumed: int = 0) -> None:
        self.results = sorted(results, key=lambda r: (r["dataset"], r["task"], r["method"], r["cutoff"]))
        self.task_info = task_info.reset_index(drop=True)
        self.actuals = actuals.reset_index(drop=True)
        self.settings = dict(settings)
        self.level = float(settings["level"])
        self.tau = float(settings["tau"])
        self.methods: list[str] = list(settings["methods"])
        #: how many job results were read back from a checkpoint instead of run
        self.resumed = int(resumed)

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
        return pd.DataFrame(rows, columns=cols)

    @property
    def failed(self) -> pd.DataFrame:
        """The jobs that failed, with their error messages."""
        j = self.jobs
        return j[j["status"] != "ok"].reset_index(drop=True)

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
            return pd.DataFrame(columns=cols)
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
                                           t["observed"], t["observed_fitted"], t["max_compute"]))
                row["control"] = bool(info.get((r["dataset"], r["task"]), {}).get("control", False))
                rows.append(row)
        cols = ["dataset", "task", "method", "cutoff", "role", "tau", "control", "estimate", "lower",
                "upper", "upper_censored", "p_reached", "search_max", "observed_fitted", "observed",
                "max_compute", "eligible", "error_dec", "inside", "outcome", "false_emergence"]
        if not rows:
            return pd.DataFrame(columns=cols)
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
            return pd.DataFrame(columns=cols)
        return pd.concat(frames, ignore_index=True)[cols]

    def _info(self) -> dict[tuple[str, str], dict[str, Any]]:
        return {(row.dataset, row.task): row._asdict() for row in self.task_info.itertuples(index=False)}

    # ------------------------------------------------------------------ metrics
    def metrics(self) -> pd.DataFrame:
        """Per dataset x task x method x cut-off x window: ``n, mae, mse, coverage, width, crps``
        and the split's threshold scores (``thr_eligible, thr_error_dec, thr_inside``; the
        control tasks' ``false_emergence`` at the control tau).

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
                    "thr_inside": t.inside if t is not None and t.eligible else None,
                    "false_emergence": bool(c.false_emergence) if c is not None else None,
                })
        cols = ["dataset", "task", "format", "control", "method", "cutoff", "window", "n",
                *POINT_METRICS, "thr_eligible", "thr_error_dec", "thr_inside", "false_emergence"]
        if not rows:
            return pd.DataFrame(columns=cols)
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
            return pd.DataFrame(columns=cols)
        return pd.DataFrame(rows)[cols].sort_values(["dataset", "method", "window", "nominal"]).reset_index(drop=True)

    # ------------------------------------------------------------------ summary
    def common_splits(self) -> pd.DataFrame:
        """(dataset, task, cut-off) splits on which every method succeeded."""
        j = self.jobs
        if j.empty:
            return pd.DataFrame(columns=SPLIT_KEYS)
        ok = j.assign(good=j["status"] == "ok").groupby(SPLIT_KEYS)["good"].agg(["sum", "size"])
        n_methods = len(self.methods)
        good = ok[(ok["sum"] == n_methods) & (ok["size"] == n_methods)]
        return good.reset_index()[SPLIT_KEYS]

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

    def summary(self) -> pd.DataFrame:
        """Per dataset x subset x window x method: mean and median over tasks of every score,
        threshold counts and scores, the control tasks' false-emergence rate, and the ratio
        of the mean MAE, MSE, CRPS and absolute threshold error to the best baseline's.

        Columns: ``n_tasks`` (tasks with a non-empty window), ``n_splits``; ``<metric>_mean``,
        ``<metric>_median``; ``thr_n`` (splits not crossed at the cut-off), ``thr_scored``
        (of those, with both thresholds), ``thr_abs_err_mean/_median`` (decades),
        ``thr_err_median`` (signed), ``thr_inside`` (share of ``thr_n``); ``fe_n`` (control
        splits), ``false_emergence`` (their share); ``ratio_<m>`` and ``best_<m>`` (the best
        baseline) for ``mae, mse, crps, thr``.
        """
        common = self.common_splits()
        m = self.metrics().merge(common, on=SPLIT_KEYS, how="inner")
        th = self.thresholds.merge(common, on=SPLIT_KEYS, how="inner")
        rows = []
        for dataset in sorted(self.task_info["dataset"].unique()):
            for subset, tasks in self._subsets(dataset):
                md = m[(m["dataset"] == dataset) & m["task"].isin(tasks)]
                td = th[(th["dataset"] == dataset) & th["task"].isin(tasks)]
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
                        err = tm["error_dec"].to_numpy(dtype=float)
                        err = err[np.isfinite(err)]
                        row["thr_n"] = int(len(tm))
                        row["thr_scored"] = int(err.size)
                        row["thr_abs_err_mean"] = float(np.mean(np.abs(err))) if err.size else math.nan
                        row["thr_abs_err_median"] = float(np.median(np.abs(err))) if err.size else math.nan
                        row["thr_err_median"] = float(np.median(err)) if err.size else math.nan
                        row["thr_inside"] = float(tm["inside"].astype(bool).mean()) if len(tm) else math.nan
                        tc = td[(td["method"] == method) & (td["role"] == "control") & td["control"].astype(bool)]
                        row["fe_n"] = int(len(tc))
                        row["false_emergence"] = (float(tc["false_emergence"].astype(bool).mean())
                                                  if len(tc) else math.nan)
                        block.append(row)
                    self._add_ratios(block)
                    rows.extend(block)
        cols = ["dataset", "subset", "window", "method", "n_tasks", "n_splits"]
        for metric in POINT_METRICS:
            cols += [f"{metric}_mean", f"{metric}_median"]
        cols += ["thr_n", "thr_scored", "thr_abs_err_mean", "thr_abs_err_median", "thr_err_median",
                 "thr_inside", "fe_n", "false_emergence"]
        for r in ("mae", "mse", "crps", "thr"):
            cols += [f"ratio_{r}", f"best_{r}"]
        if not rows:
            return pd.DataFrame(columns=cols)
        return pd.DataFrame(rows)[cols]

    @staticmethod
    def _add_ratios(block: list[dict[str, Any]]) -> None:
        for short, column in (("mae", "mae_mean"), ("mse", "mse_mean"), ("crps", "crps_mean"),
                              ("thr", "thr_abs_err_mean")):
            base = [(r[column], r["method"]) for r in block
                    if _base_name(r["method"]) in BASELINES and np.isfinite(r[column])]
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
            "jobs.csv": self.jobs,
        }
        return [write_table(df, out / name, force=True) for name, df in tables.items()]

    def plot(self, out: str | Path) -> list[Path]:
        """Write the backtest plots (PNG) into ``out``; see :mod:`forecast.backtest.plots`."""
        from forecast.backtest.plots import plot_all

        return plot_all(self, out)

    def format_summary(self, max_width: int = 200) -> str:
        """The summary as a fixed-width text table (the main columns)."""
        return format_summary(self.summary(), self.level, self.tau,
                              self.settings.get("control_tau"), len(self.failed))


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


def format_summary(summary: pd.DataFrame, level: float, tau: float, control_tau: float | None,
                   n_failed: int = 0) -> str:
    """Text table of the main summary columns, with a legend."""
    show = [("dataset", "dataset"), ("subset", "subset"), ("window", "window"), ("method", "method"),
            ("n_tasks", "tasks"), ("mae_mean", "MAE"), ("mse_mean", "MSE"), ("coverage_mean", "cover"),
            ("width_mean", "width"), ("crps_mean", "CRPS"), ("ratio_mae", "MAE/base"),
            ("ratio_crps", "CRPS/base"), ("thr_n", "thr_n"), ("thr_abs_err_mean", "|thr err|"),
            ("thr_inside", "thr_in"), ("fe_n", "ctl_n"), ("false_emergence", "false_em")]
    cells = [[title for _, title in show]]
    for row in summary.itertuples(index=False):
        d = row._asdict()
        cells.append([_fmt(d[c]) for c, _ in show])
    widths = [max(len(r[i]) for r in cells) for i in range(len(show))]
    lines = ["  ".join(c.ljust(w) if i < 4 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
             for r in cells]
    legend = (
        f"means over tasks (each task averaged over its cut-offs); window all = every held-out model, "
        f"0.5dec = within half a decade above the cut-off; cover = share inside the {level:g} "
        f"observed-score interval; MAE/base, CRPS/base = ratio to the best baseline; thr_n = splits "
        f"not yet past tau={tau:g} at the cut-off, |thr err| = mean |log10 forecast - log10 observed| "
        f"threshold (decades), thr_in = observed threshold inside the forecast interval; "
        f"false_em = share of ctl_n control splits (no-emergence tasks) with a forecast "
        f"tau={control_tau if control_tau is not None else tau:g} crossing inside the data range that "
        f"the data do not show."
    )
    out = "\n".join(lines) + "\n" + legend
    if n_failed:
        out += (f"\n{n_failed} job(s) failed: see jobs.csv; the summary uses only the splits where "
                "every method succeeded.")
    return out
