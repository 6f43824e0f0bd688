"""Forecast-quality benchmark: every method against the baselines, on held-out larger models.

Run:  python benchmarks/quality.py [--pymc] [--backend processes] [--out DIR]

Runs the backtest of the shipped BIG-Bench (BIG-G, per question) and Slice-and-Sandwich
(MMLU, arithmetic, Persian-QA; ARC and HellaSwag as no-emergence controls) data with the
default cut-offs, and prints the summary table: MAE, MSE, 90% interval coverage and width,
CRPS, each as measured in this run and as a ratio to the best baseline of the same run,
threshold errors, false emergences on the controls — then wall time and peak memory.
``--pymc`` adds the MCMC engine (slow: about 15 s per job) on the Slice-and-Sandwich tasks.
"""

from __future__ import annotations

import argparse
import resource
import time
import warnings

import forecast
from forecast.backtest import DEFAULT_METHODS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="processes", choices=["local", "processes", "dask"])
    parser.add_argument("--pymc", action="store_true", help="add slice_sandwich_pymc on slice_sandwich data")
    parser.add_argument("--out", help="also save the backtest tables and plots here")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    t0 = time.perf_counter()
    bt = forecast.backtest(["slice_sandwich", "bigbench_bigg"], methods=list(DEFAULT_METHODS),
                           backend=args.backend, progress=True)
    elapsed = time.perf_counter() - t0
    print(bt.format_summary())
    if args.pymc:
        t1 = time.perf_counter()
        bayes = forecast.backtest("slice_sandwich", methods=list(DEFAULT_METHODS) + ["slice_sandwich_pymc"],
                                  backend=args.backend, progress=True)
        print("\nwith the PyMC engine (slice_sandwich data):")
        print(bayes.format_summary())
        print(f"pymc run: {time.perf_counter() - t1:.0f} s")
    if args.out:
        bt.save(args.out)
    peak_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    peak_children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"\nwall time {elapsed:.1f} s on backend {args.backend}; peak memory {peak_self:.0f} MB "
          f"(this process), {peak_children:.0f} MB (largest worker)")


if __name__ == "__main__":
    main()
