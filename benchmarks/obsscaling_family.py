"""How much the model family gains our default method on the obsscaling data (issue 13, item 4).

Backtests ``slice_sandwich`` with its family offsets (the default on task-level data of
several families) and without them (``family=False``), beside observational scaling in both
forms and the compute-only baselines, on the ``obsscaling`` data at a few cut-offs of the
data set's own grid (every 0.5 decade; by default 10^21.5, 10^22.5 and 10^23.5 FLOPs, fixed
before any result was seen), with the backtest harness (same protocol as RESULTS.md).

Prints, per method, the mean over tasks (each task first averaged over its cut-offs) of
MAE, CRPS and 90% coverage for all held-out models and for those of seen and of new
families, the ratio to the best baseline with its paired task-bootstrap interval, and the
emergence Brier scores and skills.

    python benchmarks/obsscaling_family.py [--cutoffs 21.5,22.5,23.5] [--tasks MMLU,GSM8K]
        [--checkpoint DIR] [--jobs 1]
"""

from __future__ import annotations

import argparse
import time

import pandas as pd

from forecast import load_dataset
from forecast.backtest import backtest
from forecast.backtest.bootstrap import paired_ratio_interval

METHODS = [
    "slice_sandwich",
    ("slice_sandwich", {"family": False}),
    "obsscaling",
    "obsscaling_given_scores",
    "family",
    "sigmoid",
    "linear",
]

#: references of the emergence target (issue 13): compute-only logistic fits and obsscaling
EMERGENCE_REFERENCES = ("linear", "sigmoid", "obsscaling")


def paired_ratios(bt, method: str, reference: str, n_boot: int = 2000) -> pd.DataFrame:
    """MAE and CRPS of ``method`` over ``reference``'s, per set of families, on the splits
    both have, tasks (task groups) weighted equally, with a 90% paired task-bootstrap interval."""
    m = bt.metrics()
    m = m[(m["window"] == "all") & m["method"].isin([method, reference]) & (m["n"] > 0)]
    group = load_dataset("obsscaling").tasks.set_index("task")["task_group"]
    m = m.assign(unit=group.reindex(m["task"]).to_numpy())
    rows = []
    for families in ("all", "seen", "new"):
        mf = m[m["families"] == families]
        both = mf.groupby(["task", "cutoff"])["method"].nunique()
        mf = mf.merge(both[both == 2].reset_index()[["task", "cutoff"]], on=["task", "cutoff"])
        row = {"families": families, "method": method, "reference": reference, "n_tasks": mf["unit"].nunique()}
        for value in ("mae", "crps"):
            per_task = mf.groupby(["unit", "method"])[value].mean().reset_index()
            r = paired_ratio_interval(per_task, method, [reference], value=value, n_boot=n_boot, level=0.9,
                                      seed=0, task="unit")
            row.update({f"ratio_{value}": r["ratio"], f"{value}_lo": r["lower"], f"{value}_hi": r["upper"]})
        rows.append(row)
    return pd.DataFrame(rows)


def emergence_skill(bt, method: str, n_boot: int = 2000) -> pd.DataFrame:
    """Brier skill of ``method`` against each of :data:`EMERGENCE_REFERENCES` alone, on the
    scored emergence rows every method has, tasks (task groups) weighted equally, with a
    90% paired task-bootstrap interval."""
    e = bt.emergence
    e = e[e["observed"].notna()]
    keys = ["task", "cutoff", "tau", "budget", "model"]
    methods = sorted(set(e["method"]))
    counts = e.groupby(keys)["method"].nunique()
    e = e.merge(counts[counts == len(methods)].reset_index()[keys], on=keys)
    group = load_dataset("obsscaling").tasks.set_index("task")["task_group"]
    e = e.assign(unit=group.reindex(e["task"]).to_numpy(), brier=(e["p_emerged"] - e["observed"]) ** 2)
    rows = []
    for tau in [*sorted(e["tau"].unique()), "all"]:
        et = e if tau == "all" else e[e["tau"] == tau]
        per_task = et.groupby(["unit", "method"])["brier"].mean().reset_index()
        for ref in EMERGENCE_REFERENCES:
            if ref not in methods or method not in methods:
                continue
            r = paired_ratio_interval(per_task, method, [ref], value="brier", n_boot=n_boot, level=0.9,
                                      seed=0, task="unit")
            rows.append({"tau": tau, "method": method, "reference": ref,
                         "n_rows": int((et["method"] == method).sum()),
                         "n_events": int(et.loc[et["method"] == method, "observed"].sum()),
                         "brier": float(et.loc[et["method"] == method, "brier"].mean()),
                         "brier_ref": float(et.loc[et["method"] == ref, "brier"].mean()),
                         "skill": 1.0 - r["ratio"], "skill_lo": 1.0 - r["upper"], "skill_hi": 1.0 - r["lower"]})
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cutoffs", default="21.5,22.5,23.5", help="log10 FLOPs, comma-separated")
    ap.add_argument("--tasks", default=None, help="comma-separated task names (default: all)")
    ap.add_argument("--checkpoint", default=None, help="job folder (resumable)")
    ap.add_argument("--jobs", type=int, default=1)
    args = ap.parse_args(argv)
    cutoffs = [10.0 ** float(c) for c in args.cutoffs.split(",")]
    start = time.perf_counter()
    bt = backtest("obsscaling", methods=METHODS, tasks=args.tasks.split(",") if args.tasks else None,
                  cutoffs=cutoffs, backend="processes" if args.jobs > 1 else "local", n_jobs=args.jobs,
                  checkpoint=args.checkpoint, resume=args.checkpoint is not None)
    seconds = time.perf_counter() - start
    summary = bt.summary()
    rows = summary[(summary["subset"] == "all") & (summary["window"] == "all")]
    cols = ["families", "method", "n_tasks", "n", "mae", "crps", "cover", "width",
            "ratio_mae", "ratio_mae_lo", "ratio_mae_hi", "ratio_crps", "ratio_crps_lo", "ratio_crps_hi"]
    pd.set_option("display.width", 250)
    pd.set_option("display.max_columns", 30)
    print(f"obsscaling backtest at 10^{args.cutoffs.replace(',', ', 10^')} FLOPs: {seconds:.0f} s")
    for families in ("all", "seen", "new"):
        part = rows[rows["families"] == families][cols].sort_values("crps")
        print(f"\nheld-out models of {families} families")
        print(part.round(4).to_string(index=False))
    for method, reference in (("slice_sandwich", "obsscaling"), ("slice_sandwich", "slice_sandwich(family=False)"),
                              ("obsscaling_given_scores", "obsscaling")):
        print(f"\n{method} over {reference}: MAE and CRPS ratios (90% paired task bootstrap)")
        print(paired_ratios(bt, method, reference).round(4).to_string(index=False))
    em = bt.emergence_summary()
    if not em.empty:
        print("\nemergence (p_emerged per held-out model whose family has not reached tau)")
        print(em.round(4).to_string(index=False))
        for method in ("slice_sandwich", "slice_sandwich(family=False)"):
            print(f"\nemergence Brier skill of {method} against each reference alone (90% task bootstrap)")
            print(emergence_skill(bt, method).round(4).to_string(index=False))


if __name__ == "__main__":
    main()
