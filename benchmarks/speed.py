"""Speed benchmark: time and peak memory of one fit (+ predict + threshold) on each path.

Run:  python benchmarks/speed.py [--repeat 3] [--no-pymc]

Prints a table with the median wall time of each method on a shipped task, its ratio to the
sigmoid baseline measured in the same run, and the peak memory of the process.  A fit
includes learning the data set's settings at the cut-off (a method's ``learn_context``,
every task of the data set) except on the rows marked "settings given", where they are
learned once before the clock starts, as a backtest does once per cut-off: that row is the
per-task fit time (issue 8: "fit one task in well under a second without MCMC").
Each configuration runs in a fresh subprocess so that peak memory is its own.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

CASES = [
    # (label, dataset, task, cutoff, method[, "given": settings learned before timing])
    ("sigmoid (baseline)", "slice_sandwich", "mmlu", 10**1.5 * 1e21, "sigmoid"),
    ("linear", "slice_sandwich", "mmlu", 10**1.5 * 1e21, "linear"),
    ("persistence", "slice_sandwich", "mmlu", 10**1.5 * 1e21, "persistence"),
    ("published", "slice_sandwich", "mmlu", 10**1.5 * 1e21, "published"),
    ("slice_sandwich conjugate (groups)", "slice_sandwich", "mmlu", 10**1.5 * 1e21, "slice_sandwich"),
    ("slice_sandwich ols (groups)", "slice_sandwich", "mmlu", 10**1.5 * 1e21, "slice_sandwich_ols"),
    ("slice_sandwich conjugate (per-question)", "bigbench_bigg", "qa_wikidata", 8e9, "slice_sandwich"),
    ("slice_sandwich conjugate, settings given", "slice_sandwich", "mmlu", 10**1.5 * 1e21, "slice_sandwich", "given"),
    ("  (per-question), settings given", "bigbench_bigg", "qa_wikidata", 8e9, "slice_sandwich", "given"),
    ("slice_sandwich irt (per-question)", "bigbench_bigg", "qa_wikidata", 8e9, "slice_sandwich_irt"),
    ("slice_sandwich pymc (groups)", "slice_sandwich", "mmlu", 10**1.5 * 1e21, "slice_sandwich_pymc"),
    ("slice_sandwich pymc (per-question)", "bigbench_bigg", "qa_wikidata", 8e9, "slice_sandwich_pymc"),
]

CHILD = r"""
import json, logging, resource, sys, time, warnings
warnings.filterwarnings("ignore")
logging.getLogger("pymc").setLevel(logging.ERROR)
import forecast
dataset, task, cutoff, method, repeat = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4], int(sys.argv[5])
given = sys.argv[6] == "given"
data = forecast.load_dataset(dataset)
ctx = forecast.make_method(method).learn_context(data.restrict(cutoff), cutoff) if given else None
times = []
for i in range(repeat):
    t0 = time.perf_counter()
    f = forecast.make_method(method, seed=i).fit(data, cutoff, task=task, context=ctx)
    f.predict([cutoff * 3, cutoff * 30])
    f.threshold(budget=cutoff * 10)
    times.append(time.perf_counter() - t0)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"times": times, "peak_mb": peak}))
"""


def run_case(dataset: str, task: str, cutoff: float, method: str, repeat: int, mode: str = "learned") -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, dataset, task, repr(cutoff), method, str(repeat), mode],
        capture_output=True, text=True, check=False,
    )
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "failed"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-pymc", action="store_true", help="skip the MCMC paths")
    args = parser.parse_args()
    rows = []
    t_start = time.perf_counter()
    for label, dataset, task, cutoff, method, *mode in CASES:
        if args.no_pymc and "pymc" in method:
            continue
        repeat = 1 if "pymc" in method else args.repeat
        res = run_case(dataset, task, cutoff, method, repeat, *mode)
        rows.append((label, f"{dataset}/{task}", res))
    base = next(r for r in rows if r[0].startswith("sigmoid"))[2]
    base_t = sorted(base["times"])[len(base["times"]) // 2]
    print(f"{'path':40s} {'data':28s} {'median s':>9s} {'first s':>8s} {'x sigmoid':>10s} {'peak MB':>8s}")
    for label, where, res in rows:
        if "error" in res:
            print(f"{label:40s} {where:28s} failed: {res['error']}")
            continue
        med = sorted(res["times"])[len(res["times"]) // 2]
        print(
            f"{label:40s} {where:28s} {med:9.3f} {res['times'][0]:8.3f} {med / base_t:10.1f} {res['peak_mb']:8.0f}"
        )
    print(f"(total {time.perf_counter() - t_start:.0f} s; pymc paths include compilation, 1 run)")


if __name__ == "__main__":
    main()
