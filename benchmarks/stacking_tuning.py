"""Tuning runs of the mixture in ``slice_sandwich`` (see ``benchmarks/STACKING_TUNING.md``).

Backtests the candidates ``slice_sandwich()``, ``slice_sandwich(calibrate=False)`` and
``slice_sandwich(combine=None)`` with the baselines, on one serial worker, on either tuning set:

    python benchmarks/stacking_tuning.py groups --out /tmp/tune_groups
    python benchmarks/stacking_tuning.py groups --round spacing --backend processes --out /tmp/tune2_groups
    python benchmarks/stacking_tuning.py bigg_tune --out /tmp/tune_bigg
    python benchmarks/stacking_tuning.py final --out /tmp/bt_stack [--resume]
    python benchmarks/stacking_tuning.py show --out /tmp/bt_stack --dataset bigbench_bigg --subset "tune_half_<=1B"

``groups``: the group data set ``slice_sandwich`` at its rolling cut-offs; ``bigg_tune``: the
BIG-G tuning half (tasks with even crc32 of the name) at the cut-offs up to 1B; ``final``: both
data sets at their default cut-offs with ``family`` as well (the group data's jobs are those of
``groups``: copy its ``jobs/`` folder in and pass ``--resume`` to reuse them).  ``show`` prints
one subset of a saved run's ``summary.csv`` per distance window (the tuning subsets first: the
evaluation half is read only after the choice).
"""

from __future__ import annotations

import argparse

import pandas as pd

from forecast.backtest import backtest
from forecast.backtest.results import bigg_half
from forecast.data import load_data
from forecast.tuning import rolling_cutoffs

CANDIDATES = [("slice_sandwich", {}), ("slice_sandwich", {"calibrate": False}),
              ("slice_sandwich", {"combine": None})]
#: round 2 (STACKING_TUNING.md): pseudo-cut-offs spread over distances against the default
ROUNDS = {"combine": CANDIDATES,
          "spacing": [("slice_sandwich", {}), ("slice_sandwich", {"n_pseudo": 6, "pseudo_spacing": 0.25})]}
BASELINES = ["sigmoid", "persistence", "persistence_drift", "linear"]
COLUMNS = ["window", "method", "n_tasks", "n", "mae", "crps", "interval_score", "cover", "ratio_mae",
           "ratio_crps", "ratio_crps_lo", "ratio_crps_hi", "ratio_is", "thr_crps"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("which", choices=["groups", "bigg_tune", "final", "show"])
    parser.add_argument("--out", required=True)
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--dataset", default="slice_sandwich")
    parser.add_argument("--subset", default="all")
    parser.add_argument("--round", default="combine", choices=sorted(ROUNDS),
                        help="which candidates: round 1 (combine, calibrate) or round 2 (spacing)")
    parser.add_argument("--backend", default="local", choices=["local", "processes"])
    args = parser.parse_args()
    if args.which == "show":
        s = pd.read_csv(f"{args.out}/summary.csv")
        s = s[(s["dataset"] == args.dataset) & (s["subset"] == args.subset) & (s["families"] == "all")]
        with pd.option_context("display.width", 220, "display.max_columns", 30, "display.max_rows", 200):
            print(s[COLUMNS + ["cover_strict", "cover_inclusive", "ratio_mae_lo", "ratio_mae_hi", "ratio_is_lo",
                               "ratio_is_hi", "ratio_thr"]].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
        return
    if args.which == "final":
        bt = backtest(["slice_sandwich", "bigbench_bigg"], methods=CANDIDATES + BASELINES + ["family"],
                      backend="local", checkpoint=args.out, resume=args.resume, progress=False)
        bt.save(args.out)
        return
    if args.which == "groups":
        data, tasks, cutoffs, subset = "slice_sandwich", None, None, "all"
    else:
        bigg = load_data("bigbench_bigg")
        tasks = [t for t in bigg.task_names if bigg_half(t) == "tuning"]
        sizes = bigg.compute_table(tasks[0])["compute"].to_numpy(dtype=float)
        cutoffs = ",".join(f"{c:g}" for c in rolling_cutoffs(sizes) if c <= 1e9 * (1 + 1e-9))
        data, subset = bigg, "tune_half_<=1B"
    bt = backtest(data, methods=ROUNDS[args.round] + BASELINES, tasks=tasks, cutoffs=cutoffs,
                  backend=args.backend, checkpoint=args.out, resume=args.resume, progress=False)
    bt.save(args.out)
    s = bt.summary()
    s = s[(s["subset"] == subset) & (s["families"] == "all")]
    with pd.option_context("display.width", 200, "display.max_columns", 30, "display.max_rows", 200):
        print(s[COLUMNS].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
        cal = bt.calibration()
        print(cal[(cal["window"] == "all")].pivot_table(index="method", columns="nominal", values="coverage"))
        print(bt.learned().filter(regex="method|cutoff|^w_|spread_scale|combine_tasks").to_string(index=False))


if __name__ == "__main__":
    main()
