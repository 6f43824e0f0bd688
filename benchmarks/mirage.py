"""Tables for issue 9: the mirage check, induced emergence on digits, composite tasks.

Writes ``benchmarks/RESULTS_mirage.md``.  Every setting is fixed in advance (seed 0,
90 % intervals, 1,000 bootstrap resamples, rolling cut-offs leaving at least 4 fitted
sizes, K in 1, 2, 4, 8); nothing is chosen from the backtest results.

Usage::

    python benchmarks/mirage.py [--out benchmarks/RESULTS_mirage.md]
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

import forecast
from forecast.composite import composite_backtest, subset_accuracy
from forecast.data.task_table import task_table
from forecast.errors import InputError
from forecast.metrics import emergence_score
from forecast.mirage import mirage
from forecast.tuning import rolling_cutoffs

LEVEL = 0.9
KS = (1, 2, 4, 8)
METHODS = ("persistence", "linear", "sigmoid", "slice_sandwich")
MIRAGE_TASKS = (
    ("digits", "digits"),
    ("bigbench_bigg", "modified_arithmetic"),
    ("bigbench_bigg", "qa_wikidata"),
    ("slice_sandwich", "mmlu"),
    ("slice_sandwich", "arithmetic"),
    ("slice_sandwich", "parsinlu_qa_mc"),
    ("slice_sandwich", "arc"),
    ("slice_sandwich", "hellaswag"),
)


def md(df: pd.DataFrame, digits: int = 3) -> str:
    """A DataFrame as a GitHub markdown table."""
    def cell(v):
        if isinstance(v, (float, np.floating)):
            return "" if not np.isfinite(v) else f"{v:.{digits}g}"
        return str(v)

    head = "| " + " | ".join(map(str, df.columns)) + " |"
    rule = "|" + "---|" * len(df.columns)
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join([head, rule, *body])


def mirage_table() -> tuple[pd.DataFrame, list[str]]:
    rows, verdicts = [], []
    for ds, task in MIRAGE_TASKS:
        r = mirage(ds, task, level=LEVEL, seed=0)
        for m in r.metrics.itertuples(index=False):
            rows.append({"dataset": ds, "task": task, "metric": m.metric, "kind": m.kind,
                         "E": m.emergence_score, "E low": m.e_low, "E high": m.e_high})
        small = r.curves[(r.curves["metric"] == r.metrics["metric"].iloc[0])].head(3)
        need = ", ".join(f"{row.model}: {row.questions_needed:.0f}" for row in small.itertuples())
        verdicts.append(f"- **{ds} / {task}**: {r.verdict}. Questions needed to tell the three "
                        f"smallest models' {small['metric'].iloc[0]} from chance/zero: {need}.")
    return pd.DataFrame(rows), verdicts


def digits_curves(d) -> pd.DataFrame:
    t = task_table(d, "digits")
    wide = d.results.pivot(index="model", columns="question_id", values="p_correct").loc[t["model"]]
    out = t[["model", "compute", "accuracy", "tc_brier"]].copy()
    out["p_correct"] = wide.mean(axis=1).to_numpy()
    for k in KS[1:]:
        out[f"subset K={k}"] = subset_accuracy(wide.to_numpy(), k)
    return out


def forecaster_backtest(d) -> pd.DataFrame:
    t = task_table(d, "digits")
    rows = []
    for cutoff in rolling_cutoffs(t["compute"].to_numpy(), min_sizes=4):
        held = t[t["compute"] > cutoff * (1 + 1e-12)]
        for method in METHODS:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    f = forecast.make_method(method, seed=0).fit(d, cutoff, task="digits")
                    pred = f.predict_models(held[["model", "compute"]], level=LEVEL)
            except InputError as exc:
                rows.append({"cutoff": cutoff, "method": method, "model": None, "error": str(exc)})
                continue
            for p, obs in zip(pred.itertuples(index=False), held["accuracy"]):
                rows.append({"cutoff": cutoff, "method": method, "model": p.model, "observed": obs,
                             "mean": p.mean, "lower": p.lower, "upper": p.upper,
                             "abs_error": abs(p.mean - obs), "covered": p.lower <= obs <= p.upper,
                             "width": p.upper - p.lower})
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(Path(__file__).with_name("RESULTS_mirage.md")))
    args = parser.parse_args()
    t0 = time.time()
    d = forecast.load_dataset("digits")
    mt, verdicts = mirage_table()
    curves = digits_curves(d)
    x = np.log10(curves["compute"].to_numpy())
    e_rows = [{"metric": c, "E": emergence_score(x, curves[c].to_numpy())}
              for c in curves.columns if c not in ("model", "compute")]
    fb = forecaster_backtest(d)
    ok = fb.dropna(subset=["mean"]) if "mean" in fb.columns else fb.iloc[:0]
    fb_sum = ok.groupby("method", sort=False).agg(
        jobs=("cutoff", "nunique"), forecasts=("model", "size"), MAE=("abs_error", "mean"),
        coverage=("covered", "mean"), mean_width=("width", "mean")).reset_index()
    far = ok.sort_values("cutoff").groupby("method", sort=False).head(6)
    cb = composite_backtest(d, "digits", ks=KS, min_sizes=4, level=LEVEL, seed=0)
    cb["width"] = cb["high"] - cb["low"]
    cb_sum = cb.groupby(["k", "method"], sort=True).agg(
        forecasts=("model", "size"), MAE=("abs_error", "mean"), coverage=("covered", "mean"),
        mean_width=("width", "mean")).reset_index()
    text = f"""# Issue 9: the mirage check, digits, composite tasks

Produced by `python benchmarks/mirage.py` ({time.time() - t0:.0f} s). Seed 0, {LEVEL:.0%} intervals,
1,000 bootstrap resamples of the questions, every setting fixed before looking at results.

## 1. Mirage check: emergence score (E) of the same outputs under each metric

E = sign · (max − min) / √median(step²) over the models sorted by compute (METHOD.md §2); the
interval is the {LEVEL:.0%} bootstrap interval over resampled questions (none for slice-level data,
whose per-question scores are not published). BIG-G carries 0/1 correctness only, so no
continuous metric exists there: the check cannot run.

{md(mt)}

Verdicts (`forecast mirage DATA --task T`):

{chr(10).join(verdicts)}

## 2. Induced emergence on digits (10 MLPs trained here, `scripts/make_digits.py`)

Per model: accuracy (argmax), TC Brier and mean probability of the true class, and K-of-K
subset accuracy (mean over K-subsets of images of the product of the true-class
probabilities: a composite question answered by sampling from the model).

{md(curves, 4)}

Emergence score of each curve:

{md(pd.DataFrame(e_rows))}

## 3. Forecasting the larger digits models from the smaller ones (accuracy)

Rolling cut-offs leaving at least 4 fitted sizes; each method fitted on the models at or
below the cut-off through the package API (`make_method(name).fit(data, cutoff, task)`,
`predict_models`), scored on every larger model.

{md(fb_sum)}

First cut-off (4 fitted sizes, the longest extrapolation), per held-out model:

{md(far[["cutoff", "method", "model", "observed", "mean", "lower", "upper"]], 3)}

## 4. Composite tasks on digits: subset accuracy from items vs fitted directly

`forecast.composite.composite_backtest`: at each rolling cut-off, `from_items` fits one
quasi-binomial GLM per image (probability of the true class on log compute), draws every
item's curve and takes the K-subset mean of products per draw; `direct` fits one GLM to the
fitted models' subset accuracy itself; `mean_to_the_k` raises a GLM forecast of the mean
probability to the K (the shortcut the product rule does not license). Observed: the held-out
model's own subset accuracy.

{md(cb_sum)}

Reading. On digits the composite forecast from items is the weakest of the three for K <= 2
and its intervals are far too narrow (per-item parameter uncertainty averages away over 899
items, while the error is shared): per-item logistic curves fitted on a few small models see
images still near chance as flat and extrapolate them low. The direct fit of the subset
accuracy degrades fastest as K grows (its curve is nearly flat at zero over the fitted
models), and the mean raised to the K does best here because the items become alike at the
larger sizes, where Maclaurin's gap between the two closes. No variant was tuned on these
numbers; a pooled item model (shared slope, IRT-like) is the obvious next candidate.

Caveats. The product rule assumes items succeed independently given the model. On item-level
0/1 outcomes of a single run, K-of-K subset accuracy equals C(c, K)/C(n, K) ≈ (c/n)^K by
counting alone, so such data cannot test independence; here the per-item quantity is a
probability (an answer sampled from the model's class distribution), for which independence
across images holds by construction. The from-items intervals come from per-item parameter
uncertainty only; a shared misfit of the per-item logistic curves is not in them.
"""
    Path(args.out).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
