"""Seed-to-seed stability: one backtest at two seeds, the differences per method.

Runs :func:`forecast.backtest` (default: the main job's data, ``slice_sandwich`` and
``bigbench_bigg``, default methods and cut-offs) at ``--seeds A B`` and prints, per method:

* ``|d mean|``: median / p90 / p99 / max over held-out predictions;
* ``|d lower|``, ``|d upper|``: p99 / max of the interval bounds;
* ``|d thr|``: the threshold estimate at tau in log10 compute (p99 / max, over jobs where
  both seeds give one);
* ``|d P(emerged)|``: p99 / max of the "emerged by budget" probabilities;
* learned settings (mixture weights ``w_*``, ``extrapolation_sd``): max difference;
* the summary table's ratios to the best baseline (``ratio_mae``, ``ratio_crps``,
  ``ratio_is``, ``ratio_thr``; every task, all held-out models) at both seeds.

    python benchmarks/stability.py --data bigbench_bigg --tasks 16 --backend processes

``--tasks N`` keeps N tasks of every data set (evenly spaced in name order), learned
settings included (a quick subset).  ``--out DIR`` keeps each seed's job files in
``DIR/seedS`` (resumed when run again) and writes the tables as CSV files: the two seeds can
be run at once as two processes (``--seeds 0 0`` and ``--seeds 1 1`` with the same ``--out``),
then ``--seeds 0 1`` reads them back and prints the tables.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

import forecast
from forecast.data.loading import load_data

KEYS = ["dataset", "task", "method", "cutoff"]
RATIOS = ["ratio_mae", "ratio_crps", "ratio_is", "ratio_thr"]


def subset(data, n: int | None):
    """``data`` with ``n`` of its tasks (evenly spaced in name order); all when None."""
    names = list(data.task_names)
    if n is None or n >= len(names):
        return data
    keep = [names[i] for i in np.linspace(0, len(names) - 1, n).round().astype(int)]
    pick = {}
    for label in ("results", "groups", "scores", "steps"):
        table = getattr(data, label)
        pick[label] = None if table is None else table[table["task"].isin(keep)].reset_index(drop=True)
    tasks = data.tasks[data.tasks["task"].isin(keep)].reset_index(drop=True)
    return dataclasses.replace(data, tasks=tasks, **pick)


def run(datasets, seed: int, backend: str, n_jobs: int | None, out: Path | None):
    kwargs = {"backend": backend, "seed": seed}
    if n_jobs:
        kwargs["n_jobs"] = n_jobs
    if out is not None:
        kwargs.update(checkpoint=str(out / f"seed{seed}"), resume=True)
    t0 = time.time()
    bt = forecast.backtest(datasets, **kwargs)
    print(f"seed {seed}: {len(bt.ok)} jobs ok, {len(bt.failed)} failed, {time.time() - t0:.0f} s wall",
          file=sys.stderr)
    return bt


def _q(values: np.ndarray, qs=(0.5, 0.9, 0.99, 1.0)) -> list[float]:
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return [np.nan] * len(qs)
    return [float(np.quantile(v, q)) for q in qs]


def differences(a, b) -> pd.DataFrame:
    """Per method: the seed-to-seed differences of every output (see the module doc)."""
    pk = KEYS + ["model"]
    pa, pb = a.predictions, b.predictions
    p = pa[pk + ["mean", "lower", "upper"]].merge(pb[pk + ["mean", "lower", "upper"]], on=pk, suffixes=("_a", "_b"))
    tk = KEYS
    ta = a.thresholds[tk + ["estimate"]]
    tb = b.thresholds[tk + ["estimate"]]
    t = ta.merge(tb, on=tk, suffixes=("_a", "_b"))
    ek = KEYS + ["tau", "budget", "model"]
    e = a.emergence[ek + ["p_emerged"]].merge(b.emergence[ek + ["p_emerged"]], on=ek, suffixes=("_a", "_b"))
    rows = []
    for method in sorted(set(p["method"])):
        pm = p[p["method"] == method]
        dm = np.abs(pm["mean_a"] - pm["mean_b"]).to_numpy()
        dl = np.abs(pm["lower_a"] - pm["lower_b"]).to_numpy()
        du = np.abs(pm["upper_a"] - pm["upper_b"]).to_numpy()
        tm = t[t["method"] == method]
        both = tm["estimate_a"].notna() & tm["estimate_b"].notna()
        dt = np.abs(np.log10(tm.loc[both, "estimate_a"].astype(float))
                    - np.log10(tm.loc[both, "estimate_b"].astype(float))).to_numpy()
        one = int((tm["estimate_a"].isna() != tm["estimate_b"].isna()).sum())
        em = e[e["method"] == method]
        de = np.abs(em["p_emerged_a"].astype(float) - em["p_emerged_b"].astype(float)).to_numpy()
        q_m = _q(dm)
        rows.append({
            "method": method, "n": len(pm),
            "mean_med": q_m[0], "mean_p90": q_m[1], "mean_p99": q_m[2], "mean_max": q_m[3],
            "lower_p99": _q(dl)[2], "lower_max": _q(dl)[3],
            "upper_p99": _q(du)[2], "upper_max": _q(du)[3],
            "thr_p99": _q(dt)[2], "thr_max": _q(dt)[3], "thr_one_sided": one,
            "p_em_p99": _q(de)[2], "p_em_max": _q(de)[3],
        })
    return pd.DataFrame(rows)


def learned_differences(a, b) -> pd.DataFrame:
    """Max |difference| of every numeric learned setting (mixture weights, extrapolation
    spread, ...) over (dataset, cut-off), per method and setting, with the values where it
    is largest."""
    la, lb = a.learned(), b.learned()
    k = ["dataset", "method", "cutoff"]
    m = la.merge(lb, on=k, suffixes=("_a", "_b"))
    rows = []
    for col in la.columns:
        if col in k or col == "status" or f"{col}_b" not in m.columns:
            continue
        if not (col.startswith("w_") or col in ("extrapolation_sd", "spread_scale")):
            continue
        for method, g in m.groupby("method"):
            va = pd.to_numeric(g[f"{col}_a"], errors="coerce").to_numpy(dtype=float)
            vb = pd.to_numeric(g[f"{col}_b"], errors="coerce").to_numpy(dtype=float)
            d = np.abs(va - vb)
            if not np.isfinite(d).any():
                continue
            i = int(np.nanargmax(d))
            rows.append({"method": method, "setting": col, "max_diff": float(d[i]),
                         "dataset": g["dataset"].iloc[i], "cutoff": float(g["cutoff"].iloc[i]),
                         "a": float(va[i]), "b": float(vb[i])})
    return pd.DataFrame(rows)


def ratios(a, b, seeds) -> pd.DataFrame:
    """The summary's ratios (every task, all held-out models) at both seeds."""
    frames = []
    seeds = seeds if seeds[0] != seeds[1] else (f"{seeds[0]}a", f"{seeds[1]}b")
    for bt, s in zip((a, b), seeds):
        sm = bt.summary(n_boot=200)
        sm = sm[(sm["window"] == "all") & (sm["families"] == "all") & (sm["subset"] == "all")]
        frames.append(sm[["dataset", "method", *RATIOS]].set_index(["dataset", "method"]).add_suffix(f"_s{s}"))
    out = pd.concat(frames, axis=1).reset_index()
    for r in RATIOS:
        out[f"{r}_diff"] = (out[f"{r}_s{seeds[0]}"] - out[f"{r}_s{seeds[1]}"]).abs()
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="slice_sandwich,bigbench_bigg", help="comma-separated data sets")
    ap.add_argument("--tasks", type=int, default=None, help="keep N tasks of every data set")
    ap.add_argument("--seeds", type=int, nargs=2, default=(0, 1))
    ap.add_argument("--backend", default="local", choices=("local", "processes", "dask"))
    ap.add_argument("--n-jobs", type=int, default=None)
    ap.add_argument("--out", type=Path, default=None, help="folder for the job files and CSV tables")
    args = ap.parse_args(argv)
    datasets = [subset(load_data(name), args.tasks) for name in args.data.split(",")]
    for d in datasets:
        print(f"{d.name}: {len(d.task_names)} tasks", file=sys.stderr)
    a, b = (run(datasets, s, args.backend, args.n_jobs, args.out) for s in args.seeds)
    diff, learned, rat = differences(a, b), learned_differences(a, b), ratios(a, b, args.seeds)
    pd.set_option("display.width", 250)
    pd.set_option("display.max_columns", 40)
    pd.set_option("display.max_rows", 200)
    print(f"seed {args.seeds[0]} vs seed {args.seeds[1]}: data {args.data}, tasks {args.tasks or 'all'}")
    print("\n|difference| of held-out predictions (mean, lower, upper), threshold estimate (log10),")
    print("P(emerged by budget); thr_one_sided: jobs where only one seed gives a threshold")
    print(diff.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    print("\nlearned settings: max |difference| over (dataset, cut-off)")
    print(learned.to_string(index=False, float_format=lambda v: f"{v:.4g}") if len(learned) else "(none)")
    print("\nsummary ratios to the best baseline (every task, all held-out models)")
    print(rat.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        diff.to_csv(args.out / "stability.csv", index=False)
        learned.to_csv(args.out / "stability_learned.csv", index=False)
        rat.to_csv(args.out / "stability_ratios.csv", index=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
