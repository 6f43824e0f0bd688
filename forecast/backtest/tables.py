"""The raw tables of a backtest, built from its job results (one row per job, prediction,
threshold, emergence event, curve point or learned setting).

Each function takes the job results (:func:`forecast.backtest.jobs.run_job`'s dicts, the
successful ones where it says ``ok``) and returns a tidy table with the same columns and
dtypes whether or not any job succeeded.  :class:`~forecast.backtest.results.BacktestResult`
exposes them as ``jobs``, ``predictions``, ``thresholds``, ``emergence``, ``curves``,
``learned()`` and ``predictability()``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from forecast.backtest.emergence import distance_bin
from forecast.backtest.jobs import PREDICTABILITY
from forecast.backtest.scoring import cover_scores, interval_score, noise_floor

#: columns kept as text in an empty table (every other column is a float)
TEXT_COLUMNS = frozenset({"dataset", "task", "method", "model", "status", "error", "key", "window", "subset",
                          "format", "role", "best_mae", "best_crps", "best_is", "best_thr", "reference", "scale"})
JOB_COLUMNS = ["key", "dataset", "task", "method", "cutoff", "order", "seed", "status", "error",
               "n_fitted", "n_heldout", "seconds"]
PREDICTION_COLUMNS = ["dataset", "task", "method", "cutoff", "model", "compute", "log10_compute",
                      "horizon_dec", "distance_bin", "family", "family_seen", "n_questions", "y_true", "mean",
                      "lower", "upper", "level", "crps", "pit", "cover", "cover_strict", "cover_inclusive",
                      "interval_score", "noise_mae", "noise_crps"]
THRESHOLD_COLUMNS = ["dataset", "task", "method", "cutoff", "tau", "estimate", "lower", "upper",
                     "upper_censored", "p_reached", "search_max", "observed_fitted", "observed",
                     "max_compute", "bracket_lo", "bracket_hi", "eligible", "thr_crps", "inside_bracket",
                     "never_crosses", "false_emergence", "error_dec"]
EMERGENCE_COLUMNS = ["dataset", "task", "method", "cutoff", "tau", "budget", "model", "family", "family_seen",
                     "distance_dec", "distance_bin", "beyond", "p_emerged", "observed"]
CURVE_COLUMNS = ["dataset", "task", "method", "cutoff", "order", "compute", "mean", "lower", "upper"]


def empty_table(cols: list[str]) -> pd.DataFrame:
    """A table with no rows (typed as floats, except the text columns)."""
    return pd.DataFrame({c: pd.Series(dtype="object" if c in TEXT_COLUMNS else "float64") for c in cols})


def nan_if_none(v: Any) -> float:
    return math.nan if v is None else float(v)


def jobs_table(results: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """One row per job: key, dataset, task, method, cutoff, status (ok / skipped / failed),
    error, n_fitted, n_heldout, seconds."""
    rows = [{c: r.get(c) for c in JOB_COLUMNS} for r in results]
    if not rows:
        return empty_table(JOB_COLUMNS)
    return pd.DataFrame(rows, columns=JOB_COLUMNS)


def predictions_table(ok: Sequence[dict[str, Any]], level: float) -> pd.DataFrame:
    """Held-out models only, with their scores (see :mod:`forecast.backtest.results`)."""
    frames = []
    for r in ok:
        p = pd.DataFrame(r["predictions"])
        for i, (k, v) in enumerate((("dataset", r["dataset"]), ("task", r["task"]),
                                    ("method", r["method"]), ("cutoff", r["cutoff"]))):
            p.insert(i, k, v)
        p["level"] = r["level"]
        frames.append(p)
    if not frames:
        return empty_table(PREDICTION_COLUMNS)
    out = pd.concat(frames, ignore_index=True)
    if "n_questions" not in out.columns:
        out["n_questions"] = np.nan
    if "pit" not in out.columns:
        out["pit"] = np.nan
    if "family" not in out.columns:  # results of older code
        out["family"] = None
    if "family_seen" not in out.columns:
        out["family_seen"] = np.nan
    y, lo, hi = (out[c].to_numpy(dtype=float) for c in ("y_true", "lower", "upper"))
    out["cover"], out["cover_strict"], out["cover_inclusive"] = cover_scores(y, lo, hi)
    out["interval_score"] = interval_score(y, lo, hi, level)
    floor = noise_floor(y, out["n_questions"].to_numpy(dtype=float))
    out["noise_mae"], out["noise_crps"] = floor["mae"], floor["crps"]
    out["distance_bin"] = distance_bin(out["horizon_dec"].to_numpy(dtype=float))
    out = out[PREDICTION_COLUMNS]
    return out.sort_values(["dataset", "task", "method", "cutoff", "compute", "model"],
                           kind="mergesort").reset_index(drop=True)


def thresholds_table(ok: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """One row per job: forecast and observed thresholds at ``tau`` (raw compute) and their
    scores: ``eligible`` (the data had not crossed at the cut-off), ``thr_crps``,
    ``inside_bracket``, ``never_crosses`` (the data never reach tau), ``false_emergence``."""
    cols = THRESHOLD_COLUMNS
    rows = []
    for r in ok:
        for t in r["thresholds"]:
            row = {"dataset": r["dataset"], "task": r["task"], "method": r["method"],
                   "cutoff": r["cutoff"]}
            for k in cols[4:17]:
                v = t.get(k)
                row[k] = v if isinstance(v, bool) else nan_if_none(v)
            row["thr_crps"] = nan_if_none(t.get("thr_crps"))
            eligible = t.get("observed_fitted") is None
            never = t.get("observed") is None
            est = t.get("estimate")
            row["eligible"] = eligible
            row["inside_bracket"] = bool(t.get("inside_bracket")) if eligible else None
            row["never_crosses"] = never
            row["false_emergence"] = (bool(est is not None and est <= t["max_compute"] * (1 + 1e-12))
                                      if eligible and never else None)
            row["error_dec"] = (math.log10(est) - math.log10(t["observed"])
                                if est is not None and not never else math.nan)
            rows.append(row)
    if not rows:
        return empty_table(cols)
    out = pd.DataFrame(rows)[cols]
    return out.sort_values(["dataset", "task", "method", "cutoff"], kind="mergesort").reset_index(drop=True)


def emergence_table(ok: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """``emergence.csv``: dataset, task, method, cutoff, tau, budget, distance_dec,
    distance_bin, beyond, p_emerged, observed (empty: not scored -- budget past the largest
    model, or a task of fewer than 50 questions)."""
    cols = EMERGENCE_COLUMNS
    rows = []
    for r in ok:
        for e in r.get("emergence", []):
            rows.append({"dataset": r["dataset"], "task": r["task"], "method": r["method"],
                         "cutoff": r["cutoff"], **e})
    if not rows:
        return empty_table(cols)
    out = pd.DataFrame(rows)
    out["observed"] = out["observed"].astype(float)
    out["distance_bin"] = distance_bin(out["distance_dec"].to_numpy(dtype=float))
    # a budget row (a task's crossing) names no model; a per-model row (many families) does
    out["model"] = out["model"].fillna("") if "model" in out.columns else ""
    out["family"] = out["family"] if "family" in out.columns else None
    out["family_seen"] = out["family_seen"] if "family_seen" in out.columns else np.nan
    return out[cols].sort_values(["dataset", "task", "method", "cutoff", "tau", "budget", "model"],
                                 kind="mergesort").reset_index(drop=True)


def curves_table(ok: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """Each job's forecast (mean, observed-score interval) on a compute grid."""
    frames = []
    for r in ok:
        c = pd.DataFrame(r["curve"])
        for i, (k, v) in enumerate((("dataset", r["dataset"]), ("task", r["task"]),
                                    ("method", r["method"]), ("cutoff", r["cutoff"]),
                                    ("order", r["order"]))):
            c.insert(i, k, v)
        frames.append(c)
    if not frames:
        return empty_table(CURVE_COLUMNS)
    return pd.concat(frames, ignore_index=True)[CURVE_COLUMNS]


def learned_table(contexts: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """The settings learned at each (dataset, method, cut-off), one column each."""
    rows = []
    for c in contexts:
        if c.get("method") == PREDICTABILITY:
            continue
        row = {"dataset": c["dataset"], "method": c["method"], "cutoff": c["cutoff"],
               "status": c["status"]}
        for k, v in (c.get("context") or {}).items():
            if isinstance(v, (int, float, str, bool)) or v is None:
                row[k] = v
            elif isinstance(v, list):
                row[k] = " ".join(f"{x:.4g}" if isinstance(x, float) else str(x) for x in v)
        rows.append(row)
    if not rows:
        return empty_table(["dataset", "method", "cutoff", "status"])
    return pd.DataFrame(rows).sort_values(["dataset", "method", "cutoff"]).reset_index(drop=True)


def predictability_flags(contexts: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """Per dataset x task x cut-off: ``predictable`` (True / False / None = unknown) and its
    ``score``, computed from the fitted models alone (:mod:`forecast.predictability`)."""
    rows = []
    for c in contexts:
        if c.get("method") != PREDICTABILITY or c.get("status") != "ok":
            continue
        ctx = c["context"]
        for task, flag in ctx["predictable"].items():
            rows.append({"dataset": c["dataset"], "task": task, "cutoff": c["cutoff"],
                         "predictable": flag, "score": ctx["score"].get(task)})
    if not rows:
        return empty_table(["dataset", "task", "cutoff", "predictable", "score"])
    return pd.DataFrame(rows).sort_values(["dataset", "task", "cutoff"]).reset_index(drop=True)
