"""Issue 22's candidates beside every baseline on the data sets that played no part in the choice.

The choice itself is made by ``benchmarks/rule.py`` on its selection sets; this script only
reports, on the sets the rule never looks at:

* ``bigg_eval``: BIG-G's *evaluation* half at the headline cut-offs (1B parameters and more:
  1B, 2B, 4B, 8B, 27B), every per-question candidate of the rule and every default method;
* ``ladder``: the OLMo ladder's 7B and 13B targets (``benchmarks/ladder.py``), the ladder
  candidates and the candidates that handle task-level data beside the ladder's baselines;
* ``obsscaling``: the observational-scaling backtest (``benchmarks/obsscaling.py``, its own
  cut-off rule), the task-level candidates beside ``obsscaling`` and the baselines;
* ``pythia``: the Pythia backtest across sizes (``benchmarks/pythia.py run --parts sizes``, its
  fixed task subset, both families), the task-level candidates beside the default methods.

    python benchmarks/candidates.py run --out DIR [--sets bigg_eval,ladder,obsscaling,pythia]
    python benchmarks/candidates.py report --out DIR
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import pandas as pd

import forecast
from forecast.backtest.runner import default_methods
from forecast.data.bigg import bigg_half

HERE = Path(__file__).parent
#: the headline cut-offs of the evaluation half (parameters)
BIGG_EVAL_CUTOFFS = (1e9, 2e9, 4e9, 8e9, 2.7e10)
#: task-level candidates (ladder and observational scaling), by registered name
TASK_LEVEL_CANDIDATES = ("slice_sandwich", "pooled_logit", "slice_sandwich_pooled", "log_power")
LADDER_METHODS = ("two_step", "two_step_slp", "linear", "sigmoid", "persistence", "persistence_drift")
OBSSCALING_METHODS = ("obsscaling", "sigmoid", "persistence", "persistence_drift", "linear", "family")
SUMMARY_COLUMNS = ["method", "n_tasks", "n_splits", "mae", "crps", "interval_score", "cover", "width",
                   "ratio_mae", "ratio_mae_lo", "ratio_mae_hi", "ratio_crps", "ratio_is", "wins", "losses"]


def _rule():
    spec = importlib.util.spec_from_file_location("rule", HERE / "rule.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def pythia_defaults() -> list[str]:
    """The backtest's default methods on the Pythia size sets."""
    spec = importlib.util.spec_from_file_location("pythia_benchmark", HERE / "pythia.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return [m for m in default_methods(module.size_sets(False)) if isinstance(m, str)]


def run_bigg_eval(out: Path, backend: str) -> None:
    rule = _rule()
    data = forecast.load_dataset("bigbench_bigg")
    tasks = [t for t in data.task_names if bigg_half(t) == "evaluation"]
    cands = [c for c in rule.CANDIDATES["per_question"] if rule.built(c)]
    methods: list[Any] = [(n, dict(p)) for n, p in cands]
    have = {rule.label(c) for c in cands}
    methods += [m for m in default_methods([data]) if m not in have]
    where = out / "bigg_eval"
    where.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    bt = forecast.backtest(data, methods=methods, tasks=tasks, cutoffs=list(BIGG_EVAL_CUTOFFS), backend=backend,
                           checkpoint=where / "checkpoint", resume=True, progress=True)
    bt.summary().to_csv(where / "summary.csv", index=False)
    bt.emergence_summary().to_csv(where / "emergence_summary.csv", index=False)
    (where / "run.json").write_text(json.dumps({"seconds": round(time.perf_counter() - t0, 1)}))


def write_pythia_tables(out: Path) -> None:
    """Save the across-sizes tables ``pythia.py report`` prints for the run in ``out / 'pythia'`` as
    ``out / 'pythia.txt'``, so the record keeps the tables without the run's large files."""
    report = subprocess.run([sys.executable, str(HERE / "pythia.py"), "report", "--out", str(out / "pythia")],
                            check=True, capture_output=True, text=True).stdout
    (out / "pythia.txt").write_text(report.split("## Across families")[0].split("## Mirage check")[0])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("step", choices=["run", "report"])
    ap.add_argument("--out", required=True)
    ap.add_argument("--sets", default="bigg_eval,ladder,obsscaling,pythia")
    ap.add_argument("--backend", default="processes")
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    sets = [s for s in args.sets.split(",") if s]
    if args.step == "run":
        if "bigg_eval" in sets:
            run_bigg_eval(out, args.backend)
        if "ladder" in sets:
            methods = ",".join(dict.fromkeys((*LADDER_METHODS, *TASK_LEVEL_CANDIDATES)))
            with open(out / "ladder.txt", "w") as fh:
                subprocess.run([sys.executable, str(HERE / "ladder.py"), "--methods", methods,
                                "--out", str(out / "ladder_rows.csv")], check=True, stdout=fh)
        if "obsscaling" in sets:
            methods = ",".join(dict.fromkeys((*OBSSCALING_METHODS, *TASK_LEVEL_CANDIDATES)))
            with open(out / "obsscaling.txt", "w") as fh:
                subprocess.run([sys.executable, str(HERE / "obsscaling.py"), "--out", str(out / "obsscaling"),
                                "--methods", methods], check=True, stdout=fh)
        if "pythia" in sets:
            methods = ",".join(dict.fromkeys((*pythia_defaults(), *TASK_LEVEL_CANDIDATES)))
            subprocess.run([sys.executable, str(HERE / "pythia.py"), "run", "--out", str(out / "pythia"),
                            "--parts", "sizes", "--backend", args.backend, "--methods", methods], check=True)
            write_pythia_tables(out)
        return
    pd.set_option("display.width", 200)
    markdown = _rule().markdown
    if (out / "bigg_eval" / "summary.csv").exists():
        s = pd.read_csv(out / "bigg_eval" / "summary.csv")
        s = s[(s["subset"] == "all") & (s["families"] == "all")]
        print("## BIG-G evaluation half, cut-offs 1B-27B: every candidate and baseline (all distances)")
        print(markdown(s[s["window"] == "all"][SUMMARY_COLUMNS].round(3)))
        print("\n## The same by extrapolation distance (decades): MAE ratio to the best baseline")
        wide = s.pivot_table(index="method", columns="window", values="ratio_mae").round(3)
        print(markdown(wide.reset_index()))
        e = pd.read_csv(out / "bigg_eval" / "emergence_summary.csv")
        print("\n## Emergence on the evaluation half (all levels pooled)")
        print(markdown(e[e["tau"].astype(str) == "all"][["method", "n_rows", "n_events", "brier", "auc", "skill",
                                                         "skill_lo", "skill_hi"]].round(3)))
    if (out / "pythia" / "sizes" / "run.json").exists() and not (out / "pythia.txt").exists():
        write_pythia_tables(out)
    reliability = out / "item_reliability_eval" / "README.md"
    if reliability.exists():  # benchmarks/item_level.py --half evaluation, its record
        print("\n## " + reliability.read_text().lstrip("# "))
        print(f"The calibration plot: `{reliability.parent.as_posix()}/reliability.png`.")
    for name, title in (("ladder", "ladder"), ("obsscaling", "obsscaling"), ("pythia", "pythia, across sizes")):
        if (out / f"{name}.txt").exists():
            print(f"\n## {title} (the benchmark's own tables)\n")
            print((out / f"{name}.txt").read_text())


if __name__ == "__main__":
    main()
