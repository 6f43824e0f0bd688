"""Do the early signals tell whether a task will emerge? (issue 8, item 4)

Reads a finished backtest folder (the README's main job) and, for every split of
``slice_sandwich`` in its emergence table (a task not yet at ``tau`` at the cut-off, a
budget past it, the event observed), refits the sandwich curve with the settings that run
learned at that cut-off (``combine=None``: the signals are properties of the curve's slices)
and reads, from the fitted models only:

* ``p_turn``: the share of draws whose easy slice turns from falling to rising at or below
  the budget (:meth:`SliceSandwich.easy_turn_draws`; the turn is searched up to 2 decades
  past the cut-off, so rows with a budget beyond that are left out and counted);
* ``p_hard_rising``: the share of curve draws whose hardest slice rises over the last
  :data:`HARD_STEP` decade before the cut-off.

Reported, per data set and per half of BIG-G, with tasks weighted equally
(:func:`forecast.backtest.emergence.score_events`, the backtest's own scoring):

* the ranking skill (AUC) of each signal alone and of the default's ``p_emerged``;
* two logistic models fitted on the recorded tuning rows only (the BIG-G tuning half at
  cut-offs <= 1B, as in ``STACKING_TUNING.md``): ``recal`` (``logit p_emerged`` alone, a
  recalibration) and ``+signals`` (plus both signals), with standard errors clustered by task
  (statsmodels); what the signals add is ``+signals`` against ``recal`` where neither was
  fitted: the BIG-G evaluation half at cut-offs >= 1B and the group data (which did choose the
  default's mixture switches in ``STACKING_TUNING.md``, but played no part here); per task on
  the group data, which has five;
* the turn read as a threshold estimate: the capped threshold CRPS of the turn's draws
  (:func:`forecast.backtest.scoring.threshold_crps`, as the backtest scores every method) beside
  the default's, on every eligible split of ``thresholds.csv``.

The 0.5 share that counts a signal as present and :data:`HARD_STEP` are fixed a priori
(never varied).

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

from forecast import load_dataset
from forecast.backtest.emergence import score_events
from forecast.backtest.results import bigg_half
from forecast.backtest.scoring import threshold_crps
from forecast.errors import InputError
from forecast.methods.slice_sandwich import SliceSandwich

METHOD = "slice_sandwich"
DATASETS = ("bigbench_bigg", "slice_sandwich")
#: decades before the cut-off over which the hardest slice's rise is read
HARD_STEP = 0.1
#: probabilities are clipped to this range before their logit (as in the backtest's log score)
CLIP = (0.001, 0.999)
SIGNALS = ("p_turn", "p_hard_rising")


def _context(folder: Path, dataset: str, cutoff: float) -> dict:
    """The settings the run learned for ``slice_sandwich`` on ``dataset`` at ``cutoff``."""
    found = []
    for path in sorted(glob.glob(str(folder / "jobs" / f"context_{dataset}_{METHOD}_*.json"))):
        job = json.loads(Path(path).read_text())
        if job.get("status") == "ok" and np.isclose(float(job["cutoff"]), cutoff, rtol=1e-9):
            found.append(job["context"])
    if len(found) != 1:
        raise InputError(f"{folder}: {len(found)} learned contexts of {METHOD} on {dataset} at cut-off "
                         f"{cutoff:g} (need exactly one: one run per folder)")
    return found[0]


def signal_tables(folder: Path) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, int]]:
    """The emergence rows with both signals, the eligible threshold rows with the turn's
    threshold CRPS, and the counts of rows left out (and why)."""
    em = pd.read_csv(folder / "emergence.csv")
    em = em[(em["method"] == METHOD) & em["dataset"].isin(DATASETS) & em["observed"].notna()].copy()
    th = pd.read_csv(folder / "thresholds.csv")
    th = th[(th["method"] == METHOD) & th["dataset"].isin(DATASETS) & th["eligible"].astype(bool)].copy()
    for col in (*SIGNALS, "search_max"):
        em[col] = np.nan
    th["thr_crps_turn"] = np.nan
    dropped = {"no turn fit (too few models for the cubic)": 0}
    for (dataset, cutoff), rows in pd.concat([em[["dataset", "cutoff", "task"]],
                                              th[["dataset", "cutoff", "task"]]]).groupby(["dataset", "cutoff"]):
        data = load_dataset(dataset)
        ctx = _context(folder, dataset, float(cutoff))
        curve = SliceSandwich(combine=None, prior_sd=tuple(ctx["prior_sd"]),
                              extrapolation_sd=float(ctx["extrapolation_sd"]), seed=0)
        for task in rows["task"].unique():
            e_idx = em.index[(em["dataset"] == dataset) & (em["cutoff"] == cutoff) & (em["task"] == task)]
            t_idx = th.index[(th["dataset"] == dataset) & (th["cutoff"] == cutoff) & (th["task"] == task)]
            try:
                fc = curve.fit(data, float(cutoff), task)
                turns = fc.easy_turn_draws()
            except (InputError, ValueError, RuntimeError, np.linalg.LinAlgError):
                dropped["no turn fit (too few models for the cubic)"] += len(e_idx)
                continue
            x = np.log10(float(cutoff))
            hard = fc.curves_.link(np.array([x - HARD_STEP, x]))[:, -1, :]
            budgets = np.log10(em.loc[e_idx, "budget"].to_numpy(dtype=float))
            filled = np.nan_to_num(turns, nan=np.inf)
            em.loc[e_idx, "p_turn"] = (filled[None, :] <= budgets[:, None]).mean(axis=1)
            em.loc[e_idx, "p_hard_rising"] = float(np.mean(hard[:, 1] > hard[:, 0]))
            em.loc[e_idx, "search_max"] = fc.search_range_[1]
            for i in t_idx:
                obs = th.at[i, "observed"]
                th.at[i, "thr_crps_turn"] = threshold_crps(
                    turns, None if pd.isna(obs) else np.log10(float(obs)), np.log10(float(th.at[i, "max_compute"])))
    em = em.dropna(subset=["p_turn"])
    beyond = np.log10(em["budget"].to_numpy(dtype=float)) > em["search_max"].to_numpy(dtype=float) + 1e-9
    dropped["budget beyond the turn's search range (cut-off + 2 decades)"] = int(beyond.sum())
    return em[~beyond], th.dropna(subset=["thr_crps_turn"]), dropped


def _features(frame: pd.DataFrame, signals: tuple[str, ...]) -> np.ndarray:
    p = np.clip(frame["p_emerged"].to_numpy(dtype=float), *CLIP)
    cols = [logit(p)] + [frame[s].to_numpy(dtype=float) for s in signals]
    return sm.add_constant(np.column_stack(cols), has_constant="add")


def _fit_logit(frame: pd.DataFrame, signals: tuple[str, ...]):
    groups = pd.factorize(frame["task"])[0]
    return sm.Logit(frame["observed"].to_numpy(dtype=float), _features(frame, signals)).fit(
        disp=0, cov_type="cluster", cov_kwds={"groups": groups})


def subsets(em: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The reporting subsets: BIG-G (all; its tuning and evaluation halves) and the group data."""
    bigg = em[em["dataset"] == "bigbench_bigg"]
    half = bigg["task"].map(bigg_half)
    return {
        "bigbench_bigg (overlaps the tuning rows)": bigg,
        "tune_half_<=1B (fits the logistics)": bigg[(half == "tuning") & (bigg["cutoff"] <= 1e9 * (1 + 1e-9))],
        "eval_half_1B+ (held out)": bigg[(half == "evaluation") & (bigg["cutoff"] >= 1e9 * (1 - 1e-9))],
        "group data (held out)": em[em["dataset"] == "slice_sandwich"],
    }


def _markdown(table: pd.DataFrame) -> list[str]:
    out = ["| " + " | ".join(table.columns) + " |", "|" + "---|" * len(table.columns)]
    for r in table.to_dict(orient="records"):
        out.append("| " + " | ".join(f"{v:.3f}" if isinstance(v, float) else str(v) for v in r.values()) + " |")
    return out


def _scores(name: str, f: pd.DataFrame, recal, full) -> dict:
    f = f.assign(p_recal=recal.predict(_features(f, ())), p_signals=full.predict(_features(f, SIGNALS)))
    row = {"subset": name, "rows": len(f), "tasks": f["task"].nunique(), "events": int(f["observed"].sum())}
    for sig in SIGNALS:
        row[f"share {sig} > 0.5"] = float((f[sig] > 0.5).mean())
        row[f"AUC {sig}"] = score_events(f, p=sig)["auc"]
    for label, col in (("default", "p_emerged"), ("recal", "p_recal"), ("+signals", "p_signals")):
        s = score_events(f, p=col)
        row[f"AUC {label}"], row[f"Brier {label}"] = s["auc"], s["brier"]
    return row


def report(em: pd.DataFrame, th: pd.DataFrame, dropped: dict[str, int]) -> str:
    """The measured tables, as markdown."""
    parts = subsets(em)
    tune = parts["tune_half_<=1B (fits the logistics)"]
    recal, full = _fit_logit(tune, ()), _fit_logit(tune, SIGNALS)
    coef = ", ".join(f"{n} {b:+.3f} (p={pv:.2g})" for n, b, pv in
                     zip(("const", "logit p_emerged", *SIGNALS), full.params, full.pvalues))
    scored = pd.DataFrame([_scores(n, f, recal, full) for n, f in parts.items()])
    held = scored[scored["subset"].str.endswith("(held out)")]
    helps = [f"{r['subset']}: Brier {r['Brier +signals']:.3f} with the signals against {r['Brier recal']:.3f} without"
             for r in held.to_dict(orient="records")]
    better = bool((held["Brier +signals"] < held["Brier recal"]).all())
    verdict = ("Verdict (rule: the signals go into the default's emergence probability only if `+signals` has a "
               "lower Brier score than `recal` on every held-out subset): "
               + ("they help on every held-out subset" if better else "not fed into the default")
               + " (" + "; ".join(helps) + ").")
    lines = [
        verdict,
        "",
        f"`+signals` fitted on the tuning rows ({len(tune)} rows, {tune['task'].nunique()} tasks, "
        f"{int(tune['observed'].sum())} events; p-values clustered by task): {coef}. "
        f"Left out: " + "; ".join(f"{v} rows, {k}" for k, v in dropped.items()) + ".",
        "",
        *_markdown(scored),
        "",
        "Per task on the group data:",
        "",
        *_markdown(pd.DataFrame([_scores(t, f, recal, full) for t, f in parts["group data (held out)"].groupby("task")])),
        "",
        "The easy slice's turn read as a threshold (tau = 0.25), every eligible split (crossed or not); "
        "threshold CRPS in decades, capped at the largest held-out model, tasks weighted equally:",
        "",
    ]
    rows = []
    for dataset, f in th.groupby("dataset"):
        per_task = f.groupby("task")[["thr_crps", "thr_crps_turn"]].mean()
        rows.append({"data set": dataset, "splits": len(f), "tasks": len(per_task),
                     "crossed": int(f["observed"].notna().sum()),
                     "thr CRPS default": float(per_task["thr_crps"].mean()),
                     "thr CRPS turn": float(per_task["thr_crps_turn"].mean()),
                     "turn better on tasks": f"{int((per_task['thr_crps_turn'] < per_task['thr_crps']).sum())}"
                                             f"/{len(per_task)}"})
    lines += _markdown(pd.DataFrame(rows))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backtest", required=True, help="a finished backtest folder (emergence.csv, jobs/)")
    parser.add_argument("--out", help="write the per-row emergence table here (CSV; refused if it exists)")
    args = parser.parse_args(argv)
    folder = Path(args.backtest)
    for name in ("emergence.csv", "thresholds.csv"):
        if not (folder / name).is_file():
            print(f"early_signal: {folder / name} does not exist (run the backtest with --out first)", file=sys.stderr)
            return 2
    if args.out and Path(args.out).exists():
        print(f"early_signal: {args.out} exists; not overwritten", file=sys.stderr)
        return 2
    try:
        em, th, dropped = signal_tables(folder)
    except InputError as exc:
        print(f"early_signal: {exc}", file=sys.stderr)
        return 2
    print(report(em, th, dropped))
    if args.out:
        em.to_csv(args.out, index=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
