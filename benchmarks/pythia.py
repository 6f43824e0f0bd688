"""The Pythia benchmark (issue 23): backtests across sizes and across families, the mirage check.

Two steps, each reading only what the previous one wrote::

    python benchmarks/pythia.py run --out DIR [--all-tasks] [--backend processes --n-jobs 2] [--methods a,b]
    python benchmarks/pythia.py report --out DIR        # Markdown for RESULTS.md (make_results --only pythia)

``run`` writes, with the package's backtest harness and its default methods:

* ``DIR/sizes``: the rolling backtest of ``pythia`` and ``pythia_deduped`` (final
  checkpoints, every size a cut-off that leaves >= 4 fitted sizes and a larger model), 0-
  and 5-shot as separate tasks (``arc_easy:0``, ``arc_easy:5``); by default on the task
  subset :func:`forecast.data.pythia.benchmark_tasks` (every non-MMLU task, the subject
  average, every 6th MMLU subject; fixed before any result was seen), ``--all-tasks`` for
  all 132 tasks per family;
* ``DIR/families``: the across-family backtest (:func:`forecast.data.pythia.cross_family_sets`):
  one family's models all known, the other's fitted up to one of its sizes (1B, 1.4B, 2.8B,
  6.9B) and its larger models forecast, both ways, on the non-MMLU tasks and the subject
  average; one split per task at each set's own cut-off (its largest compute), planned by
  the package's ``plan_splits``, which accepts it because the other family's larger models
  are held-out targets.

``report`` prints, per data set and task group (MMLU subjects, the rest, all), the same
tables as BIG-G in RESULTS.md (MAE, CRPS, interval score, coverage, ratios to the best
baseline with 90 % bootstrap intervals over tasks, losing rows included), the emergence
table at tau 0.1 / 0.25 / 0.5, the across-family table, and the mirage check on LAMBADA.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from make_results import distance_table, emergence_table, fmt, md_table, summary_table  # noqa: E402

from forecast.backtest import backtest  # noqa: E402
from forecast.backtest.plots import plot_all  # noqa: E402
from forecast.backtest.results import BacktestResult  # noqa: E402
from forecast.backtest.runner import default_methods, plan_jobs  # noqa: E402
from forecast.data.pythia import (  # noqa: E402
    GROUP_MMLU,
    GROUP_REST,
    PYTHIA,
    PYTHIA_DEDUPED,
    benchmark_tasks,
    cross_family_sets,
    is_mmlu_subject,
    load_both,
    task_group,
    with_tasks,
)
from forecast.data.shipped import load_dataset, pythia_frame  # noqa: E402
from forecast.metrics import emergence_score  # noqa: E402

#: bootstrap resamples of the mirage check's intervals (parametric, from lm-eval's stderr)
N_BOOT = 1000
LEVEL = 0.9


def size_sets(all_tasks: bool) -> list:
    out = []
    for name in (PYTHIA, PYTHIA_DEDUPED):
        d = load_dataset(name)
        out.append(d if all_tasks else with_tasks(d, benchmark_tasks(d)))
    return out


def family_sets() -> list:
    both = load_both(pythia_frame())
    return cross_family_sets(with_tasks(both, [t for t in both.task_names if not is_mmlu_subject(t)]))


def run(out: Path, all_tasks: bool, backend: str, n_jobs: int | None, parts: tuple[str, ...],
        methods: list[str] | None = None) -> None:
    """Run the backtests of ``parts`` into ``out``; ``methods`` None: the backtest's defaults."""
    out.mkdir(parents=True, exist_ok=True)
    chosen = [(p, f) for p, f in (("sizes", lambda: size_sets(all_tasks)), ("families", family_sets)) if p in parts]
    for part, make in chosen:
        sets = make()
        t0 = time.perf_counter()
        c0 = time.process_time()
        folder = out / part
        bt = backtest(sets, methods=methods, backend=backend, n_jobs=n_jobs, checkpoint=str(folder),
                      resume=folder.exists(), progress=True)
        bt.save(folder)
        plot_all(bt, folder)  # forecast_vs_actual_<dataset>.png and the other backtest plots
        (folder / "seconds.json").write_text(json.dumps({"seconds": time.perf_counter() - t0,
                                                         "cpu_main": time.process_time() - c0,
                                                         "all_tasks": all_tasks}))
        print(f"{part}: {len(bt.jobs)} jobs, {len(bt.failed)} failed, {len(bt.skipped)} skipped", flush=True)


def load_result(folder: Path, sets: list) -> BacktestResult:
    """The backtest saved in ``folder``, rebuilt from its job files."""
    settings = json.loads((folder / "run.json").read_text())
    methods = settings.get("methods") or default_methods(sets)
    _, info, actuals = plan_jobs(sets, methods)
    saved = [json.loads(p.read_text()) for p in sorted((folder / "jobs").glob("*.json"))]
    contexts = [r for r in saved if r["key"].startswith("context|")]
    jobs = [r for r in saved if not r["key"].startswith("context|")]
    return BacktestResult(jobs, info, actuals, settings, contexts=contexts)


def by_group(bt: BacktestResult, group: str | None) -> BacktestResult:
    """``bt`` with only the tasks of ``group`` (None: every task)."""
    if group is None:
        return bt
    keep = lambda task: task_group(task) == group  # noqa: E731
    jobs = [r for r in bt.results if keep(r.get("task", ""))]
    info = bt.task_info[bt.task_info["task"].map(keep)].reset_index(drop=True)
    actuals = bt.actuals[bt.actuals["task"].map(keep)].reset_index(drop=True)
    return BacktestResult(jobs, info, actuals, bt.settings, contexts=bt.contexts)


def sizes_report(folder: Path, all_tasks: bool) -> list[str]:
    bt = load_result(folder, size_sets(all_tasks))
    timing = json.loads((folder / "seconds.json").read_text()) if (folder / "seconds.json").exists() else {}
    parts = [
        f"Rolling cut-offs on the final checkpoints, methods ({', '.join(f'`{m}`' for m in bt.methods)}); "
        f"{len(bt.jobs)} jobs ({len(bt.skipped)} skipped: a method that cannot fit at a split, e.g. the two-step "
        f"chain on a task without a loss, {len(bt.failed)} failed), {len(bt.contexts)} learned-settings jobs"
        + (f", {timing['seconds']:.0f} s wall." if timing else "."),
        ("All 132 tasks per family." if all_tasks else
         "Task subset (fixed before any result was seen, `forecast.data.pythia.benchmark_tasks`): the 8 non-MMLU "
         "tasks and the MMLU subject average, and every 6th MMLU subject alphabetically (10 of 57), each at 0- and "
         "5-shot (separate tasks; one bootstrap unit per task and its two shot counts): 38 tasks per family. "
         "The full 132 tasks did not fit in the time available on a shared machine."),
    ]
    for group, label in ((None, "all tasks"), (GROUP_MMLU, "MMLU subjects"), (GROUP_REST, "the rest (8 tasks + MMLU average)")):
        b = by_group(bt, group)
        s = b.summary()
        for dataset in (PYTHIA, PYTHIA_DEDUPED):
            if s[s["dataset"] == dataset].empty:
                continue
            parts.append(f"\n#### {dataset}, {label}, every held-out model\n")
            parts.append(summary_table(s, dataset, "all"))
            if group is None:
                parts.append(f"\n#### {dataset}, {label}: by extrapolation distance\n")
                parts.append(distance_table(s, dataset))
        e = b.emergence_summary()
        for dataset in (PYTHIA, PYTHIA_DEDUPED):
            if not e[e["dataset"] == dataset].empty:
                parts.append(f"\n#### {dataset}, {label}: will it emerge by budget B?\n")
                parts.append(emergence_table(e, dataset))
    return parts


def families_report(folder: Path) -> list[str]:
    sets = family_sets()
    bt = load_result(folder, sets)
    s = bt.summary()
    s = s[(s["subset"] == "all") & (s["window"] == "all") & (s["families"] == "all")]
    parts = [
        "One family's 8 models all known, the other's fitted up to one of its sizes and its larger models "
        "forecast (the cut-off is the 12B's compute, the larger models of the forecast family are never fitted: "
        "what a user forecasting their own run from a public suite has). 18 tasks (8 non-MMLU tasks and the "
        "subject average, 0- and 5-shot). Rows: per direction and the forecast family's largest fitted size; "
        f"{len(bt.jobs)} jobs ({len(bt.skipped)} skipped, {len(bt.failed)} failed).",
    ]
    rows = []
    for r in s.sort_values(["dataset", "method"]).to_dict("records"):
        rows.append([r["dataset"], f"`{r['method']}`", fmt(r["n_tasks"]), fmt(r["n"]), fmt(r["mae"]), fmt(r["crps"]),
                     fmt(r["interval_score"]), fmt(r["cover"], 2),
                     *[("–" if not math.isfinite(r.get(f"ratio_{k}", math.nan)) else
                        f"{r[f'ratio_{k}']:.2f} [{r[f'ratio_{k}_lo']:.2f}, {r[f'ratio_{k}_hi']:.2f}]") for k in ("mae", "crps")]])
    parts.append(md_table(["data (forecast_given_known_at_size)", "method", "tasks", "points", "MAE", "CRPS", "IS",
                           "cover", "MAE/base [90%]", "CRPS/base [90%]"], rows))
    # pooled over cut-offs, per direction
    pooled = []
    m = bt.metrics()
    m = m[(m["window"] == "all") & (m["families"] == "all") & (m["n"] > 0)]
    m = m.assign(direction=m["dataset"].str.replace(r"_at_.*$", "", regex=True))
    for (direction, method), g in m.groupby(["direction", "method"], sort=True):
        per_task = g.groupby("task")[["mae", "crps", "cover"]].mean()
        pooled.append([direction, f"`{method}`", fmt(len(per_task)), fmt(float(per_task["mae"].mean())),
                       fmt(float(per_task["crps"].mean())), fmt(float(per_task["cover"].mean()), 2)])
    parts.append("\nPooled over the four cut-offs of each direction (each task first averaged over them):\n")
    parts.append(md_table(["direction", "method", "tasks", "MAE", "CRPS", "cover"], pooled))
    return parts


def mirage_report() -> list[str]:
    """Emergence score of LAMBADA's accuracy and of its target log-likelihood (``-ln ppl``)
    over size, with 90 % intervals from a parametric bootstrap on lm-eval's standard errors."""
    from forecast.data.shipped import pythia_frame

    raw = pythia_frame()
    raw = raw[raw["eval_run"].isin(["zero-shot", "five-shot"]) & raw["variant"].isin(["standard", "bf16"])
              & (raw["task"] == "lambada_openai") & (raw["step"] == 143000)]
    rng = np.random.default_rng(0)
    rows = []
    for (family, shots), g in raw.groupby(["family", "shots"], sort=True):
        acc = g[g["metric"] == "acc"].sort_values("params_total")
        ppl = g[g["metric"] == "ppl"].set_index("model").loc[acc["model"]]
        x = np.log10(6 * acc["params_total"].to_numpy(float) * acc["tokens_seen"].to_numpy(float))
        # delta method: sd of ln(ppl) = stderr(ppl) / ppl
        curves = {"accuracy": (acc["value"].to_numpy(float), acc["stderr"].to_numpy(float)),
                  "loglik (-ln ppl)": (-np.log(ppl["value"].to_numpy(float)),
                                       ppl["stderr"].to_numpy(float) / ppl["value"].to_numpy(float))}
        scores = {}
        for metric, (y, se) in curves.items():
            e = emergence_score(x, y)
            boots = np.array([emergence_score(x, y + se * rng.standard_normal(y.size)) for _ in range(N_BOOT)])
            lo, hi = np.quantile(boots, [(1 - LEVEL) / 2, (1 + LEVEL) / 2])
            scores[metric] = (e, lo, hi)
        disc, cont = scores["accuracy"], scores["loglik (-ln ppl)"]
        verdict = "mirage" if cont[0] < disc[1] else "survives"
        for metric, (e, lo, hi) in scores.items():
            rows.append([family, str(shots), metric, f"{e:.2f} [{lo:.2f}, {hi:.2f}]", verdict])
    return [
        "The mirage check on LAMBADA (the one task with both a discontinuous and a continuous metric): the "
        "emergence score (`forecast.metrics.emergence_score`) of accuracy and of the mean log-likelihood of the "
        "correct word over training FLOPs at the final checkpoints, 90 % intervals from a parametric bootstrap "
        "on lm-eval's standard errors (per model, independent; task-level data have no per-question rows, "
        "so `forecast.mirage` cannot resample questions here). Rule as in `forecast.mirage`: a mirage when the "
        "continuous score lies below the interval of the discontinuous one.",
        md_table(["family", "shots", "metric", "emergence score [90%]", "verdict"], rows),
    ]


def report(out: Path) -> str:
    warnings.filterwarnings("ignore")
    timing = out / "sizes" / "seconds.json"
    all_tasks = bool(json.loads(timing.read_text()).get("all_tasks")) if timing.exists() else False
    parts = ["## Across sizes (`python benchmarks/pythia.py run`)"]
    parts += sizes_report(out / "sizes", all_tasks)
    if (out / "families" / "run.json").exists():
        parts += ["## Across families"] + families_report(out / "families")
    parts += ["## Mirage check (LAMBADA)"] + mirage_report()
    return "\n\n".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step", choices=["run", "report"])
    parser.add_argument("--out", required=True)
    parser.add_argument("--all-tasks", action="store_true")
    parser.add_argument("--backend", default="local")
    parser.add_argument("--n-jobs", type=int, default=None)
    parser.add_argument("--parts", default="sizes,families", help="run: which backtests (sizes, families)")
    parser.add_argument("--methods", help="run: comma-separated methods (default: the backtest's defaults)")
    args = parser.parse_args()
    if args.step == "run":
        warnings.filterwarnings("ignore")
        methods = [m for m in args.methods.split(",") if m] if args.methods else None
        run(Path(args.out), args.all_tasks, args.backend, args.n_jobs, tuple(args.parts.split(",")), methods)
    else:
        print(report(Path(args.out)))


if __name__ == "__main__":
    main()
