"""Backtest plots (PNG, matplotlib's Agg canvas; pyplot's global state is not touched).

* ``forecast_vs_actual_<dataset>.png``: the (at most 12) tasks whose accuracy varies most,
  one panel each at the task's middle cut-off: every model's observed accuracy (fitted
  models filled, held-out open), each method's forecast mean and the first method's
  observed-score interval, named in the legend;
* ``forecast_vs_actual_<dataset>_summary.png``: one page, one panel per method: forecast
  mean against observed accuracy of every held-out model at every cut-off, coloured by
  distance past the cut-off;
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

from forecast.backtest.emergence import DISTANCE_LABELS as DISTANCE_ORDER
from forecast.backtest.results import WINDOWS
from forecast.plotstyle import (
    CUTOFF_COLOR,
    HELD_OUT_COLOR,
    LEGEND_SIZE,
    TITLE_SIZE,
    compute_label,
    format_compute,
    method_colors,
    style_axes,
)

if TYPE_CHECKING:  # pragma: no cover
    from forecast.backtest.results import BacktestResult

HORIZON_BIN = 0.25
#: tasks drawn in forecast_vs_actual (the ones whose observed accuracy changes most)
MAX_PANELS = 12


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "data"


def _save(fig: Figure, path: Path) -> Path:
    FigureCanvasAgg(fig)
    tmp = path.with_name(f".{path.name}.partial.png")
    fig.savefig(tmp, dpi=100, bbox_inches="tight")
    tmp.replace(path)
    return path


def _scale(bt: BacktestResult, dataset: str) -> str:
    info = bt.task_info[bt.task_info["dataset"] == dataset]
    if "scale" in info.columns and info["scale"].notna().any():
        return str(info["scale"].dropna().iloc[0])
    return "compute"


def informative_tasks(bt: BacktestResult, dataset: str, limit: int = MAX_PANELS) -> list[str]:
    """The tasks drawn in the overview: the ``limit`` whose observed accuracy varies most
    across model sizes (range of accuracy; ties by name). A display choice only."""
    act = bt.actuals[bt.actuals["dataset"] == dataset]
    spread = act.groupby("task")["accuracy"].agg(lambda a: float(a.max() - a.min()))
    order = sorted(spread.index, key=lambda t: (-spread[t], t))
    return order[:limit]


def plot_forecasts(bt: BacktestResult, out: Path) -> list[Path]:
    """One figure per dataset: small multiples of the most informative tasks (at most
    :data:`MAX_PANELS`), each at its middle cut-off, every method's forecast mean, the first
    method's observed-score interval, fitted and held-out models, with labelled axes."""
    paths = []
    colors = method_colors(bt.methods)
    curves = bt.curves
    level = int(round(100 * float(bt.settings.get("level", 0.9))))
    for dataset in sorted(bt.task_info["dataset"].unique()):
        n_all = int((bt.task_info["dataset"] == dataset).sum())
        tasks = informative_tasks(bt, dataset)
        scale = _scale(bt, dataset)
        ncol = min(len(tasks), 3 if len(tasks) > 4 else 2 if len(tasks) > 1 else 1)
        nrow = math.ceil(len(tasks) / ncol)
        height = 3.6 * nrow + 1.4
        fig = Figure(figsize=(4.6 * ncol, height))
        axes = fig.subplots(nrow, ncol, squeeze=False)
        for k, (ax, task) in enumerate(zip(axes.ravel(), tasks)):
            act = bt.actuals[(bt.actuals["dataset"] == dataset) & (bt.actuals["task"] == task)]
            cur = curves[(curves["dataset"] == dataset) & (curves["task"] == task)]
            cutoff = None
            if len(cur):
                cuts = sorted(cur["cutoff"].unique())
                cutoff = float(cuts[(len(cuts) - 1) // 2])
                cur = cur[cur["cutoff"] == cutoff]
            for i, method in enumerate(bt.methods):
                c = cur[cur["method"] == method]
                if c.empty:
                    continue
                if i == 0:
                    ax.fill_between(c["compute"], c["lower"], c["upper"], color=colors[method], alpha=0.18, lw=0,
                                    label=f"{level}% interval of a new model's score ({method})")
                ax.plot(c["compute"], c["mean"], color=colors[method], lw=1.4, label=f"{method} forecast")
            if cutoff is not None:
                held = act["compute"] > cutoff * (1 + 1e-12)
                ax.scatter(act.loc[~held, "compute"], act.loc[~held, "accuracy"], s=14,
                           color="0.25", zorder=3, label="fitted models")
                ax.scatter(act.loc[held, "compute"], act.loc[held, "accuracy"], s=22, facecolors="none",
                           edgecolors=HELD_OUT_COLOR, lw=1.1, zorder=3, label="held-out models")
                ax.axvline(cutoff, color=CUTOFF_COLOR, ls="--", lw=0.9, label="cut-off")
            else:
                ax.scatter(act["compute"], act["accuracy"], s=12, color="0.35", label="models")
            ax.set_xscale("log")
            ax.set_ylim(-0.02, 1.02)
            title = task if cutoff is None else f"{task}\ncut-off {format_compute(cutoff, scale)}"
            style_axes(ax, title)
            ax.title.set_size(TITLE_SIZE - 1)
            if k % ncol == 0:
                ax.set_ylabel("accuracy")
            if k >= len(tasks) - ncol:
                ax.set_xlabel(compute_label(scale))
        for ax in axes.ravel()[len(tasks):]:
            ax.set_visible(False)
        handles, labels = {}, []
        for ax in axes.ravel()[:len(tasks)]:
            for h, lab in zip(*ax.get_legend_handles_labels()):
                if lab not in handles:
                    handles[lab] = h
                    labels.append(lab)
        if handles:
            fig.legend([handles[lab] for lab in labels], labels, loc="lower center", ncol=min(len(labels), 3),
                       fontsize=LEGEND_SIZE + 1, frameon=False, bbox_to_anchor=(0.5, 0.0))
        shown = f"{len(tasks)} of {n_all} tasks, those whose accuracy varies most" if len(tasks) < n_all else \
            f"all {n_all} tasks"
        fig.suptitle(f"{dataset}: forecast vs observed accuracy at each task's middle cut-off\n"
                     f"({shown}; every task and cut-off in curves.csv)", fontsize=TITLE_SIZE + 1)
        fig.tight_layout(rect=(0.0, 1.1 / height, 1.0, 1.0 - 0.3 / height))
        paths.append(_save(fig, out / f"forecast_vs_actual_{_slug(dataset)}.png"))
    return paths


def plot_forecast_summary(bt: BacktestResult, out: Path) -> list[Path]:
    """One page per dataset: forecast mean against observed accuracy of every held-out model
    at every cut-off and task, one panel per method, coloured by distance past the cut-off."""
    paths = []
    pred = bt.predictions
    level = int(round(100 * float(bt.settings.get("level", 0.9))))
    bins = [b for b in DISTANCE_ORDER if b in set(pred["distance_bin"].astype(str))] if len(pred) else []
    shades = dict(zip(DISTANCE_ORDER, ("#1b6ca8", "#66a182", "#edae49", "#d1495b")))
    for dataset in sorted(bt.task_info["dataset"].unique()):
        d = pred[pred["dataset"] == dataset]
        methods = [m for m in bt.methods if (d["method"] == m).any()]
        if not methods:
            continue
        ncol = min(len(methods), 3)
        nrow = math.ceil(len(methods) / ncol)
        fig = Figure(figsize=(4.2 * ncol, 4.2 * nrow + 0.9))
        axes = fig.subplots(nrow, ncol, squeeze=False)
        for k, (ax, method) in enumerate(zip(axes.ravel(), methods)):
            m = d[d["method"] == method]
            ax.plot([0, 1], [0, 1], color="0.6", ls=":", lw=1, label="forecast = observed")
            for b in bins:
                g = m[m["distance_bin"].astype(str) == b]
                ax.scatter(g["y_true"], g["mean"], s=7, alpha=0.45, color=shades[b], lw=0,
                           label=f"{b} decades past the cut-off")
            mae = float((m["mean"] - m["y_true"]).abs().mean())
            style_axes(ax, f"{method}: {len(m)} points, mean |error| {mae:.3f},\n"
                           f"{level}% interval covers {float(m['cover'].mean()):.2f}")
            ax.title.set_size(TITLE_SIZE - 1)
            ax.set_xlim(-0.02, 1.02)
            ax.set_ylim(-0.02, 1.02)
            if k % ncol == 0:
                ax.set_ylabel("forecast mean accuracy")
            ax.set_xlabel("observed accuracy of the held-out model")
        for ax in axes.ravel()[len(methods):]:
            ax.set_visible(False)
        handles, labels = axes[0, 0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 5), fontsize=LEGEND_SIZE + 1,
                   frameon=False, markerscale=2.5)
        n_tasks = d["task"].nunique()
        fig.suptitle(f"{dataset}: every held-out model at every cut-off ({n_tasks} tasks)", fontsize=TITLE_SIZE + 1)
        fig.tight_layout(rect=(0.0, 0.6 / (4.2 * nrow + 0.9), 1.0, 1.0))
        paths.append(_save(fig, out / f"forecast_vs_actual_{_slug(dataset)}_summary.png"))
    return paths


def plot_calibration(bt: BacktestResult, out: Path) -> Path:
    """Nominal vs observed interval coverage, one panel per dataset and window."""
    cal = bt.calibration()
    colors = method_colors(bt.methods)
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
            where = "all held-out models" if window == "all" else f"{window} decades past the cut-off"
            style_axes(ax, f"{dataset}: {where}\n(n = {n} per method)")
            ax.title.set_size(TITLE_SIZE - 1)
            ax.set_xlabel("nominal coverage of the interval")
            if c == 0:
                ax.set_ylabel("observed share of held-out models inside")
            ax.set_xlim(0, 1)
            ax.set_ylim(0, 1)
    if axes[0, 0].get_legend_handles_labels()[0]:
        axes[0, 0].legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    return _save(fig, out / "calibration.png")


def plot_horizon_error(bt: BacktestResult, out: Path) -> Path:
    """Mean |error| and mean CRPS by horizon above the cut-off (decades)."""
    pred = bt.predictions.merge(bt.common_splits(), on=["dataset", "task", "cutoff"], how="inner")
    colors = method_colors(bt.methods)
    datasets = sorted(bt.task_info["dataset"].unique())
    fig = Figure(figsize=(9, 3.6 * len(datasets)))
    axes = fig.subplots(len(datasets), 2, squeeze=False)
    for r, dataset in enumerate(datasets):
        d = pred[pred["dataset"] == dataset]
        for c, (label, values) in enumerate((("mean |error| (accuracy, 0-1)", (d["mean"] - d["y_true"]).abs()),
                                            ("mean CRPS (accuracy, 0-1)", d["crps"]))):
            ax = axes[r, c]
            if len(d):
                bins = np.floor(d["horizon_dec"].to_numpy(float) / HORIZON_BIN) * HORIZON_BIN + HORIZON_BIN / 2
                frame = d.assign(value=values.to_numpy(float), bin=bins)
                for method in bt.methods:
                    g = frame[frame["method"] == method].groupby("bin")["value"].mean()
                    if len(g):
                        ax.plot(g.index, g.to_numpy(), marker="o", ms=3, color=colors[method], label=method)
            ax.set_title(f"{dataset}: {label}", fontsize=9)
            ax.set_xlabel("distance above the cut-off (decades of compute)")
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
                            title="will accuracy reach τ by budget B? (τ = 0.1, 0.25, 0.5 of the way\n"
                                  "from chance to perfect, pooled): forecast probability vs observed share")


def plot_all(bt: BacktestResult, out: str | Path) -> list[Path]:
    """Write every backtest plot into ``out``; returns the files."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = [*plot_forecasts(bt, out), *plot_forecast_summary(bt, out), plot_calibration(bt, out),
             plot_horizon_error(bt, out)]
    reliability = plot_emergence_reliability(bt, out)
    return paths + ([reliability] if reliability is not None else [])
