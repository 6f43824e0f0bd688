"""The summary of a backtest: per data set x subset of tasks x window x method, the means over
tasks of every score and the ratios to the best honest baseline, each with a 90% paired
bootstrap interval over tasks (:mod:`forecast.backtest.bootstrap`); and the scores of the
emergence probabilities against the baselines and climatology.

The functions take a :class:`~forecast.backtest.results.BacktestResult` (``result``) and read
its tables; tasks are the units (a ``task_group`` of variants counts once).
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from forecast.backtest.bootstrap import paired_ratio_interval, win_loss
from forecast.backtest.emergence import score_events
from forecast.backtest.metrics import FAMILY_SETS, PRED_SCORES, SPLIT_KEYS, WINDOWS
from forecast.backtest.tables import empty_table
from forecast.data.subsets import dataset_subsets

#: subsets of tasks in the summary: every task, and (when it is a proper subset) the pure
#: multiple-choice tasks
MC_SUBSET = "multiple_choice"
#: paired bootstrap over tasks: replicates and level of the ratio intervals
N_BOOT = 1000
RATIO_LEVEL = 0.9


def summary_subsets(result: Any, dataset: str) -> list[tuple[str, Any]]:
    """``(name, mask)`` per subset (all, multiple choice, the data set's own, predictable or not) of a data set's splits; ``mask(frame)`` selects the rows
    of a frame with ``task`` and ``cutoff`` columns."""
    ti = result.task_info[result.task_info["dataset"] == dataset]
    everything = set(ti["task"])

    def tasks_in(tasks):
        return lambda f: f["task"].isin(tasks)

    subsets: list[tuple[str, Any]] = [("all", tasks_in(everything))]
    mc = set(ti.loc[ti["format"] == MC_SUBSET, "task"])
    if mc and mc != everything:
        subsets.append((MC_SUBSET, tasks_in(mc)))
    # the subsets the data set itself declares (BIG-G: its tuning and evaluation halves)
    for spec in dataset_subsets(dataset, everything):
        keep = spec.cutoffs if spec.cutoffs is not None else (lambda c: True)
        subsets.append((spec.name, lambda f, tasks=spec.tasks, keep=keep: f["task"].isin(tasks)
                        & f["cutoff"].map(keep).astype(bool)))
    flags = result.predictability()
    flags = flags[flags["dataset"] == dataset]
    for name, value in (("predictable", True), ("unpredictable", False)):
        keys = {(t, c) for t, c, p in zip(flags["task"], flags["cutoff"], flags["predictable"])
                if p is value}
        if keys:
            subsets.append((name, lambda f, keys=keys: pd.Series(
                [(t, c) in keys for t, c in zip(f["task"], f["cutoff"])], index=f.index, dtype=bool)))
    return subsets


def summary_columns() -> list[str]:
    cols = ["dataset", "subset", "window", "families", "method", "n_tasks", "n_splits", "n"]
    cols += [f"{s}" for s in PRED_SCORES]
    cols += ["thr_n", "thr_crps", "thr_inside", "fe_n", "false_emergence"]
    for r in ("mae", "crps", "is", "thr"):
        cols += [f"ratio_{r}", f"ratio_{r}_lo", f"ratio_{r}_hi", f"best_{r}"]
    cols += ["wins", "losses", "ties"]
    return cols


def summary_table(result: Any, n_boot: int = N_BOOT) -> pd.DataFrame:
    """Per dataset x subset x window x method: means over tasks (each task first averaged
    over its splits) of every score; the threshold scores over eligible splits; ratios of
    MAE, CRPS, interval score and threshold CRPS to the best baseline with a paired
    bootstrap interval over tasks; per-task MAE wins / losses / ties against persistence.
    """
    cols = summary_columns()
    m = result.metrics()
    if m.empty:
        return empty_table(cols)
    m = result.with_unit(m.merge(result.common_splits(), on=SPLIT_KEYS, how="inner"))
    rows = []
    for dataset in sorted(result.task_info["dataset"].unique()):
        for subset, mask in summary_subsets(result, dataset):
            md = m[m["dataset"] == dataset]
            md = md[mask(md)]
            # seen / new family: over all held-out models only (distance bins would be thin)
            for families, window in [("all", w) for w in WINDOWS] + [(f, "all") for f in FAMILY_SETS[1:]]:
                mw = md[(md["window"] == window) & (md["families"] == families) & (md["n"] > 0)]
                if mw.empty:
                    continue
                # tasks are the units: a task (group of variants) is first averaged over its splits
                per_task = mw.groupby(["unit", "method"])[list(PRED_SCORES)].mean().reset_index()
                base = [b for b in result.baselines() if b in set(mw["method"])]
                thr = md[(md["window"] == "all") & (md["families"] == "all") & md["thr_eligible"].astype(bool)]
                for method in result.methods:
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
                    add_ratios(row, mw, thr, method, base, n_boot)
                    if "persistence" in set(mw["method"]) and method != "persistence":
                        wl = win_loss(mw, method, "persistence", "mae", task="unit", keys=("task", "cutoff"))
                        row.update(wins=wl["wins"], losses=wl["losses"], ties=wl["ties"])
                    rows.append(row)
    if not rows:
        return empty_table(cols)
    out = pd.DataFrame(rows)
    for c in cols:
        if c not in out.columns:
            out[c] = math.nan
    return out[cols]


def add_ratios(row: dict[str, Any], mw: pd.DataFrame, thr: pd.DataFrame, method: str,
            base: list[str], n_boot: int) -> None:
    """Ratios of MAE, CRPS, interval score and threshold CRPS of ``method`` to the best of
    ``base`` (the other baselines, for a baseline), with paired bootstrap intervals, into ``row``."""
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


def emergence_units(result: Any) -> dict[tuple[str, Any], tuple[pd.DataFrame, pd.DataFrame]]:
    """Per (dataset, tau or ``"all"``): the scored emergence rows every method has on the
    like-for-like splits (with ``unit``), and the per-unit mean Brier score of every method
    and of climatology (the share of events among the rows of the same tau and distance
    bin), tasks (groups of variants) weighted equally."""
    e = result.emergence
    out: dict[tuple[str, Any], tuple[pd.DataFrame, pd.DataFrame]] = {}
    if e.empty:
        return out
    e = e[e["observed"].notna()]
    e = result.with_unit(e.merge(result.common_splits(), on=SPLIT_KEYS, how="inner"))
    keys = ["dataset", "task", "cutoff", "tau", "budget", "model"]
    for dataset in sorted(e["dataset"].unique()):
        ed = e[e["dataset"] == dataset]
        for tau in [*sorted(ed["tau"].unique()), "all"]:
            et = ed if tau == "all" else ed[ed["tau"] == tau]
            methods = [mm for mm in result.methods if mm in set(et["method"])]
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


def emergence_summary_table(result: Any, n_boot: int = N_BOOT) -> pd.DataFrame:
    """Scores of ``p_emerged`` per dataset x tau (and ``all`` levels pooled) x method, on the
    scored rows every compared method has: Brier score, log score, AUC; the number of
    rows, events and tasks with an event; and the Brier skill against the best of the
    baselines and climatology (the share of events among the same data set's rows of the
    same tau and distance bin) with a paired bootstrap interval over tasks."""
    cols = ["dataset", "tau", "method", "n_rows", "n_events", "n_tasks_event", "brier", "log_score",
            "auc", "skill", "skill_lo", "skill_hi", "reference"]
    rows = []
    for (dataset, tau), (et, per_task) in emergence_units(result).items():
        methods = [mm for mm in result.methods if mm in set(et["method"])]
        base = [b for b in result.baselines() if b in methods] + ["climatology"]
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
        return empty_table(cols)
    out = pd.DataFrame(rows)[cols]
    out["tau"] = out["tau"].astype(str)
    return out
