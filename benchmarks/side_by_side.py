"""Each method's error side by side at the published cut-offs and at BIG-G 8B.

Run:  python benchmarks/side_by_side.py [--no-pymc]

For the Slice-and-Sandwich tasks (MMLU 10^1.5, arithmetic 10^1.8, Persian-QA 10^2.3, ARC and
HellaSwag 10^2.3, x 1e21 FLOPs) and for the BIG-G tasks at 8e9 parameters (mean over tasks),
prints MAE and MSE of the ``mean`` forecast over all held-out models, the coverage of the 90%
observed-score interval, and the time of one fit (+ predict) per method, measured in this run.
"""

from __future__ import annotations

import argparse
import logging
import time
import warnings

import numpy as np
import pandas as pd

import forecast
from forecast.data.task_table import task_table

SAS = [("mmlu", 1.5), ("arithmetic", 1.8), ("parsinlu_qa_mc", 2.3), ("arc", 2.3), ("hellaswag", 2.3)]
METHODS = ["slice_sandwich", "slice_sandwich_ols", "slice_sandwich_irt", "published", "sigmoid", "paper_sigmoid",
           "linear", "persistence"]


def score(data, task: str, cutoff: float, method: str) -> dict:
    full = task_table(data.for_task(task), task)
    test = full[full["compute"] > cutoff]
    t0 = time.perf_counter()
    f = forecast.make_method(method).fit(data, cutoff, task=task)
    p = f.predict(test["compute"].to_numpy(), level=0.9)
    elapsed = time.perf_counter() - t0
    y = test["accuracy"].to_numpy()
    return {
        "n": len(y),
        "mae": float(np.mean(np.abs(p["mean"] - y))),
        "mse": float(np.mean((p["mean"] - y) ** 2)),
        "coverage": float(np.mean((y >= p["lower"]) & (y <= p["upper"]))),
        "seconds": elapsed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-pymc", action="store_true")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    logging.getLogger("pymc").setLevel(logging.ERROR)
    methods = METHODS + ([] if args.no_pymc else ["slice_sandwich_pymc"])
    rows = []
    sas = forecast.load_dataset("slice_sandwich")
    for task, t in SAS:
        for m in methods:
            if m == "slice_sandwich_irt":
                continue  # IRT needs per-question data
            rows.append({"data": f"{task} 10^{t}", "method": m, **score(sas, task, 10**t * 1e21, m)})
    bigg = forecast.load_dataset("bigbench_bigg")
    per_task = []
    for task in bigg.task_names:
        for m in methods:
            if m == "slice_sandwich_pymc" and task not in ("qa_wikidata", "hindu_knowledge", "modified_arithmetic"):
                continue  # MCMC on three tasks only, to keep the run short
            try:
                per_task.append({"task": task, "method": m, **score(bigg, task, 8e9, m)})
            except forecast.InputError:
                continue
    pt = pd.DataFrame(per_task)
    for m, g in pt.groupby("method", sort=False):
        rows.append({"data": f"BIG-G 8e9 ({g['task'].nunique()} tasks)", "method": m, "n": int(g["n"].sum()),
                     "mae": g["mae"].mean(), "mse": g["mse"].mean(), "coverage": g["coverage"].mean(),
                     "seconds": g["seconds"].median()})
    table = pd.DataFrame(rows)
    wide = table.pivot(index="data", columns="method", values="mae")[[m for m in methods]]
    pd.set_option("display.width", 200)
    print("MAE of the mean forecast over all held-out models:")
    print(wide.round(4).to_string())
    print("\nMSE:")
    print(table.pivot(index="data", columns="method", values="mse")[methods].round(4).to_string())
    print("\ncoverage of the 90% observed-score interval:")
    print(table.pivot(index="data", columns="method", values="coverage")[methods].round(2).to_string())
    print("\nseconds per fit + predict (median over BIG-G tasks; pymc includes compilation):")
    print(table.pivot(index="data", columns="method", values="seconds")[methods].round(2).to_string())


if __name__ == "__main__":
    main()
