"""Observational scaling data (``obsscaling``): every method side by side, by family seen / new.

Runs (or, with ``--out DIR`` holding a finished run, resumes) the honest backtest of the
``obsscaling`` data set with its own cut-off rule (every 0.5 decade from 10^20.5 to 10^24.5
FLOPs, where a task keeps >= 10 fitted models, >= 4 sizes and one held-out model) and the
default methods, and prints Markdown tables:

1. per method: MAE, CRPS, interval score and coverage of the observed score of every
   held-out model, with the ratio to ``obsscaling`` (form a: compute and family only) and its
   90% paired bootstrap interval over tasks (the two IPA variants are one task);
2. the same for held-out models of a family seen at the cut-off and of a new family;
3. emergence per tau (rows: held-out models whose family had not reached tau at the
   cut-off): events, Brier, log score, AUC, and the Brier skill against the compute-only
   logistic baseline ``sigmoid``, against ``obsscaling`` and against climatology, each with
   its 90% paired task-bootstrap interval.

``obsscaling_given_scores`` (form b) reads the held-out model's own scores on the standard
benchmarks: it is labelled so and is not a forecast from compute.

    python benchmarks/obsscaling.py [--out DIR] [--tasks A,B] [--cutoffs SPEC] [--methods M,N]
    python benchmarks/obsscaling.py --out DIR --reuse     (tables from the job files in DIR, e.g.
                                                         of `forecast backtest obsscaling --out DIR`)
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

import forecast
from forecast.backtest.bootstrap import paired_ratio_interval
from forecast.backtest.results import RATIO_LEVEL, SPLIT_KEYS

DATASET = "obsscaling"
#: the reference of the ratios (when the run has it), else the best baseline's ratio is shown
REFERENCE = "obsscaling"
#: the compute-only logistic baseline of the emergence target
LOGISTIC = "sigmoid"
N_BOOT = 1000
LABELS = {"obsscaling_given_scores": "obsscaling_given_scores (uses the model's other benchmark scores)",
          "slice_sandwich": "slice_sandwich (default method)"}


def fmt(v, digits: int = 3) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "–"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    return f"{float(v):.{digits}g}"


def interval(r: dict) -> str:
    if r is None or not math.isfinite(r.get("ratio", math.nan)):
        return "–"
    return f"{r['ratio']:.2f} [{r['lower']:.2f}, {r['upper']:.2f}]"


def md_table(header: list[str], rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return "\n".join(out + ["| " + " | ".join(r) + " |" for r in rows])


def run(out: str | None, tasks, cutoffs, methods):
    resume = bool(out) and (Path(out) / "run.json").exists()
    t0 = time.perf_counter()
    bt = forecast.backtest(DATASET, methods=methods, tasks=tasks, cutoffs=cutoffs, progress=False,
                           checkpoint=out, resume=resume)
    seconds = time.perf_counter() - t0
    if out:
        bt.save(out)
    return bt, seconds


def reuse(folder: str):
    """The backtest saved in ``folder`` (its job files as they are, whatever code wrote them)."""
    from forecast.backtest.results import BacktestResult
    from forecast.backtest.runner import load_datasets, plan_jobs

    settings = json.loads((Path(folder) / "run.json").read_text())
    saved = [json.loads(p.read_text()) for p in sorted((Path(folder) / "jobs").glob("*.json"))]
    jobs = [r for r in saved if not r["key"].startswith("context|")]
    _, info, actuals = plan_jobs(load_datasets([DATASET]), settings["methods"],
                                 sorted({r["task"] for r in jobs}))
    bt = BacktestResult(jobs, info, actuals, settings,
                        contexts=[r for r in saved if r["key"].startswith("context|")])
    timing = Path(folder) / "seconds.json"
    bt.settings["timing"] = json.loads(timing.read_text()) if timing.exists() else {}
    return bt, float(bt.settings["timing"].get("seconds", math.nan))


def per_split(bt, families: str) -> pd.DataFrame:
    """Per unit x task x cut-off x method scores of one family set, on the like-for-like splits."""
    m = bt.metrics()
    m = m[(m["dataset"] == DATASET) & (m["window"] == "all") & (m["families"] == families) & (m["n"] > 0)]
    return bt.with_unit(m.merge(bt.common_splits(), on=SPLIT_KEYS, how="inner"))


def ratio_to(frame: pd.DataFrame, method: str, reference: str, value: str) -> dict | None:
    if method == reference or reference not in set(frame["method"]) or method not in set(frame["method"]):
        return None
    return paired_ratio_interval(frame, method, [reference], value=value, n_boot=N_BOOT, level=RATIO_LEVEL,
                                 seed=0, task="unit", keys=("task", "cutoff"))


def quality_table(bt, families: str) -> str:
    f = per_split(bt, families)
    ref = REFERENCE if REFERENCE in set(f["method"]) else None
    rows = []
    for method in bt.methods:
        g = f[f["method"] == method]
        if g.empty:
            continue
        unit = g.groupby("unit")[["mae", "crps", "interval_score", "cover"]].mean()
        cells = [LABELS.get(method, method), fmt(len(unit)), fmt(int(g["n"].sum()))]
        cells += [fmt(unit[c].mean()) for c in ("mae", "crps", "interval_score")] + [fmt(unit["cover"].mean(), 2)]
        if ref:
            cells += [interval(ratio_to(f, method, ref, v)) for v in ("mae", "crps", "interval_score")]
        rows.append(cells)
    head = ["method", "tasks", "points", "MAE", "CRPS", "IS", "cover 90%"]
    if ref:
        head += [f"MAE / {ref} [90%]", f"CRPS / {ref} [90%]", f"IS / {ref} [90%]"]
    return md_table(head, rows)


def emergence_tables(bt) -> str:
    s = bt.emergence_summary()
    s = s[s["dataset"] == DATASET].set_index(["tau", "method"])
    rows = []
    for (dataset, tau), (et, per_unit) in bt.emergence_units().items():
        if dataset != DATASET:
            continue
        methods = [m for m in bt.methods if m in set(et["method"])]
        for method in methods:
            key = (str(tau), method)
            sc = s.loc[key] if key in s.index else None
            skills = []
            for ref in (LOGISTIC, REFERENCE, "climatology"):
                if ref == method or ref not in set(per_unit["method"]):
                    skills.append("–")
                    continue
                r = paired_ratio_interval(per_unit, method, [ref], value="brier", n_boot=N_BOOT,
                                          level=RATIO_LEVEL, seed=0, task="unit")
                skills.append(f"{1 - r['ratio']:.2f} [{1 - r['upper']:.2f}, {1 - r['lower']:.2f}]")
            events = int(et.loc[et["method"] == method, "observed"].sum())
            rows.append([str(tau), LABELS.get(method, method), fmt(int((et["method"] == method).sum())), fmt(events),
                         fmt(None if sc is None else sc["brier"]), fmt(None if sc is None else sc["log_score"]),
                         fmt(None if sc is None else sc["auc"], 2), *skills])
    return md_table(["tau", "method", "rows", "events", "Brier", "log score", "AUC",
                     f"skill vs {LOGISTIC} [90%]", f"skill vs {REFERENCE} [90%]", "skill vs climatology [90%]"], rows)


def split_counts(bt) -> str:
    p = bt.predictions
    p = p[p["dataset"] == DATASET].drop_duplicates(["task", "cutoff", "model"])
    per_cut = p.groupby("cutoff").agg(tasks=("task", "nunique"), held=("model", "size"),
                                      new=("family_seen", lambda v: int((~v.astype(bool)).sum())))
    rows = [[f"10^{math.log10(c):.1f}", fmt(int(r.tasks)), fmt(int(r.held)), fmt(int(r.new))]
            for c, r in per_cut.iterrows()]
    return md_table(["cut-off (FLOPs)", "tasks", "held-out predictions", "of a new family"], rows)


def report(bt, seconds: float, measured: bool = True) -> str:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if not measured:
        peak = float(bt.settings.get("timing", {}).get("peak_mb", math.nan))
    code = bt.settings.get("code") or {}
    where = (f"backend local, one process; peak memory {peak:.0f} MB" if measured else
             f"backend local, one process, peak memory {peak:.0f} MB; tables rebuilt from its job files, "
             f"code {code.get('version', '')}+{code.get('source_hash', '')}")
    parts = [
        f"Data: {DATASET} (123 public base models with training FLOPs, 39 families, 22 benchmarks; "
        "`datasets/README.md` section 7). Cut-offs: the Splits table (by default the data set's rule "
        "`grid:20.5:24.5:0.5:10`). "
        f"Methods: {', '.join(f'`{m}`' for m in bt.methods)}. {len(bt.jobs)} jobs ({len(bt.skipped)} skipped, "
        f"{len(bt.failed)} failed) in {seconds:.0f} s ({where}).",
        "Ratios are paired over tasks (the two IPA variants count as one task) on the splits every "
        "method has; `obsscaling` is observational scaling from compute and family only (form a), "
        "`obsscaling_given_scores` (form b) also reads the held-out model's own scores on the standard "
        "benchmarks, which no compute-only forecast has.",
        "\n#### Splits\n", split_counts(bt),
        "\n#### Every held-out model\n", quality_table(bt, "all"),
        "\n#### Held-out models of a family seen at the cut-off\n", quality_table(bt, "seen"),
        "\n#### Held-out models of a new family\n", quality_table(bt, "new"),
        "\n#### Emergence: will this held-out model reach tau? (its family had not at the cut-off; "
        "TruthfulQA left out)\n",
        emergence_tables(bt),
    ]
    return "\n".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="keep the backtest's folder here (resumed when it holds a run)")
    parser.add_argument("--tasks", help="comma-separated tasks (default: all)")
    parser.add_argument("--cutoffs", help="cut-off specification (default: the data set's rule)")
    parser.add_argument("--methods", help="comma-separated methods (default: the backtest's defaults)")
    parser.add_argument("--reuse", action="store_true", help="tables from the job files in --out, not run")
    parser.add_argument("--seconds", type=float, help="with --reuse: the run's wall time, to report")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    if args.reuse:
        if not args.out:
            parser.error("--reuse needs --out DIR")
        bt, seconds = reuse(args.out)
        print(report(bt, args.seconds if args.seconds is not None else seconds, measured=False))
        return
    split = (lambda s: None if s is None else [x.strip() for x in s.split(",") if x.strip()])
    bt, seconds = run(args.out, split(args.tasks), args.cutoffs, split(args.methods))
    if args.out and (Path(args.out) / "seconds.json").exists() and bt.resumed == len(bt.jobs) + len(bt.contexts):
        seconds = float(json.loads((Path(args.out) / "seconds.json").read_text())["seconds"])
    elif args.out:
        (Path(args.out) / "seconds.json").write_text(json.dumps({"seconds": seconds}))
    print(report(bt, seconds))


if __name__ == "__main__":
    main()
