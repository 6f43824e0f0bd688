"""Does the easy slice's turn tell whether a task will emerge? (issue 8, item 4)

Reads a finished backtest folder (the README's main job) and, for every split of
``slice_sandwich`` in its emergence table (a task not yet at ``tau`` at the cut-off, a
budget past it, the event observed), refits the sandwich curve with the settings that run
learned at that cut-off (``combine=None``: the turn is a property of the curve's easy slice)
and reads the easy-slice turn per curve draw (:meth:`SliceSandwich.easy_turn_draws`).

The signal of a split at budget ``B`` is ``p_turn = P(turn <= B)`` over the draws.  Reported,
per data set and per half of BIG-G:

* how often the signal is present (``p_turn > 0.5``) and the event rate with and without it;
* the ranking skill (AUC) of ``p_turn`` alone and of the default's ``p_emerged``;
* a combination, ``logit p = a + b logit(p_emerged) + c p_turn`` (statsmodels ``Logit``),
  fitted on the recorded tuning data only (the BIG-G tuning half at cut-offs <= 1B, as in
  ``STACKING_TUNING.md``) and scored, with ``p_emerged`` beside it, where it played no part:
  the BIG-G evaluation half at cut-offs >= 1B and the group data.

Usage::

    python benchmarks/early_signal.py --backtest backtest-output [--out early_signal.csv]
"""

from __future__ import annotations

import argparse
import glob
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy.special import logit
from scipy.stats import spearmanr
from sklearn.metrics import roc_auc_score

from forecast import load_dataset
from forecast.backtest.results import bigg_half
from forecast.errors import InputError
from forecast.methods.slice_sandwich import SliceSandwich

METHOD = "slice_sandwich"
DATASETS = ("bigbench_bigg", "slice_sandwich")
#: decades over which the hardest slice's rise at the cut-off is read
HARD_STEP = 0.1
#: probabilities are clipped to this range before their logit
CLIP = (0.001, 0.999)


def _context(folder: Path, dataset: str, cutoff: float) -> dict:
    """The settings the run learned for ``slice_sandwich`` on ``dataset`` at ``cutoff``."""
    for path in glob.glob(str(folder / "jobs" / f"context_{dataset}_{METHOD}_*.json")):
        job = json.loads(Path(path).read_text())
        if job.get("status") == "ok" and np.isclose(float(job["cutoff"]), cutoff, rtol=1e-9):
            return job["context"]
    raise InputError(f"{folder}: no learned context of {METHOD} on {dataset} at cut-off {cutoff:g}")


def turn_table(folder: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One row per emergence row of the default (its ``p_emerged``, ``observed``, ``p_turn``
    and ``p_hard_rising``), and one per split (``turn``: the median turn in log10 compute,
    NaN when fewer than half the draws turn in range)."""
    em = pd.read_csv(folder / "emergence.csv")
    em = em[(em["method"] == METHOD) & em["dataset"].isin(DATASETS) & em["observed"].notna()].copy()
    splits = []
    em["p_turn"] = np.nan
    em["turn_found"] = np.nan
    em["p_hard_rising"] = np.nan
    for (dataset, cutoff), rows in em.groupby(["dataset", "cutoff"]):
        data = load_dataset(dataset)
        ctx = _context(folder, dataset, float(cutoff))
        curve = SliceSandwich(combine=None, prior_sd=tuple(ctx["prior_sd"]),
                              extrapolation_sd=float(ctx["extrapolation_sd"]), seed=0)
        for task, idx in rows.groupby("task").groups.items():
            try:
                fc = curve.fit(data, float(cutoff), task)
                x = np.log10(float(cutoff))
                hard = fc.curves_.link(np.array([x - HARD_STEP, x]))[:, -1, :]
                em.loc[idx, "p_hard_rising"] = float(np.mean(hard[:, 1] > hard[:, 0]))
                turns = fc.easy_turn_draws()
            except (InputError, ValueError, RuntimeError, np.linalg.LinAlgError) as exc:
                print(f"  {dataset} {task} {cutoff:g}: no turn ({exc})", file=sys.stderr)
                continue
            budgets = np.log10(em.loc[idx, "budget"].to_numpy(dtype=float))
            filled = np.nan_to_num(turns, nan=np.inf)
            median = float(np.quantile(filled, 0.5, method="inverted_cdf"))
            splits.append({"dataset": dataset, "task": task, "cutoff": float(cutoff),
                           "turn": median if np.isfinite(median) else np.nan})
            em.loc[idx, "p_turn"] = (filled[None, :] <= budgets[:, None]).mean(axis=1)
            em.loc[idx, "turn_found"] = float(np.isfinite(turns).mean())
    return em.dropna(subset=["p_turn"]), pd.DataFrame(splits)


def _auc(y: np.ndarray, p: np.ndarray) -> float:
    return float(roc_auc_score(y, p)) if 0 < y.sum() < len(y) else float("nan")


def _brier(y: np.ndarray, p: np.ndarray) -> float:
    return float(np.mean((p - y) ** 2))


SIGNALS = ("p_turn", "p_hard_rising")


def _features(frame: pd.DataFrame, signals: tuple[str, ...]) -> np.ndarray:
    p = np.clip(frame["p_emerged"].to_numpy(dtype=float), *CLIP)
    cols = [logit(p)] + [frame[s].to_numpy(dtype=float) for s in signals]
    return sm.add_constant(np.column_stack(cols), has_constant="add")


def subsets(em: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The reporting subsets: each data set, and BIG-G's tuning and evaluation halves."""
    bigg = em[em["dataset"] == "bigbench_bigg"]
    half = bigg["task"].map(bigg_half)
    return {
        "bigbench_bigg": bigg,
        "tune_half_<=1B": bigg[(half == "tuning") & (bigg["cutoff"] <= 1e9 * (1 + 1e-9))],
        "eval_half_1B+": bigg[(half == "evaluation") & (bigg["cutoff"] >= 1e9 * (1 - 1e-9))],
        "slice_sandwich (group data)": em[em["dataset"] == "slice_sandwich"],
    }


def report(em: pd.DataFrame) -> tuple[str, pd.DataFrame]:
    """The measured table (markdown) and its rows.

    Two logistic models are fitted on the tuning rows: ``recal`` (the default's probability
    alone, a recalibration) and ``signals`` (plus the early signals); what the signals add is
    the difference between the two where neither was fitted."""
    parts = subsets(em)
    tune = parts["tune_half_<=1B"]
    y_tune = tune["observed"].to_numpy(dtype=float)
    recal = sm.Logit(y_tune, _features(tune, ())).fit(disp=0)
    full = sm.Logit(y_tune, _features(tune, SIGNALS)).fit(disp=0)
    rows = []
    for name, f in parts.items():
        y = f["observed"].to_numpy(dtype=float)
        row = {"subset": name, "rows": len(f), "tasks": f["task"].nunique(), "events": int(y.sum())}
        for sig in SIGNALS:
            present = f[sig].to_numpy(dtype=float) > 0.5
            row[f"{sig} > 0.5"] = float(present.mean())
            row[f"rate | {sig}"] = float(y[present].mean()) if present.any() else float("nan")
            row[f"rate | not {sig}"] = float(y[~present].mean()) if (~present).any() else float("nan")
            row[f"AUC {sig}"] = _auc(y, f[sig].to_numpy(dtype=float))
        p_mix = f["p_emerged"].to_numpy(dtype=float)
        p_recal, p_sig = recal.predict(_features(f, ())), full.predict(_features(f, SIGNALS))
        row.update({"AUC default": _auc(y, p_mix), "AUC recal": _auc(y, p_recal), "AUC +signals": _auc(y, p_sig),
                    "Brier default": _brier(y, p_mix), "Brier recal": _brier(y, p_recal),
                    "Brier +signals": _brier(y, p_sig)})
        rows.append(row)
    table = pd.DataFrame(rows)
    coef = ", ".join(f"{n} {b:+.3f} (p={pv:.2g})" for n, b, pv in
                     zip(("const", "logit p_emerged", *SIGNALS), full.params, full.pvalues))
    lines = [
        f"Fitted on `tune_half_<=1B` ({len(tune)} rows, {int(y_tune.sum())} events): {coef}.",
        "`bigbench_bigg` overlaps the tuning rows; `eval_half_1B+` and the group data played no part.",
        "",
        "| " + " | ".join(table.columns) + " |",
        "|" + "---|" * len(table.columns),
    ]
    for r in table.to_dict(orient="records"):
        lines.append("| " + " | ".join(f"{v:.3f}" if isinstance(v, float) else str(v) for v in r.values()) + " |")
    return "\n".join(lines), table


def threshold_report(folder: Path, splits: pd.DataFrame) -> str:
    """The turn read as a threshold estimate, beside the default's, on the splits whose
    crossing of tau was observed past the cut-off (eligible, observed threshold finite)."""
    th = pd.read_csv(folder / "thresholds.csv")
    th = th[(th["method"] == METHOD) & th["eligible"].astype(bool) & th["observed"].notna()]
    th = th.merge(splits, on=["dataset", "task", "cutoff"], how="inner")
    lines = ["", "| data set | crossings | turn found | median abs error, turn (dec) | default, same rows (dec) "
             "| Spearman (turn, observed) | Spearman (default, observed) |", "|---|---|---|---|---|---|---|"]
    for dataset, f in th.groupby("dataset"):
        obs = np.log10(f["observed"].to_numpy(dtype=float))
        est = np.log10(f["estimate"].to_numpy(dtype=float))
        turn = f["turn"].to_numpy(dtype=float)
        both = np.isfinite(turn) & np.isfinite(est)
        err_turn = np.median(np.abs(turn[both] - obs[both])) if both.any() else np.nan
        err_def = np.median(np.abs(est[both] - obs[both])) if both.any() else np.nan
        rho_turn = spearmanr(turn[both], obs[both]).statistic if both.sum() > 2 else np.nan
        rho_def = spearmanr(est[both], obs[both]).statistic if both.sum() > 2 else np.nan
        lines.append(f"| {dataset} | {len(f)} | {np.isfinite(turn).mean():.2f} | {err_turn:.2f} | {err_def:.2f} "
                     f"| {rho_turn:.2f} | {rho_def:.2f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backtest", required=True, help="a finished backtest folder (emergence.csv, jobs/)")
    parser.add_argument("--out", help="write the per-row table here (CSV; refused if it exists)")
    args = parser.parse_args(argv)
    folder = Path(args.backtest)
    if not (folder / "emergence.csv").is_file():
        print(f"early_signal: {folder / 'emergence.csv'} does not exist (run the backtest first)", file=sys.stderr)
        return 2
    if args.out and Path(args.out).exists():
        print(f"early_signal: {args.out} exists; not overwritten", file=sys.stderr)
        return 2
    em, splits = turn_table(folder)
    text, _ = report(em)
    print(text)
    print(threshold_report(folder, splits))
    if args.out:
        em.to_csv(args.out, index=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
