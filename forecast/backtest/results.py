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
"""

from __future__ import annotations

import math
import zlib
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from forecast.backtest.bootstrap import paired_ratio_interval, win_loss
from forecast.backtest.jobs import PREDICTABILITY
from forecast.backtest.emergence import DISTANCE_LABELS, distance_bin, group_weights, score_events
from forecast.backtest.scoring import cover_scores, interval_score, noise_floor
from forecast.data.readers import write_table
from forecast.methods.registry import names_where

#: the honest baselines ratios are taken against (whichever of them a run has): the
#: registered methods tagged ``is_baseline``
BASELINES = tuple(names_where(is_baseline=True))
#: methods kept for comparison with published figures, never a baseline
REFERENCES = ("published", "paper_sigmoid")
#: windows of held-out models: all, and extrapolation-distance bins (decades past the cut-off)
WINDOWS = ("all", *DISTANCE_LABELS)
#: subsets of tasks in the summary: every task, and (when it is a proper subset) the pure
#: multiple-choice tasks
MC_SUBSET = "multiple_choice"
#: the BIG-G tasks are split in two fixed halves by a hash of the task name: a tuning half
#: (the only place a setting could be chosen by hand, with models <= 1B) and an evaluation half
#: (reported at cut-offs >= 1B: the headline)
TUNING_DATASET = "bigbench_bigg"
#: paired bootstrap over tasks: replicates and level of the ratio intervals
N_BOOT = 1000
RATIO_LEVEL = 0.9

SPLIT_KEYS = ["dataset", "task", "cutoff"]
#: held-out models by whether their family had a fitted model: all, seen, new
FAMILY_SETS = ("all", "seen", "new")
PRED_SCORES = ("mae", "mse", "crps", "interval_score", "cover", "cover_strict", "cover_inclusive",
               "width", "noise_mae", "noise_crps")


def bigg_half(task: str) -> str:
    """``"tuning"`` or ``"evaluation"``: the fixed half of the BIG-G tasks a task is in
    (crc32 of its name, even = tuning)."""
    return "tuning" if zlib.crc32(task.encode("utf-8")) % 2 == 0 else "evaluation"


def _empty(cols: list[str]) -> pd.DataFrame:
    """A table with no rows (typed as floats, except the obvious text columns)."""
    text = {"dataset", "task", "method", "model", "status", "error", "key", "window", "subset",
            "format", "role", "best_mae", "best_crps", "best_is", "best_thr", "reference", "scale"}
    return pd.DataFrame({c: pd.Series(dtype="object" if c in text else "float64") for c in cols})


def _base_name(label: str) -> str:
    return label.split("(", 1)[0]


def _nan_if_none(v: Any) -> float:
    return math.nan if v is None else float(v)


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
        """One row per job: key, dataset, task, method, cutoff, status (ok / skipped / failed),
        error, n_fitted, n_heldout, seconds."""
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

    @property
    def skipped(self) -> pd.DataFrame:
        """The jobs whose method does not apply at that split (too few models, wrong data kind)."""
        j = self.jobs
        return j[j["status"] == "skipped"].reset_index(drop=True)

    @cached_property
    def predictions(self) -> pd.DataFrame:
        """Held-out models only, with their scores (see the module docstring)."""
        cols = ["dataset", "task", "method", "cutoff", "model", "compute", "log10_compute",
                "horizon_dec", "distance_bin", "family", "family_seen", "n_questions", "y_true", "mean",
                "lower", "upper",
                "level", "crps", "pit", "cover", "cover_strict", "cover_inclusive", "interval_score",
                "noise_mae", "noise_crps"]
        frames = []
        for r in self.ok:
            p = pd.DataFrame(r["predictions"])
            for i, (k, v) in enumerate((("dataset", r["dataset"]), ("task", r["task"]),
                                        ("method", r["method"]), ("cutoff", r["cutoff"]))):
                p.insert(i, k, v)
            p["level"] = r["level"]
            frames.append(p)
        if not frames:
            return _empty(cols)
        out = pd.concat(frames, ignore_index=True)
        if "n_questions" not in out.columns:
            out["n_questions"] = np.nan
        if "pit" not in out.columns:
            out["pit"] = np.nan
        if "family" not in out.columns:  # results of older code
            out["family"] = None
        if "family_seen" not in out.columns:
            out["family_seen"] = np.nan
        y, lo, hi = (out[c].to_numpy(dtype=float) for c in ("y_true", "lower", "upper"))
        out["cover"], out["cover_strict"], out["cover_inclusive"] = cover_scores(y, lo, hi)
        out["interval_score"] = interval_score(y, lo, hi, self.level)
        floor = noise_floor(y, out["n_questions"].to_numpy(dtype=float))
        out["noise_mae"], out["noise_crps"] = floor["mae"], floor["crps"]
        out["distance_bin"] = distance_bin(out["horizon_dec"].to_numpy(dtype=float))
        out = out[cols]
        return out.sort_values(["dataset", "task", "method", "cutoff", "compute", "model"],
                               kind="mergesort").reset_index(drop=True)

    @cached_property
    def thresholds(self) -> pd.DataFrame:
        """One row per job: forecast and observed thresholds at ``tau`` (raw compute) and their
        scores: ``eligible`` (the data had not crossed at the cut-off), ``thr_crps``,
        ``inside_bracket``, ``never_crosses`` (the data never reach tau), ``false_emergence``."""
        cols = ["dataset", "task", "method", "cutoff", "tau", "estimate", "lower", "upper",
                "upper_censored", "p_reached", "search_max", "observed_fitted", "observed",
                "max_compute", "bracket_lo", "bracket_hi", "eligible", "thr_crps", "inside_bracket",
                "never_crosses", "false_emergence", "error_dec"]
        rows = []
        for r in self.ok:
            for t in r["thresholds"]:
                row = {"dataset": r["dataset"], "task": r["task"], "method": r["method"],
                       "cutoff": r["cutoff"]}
                for k in cols[4:17]:
                    v = t.get(k)
                    row[k] = v if isinstance(v, bool) else _nan_if_none(v)
                row["thr_crps"] = _nan_if_none(t.get("thr_crps"))
                eligible = t.get("observed_fitted") is None
                never = t.get("observed") is None
                est = t.get("estimate")
                row["eligible"] = eligible
                row["inside_bracket"] = bool(t.get("inside_bracket")) if eligible else None
                row["never_crosses"] = never
                row["false_emergence"] = (bool(est is not None and est <= t["max_compute"] * (1 + 1e-12))
                                          if eligible and never else None)
                row["error_dec"] = (math.log10(est) - math.log10(t["observed"])
                                    if est is not None and not never else math.nan)
                rows.append(row)
        if not rows:
            return _empty(cols)
        out = pd.DataFrame(rows)[cols]
        return out.sort_values(["dataset", "task", "method", "cutoff"], kind="mergesort").reset_index(drop=True)

    @cached_property
    def emergence(self) -> pd.DataFrame:
        """``emergence.csv``: dataset, task, method, cutoff, tau, budget, distance_dec,
        distance_bin, beyond, p_emerged, observed (empty: not scored -- budget past the largest
        model, or a task of fewer than 50 questions)."""
        cols = ["dataset", "task", "method", "cutoff", "tau", "budget", "model", "family", "family_seen",
                "distance_dec", "distance_bin", "beyond", "p_emerged", "observed"]
        rows = []
        for r in self.ok:
            for e in r.get("emergence", []):
                rows.append({"dataset": r["dataset"], "task": r["task"], "method": r["method"],
                             "cutoff": r["cutoff"], **e})
        if not rows:
            return _empty(cols)
        out = pd.DataFrame(rows)
        out["observed"] = out["observed"].astype(float)
        out["distance_bin"] = distance_bin(out["distance_dec"].to_numpy(dtype=float))
        # a budget row (a task's crossing) names no model; a per-model row (many families) does
        out["model"] = out["model"].fillna("") if "model" in out.columns else ""
        out["family"] = out["family"] if "family" in out.columns else None
        out["family_seen"] = out["family_seen"] if "family_seen" in out.columns else np.nan
        return out[cols].sort_values(["dataset", "task", "method", "cutoff", "tau", "budget", "model"],
                                     kind="mergesort").reset_index(drop=True)

    @cached_property
    def curves(self) -> pd.DataFrame:
        """Each job's forecast (mean, observed-score interval) on a compute grid."""
        frames = []
        for r in self.ok:
            c = pd.DataFrame(r["curve"])
            for i, (k, v) in enumerate((("dataset", r["dataset"]), ("task", r["task"]),
                                        ("method", r["method"]), ("cutoff", r["cutoff"]),
                                        ("order", r["order"]))):
                c.insert(i, k, v)
            frames.append(c)
        cols = ["dataset", "task", "method", "cutoff", "order", "compute", "mean", "lower", "upper"]
        if not frames:
            return _empty(cols)
        return pd.concat(frames, ignore_index=True)[cols]

    def learned(self) -> pd.DataFrame:
        """The settings learned at each (dataset, method, cut-off), one column each."""
        rows = []
        for c in self.contexts:
            if c.get("method") == PREDICTABILITY:
                continue
            row = {"dataset": c["dataset"], "method": c["method"], "cutoff": c["cutoff"],
                   "status": c["status"]}
            for k, v in (c.get("context") or {}).items():
                if isinstance(v, (int, float, str, bool)) or v is None:
                    row[k] = v
                elif isinstance(v, list):
                    row[k] = " ".join(f"{x:.4g}" if isinstance(x, float) else str(x) for x in v)
            rows.append(row)
        if not rows:
            return _empty(["dataset", "method", "cutoff", "status"])
        return pd.DataFrame(rows).sort_values(["dataset", "method", "cutoff"]).reset_index(drop=True)

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

    def _info(self) -> dict[tuple[str, str], dict[str, Any]]:
        return {(row.dataset, row.task): row._asdict() for row in self.task_info.itertuples(index=False)}

    # ------------------------------------------------------------------ metrics
    def metrics(self) -> pd.DataFrame:
        """Per dataset x task x method x cut-off x window: ``n`` and the means of
        :data:`PRED_SCORES` (``mae``/``mse`` of the predictive mean), and the split's threshold
        scores (``thr_eligible``, ``thr_crps``, ``thr_inside``, ``false_emergence``)."""
        cols = ["dataset", "task", "format", "method", "cutoff", "window", "families", "n", *PRED_SCORES,
                "thr_eligible", "thr_crps", "thr_inside", "false_emergence"]
        pred = self.predictions
        if pred.empty:
            return _empty(cols)
        pred = pred.assign(err=pred["mean"] - pred["y_true"])
        pred = pred.assign(mae=pred["err"].abs(), mse=pred["err"] ** 2, width=pred["upper"] - pred["lower"])
        scores = [c for c in PRED_SCORES]
        frames = []
        multi = self.multi_family_datasets()
        seen = pred["family_seen"].astype(object)
        for families in FAMILY_SETS:
            if families == "all":
                fam = pred
            else:  # only data of many families are split by family
                fam = pred[pred["dataset"].isin(multi) & (seen == (families == "seen")).to_numpy()]
            for window in WINDOWS:
                sub = fam if window == "all" else fam[fam["distance_bin"] == window]
                if sub.empty:
                    continue
                g = sub.groupby(SPLIT_KEYS[:2] + ["method", "cutoff"], sort=True)
                agg = g[scores].mean()
                agg["n"] = g.size()
                agg = agg.reset_index()
                agg["window"] = window
                agg["families"] = families
                frames.append(agg)
        out = pd.concat(frames, ignore_index=True)
        th = self.thresholds[["dataset", "task", "method", "cutoff", "eligible", "thr_crps",
                              "inside_bracket", "false_emergence"]].rename(
            columns={"eligible": "thr_eligible", "inside_bracket": "thr_inside"})
        out = out.merge(th, on=["dataset", "task", "method", "cutoff"], how="left")
        info = self.task_info.set_index(["dataset", "task"])["format"]
        out["format"] = [info.get((d, t)) for d, t in zip(out["dataset"], out["task"])]
        out["window"] = pd.Categorical(out["window"], WINDOWS, ordered=True)
        out["families"] = pd.Categorical(out["families"], FAMILY_SETS, ordered=True)
        out = out.sort_values(["dataset", "task", "method", "cutoff", "families", "window"], kind="mergesort")
        out["window"] = out["window"].astype(str)
        out["families"] = out["families"].astype(str)
        return out[cols].reset_index(drop=True)

    def calibration(self, common: bool = True) -> pd.DataFrame:
        """Nominal vs observed coverage (a value on a bound counts half) per dataset x method x
        window x level; with ``common`` only the like-for-like splits count."""
        keep = self._common_set() if common else None
        acc: dict[tuple, list[float]] = {}
        for r in self.ok:
            if keep is not None and (r["dataset"], r["task"], r["cutoff"]) not in keep:
                continue
            bins = distance_bin(np.asarray(r["predictions"]["horizon_dec"], dtype=float))
            covered = np.asarray(r["calibration"]["covered"], dtype=float)
            for window in WINDOWS:
                mask = np.ones(bins.shape, bool) if window == "all" else bins == window
                for level, row in zip(r["calibration"]["levels"], covered):
                    slot = acc.setdefault((r["dataset"], r["method"], window, float(level)), [0, 0.0])
                    slot[0] += int(mask.sum())
                    slot[1] += float(row[mask].sum())
        rows = [{"dataset": d, "method": m, "window": w, "nominal": lv, "n": n,
                 "coverage": (k / n) if n else math.nan} for (d, m, w, lv), (n, k) in acc.items()]
        cols = ["dataset", "method", "window", "nominal", "n", "coverage"]
        if not rows:
            return _empty(cols)
        out = pd.DataFrame(rows)[cols]
        out["window"] = pd.Categorical(out["window"], WINDOWS, ordered=True)
        out = out.sort_values(["dataset", "method", "window", "nominal"])
        out["window"] = out["window"].astype(str)
        return out.reset_index(drop=True)

    def pit(self) -> pd.DataFrame:
        """Randomised PIT histogram per dataset x method (10 bins; uniform when calibrated),
        with the Kolmogorov-Smirnov statistic against Uniform(0, 1)."""
        from forecast.backtest.scoring import pit_uniformity

        pred = self.predictions.merge(self.common_splits(), on=SPLIT_KEYS, how="inner")
        rows = []
        for (dataset, method), g in pred.groupby(["dataset", "method"], sort=True):
            values = g["pit"].to_numpy(dtype=float)
            values = values[np.isfinite(values)]
            if values.size == 0:
                continue
            u = pit_uniformity(values)
            row = {"dataset": dataset, "method": method, "n": int(values.size), "ks": u["ks"],
                   "ks_p": u["ks_pvalue"], "max_dev": u["max_dev"]}
            for i, c in enumerate(u["counts"]):
                row[f"bin{i}"] = int(c)
            rows.append(row)
        if not rows:
            return _empty(["dataset", "method", "n", "ks", "ks_p", "max_dev"])
        return pd.DataFrame(rows)

    # ------------------------------------------------------------------ like for like
    def common_splits(self) -> pd.DataFrame:
        """Splits on which no method failed and every baseline present in the data set
        succeeded (methods skipped on a split are simply absent there)."""
        j = self.jobs
        if j.empty:
            return _empty(SPLIT_KEYS)
        present = {(d, m) for d, m in zip(j.loc[j["status"] == "ok", "dataset"], j.loc[j["status"] == "ok", "method"])}
        keep = []
        for key, g in j.groupby(SPLIT_KEYS, sort=True):
            status = dict(zip(g["method"], g["status"]))
            if "failed" in status.values():
                continue
            if any(status.get(b) != "ok" for b in self.baselines() if (key[0], b) in present):
                continue
            if any(s == "ok" for s in status.values()):
                keep.append(key)
        if not keep:
            return _empty(SPLIT_KEYS)
        return pd.DataFrame(keep, columns=SPLIT_KEYS)

    def _common_set(self) -> set[tuple[str, str, float]]:
        return set(self.common_splits().itertuples(index=False, name=None))

    def predictability(self) -> pd.DataFrame:
        """Per dataset x task x cut-off: ``predictable`` (True / False / None = unknown) and its
        ``score``, computed from the fitted models alone (:mod:`forecast.predictability`)."""
        rows = []
        for c in self.contexts:
            if c.get("method") != PREDICTABILITY or c.get("status") != "ok":
                continue
            ctx = c["context"]
            for task, flag in ctx["predictable"].items():
                rows.append({"dataset": c["dataset"], "task": task, "cutoff": c["cutoff"],
                             "predictable": flag, "score": ctx["score"].get(task)})
        if not rows:
            return _empty(["dataset", "task", "cutoff", "predictable", "score"])
        return pd.DataFrame(rows).sort_values(SPLIT_KEYS).reset_index(drop=True)

    def _subsets(self, dataset: str) -> list[tuple[str, Any]]:
        """``(name, mask)`` per subset of a data set's splits; ``mask(frame)`` selects the rows
        of a frame with ``task`` and ``cutoff`` columns."""
        ti = self.task_info[self.task_info["dataset"] == dataset]
        everything = set(ti["task"])

        def tasks_in(tasks):
            return lambda f: f["task"].isin(tasks)

        subsets: list[tuple[str, Any]] = [("all", tasks_in(everything))]
        mc = set(ti.loc[ti["format"] == MC_SUBSET, "task"])
        if mc and mc != everything:
            subsets.append((MC_SUBSET, tasks_in(mc)))
        if dataset == TUNING_DATASET:
            # the evaluation half at cut-offs >= 1B (the headline), the tuning half at <= 1B
            for half, name, keep in (("evaluation", "eval_half_1B+", lambda c: c >= 1e9 * (1 - 1e-9)),
                                     ("tuning", "tune_half_<=1B", lambda c: c <= 1e9 * (1 + 1e-9))):
                tasks = {t for t in everything if bigg_half(t) == half}
                if tasks and tasks != everything:
                    subsets.append((name, lambda f, tasks=tasks, keep=keep: f["task"].isin(tasks)
                                    & f["cutoff"].map(keep).astype(bool)))
        flags = self.predictability()
        flags = flags[flags["dataset"] == dataset]
        for name, value in (("predictable", True), ("unpredictable", False)):
            keys = {(t, c) for t, c, p in zip(flags["task"], flags["cutoff"], flags["predictable"])
                    if p is value}
            if keys:
                subsets.append((name, lambda f, keys=keys: pd.Series(
                    [(t, c) in keys for t, c in zip(f["task"], f["cutoff"])], index=f.index, dtype=bool)))
        return subsets

    # ------------------------------------------------------------------ summary
    @staticmethod
    def summary_columns() -> list[str]:
        cols = ["dataset", "subset", "window", "families", "method", "n_tasks", "n_splits", "n"]
        cols += [f"{s}" for s in PRED_SCORES]
        cols += ["thr_n", "thr_crps", "thr_inside", "fe_n", "false_emergence"]
        for r in ("mae", "crps", "is", "thr"):
            cols += [f"ratio_{r}", f"ratio_{r}_lo", f"ratio_{r}_hi", f"best_{r}"]
        cols += ["wins", "losses", "ties"]
        return cols

    def summary(self, n_boot: int = N_BOOT) -> pd.DataFrame:
        """Per dataset x subset x window x method: means over tasks (each task first averaged
        over its splits) of every score; the threshold scores over eligible splits; ratios of
        MAE, CRPS, interval score and threshold CRPS to the best baseline with a paired
        bootstrap interval over tasks; per-task MAE wins / losses / ties against persistence.
        """
        cols = self.summary_columns()
        m = self.metrics()
        if m.empty:
            return _empty(cols)
        m = self.with_unit(m.merge(self.common_splits(), on=SPLIT_KEYS, how="inner"))
        rows = []
        for dataset in sorted(self.task_info["dataset"].unique()):
            for subset, mask in self._subsets(dataset):
                md = m[m["dataset"] == dataset]
                md = md[mask(md)]
                # seen / new family: over all held-out models only (distance bins would be thin)
                for families, window in [("all", w) for w in WINDOWS] + [(f, "all") for f in FAMILY_SETS[1:]]:
                    mw = md[(md["window"] == window) & (md["families"] == families) & (md["n"] > 0)]
                    if mw.empty:
                        continue
                    # tasks are the units: a task (group of variants) is first averaged over its splits
                    per_task = mw.groupby(["unit", "method"])[list(PRED_SCORES)].mean().reset_index()
                    base = [b for b in self.baselines() if b in set(mw["method"])]
                    thr = md[(md["window"] == "all") & (md["families"] == "all") & md["thr_eligible"].astype(bool)]
                    for method in self.methods:
                        mm = mw[mw["method"] == method]
                        if mm.empty:
                            continue
                        row: dict[str, Any] = {"dataset": dataset, "subset": subset, "window": window,
                                               "families": families, "method": method,
                                               "n_splits": int(len(mm)), "n": int(mm["n"].sum())}
                        pt = per_task[per_task["method"] == method]
                        row["n_tasks"] = int(len(pt))
                        for s in PRED_SCORES:
                            row[s] = float(pt[s].mean())
                        tm = thr[thr["method"] == method]
                        tm_task = tm.groupby("unit")[["thr_crps"]].mean()
                        row["thr_n"] = int(len(tm))
                        row["thr_crps"] = float(tm_task["thr_crps"].mean()) if len(tm_task) else math.nan
                        row["thr_inside"] = (float(tm["thr_inside"].astype(float).mean()) if len(tm) else math.nan)
                        fe = tm["false_emergence"].dropna()
                        row["fe_n"] = int(len(fe))
                        row["false_emergence"] = float(fe.astype(float).mean()) if len(fe) else math.nan
                        self._ratios(row, mw, thr, method, base, n_boot)
                        if "persistence" in set(mw["method"]) and method != "persistence":
                            wl = win_loss(mw, method, "persistence", "mae", task="unit", keys=("task", "cutoff"))
                            row.update(wins=wl["wins"], losses=wl["losses"], ties=wl["ties"])
                        rows.append(row)
        if not rows:
            return _empty(cols)
        out = pd.DataFrame(rows)
        for c in cols:
            if c not in out.columns:
                out[c] = math.nan
        return out[cols]

    @staticmethod
    def _ratios(row: dict[str, Any], mw: pd.DataFrame, thr: pd.DataFrame, method: str,
                base: list[str], n_boot: int) -> None:
        for short, frame, value in (("mae", mw, "mae"), ("crps", mw, "crps"), ("is", mw, "interval_score"),
                                    ("thr", thr, "thr_crps")):
            others = [b for b in base if b != method]  # a baseline is compared with the others
            out = {"ratio": math.nan, "lower": math.nan, "upper": math.nan, "best_baseline": None}
            f = frame[frame["method"].isin([method, *others])].dropna(subset=[value])
            if others and method in set(f["method"]) and set(others) & set(f["method"]):
                others = [b for b in others if b in set(f["method"])]
                try:
                    out = paired_ratio_interval(f, method, others, value=value, n_boot=n_boot,
                                                level=RATIO_LEVEL, seed=0, task="unit",
                                                keys=("task", "cutoff"))
                except Exception:  # a table without a shared split: no ratio
                    pass
            row[f"ratio_{short}"] = out["ratio"]
            row[f"ratio_{short}_lo"] = out["lower"]
            row[f"ratio_{short}_hi"] = out["upper"]
            row[f"best_{short}"] = out["best_baseline"]

    def emergence_units(self) -> dict[tuple[str, Any], tuple[pd.DataFrame, pd.DataFrame]]:
        """Per (dataset, tau or ``"all"``): the scored emergence rows every method has on the
        like-for-like splits (with ``unit``), and the per-unit mean Brier score of every method
        and of climatology (the share of events among the rows of the same tau and distance
        bin), tasks (groups of variants) weighted equally."""
        e = self.emergence
        out: dict[tuple[str, Any], tuple[pd.DataFrame, pd.DataFrame]] = {}
        if e.empty:
            return out
        e = e[e["observed"].notna()]
        e = self.with_unit(e.merge(self.common_splits(), on=SPLIT_KEYS, how="inner"))
        keys = ["dataset", "task", "cutoff", "tau", "budget", "model"]
        for dataset in sorted(e["dataset"].unique()):
            ed = e[e["dataset"] == dataset]
            for tau in [*sorted(ed["tau"].unique()), "all"]:
                et = ed if tau == "all" else ed[ed["tau"] == tau]
                methods = [mm for mm in self.methods if mm in set(et["method"])]
                counts = et.groupby(keys)["method"].nunique()
                shared = counts[counts == len(methods)].reset_index()[keys]
                et = et.merge(shared, on=keys, how="inner")
                if et.empty:
                    continue
                clim = et[et["method"] == methods[0]].copy()
                clim["p_emerged"] = clim.groupby(["tau", "distance_bin"])["observed"].transform("mean")
                clim["method"] = "climatology"
                both = pd.concat([et, clim], ignore_index=True)
                both["brier"] = (both["p_emerged"] - both["observed"]) ** 2
                out[(dataset, tau)] = (et, both.groupby(["unit", "method"])["brier"].mean().reset_index())
        return out

    def emergence_summary(self, n_boot: int = N_BOOT) -> pd.DataFrame:
        """Scores of ``p_emerged`` per dataset x tau (and ``all`` levels pooled) x method, on the
        scored rows every compared method has: Brier score, log score, AUC; the number of
        rows, events and tasks with an event; and the Brier skill against the best of the
        baselines and climatology (the share of events among the same data set's rows of the
        same tau and distance bin) with a paired bootstrap interval over tasks."""
        cols = ["dataset", "tau", "method", "n_rows", "n_events", "n_tasks_event", "brier", "log_score",
                "auc", "skill", "skill_lo", "skill_hi", "reference"]
        rows = []
        for (dataset, tau), (et, per_task) in self.emergence_units().items():
            methods = [mm for mm in self.methods if mm in set(et["method"])]
            base = [b for b in self.baselines() if b in methods] + ["climatology"]
            for method in methods:
                em = et[et["method"] == method]
                sc = score_events(em.assign(dataset=dataset), group=("dataset", "unit"))
                row = {"dataset": dataset, "tau": tau, "method": method, "n_rows": sc["n_rows"],
                       "n_events": sc["n_events"], "n_tasks_event": sc["n_tasks_with_event"],
                       "brier": sc["brier"], "log_score": sc["log_score"], "auc": sc["auc"]}
                others = [b for b in base if b != method]
                r = paired_ratio_interval(per_task, method, others, value="brier", n_boot=n_boot,
                                          level=RATIO_LEVEL, seed=0, task="unit")
                row.update(skill=1.0 - r["ratio"], skill_lo=1.0 - r["upper"], skill_hi=1.0 - r["lower"],
                           reference=r["best_baseline"])
                rows.append(row)
        if not rows:
            return _empty(cols)
        out = pd.DataFrame(rows)[cols]
        out["tau"] = out["tau"].astype(str)
        return out

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


def _fmt(v: Any, digits: int = 3) -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "-"
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        return f"{float(v):.{digits}g}" if abs(v) >= 1e-3 or v == 0 else f"{float(v):.1e}"
    return str(v)


def _table(cells: list[list[str]], n_left: int) -> list[str]:
    widths = [max(len(r[i]) for r in cells) for i in range(len(cells[0]))]
    return [" ".join(c.ljust(w) if i < n_left else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
            for r in cells]


def _ratio_cell(row: dict, short: str) -> str:
    r = row.get(f"ratio_{short}")
    if r is None or not np.isfinite(r):
        return "-"
    return f"{r:.2f} [{row[f'ratio_{short}_lo']:.2f},{row[f'ratio_{short}_hi']:.2f}]"


def format_summary(summary: pd.DataFrame, emergence: pd.DataFrame | None, level: float, tau: float,
                   n_failed: int = 0, n_skipped: int = 0, wide: bool = False) -> str:
    """Text tables of the summary (window ``all``; every window with ``wide``) and of the
    emergence scores, with a short legend."""
    s = summary if wide else summary[summary["window"] == "all"]
    # one block per dataset (its name as a title line), so the default table fits 100 columns
    head = ["subset", "method", "n", "MAE", "CRPS", "cover", "MAE/base", "CRPS/base", "thrCRPS"]
    if wide:
        head = ["subset", "window"] + head[1:] + ["IS/base", "thr/base", "thr_in", "false_em", "noiseMAE", "W/L"]
    lines: list[str] = []
    cells = [head]
    for dataset, block in s.groupby("dataset", sort=False):
        rows = [head]
        for row in block.to_dict("records"):
            fam = row.get("families", "all")
            window = row["window"] if fam in ("all", None) or pd.isna(fam) else f"{fam} family"
            subset = str(row["subset"]) if window == "all" or wide else f"{row['subset']} ({window})"
            line = [subset[:22]] + ([window] if wide else []) + [
                str(row["method"])[:17], _fmt(row["n_tasks"]), _fmt(row["mae"]), _fmt(row["crps"]),
                _fmt(row["cover"], 2), _ratio_cell(row, "mae"), _ratio_cell(row, "crps"), _fmt(row["thr_crps"])]
            if wide:
                wl = "-" if pd.isna(row.get("wins")) else f"{int(row['wins'])}/{int(row['losses'])}"
                line += [_ratio_cell(row, "is"), _ratio_cell(row, "thr"), _fmt(row["thr_inside"], 2),
                         _fmt(row["false_emergence"], 2), _fmt(row["noise_mae"]), wl]
            rows.append(line)
        cells += rows[1:]
        lines += [f"== {dataset}"] + _table(rows, 3 if wide else 2)
    lines += [
        f"n: tasks; means over tasks; cover: share in the {level:g} interval, a bound counts half",
        "X/base: ratio to the best baseline [90% paired bootstrap over tasks]; thrCRPS: CRPS of",
        f"log10 threshold at tau={tau:g} (capped at the largest held-out model), eligible splits",
    ]
    if emergence is not None and len(emergence):
        e_cells = [["dataset", "tau", "method", "rows", "events", "Brier", "AUC", "skill [90%]", "vs"]]
        for row in emergence.to_dict("records"):
            skill = ("-" if not np.isfinite(row["skill"]) else
                     f"{row['skill']:.2f} [{row['skill_lo']:.2f},{row['skill_hi']:.2f}]")
            e_cells.append([str(row["dataset"])[:14], str(row["tau"]), str(row["method"])[:17],
                            _fmt(row["n_rows"]), _fmt(row["n_events"]), _fmt(row["brier"]),
                            _fmt(row["auc"], 2), skill, str(row["reference"])[:17]])
        lines += ["", "will it emerge by budget B? p_emerged scored (tau: share of the way from chance to perfect)"]
        lines += _table(e_cells, 3)
    if any(c == "-" or c.startswith("- ") for r in cells[1:] for c in r[2:]):
        lines.append("-: not defined there (no eligible split, or nothing to compare with)")
    if n_skipped:
        lines.append(f"{n_skipped} job(s) skipped (method not applicable there; see jobs.csv)")
    if n_failed:
        lines.append(f"{n_failed} job(s) failed: see jobs.csv; their splits are left out of the summary")
    return "\n".join(lines)
