"""The ladder's tuning split: every design choice of the ladder methods is made here, never on 7B/13B.

Pseudo-targets inside the ladder stand in for the real targets: the largest ladder size(s)
are held out and forecast from the smaller runs, as the 7B and 13B models are forecast from
the whole ladder.  Four splits (sizes; every run of a size is held out, so the pseudo-target
has more parameters than any fitted run, like the real targets):

* ``paper:1B<-760M``: the paper's 16 runs; fit 190M-760M (12 runs), forecast the four 1B runs;
* ``paper:760M+1B<-370M``: fit 190M-370M (8 runs), forecast 760M and 1B;
* ``all:3B<-1B``: all 25 runs; fit 190M-1B (20 runs), forecast the five 3B runs;
* ``all:1B+3B<-760M``: fit 190M-760M (15 runs), forecast 1B and 3B.

The real targets and the re-run twins are dropped from the data; the pseudo-targets get the
role ``target`` (never fitted).  Each candidate is scored like the targets in
``benchmarks/ladder.py`` (same code): mean absolute error over the paper's eight tasks (MMLU =
AI2's weighted category mean) and over ten, and 90% interval coverage (the candidate's
context learned on pseudo-cut-offs *inside* the split's fitted runs).  The selection rule,
fixed before running: lowest mean over the four splits of the eight-task MAE; a difference
under 0.1 points is a tie, broken by the simpler candidate.

    python benchmarks/ladder_tuning.py [--methods two_step,two_step_slp,two_step_chance_floor]
"""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path

import pandas as pd

from forecast import load_dataset

_spec = importlib.util.spec_from_file_location("ladder_bench", Path(__file__).with_name("ladder.py"))
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)

SIZES = ("190M", "370M", "760M", "1B", "3B")
MULTIPLES = {"paper": ("1", "2", "5", "10"), "all": ("0.5", "1", "2", "5", "10")}
#: name: (config, sizes fitted, sizes held out as pseudo-targets)
SPLITS = {
    "paper:1B<-760M": ("paper", SIZES[:3], ("1B",)),
    "paper:760M+1B<-370M": ("paper", SIZES[:2], ("760M", "1B")),
    "all:3B<-1B": ("all", SIZES[:4], ("3B",)),
    "all:1B+3B<-760M": ("all", SIZES[:3], ("1B", "3B")),
}


def pseudo_data(config: str, fit_sizes: tuple[str, ...], target_sizes: tuple[str, ...]):
    """The config's data with only the fitted and pseudo-target runs; pseudo-targets get role
    ``target``; the cut-off is the largest fitted run's compute."""
    import dataclasses

    data = load_dataset(bench.CONFIGS[config])
    runs = lambda sizes: [f"{s}-{m}xC" for s in sizes for m in MULTIPLES[config]]  # noqa: E731
    fit, targets = runs(fit_sizes), runs(target_sizes)
    data = data.drop_models(set(data.models["model"]) - set(fit) - set(targets))
    models = data.models.copy()
    models.loc[models["model"].isin(targets), "role"] = "target"
    data = dataclasses.replace(data, models=models)
    cutoff = float(models.loc[models["model"].isin(fit), "flops"].max())
    return data, cutoff, tuple(targets)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--methods", default="two_step_chance_floor,two_step,two_step_slp")
    ap.add_argument("--splits", default=",".join(SPLITS))
    ap.add_argument("--out", help="CSV file for the per split x task x target x method rows")
    ap.add_argument("--rows", help="comma-separated CSV files written by --out: print their tables, run nothing")
    args = ap.parse_args()
    if args.rows:
        report(pd.concat([pd.read_csv(f) for f in args.rows.split(",") if f], ignore_index=True))
        return
    methods = [m for m in args.methods.split(",") if m]
    tables = []
    for name in [s for s in args.splits.split(",") if s]:
        data, cutoff, targets = pseudo_data(*SPLITS[name])
        tables.append(bench.forecast_targets(data, cutoff, targets, methods, name))
    table = pd.concat(tables, ignore_index=True)
    if args.out:
        table.to_csv(args.out, index=False)
    report(table)


def report(table: pd.DataFrame) -> None:
    """Print the per-split and pooled tables of the rows (split x task x target x method)."""
    rows = []
    table = table.assign(interval_score=bench.interval_score(table))
    for (split, method), g in table.groupby(["config", "method"]):
        for label, tasks in (("main8", bench.MAIN8), ("all10", bench.ALL10)):
            sub = g[g["task"].isin(tasks)]
            rows.append({"split": split, "method": method, "tasks": label, "MAE": sub["error"].abs().mean(),
                         "coverage90": sub["covered"].mean(), "interval_score": sub["interval_score"].mean(),
                         "big_misses": len(bench.big_misses(sub)), "n": len(sub)})
    per = pd.DataFrame(rows)
    print("\n## Pseudo-targets inside the ladder: MAE (points) and 90% coverage per split")
    print(bench.markdown(per.round(3)))
    mean = per.groupby(["method", "tasks"]).agg(MAE=("MAE", "mean"), coverage90=("coverage90", "mean"),
                                                interval_score=("interval_score", "mean"),
                                                big_misses=("big_misses", "sum"), n=("n", "sum")).reset_index()
    print("\n## Mean over the splits (the selection score: main8 MAE; for interval changes: all10 interval score)")
    print(bench.markdown(mean.round(3)))
    pooled = []
    for method, g in table.groupby("method"):
        for label, tasks in (("main8", bench.MAIN8), ("all10", bench.ALL10)):
            sub = g[g["task"].isin(tasks)]
            pooled.append({"method": method, "tasks": label, "coverage90": sub["covered"].mean(),
                           "interval_score": sub["interval_score"].mean(), "mean_width": sub["width"].mean(),
                           "big_misses": len(bench.big_misses(sub)), "n": len(sub)})
    print("\n## Pooled over every split x task x pseudo-target (the rule for interval changes: all10)")
    print(bench.markdown(pd.DataFrame(pooled).round(3)))
    print(f"\n## Misses over {bench.BIG_MISS:g} points outside the 90% interval")
    print(bench.markdown(bench.big_misses(table)[["config", "method", "task", "target", "error", "width"]].round(2)))


if __name__ == "__main__":
    main()
