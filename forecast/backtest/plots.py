"""Backtest plots (PNG, matplotlib's Agg canvas; pyplot's global state is not touched).

* ``forecast_vs_actual_<dataset>.png``: per task, every model's observed accuracy (fitted
  models hollow, held-out filled) and each method's forecast mean at the task's first
  cut-off, with the first method's observed-score interval shaded;
* ``calibration.png``: nominal vs observed coverage of the equal-tailed intervals, per
  dataset and window;
* ``error_by_horizon.png``: mean absolute error and mean CRPS of the held-out models by
  their distance above the cut-off, in decades (bins of a quarter decade);
* ``emergence_reliability.png``: forecast probability that a task reaches tau by a budget
  against the observed share (reliability diagram).

The calibration and horizon plots use, like the summary, only the splits on which every
method succeeded.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from forecast.backtest.results import WINDOWS

if TYPE_CHECKING:  # pragma: no cover
    from forecast.backtest.results import BacktestResult

COLORS = ("#1b6ca8", "#d1495b", "#edae49", "#66a182", "#8d6a9f", "#2e4057", "#c27c0e", "#00798c")
HORIZON_BIN = 0.25


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "data"


def _save(fig: Figure, path: Path) -> Path:
    FigureCanvasAgg(fig)
    tmp = path.with_name(f".{path.name}.partial.png")
    fig.savefig(tmp, dpi=90, bbox_inches="tight")
    tmp.replace(path)
    return path


def _colors(methods: list[str]) -> dict[str, str]:
    return {m: COLORS[i % len(COLORS)] for i, m in enumerate(methods)}


def plot_forecasts(bt: BacktestResult, out: Path) -> list[Path]:
    """One figure per dataset, one panel per task: forecast vs actual at the first cut-off."""
    paths = []
    colors = _colors(bt.methods)
    curves = bt.curves
    for dataset in sorted(bt.task_info["dataset"].unique()):
        tasks = sorted(bt.task_info.loc[bt.task_info["dataset"] == dataset, "task"])
        ncol = min(len(tasks), max(1, math.ceil(math.sqrt(len(tasks)))))
        nrow = math.ceil(len(tasks) / ncol)
        height = 2.8 * nrow + 0.9
        fig = Figure(figsize=(3.4 * ncol, height))
        axes = fig.subplots(nrow, ncol, squeeze=False).ravel()
        for ax, task in zip(axes, tasks):
            act = bt.actuals[(bt.actuals["dataset"] == dataset) & (bt.actuals["task"] == task)]
            cur = curves[(curves["dataset"] == dataset) & (curves["task"] == task)]
            first = cur[cur["order"] == cur["order"].min()] if len(cur) else cur
            cutoff = float(first["cutoff"].iloc[0]) if len(first) else None
            for i, method in enumerate(bt.methods):
                c = first[first["method"] == method]
                if c.empty:
                    continue
                if i == 0:
                    ax.fill_between(c["compute"], c["lower"], c["upper"], color=colors[method], alpha=0.18, lw=0)
                ax.plot(c["compute"], c["mean"], color=colors[method], lw=1.3, label=method)
            if cutoff is not None:
                held = act["compute"] > cutoff * (1 + 1e-12)
                ax.scatter(act.loc[~held, "compute"], act.loc[~held, "accuracy"], s=9,
                           facecolors="none", edgecolors="0.35", lw=0.7, zorder=3)
                ax.scatter(act.loc[held, "compute"], act.loc[held, "accuracy"], s=11, color="k", zorder=3)
                ax.axvline(cutoff, color="0.5", ls="--", lw=0.8)
            else:
                ax.scatter(act["compute"], act["accuracy"], s=9, color="0.35")
            ax.set_xscale("log")
            ax.set_ylim(-0.02, 1.02)
            ax.set_title(task if cutoff is None else f"{task} (cut-off {cutoff:.3g})", fontsize=8)
            ax.tick_params(labelsize=7)
        for ax in axes[len(tasks):]:
            ax.set_visible(False)
        handles, labels = axes[0].get_legend_handles_labels()
        if handles:
            fig.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize=9, frameon=False,
                       bbox_to_anchor=(0.5, 0.0))
        fig.suptitle(f"{dataset}: forecast vs observed accuracy (hollow: fitted, filled: held out)",
                     fontsize=11)
        fig.tight_layout(rect=(0.0, 0.4 / height, 1.0, 1.0 - 0.35 / height))
        paths.append(_save(fig, out / f"forecast_vs_actual_{_slug(dataset)}.png"))
    return paths


def plot_calibration(bt: BacktestResult, out: Path) -> Path:
    """Nominal vs observed interval coverage, one panel per dataset and window."""
    cal = bt.calibration()
    colors = _colors(bt.methods)
    datasets = sorted(bt.task_info["dataset"].unique())
    fig = Figure(figsize=(4.2 * len(WINDOWS), 3.8 * len(datasets)))
    axes = fig.subplots(len(datasets), len(WINDOWS), squeeze=False)
    for r, dataset in enumerate(datasets):
        for c, window in enumerate(WINDOWS):
            ax = axes[r, c]
            ax.plot([0, 1], [0, 1], color="0.6", ls=":", lw=1)
            for method in bt.methods:
                d = cal[(cal["dataset"] == dataset) & (cal["window"] == window) & (cal["method"] == method)]
                if len(d):
                    ax.plot(d["nominal"], d["coverage"], marker="o", ms=3, color=colors[method], label=method)
            n = int(cal.loc[(cal["dataset"] == dataset) & (cal["window"] == window), "n"].max()) if len(cal) else 0
            ax.set_title(f"{dataset}, window {window} (n per method = {n})", fontsize=9)
            ax.set_xlabel("nominal coverage")
            ax.set_ylabel("observed coverage")
            ax.set_xlim(0, 1)
            ax.set_ylim(0, 1)
    if axes[0, 0].get_legend_handles_labels()[0]:
        axes[0, 0].legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    return _save(fig, out / "calibration.png")


def plot_horizon_error(bt: BacktestResult, out: Path) -> Path:
    """Mean |error| and mean CRPS by horizon above the cut-off (decades)."""
    pred = bt.predictions.merge(bt.common_splits(), on=["dataset", "task", "cutoff"], how="inner")
    colors = _colors(bt.methods)
    datasets = sorted(bt.task_info["dataset"].unique())
    fig = Figure(figsize=(9, 3.6 * len(datasets)))
    axes = fig.subplots(len(datasets), 2, squeeze=False)
    for r, dataset in enumerate(datasets):
        d = pred[pred["dataset"] == dataset]
        for c, (label, values) in enumerate((("mean |error|", (d["mean"] - d["y_true"]).abs()),
                                            ("mean CRPS", d["crps"]))):
            ax = axes[r, c]
            if len(d):
                bins = np.floor(d["horizon_dec"].to_numpy(float) / HORIZON_BIN) * HORIZON_BIN + HORIZON_BIN / 2
                frame = d.assign(value=values.to_numpy(float), bin=bins)
                for method in bt.methods:
                    g = frame[frame["method"] == method].groupby("bin")["value"].mean()
                    if len(g):
                        ax.plot(g.index, g.to_numpy(), marker="o", ms=3, color=colors[method], label=method)
            ax.set_title(f"{dataset}: {label}", fontsize=9)
            ax.set_xlabel("decades above the cut-off")
            ax.set_ylabel(label)
            ax.set_yscale("log")
    if axes[0, 0].get_legend_handles_labels()[0]:
        axes[0, 0].legend(fontsize=8)
    fig.tight_layout()
    return _save(fig, out / "error_by_horizon.png")


def plot_emergence_reliability(bt: BacktestResult, out: Path) -> Path | None:
    """Reliability diagram of ``p_emerged`` (every data set and tau pooled), one curve per method."""
    from forecast.backtest.emergence import plot_reliability, reliability_table

    e = bt.emergence
    e = e[e["observed"].notna()].merge(bt.common_splits(), on=["dataset", "task", "cutoff"], how="inner")
    if e.empty:
        return None
    tables = {m: reliability_table(g["p_emerged"], g["observed"]) for m, g in e.groupby("method", sort=False)
              if len(g)}
    return plot_reliability(tables, out / "emergence_reliability.png",
                            title="will it emerge by budget B? forecast probability vs observed share")


def plot_all(bt: BacktestResult, out: str | Path) -> list[Path]:
    """Write every backtest plot into ``out``; returns the files."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = [*plot_forecasts(bt, out), plot_calibration(bt, out), plot_horizon_error(bt, out)]
    reliability = plot_emergence_reliability(bt, out)
    return paths + ([reliability] if reliability is not None else [])
