"""The OLMo model ladder: ladder runs -> the 7B and 13B targets, per task and method.

Reproduces the reference figures of ``datasets/olmo_ladder/README.md`` for the two-step
method beside the baselines, on the paper's 16-run ladder (``olmo_ladder_paper``) and on
all 25 runs (``olmo_ladder``): one cut-off at the largest ladder run, so the held-out
models are the targets.  MMLU is AI2's weighted mean of the four category forecasts
(test split).  Prints signed errors (accuracy points), the mean absolute error over the
paper's eight tasks and over all ten, and 90% interval coverage over task x target pairs.

    python benchmarks/ladder.py [--configs paper,all] [--methods two_step,two_step_slp,linear,persistence]

Every setting of the methods was chosen on pseudo-targets inside the ladder
(``benchmarks/ladder_tuning.py``), never on these targets.

Every method is fitted through ``Forecaster.fit`` (the cut-off and the never-fitted roles
applied by ``EvalData.restrict``) and forecasts the targets with ``predict_models`` from
their ``params`` and ``tokens``, as the backtest harness does.  two_step's context (the
extrapolation error learned on pseudo-cut-offs inside the ladder) is learned once per
configuration from every task at the cut-off.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from forecast import load_dataset, make_method

TARGETS = ("7B-4T-anneal", "13B-5T")
#: AI2's MMLU: weighted mean of the category accuracies (test split)
MMLU_WEIGHTS = {"mmlu_stem": 0.215, "mmlu_humanities": 0.335, "mmlu_social_sciences": 0.219, "mmlu_other": 0.231}
MAIN8 = ("mmlu_avg_test", "hellaswag_val", "arc_challenge_test", "arc_easy_test", "piqa_val", "csqa_val",
         "socialiqa_val", "openbookqa_test")
ALL10 = MAIN8 + ("boolq_val", "winogrande_val")
#: the README's rows and the task-level data's task names
TASKS = {
    "hellaswag_val": "hellaswag:val:rc:5", "arc_challenge_test": "arc_challenge:test:rc:5",
    "arc_easy_test": "arc_easy:test:rc:5", "piqa_val": "piqa:val:rc:5", "csqa_val": "csqa:val:rc:5",
    "socialiqa_val": "socialiqa:val:rc:5", "openbookqa_test": "openbookqa:test:rc:5",
    "boolq_val": "boolq:val:rc:5", "winogrande_val": "winogrande:val:rc:5",
}
#: named variants: (method, parameters); any other name is a registered method as it is
METHOD_SPECS: dict[str, tuple[str, dict]] = {
    "two_step_chance_floor": ("two_step", {"step2": "chance_floor"}),
    # issue 11, item 4: widened by the disagreement with the other task loss's chain
    "two_step_wide": ("two_step", {"loss_disagreement": True}),
    "two_step_slp_wide": ("two_step_slp", {"loss_disagreement": True}),
    # speed: half the bootstrap refits
    "two_step_d20": ("two_step", {"n_draws": 20}),
    "two_step_slp_d20": ("two_step_slp", {"n_draws": 20}),
    "two_step_slp_wide_d20": ("two_step_slp", {"loss_disagreement": True, "n_draws": 20}),
}
#: a miss this large (points) must lie inside the 90% interval (the issue's target)
BIG_MISS = 6.0
CONFIGS = {"paper": "olmo_ladder_paper", "all": "olmo_ladder"}
#: the README's re-implementation of AI2's two-step method (``datasets/olmo_ladder/README.md``,
#: method (e)): MAE in points per (config, target, tasks), computed on the shipped files
REFERENCE_TWO_STEP = {
    ("paper", "7B-4T-anneal", "main8"): 3.35, ("paper", "7B-4T-anneal", "all10"): 4.34,
    ("paper", "13B-5T", "main8"): 3.62, ("paper", "13B-5T", "all10"): 4.48,
    ("all", "7B-4T-anneal", "main8"): 2.57, ("all", "7B-4T-anneal", "all10"): 3.61,
    ("all", "13B-5T", "main8"): 3.35, ("all", "13B-5T", "all10"): 4.54,
}
#: AI2's published figure (arXiv 2412.04403 abstract), quoted, not recomputed
PUBLISHED = ("AI2 (Bhagia et al. 2024, abstract): within 2 points on four of the eight tasks for both targets, "
             "6.9 points on average on the other four (about 4.4 over the eight); per-task table not retrievable")


def forecast_task(data, task: str, method: str, cutoff: float, context: dict | None, level: float,
                  targets: tuple[str, ...] = TARGETS, n_draws: int | None = None) -> pd.DataFrame:
    """Forecast the targets on one task: model, mean, lower, upper, draws (observed);
    ``n_draws`` overrides the method's draws where it has that setting (the point forecast,
    hence the error, does not depend on it)."""
    name, params = METHOD_SPECS.get(method, (method, {}))
    fc = make_method(name, **params, seed=0)
    if n_draws is not None and "n_draws" in fc.get_params():
        fc = make_method(name, **{**params, "n_draws": n_draws}, seed=0)
    fc.fit(data, cutoff, task, context=context if fc.learns_context else None)
    m = data.models[data.models["model"].isin(targets)]
    held = pd.DataFrame({"model": m["model"], "compute": m["flops"], "params": m["params"], "tokens": m["tokens"]})
    pred = fc.predict_models(held.reset_index(drop=True), level=level)
    pred["draws"] = list(fc.sample_models(held.reset_index(drop=True)).T)
    return pred


def actual(data, task: str, targets: tuple[str, ...] = TARGETS) -> pd.Series:
    s = data.scores
    rows = s[(s["task"] == task) & (s["metric"] == "accuracy") & s["model"].isin(targets)]
    return rows.set_index("model")["value"]


def learned_context(data, cutoff: float, method: str, calibrate: bool = True) -> dict | None:
    """A method's context learned from every task at the cut-off (None if it learns none)."""
    name, params = METHOD_SPECS.get(method, (method, {}))
    fc = make_method(name, **params, seed=0)
    if not fc.learns_context:
        return None
    return fc.learn_context(data.restrict(cutoff), cutoff) if calibrate else {}


def forecast_targets(data, cutoff: float, targets: tuple[str, ...], methods: list[str], label: str,
                     level: float = 0.9, calibrate: bool = True, n_draws: int | None = None) -> pd.DataFrame:
    """Rows per method, task (the README's ten; MMLU = AI2's weighted category mean) and target."""
    rows = []
    alpha = (1 - level) / 2
    for method in methods:
        start = time.perf_counter()
        context = learned_context(data, cutoff, method, calibrate)
        per_task = {}
        for name, task in TASKS.items():
            per_task[name] = (forecast_task(data, task, method, cutoff, context, level, targets, n_draws),
                              actual(data, task, targets))
        cats = {}
        for cat in MMLU_WEIGHTS:
            task = f"{cat}:test:rc:5"
            cats[cat] = (forecast_task(data, task, method, cutoff, context, level, targets, n_draws),
                         actual(data, task, targets))
        # MMLU: the weighted mean of the category forecasts, draw by draw
        first = next(iter(cats.values()))[0]
        mmlu = first[["model"]].copy()
        mmlu["mean"] = sum(w * cats[c][0]["mean"].to_numpy() for c, w in MMLU_WEIGHTS.items())
        draws = [sum(w * cats[c][0]["draws"].iloc[i] for c, w in MMLU_WEIGHTS.items()) for i in range(len(mmlu))]
        mmlu["lower"] = [np.quantile(d, alpha) for d in draws]
        mmlu["upper"] = [np.quantile(d, 1 - alpha) for d in draws]
        truth = sum(w * cats[c][1] for c, w in MMLU_WEIGHTS.items())
        per_task["mmlu_avg_test"] = (mmlu, truth)
        for name, (pred, truth) in per_task.items():
            for r in pred.itertuples(index=False):
                y = float(truth[r.model])
                rows.append({"config": label, "method": method, "task": name, "target": r.model,
                             "actual": 100 * y, "error": 100 * (r.mean - y),
                             "covered": bool(r.lower < y < r.upper), "width": 100 * (r.upper - r.lower),
                             "outside": 100 * (max(r.lower - y, 0.0) + max(y - r.upper, 0.0))})
        print(f"# {label} {method}: {time.perf_counter() - start:.1f} s"
              + (f"; context {context}" if context else ""), flush=True)
    return pd.DataFrame(rows)


def run(config: str, methods: list[str], level: float = 0.9, calibrate: bool = True,
        n_draws: int | None = None) -> pd.DataFrame:
    """Rows per method, task and target at the largest ladder run; ``calibrate=False`` skips
    two_step's learned extrapolation error and ``n_draws`` sets fewer draws (point forecasts
    unchanged, intervals narrower or noisier, much faster)."""
    data = load_dataset(CONFIGS[config])
    ladder = data.models[data.models["role"] == "ladder"]
    cutoff = float(ladder["flops"].max())
    return forecast_targets(data, cutoff, TARGETS, methods, config, level, calibrate, n_draws)


def interval_score(table: pd.DataFrame, level: float = 0.9) -> pd.Series:
    """The interval score of each row's central interval (Gneiting and Raftery 2007), in
    points: its width plus ``2 / (1 - level)`` times the distance by which it misses."""
    return table["width"] + 2.0 / (1.0 - level) * table["outside"]


def big_misses(table: pd.DataFrame) -> pd.DataFrame:
    """Rows erring by more than :data:`BIG_MISS` points outside their interval."""
    return table[(table["error"].abs() > BIG_MISS) & ~table["covered"]]


def summarise(table: pd.DataFrame) -> pd.DataFrame:
    out = []
    for (config, target, method), g in table.groupby(["config", "target", "method"]):
        for label, tasks in (("main8", MAIN8), ("all10", ALL10)):
            sub = g[g["task"].isin(tasks)]
            out.append({"config": config, "target": target, "tasks": label, "method": method,
                        "MAE": sub["error"].abs().mean(), "coverage90": sub["covered"].mean(),
                        "mean_width": sub["width"].mean(), "n": len(sub)})
    return pd.DataFrame(out)


def rolling_coverage(predictions: pd.DataFrame) -> pd.DataFrame:
    """Pooled over the rolling cut-offs of a ``forecast backtest`` run (its predictions.csv):
    per dataset and method, the 90% coverage and MAE (points) of the targets on every task
    and cut-off, and of every held-out model."""
    out = []
    for (dataset, method), g in predictions.groupby(["dataset", "method"]):
        for label, sub in (("targets", g[g["model"].isin(TARGETS)]), ("every held-out run", g)):
            out.append({"dataset": dataset, "method": method, "scored": label, "n": len(sub),
                        "cutoffs": sub["cutoff"].nunique(), "coverage90": sub["cover"].mean(),
                        "MAE": 100 * (sub["mean"] - sub["y_true"]).abs().mean()})
    return pd.DataFrame(out)


def per_cutoff(predictions: pd.DataFrame, learned: pd.DataFrame | None) -> pd.DataFrame:
    """Per dataset, method and cut-off: the targets' 90% coverage, MAE (points) and misses
    over :data:`BIG_MISS` points outside the interval, with the extrapolation law's source
    and sd learned there (two_step methods)."""
    tg = predictions[predictions["model"].isin(TARGETS)].copy()
    tg["err"] = 100 * (tg["mean"] - tg["y_true"])
    tg["big_uncovered"] = (tg["err"].abs() > BIG_MISS) & (tg["cover"] < 1)
    out = tg.groupby(["dataset", "method", "cutoff"]).agg(
        n=("err", "size"), coverage90=("cover", "mean"), MAE=("err", lambda e: e.abs().mean()),
        big_misses=("big_uncovered", "sum")).reset_index()
    if learned is not None and "extrapolation_source" in learned.columns:
        cols = ["dataset", "method", "cutoff", "extrapolation_source", "extrapolation_sd"]
        out = out.merge(learned[[c for c in cols if c in learned.columns]], on=["dataset", "method", "cutoff"],
                        how="left")
    out.insert(2, "log10_cutoff", np.log10(out.pop("cutoff")).round(2))
    return out


def backtest_report(folder: str) -> str:
    """Markdown tables of one ``forecast backtest`` output folder on a ladder: coverage pooled
    over the cut-offs (targets and every held-out run) and per cut-off for the two_step methods."""
    import json
    from pathlib import Path

    root = Path(folder)
    pred = pd.read_csv(root / "predictions.csv")
    learned = pd.read_csv(root / "learned.csv") if (root / "learned.csv").exists() else None
    run = json.loads((root / "run.json").read_text()) if (root / "run.json").exists() else {}
    names = ", ".join(sorted(pred["dataset"].unique()))
    code = run.get("code", {}).get("source_hash", "?")
    lines = [f"## `forecast backtest {names}` (default cut-offs and methods): coverage pooled over the cut-offs",
             f"# code {code}; {run.get('n_jobs', '?')} jobs, methods {', '.join(run.get('methods', []))}; cut-offs (log10 FLOPs): "
             + ", ".join(f"{c:.2f}" for c in np.log10(np.sort(pred["cutoff"].unique())))]
    pooled = rolling_coverage(pred)
    tg = pred[pred["model"].isin(TARGETS)]
    big = ((100 * (tg["mean"] - tg["y_true"])).abs() > BIG_MISS) & (tg["cover"] < 1)
    counts = big.groupby([tg["dataset"], tg["method"]]).sum()
    pooled["target misses > 6 outside"] = [int(counts.get((d, m), 0)) if s == "targets" else ""
                                           for d, m, s in zip(pooled["dataset"], pooled["method"], pooled["scored"])]
    lines += [markdown(pooled.round(3)), "",
              f"## `forecast backtest {names}`: the targets per cut-off (two_step methods)",
              "# extrapolation_source: `learned` (OLS slope of the pseudo-cut-offs' errors on the decades), "
              "`through_origin` (no positive slope can be told from a floor: RMS of error / decades) or "
              "`fallback` (no pseudo-cut-off: the package-wide a-priori half logit per decade, fixed before the "
              "ladder existed). Disclosure: the need for the last two was seen on an earlier rolling backtest "
              "of these data (intervals without any extrapolation error at the smallest cut-offs); no value was "
              "chosen there."]
    two = per_cutoff(pred[pred["method"].str.startswith("two_step")], learned)
    lines.append(markdown(two.round(4)))
    return "\n".join(lines)


def markdown(df: pd.DataFrame) -> str:
    """A plain markdown table (no optional dependency)."""
    head = "| " + " | ".join(map(str, df.columns)) + " |"
    rule = "|" + "---|" * len(df.columns)
    body = ["| " + " | ".join(map(str, row)) + " |" for row in df.itertuples(index=False)]
    return "\n".join([head, rule, *body])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--configs", default="paper,all")
    ap.add_argument("--methods", default="two_step,two_step_slp,linear,sigmoid,persistence")
    ap.add_argument("--out", help="CSV file for the per task x target x method rows")
    ap.add_argument("--backtest", help="a `forecast backtest` output folder on a ladder: print the coverage "
                                       "pooled over its rolling cut-offs (and nothing else)")
    ap.add_argument("--rows", help="the targets' rows from an earlier --out CSV: print their tables, fit nothing")
    ap.add_argument("--backtests", help="comma-separated `forecast backtest` output folders on ladders: their "
                                        "tables printed after the targets' tables")
    args = ap.parse_args()
    if args.backtest:
        print(backtest_report(args.backtest))
        return
    methods = [m for m in args.methods.split(",") if m]
    if args.rows:
        table = pd.read_csv(args.rows)
        print("# the targets' rows of `python benchmarks/ladder.py --out ROWS.csv`, read back with --rows")
    else:
        table = pd.concat([run(c, methods) for c in args.configs.split(",") if c], ignore_index=True)
    if args.out:
        table.to_csv(args.out, index=False)
    pd.set_option("display.width", 200)
    for (config, target), g in table.groupby(["config", "target"]):
        wide = g.pivot(index="task", columns="method", values="error").reindex(list(ALL10))
        wide.insert(0, "actual", g.drop_duplicates("task").set_index("task")["actual"].reindex(list(ALL10)))
        cov = g.pivot(index="task", columns="method", values="covered").reindex(list(ALL10))
        print(f"\n## {config}: {target}, signed error (points); * = outside the 90% interval")
        shown = wide.round(2).astype(str)
        for m in cov.columns:
            shown[m] = [f"{v}{'' if c else '*'}" for v, c in zip(shown[m], cov[m])]
        print(markdown(shown.reset_index()))
    print("\n## Mean absolute error (points), 90% coverage and mean interval width")
    summary = summarise(table)
    summary["README two_step"] = [REFERENCE_TWO_STEP.get((c, t, k), np.nan)
                                  for c, t, k in zip(summary["config"], summary["target"], summary["tasks"])]
    print(markdown(summary.round(3)))
    print(f"\n{PUBLISHED}.")
    print("\n## Misses over 6 points outside the 90% interval (the issue allows none)")
    print(markdown(big_misses(table)[["config", "method", "task", "target", "error", "width"]].round(2)))
    for folder in [f for f in (args.backtests or "").split(",") if f]:
        print()
        print(backtest_report(folder))


if __name__ == "__main__":
    main()
