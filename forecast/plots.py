"""Plots of one fitted forecast (matplotlib, written to PNG)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from forecast.data.dataset import EvalData
from forecast.data.task_table import task_table
from forecast.methods.base import Forecaster
from forecast.plotstyle import (
    CHANCE_COLOR,
    CUTOFF_COLOR,
    HELD_OUT_COLOR,
    LEGEND_SIZE,
    TAU_COLOR,
    chance_label,
    compute_label,
    cutoff_label,
    format_compute,
    metric_label,
    style_axes,
    tau_label,
)

#: points of the plotted curve grid (the bands are quantiles of draws at each point)
PLOT_POINTS = 200


def _smooth(values: np.ndarray, width: int = 9) -> np.ndarray:
    """A centred running mean for drawing a band edge (the quantiles of a finite number of
    draws, on the k/n grid of the task's question count, are steps; the plotted band is
    their running mean, the reported intervals are not smoothed)."""
    values = np.asarray(values, dtype=float)
    if len(values) < width:
        return values
    pad = width // 2
    padded = np.pad(values, pad, mode="edge")
    return np.convolve(padded, np.ones(width) / width, mode="valid")


def plot_forecast(
    f: Forecaster, data: EvalData, path: str | Path, level: float = 0.9, tau: float = 0.25
) -> Path:
    """Per-slice data and curves with bands, and the accuracy forecast with its bands.

    Fitted models are filled dots, held-out models (read from ``data`` only for display,
    after the fit) open circles; the legend names the cut-off, tau, chance, the threshold
    and its interval, and both bands.  Both x axes show raw compute on a log scale.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    scale = f.scale_
    has_slices = hasattr(f, "slices_")
    fig, axes = plt.subplots(1, 2 if has_slices else 1, figsize=(13 if has_slices else 7.5, 6.8))
    axes = np.atleast_1d(axes)
    if has_slices:
        ax = axes[0]
        rep = f.slices_
        metric = getattr(getattr(f, "map_", None), "metric", "accuracy")
        colors = plt.cm.viridis(np.linspace(0, 0.9, len(rep.summary)))
        for (g, row), color in zip(rep.summary.iterrows(), colors):
            c = rep.curves[rep.curves["slice"] == g]
            ax.fill_between(10.0 ** c["log10_compute"], c["lower"], c["upper"], color=color, alpha=0.2, lw=0)
            ax.plot(10.0 ** c["log10_compute"], c["mean"], color=color,
                    label=f"{row['label']} questions ({row['shape']})")
            p = rep.points[rep.points["slice"] == g]
            ax.scatter(10.0 ** p["log10_compute"], p["score"], color=color, s=14)
        ax.set_xscale("log")
        ax.set_xlabel(compute_label(scale))
        ax.set_ylabel(f"slice score: {metric_label(metric)}")
        style_axes(ax, f"{f.task_}\ndifficulty slices of the fitted models ({int(level * 100)}% bands)")
        ax.legend(fontsize=LEGEND_SIZE, title="slice (shape)", title_fontsize=LEGEND_SIZE)
    ax = axes[-1]
    grid = np.linspace(*f.search_range_, PLOT_POINTS)
    compute = 10.0**grid
    obs = f.predict(compute, level=level, kind="observed")
    mean = f.predict(compute, level=level, kind="mean")
    pct = int(round(level * 100))
    ax.fill_between(compute, _smooth(obs["lower"]), _smooth(obs["upper"]), color="tab:blue", alpha=0.14, lw=0,
                    label=f"{pct}% interval of a new model's score")
    ax.fill_between(compute, mean["lower"], mean["upper"], color="tab:blue", alpha=0.3, lw=0,
                    label=f"{pct}% interval of the mean curve")
    ax.plot(compute, mean["mean"], color="tab:blue", label=f"forecast ({f.name})")
    table = task_table(data.for_task(f.task_), f.task_)
    fitted = table["compute"] <= f.cutoff_ * (1 + 1e-12)
    ax.scatter(table.loc[fitted, "compute"], table.loc[fitted, "accuracy"], color="black", s=16, zorder=3,
               label="fitted models")
    if (~fitted).any():
        ax.scatter(table.loc[~fitted, "compute"], table.loc[~fitted, "accuracy"], facecolors="none",
                   edgecolors=HELD_OUT_COLOR, s=26, lw=1.2, zorder=3, label="held-out models (not fitted)")
    ax.axvline(f.cutoff_, color=CUTOFF_COLOR, ls="--", lw=1, label=cutoff_label(f.cutoff_, scale))
    ax.axhline(f.chance_, color=CHANCE_COLOR, ls=":", lw=1, label=chance_label(f.chance_))
    ax.axhline(f.chance_ + tau * (1 - f.chance_), color=TAU_COLOR, ls=":", lw=1.2,
               label=tau_label(tau, f.chance_))
    th = f.threshold(tau=tau, level=level)
    if th.estimate is not None:
        ax.axvline(th.estimate, color=TAU_COLOR, lw=1.5,
                   label=f"threshold: reaches τ at {format_compute(th.estimate, scale)}")
    if th.lower is not None and th.upper is not None:
        ax.axvspan(th.lower, th.upper, color=TAU_COLOR, alpha=0.1, lw=0, label=f"{pct}% interval of the threshold")
    ax.set_xscale("log")
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel(compute_label(scale))
    ax.set_ylabel(metric_label("accuracy"))
    style_axes(ax, f"{f.task_}\n{f.name} forecast from the models up to {format_compute(f.cutoff_, scale)}")
    ax.legend(fontsize=LEGEND_SIZE - 1, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2, frameon=False)
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.partial.png")
    fig.savefig(tmp, dpi=120)
    plt.close(fig)
    tmp.replace(path)
    return path
