"""Reliability of the item-level model's per-question probabilities on held-out models (issue 22).

For every task of one half of BIG-G (``forecast.data.bigg.bigg_half``) and every cut-off,
``item_level`` is fitted on the models at or below the cut-off (its settings learned once per
cut-off from every task's fitted models, as in a backtest) and forecasts ``P(correct)`` of
every question for every held-out (larger) model; the forecasts are scored against the
held-out models' 0/1 answers:

* Brier score per question (pooled over questions, and the mean of per-task means), beside
  two per-question references: the task-level forecast for every question (``task_curve``:
  the item model's own task accuracy, no item information) and the question's smoothed
  answer rate among the two largest fitted models (``last_answers``: ``(k + 0.5) / (n + 1)``);
* by distance past the cut-off (decades);
* a 10-bin calibration table (equal-width bins of the forecast probability: count, mean
  forecast, observed share correct) and its reliability figure.

The tuning half at cut-offs <= 1B is the selection set (default); the evaluation half is for
reporting (``--half evaluation``, cut-offs 1B to 27B by default) and must not be used to
choose anything.

    python benchmarks/item_level.py --half tuning --out DIR
    python benchmarks/item_level.py --half evaluation --out DIR
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

import forecast
from forecast.data.bigg import bigg_half
from forecast.methods.item_level import ItemLevel, item_arrays

CUTOFFS = {"tuning": (1.25e8, 2.44e8, 4.22e8, 1e9), "evaluation": (1e9, 2e9, 4e9, 8e9, 2.7e10)}
DISTANCE_BINS = (0.0, 0.5, 1.0, 1.5, 2.0, 3.5)


def question_rows(data, tasks: list[str], cutoffs: list[float], seed: int = 0, n_draws: int = 400) -> pd.DataFrame:
    """One row per (cut-off, task, held-out model, question): forecast and outcome."""
    frames = []
    for cut in cutoffs:
        pool = data.restrict(cut)
        context = ItemLevel(seed=seed).learn_context(pool, cut)
        for task in tasks:
            table = data.compute_table(task)
            held = table[table["compute"] > cut * (1 + 1e-12)]
            if held.empty:
                continue
            try:
                fc = ItemLevel(n_draws=n_draws, seed=seed).fit(data, cut, task, context=context)
            except forecast.errors.InputError:
                continue
            pq = fc.predict_questions(held["compute"].to_numpy(dtype=float))
            pq["model"] = np.tile(held["model"].to_numpy(), fc.items_.n_items)
            curve = fc.predict(held["compute"].to_numpy(dtype=float), kind="mean")
            pq["task_curve"] = np.tile(curve["mean"].to_numpy(), fc.items_.n_items)
            # the question's answers by the two largest fitted models
            qids, models, k, n, _ = item_arrays(fc.pool_.for_task(task).restrict(cut, task), task)
            x = table.set_index("model")["log10_compute"].reindex(models).to_numpy(dtype=float)
            top = np.argsort(x)[-2:]
            last = pd.Series((k[:, top].sum(axis=1) + 0.5) / (n[:, top].sum(axis=1) + 1.0), index=qids)
            pq["last_answers"] = last.reindex(pq["question_id"]).to_numpy()
            # the held-out models' answers
            full_q, full_m, fk, fn, _ = item_arrays(data, task)
            answers = pd.DataFrame(fk / np.where(fn > 0, fn, np.nan), index=full_q, columns=full_m)
            long = answers.stack().rename("y").reset_index().rename(columns={"level_0": "question_id",
                                                                            "level_1": "model"})
            pq = pq.merge(long, on=["question_id", "model"], how="inner")
            pq.insert(0, "task", task)
            pq.insert(1, "cutoff", cut)
            pq["distance"] = pq["log10_compute"] - np.log10(cut)
            frames.append(pq)
        print(f"cut-off {cut:.3g}: {sum(len(f) for f in frames)} rows so far", flush=True)
    return pd.concat(frames, ignore_index=True)


def brier_table(rows: pd.DataFrame) -> pd.DataFrame:
    """Brier score of each forecast, pooled over questions and as the mean of per-task means,
    overall and by distance past the cut-off."""
    out = []
    bins = pd.cut(rows["distance"], DISTANCE_BINS, include_lowest=True)
    for label, part in [("all", rows)] + [(str(b), rows[bins == b]) for b in bins.cat.categories]:
        if part.empty:
            continue
        rec = {"distance": label, "n_rows": len(part), "n_tasks": part["task"].nunique()}
        for col in ("p_correct", "task_curve", "last_answers"):
            err = (part[col] - part["y"]) ** 2
            rec[f"brier_{col}"] = float(err.mean())
            rec[f"brier_{col}_task_mean"] = float(err.groupby(part["task"]).mean().mean())
        rec["skill_vs_task_curve"] = 1 - rec["brier_p_correct"] / rec["brier_task_curve"]
        rec["skill_vs_last_answers"] = 1 - rec["brier_p_correct"] / rec["brier_last_answers"]
        out.append(rec)
    return pd.DataFrame(out)


def calibration_table(rows: pd.DataFrame, n_bins: int = 10) -> pd.DataFrame:
    """Equal-width bins of the forecast probability: count, mean forecast, observed share."""
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    b = np.clip(np.digitize(rows["p_correct"], edges[1:-1]), 0, n_bins - 1)
    g = rows.groupby(b)
    table = pd.DataFrame({"bin": [f"[{edges[i]:.1f}, {edges[i + 1]:.1f})" for i in g.size().index],
                          "n": g.size().to_numpy(), "mean_forecast": g["p_correct"].mean().to_numpy(),
                          "observed": g["y"].mean().to_numpy()})
    return table


def reliability_figure(table: pd.DataFrame, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.plot([0, 1], [0, 1], color="0.6", lw=1, ls="--")
    ax.plot(table["mean_forecast"], table["observed"], marker="o")
    for _, r in table.iterrows():
        ax.annotate(f"{int(r['n'])}", (r["mean_forecast"], r["observed"]), fontsize=6,
                    textcoords="offset points", xytext=(3, -8))
    ax.set_xlabel("forecast P(correct) of a held-out model")
    ax.set_ylabel("observed share correct")
    ax.set_title(title, fontsize=9)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    fig.tight_layout()
    fig.savefig(path, dpi=150)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--half", choices=("tuning", "evaluation"), default="tuning")
    ap.add_argument("--cutoffs", help="comma-separated raw cut-offs (default: the half's own)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    data = forecast.load_dataset("bigbench_bigg")
    tasks = [t for t in data.task_names if bigg_half(t) == args.half]
    cutoffs = [float(c) for c in args.cutoffs.split(",")] if args.cutoffs else list(CUTOFFS[args.half])
    t0 = time.process_time()
    rows = question_rows(data, tasks, cutoffs, args.seed)
    rows.to_csv(out / "question_rows.csv.gz", index=False)
    brier = brier_table(rows)
    calib = calibration_table(rows)
    brier.to_csv(out / "brier.csv", index=False)
    calib.to_csv(out / "calibration.csv", index=False)
    reliability_figure(calib, out / "reliability.png",
                       f"item_level, BIG-G {args.half} half\ncut-offs {', '.join(f'{c:.3g}' for c in cutoffs)}")
    (out / "run.json").write_text(json.dumps({"half": args.half, "cutoffs": cutoffs, "seed": args.seed,
                                              "tasks": len(tasks), "cpu_seconds": round(time.process_time() - t0, 1)},
                                             indent=1))
    print(brier.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    print()
    print(calib.to_string(index=False, float_format=lambda v: f"{v:.3f}"))


if __name__ == "__main__":
    main()
