"""Tuning runs of the mixture in ``slice_sandwich`` (see ``benchmarks/STACKING_TUNING.md``).

Backtests the candidates ``slice_sandwich()``, ``slice_sandwich(calibrate=False)`` and
``slice_sandwich(combine=None)`` with the baselines, on one serial worker, on either tuning set:

    python benchmarks/stacking_tuning.py groups --out /tmp/tune_groups
    python benchmarks/stacking_tuning.py bigg_tune --out /tmp/tune_bigg

``groups``: the group data set ``slice_sandwich`` at its rolling cut-offs; ``bigg_tune``: the
BIG-G tuning half (tasks with even crc32 of the name) at the cut-offs up to 1B.  Prints the
``all`` subset (groups) or the ``tune_half_<=1B`` subset (BIG-G) per distance window.
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
BASELINES = ["sigmoid", "persistence", "persistence_drift", "linear"]
COLUMNS = ["window", "method", "n_tasks", "n", "mae", "crps", "interval_score", "cover", "ratio_mae",
           "ratio_crps", "ratio_crps_lo", "ratio_crps_hi", "ratio_is", "thr_crps"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("which", choices=["groups", "bigg_tune"])
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    if args.which == "groups":
        data, tasks, cutoffs, subset = "slice_sandwich", None, None, "all"
    else:
        bigg = load_data("bigbench_bigg")
        tasks = [t for t in bigg.task_names if bigg_half(t) == "tuning"]
        sizes = bigg.compute_table(tasks[0])["compute"].to_numpy(dtype=float)
        cutoffs = ",".join(f"{c:g}" for c in rolling_cutoffs(sizes) if c <= 1e9 * (1 + 1e-9))
        data, subset = bigg, "tune_half_<=1B"
    bt = backtest(data, methods=CANDIDATES + BASELINES, tasks=tasks, cutoffs=cutoffs, backend="local",
                  checkpoint=args.out, progress=False)
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
