"""Scores of a backtest per split: the means of every prediction score per dataset x task x
method x cut-off x window, calibration, PIT, and which splits compare like with like.

A split counts in the summary only when no method failed on it and every baseline present in
the data set succeeded there (:func:`common_splits`); a method skipped on a split is absent
there.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from forecast.backtest.emergence import DISTANCE_LABELS, distance_bin
from forecast.backtest.tables import empty_table

#: windows of held-out models: all, and extrapolation-distance bins (decades past the cut-off)
WINDOWS = ("all", *DISTANCE_LABELS)
SPLIT_KEYS = ["dataset", "task", "cutoff"]
#: held-out models by whether their family had a fitted model: all, seen, new
FAMILY_SETS = ("all", "seen", "new")
PRED_SCORES = ("mae", "mse", "crps", "interval_score", "cover", "cover_strict", "cover_inclusive",
               "width", "noise_mae", "noise_crps")
METRIC_COLUMNS = ["dataset", "task", "format", "method", "cutoff", "window", "families", "n", *PRED_SCORES,
                  "thr_eligible", "thr_crps", "thr_inside", "false_emergence"]


def split_metrics(pred: pd.DataFrame, thresholds: pd.DataFrame, task_info: pd.DataFrame,
                  multi: set[str]) -> pd.DataFrame:
    """Per dataset x task x method x cut-off x window: ``n`` and the means of
    :data:`PRED_SCORES` (``mae``/``mse`` of the predictive mean), and the split's threshold
    scores (``thr_eligible``, ``thr_crps``, ``thr_inside``, ``false_emergence``).

    ``multi`` names the data sets of many families, whose held-out models are also scored
    by whether their family was seen.
    """
    cols = METRIC_COLUMNS
    if pred.empty:
        return empty_table(cols)
    pred = pred.assign(err=pred["mean"] - pred["y_true"])
    pred = pred.assign(mae=pred["err"].abs(), mse=pred["err"] ** 2, width=pred["upper"] - pred["lower"])
    scores = list(PRED_SCORES)
    frames = []
    seen = pred["family_seen"].astype(object)
    for families in FAMILY_SETS:
        if families == "all":
            fam = pred
        else:  # only data of many families are split by family
            fam = pred[pred["dataset"].isin(multi) & (seen == (families == "seen")).to_numpy()]
        for window in WINDOWS:
            sub = fam if window == "all" else fam[fam["distance_bin"] == window]
            if sub.empty:
                continue
            g = sub.groupby(SPLIT_KEYS[:2] + ["method", "cutoff"], sort=True)
            agg = g[scores].mean()
            agg["n"] = g.size()
            agg = agg.reset_index()
            agg["window"] = window
            agg["families"] = families
            frames.append(agg)
    out = pd.concat(frames, ignore_index=True)
    th = thresholds[["dataset", "task", "method", "cutoff", "eligible", "thr_crps",
                     "inside_bracket", "false_emergence"]].rename(
        columns={"eligible": "thr_eligible", "inside_bracket": "thr_inside"})
    out = out.merge(th, on=["dataset", "task", "method", "cutoff"], how="left")
    info = task_info.set_index(["dataset", "task"])["format"]
    out["format"] = [info.get((d, t)) for d, t in zip(out["dataset"], out["task"])]
    out["window"] = pd.Categorical(out["window"], WINDOWS, ordered=True)
    out["families"] = pd.Categorical(out["families"], FAMILY_SETS, ordered=True)
    out = out.sort_values(["dataset", "task", "method", "cutoff", "families", "window"], kind="mergesort")
    out["window"] = out["window"].astype(str)
    out["families"] = out["families"].astype(str)
    return out[cols].reset_index(drop=True)


def calibration_table(ok: Sequence[dict[str, Any]], keep: set[tuple[str, str, float]] | None) -> pd.DataFrame:
    """Nominal vs observed coverage (a value on a bound counts half) per dataset x method x
    window x level; with ``keep`` (like-for-like splits) only those splits count."""
    acc: dict[tuple, list[float]] = {}
    for r in ok:
        if keep is not None and (r["dataset"], r["task"], r["cutoff"]) not in keep:
            continue
        bins = distance_bin(np.asarray(r["predictions"]["horizon_dec"], dtype=float))
        covered = np.asarray(r["calibration"]["covered"], dtype=float)
        for window in WINDOWS:
            mask = np.ones(bins.shape, bool) if window == "all" else bins == window
            for level, row in zip(r["calibration"]["levels"], covered):
                slot = acc.setdefault((r["dataset"], r["method"], window, float(level)), [0, 0.0])
                slot[0] += int(mask.sum())
                slot[1] += float(row[mask].sum())
    rows = [{"dataset": d, "method": m, "window": w, "nominal": lv, "n": n,
             "coverage": (k / n) if n else math.nan} for (d, m, w, lv), (n, k) in acc.items()]
    cols = ["dataset", "method", "window", "nominal", "n", "coverage"]
    if not rows:
        return empty_table(cols)
    out = pd.DataFrame(rows)[cols]
    out["window"] = pd.Categorical(out["window"], WINDOWS, ordered=True)
    out = out.sort_values(["dataset", "method", "window", "nominal"])
    out["window"] = out["window"].astype(str)
    return out.reset_index(drop=True)


def pit_table(predictions: pd.DataFrame, common: pd.DataFrame) -> pd.DataFrame:
    """Randomised PIT histogram per dataset x method (10 bins; uniform when calibrated), on
    the ``common`` splits, with the Kolmogorov-Smirnov statistic against Uniform(0, 1)."""
    from forecast.backtest.scoring import pit_uniformity

    pred = predictions.merge(common, on=SPLIT_KEYS, how="inner")
    rows = []
    for (dataset, method), g in pred.groupby(["dataset", "method"], sort=True):
        values = g["pit"].to_numpy(dtype=float)
        values = values[np.isfinite(values)]
        if values.size == 0:
            continue
        u = pit_uniformity(values)
        row = {"dataset": dataset, "method": method, "n": int(values.size), "ks": u["ks"],
               "ks_p": u["ks_pvalue"], "max_dev": u["max_dev"]}
        for i, c in enumerate(u["counts"]):
            row[f"bin{i}"] = int(c)
        rows.append(row)
    if not rows:
        return empty_table(["dataset", "method", "n", "ks", "ks_p", "max_dev"])
    return pd.DataFrame(rows)


def common_splits(jobs: pd.DataFrame, baselines: Sequence[str]) -> pd.DataFrame:
    """Splits on which no method failed and every baseline present in the data set
    succeeded (methods skipped on a split are simply absent there)."""
    j = jobs
    if j.empty:
        return empty_table(SPLIT_KEYS)
    ok = j["status"] == "ok"
    present = set(zip(j.loc[ok, "dataset"], j.loc[ok, "method"]))
    keep = []
    for key, g in j.groupby(SPLIT_KEYS, sort=True):
        status = dict(zip(g["method"], g["status"]))
        if "failed" in status.values():
            continue
        if any(status.get(b) != "ok" for b in baselines if (key[0], b) in present):
            continue
        if any(s == "ok" for s in status.values()):
            keep.append(key)
    if not keep:
        return empty_table(SPLIT_KEYS)
    return pd.DataFrame(keep, columns=SPLIT_KEYS)
