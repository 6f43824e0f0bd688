"""Plots of one fitted forecast (matplotlib, written to PNG)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from forecast.data.dataset import EvalData
from forecast.data.task_table import task_table
from forecast.methods.base import Forecaster


def plot_forecast(
    f: Forecaster, data: EvalData, path: str | Path, level: float = 0.9, tau: float = 0.25
) -> Path:
    """Per-slice data and curves with bands, and the accuracy forecast with its band.

    Fitted models are filled dots, held-out models (read from ``data`` only for display,
    after the fit) open circles; the threshold estimate and its interval are shaded.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    has_slices = hasattr(f, "slices_")
    fig, axes = plt.subplots(1, 2 if has_slices else 1, figsize=(12 if has_slices else 6.5, 4.5))
    axes = np.atleast_1d(axes)
    if has_slices:
        ax = axes[0]
        rep = f.slices_
        colors = plt.cm.viridis(np.linspace(0, 0.9, len(rep.summary)))
        for (g, row), color in zip(rep.summary.iterrows(), colors):
            c = rep.curves[rep.curves["slice"] == g]
            ax.fill_between(c["log10_compute"], c["lower"], c["upper"], color=color, alpha=0.2)
            ax.plot(c["log10_compute"], c["mean"], color=color, label=f"{row['label']} ({row['shape']})")
            p = rep.points[rep.points["slice"] == g]
            ax.scatter(p["log10_compute"], p["score"], color=color, s=12)
        ax.set_xlabel(f"log10 {f.scale_}")
        ax.set_ylabel("slice score (higher is better)")
        ax.set_title(f"{f.task_}: difficulty slices (fitted models)")
        ax.legend(fontsize=8)
    ax = axes[-1]
    grid = f.search_grid()
    obs = f.predict(10.0**grid, level=level, kind="observed")
    mean = f.predict(10.0**grid, level=level, kind="mean")
    ax.fill_between(grid, obs["lower"], obs["upper"], color="tab:blue", alpha=0.15,
                    label=f"{int(level * 100)}% new-model interval")
    ax.fill_between(grid, mean["lower"], mean["upper"], color="tab:blue", alpha=0.3, label="curve interval")
    ax.plot(grid, mean["mean"], color="tab:blue", label="forecast")
    table = task_table(data.for_task(f.task_), f.task_)
    fitted = table["compute"] <= f.cutoff_ * (1 + 1e-12)
    ax.scatter(table.loc[fitted, "log10_compute"], table.loc[fitted, "accuracy"], color="black", s=14,
               label="fitted models")
    ax.scatter(table.loc[~fitted, "log10_compute"], table.loc[~fitted, "accuracy"], facecolors="none",
               edgecolors="tab:red", s=18, label="held-out models")
    ax.axvline(np.log10(f.cutoff_), color="gray", ls="--", lw=1)
    ax.axhline(f.chance_, color="gray", ls=":", lw=1)
    ax.axhline(f.chance_ + tau * (1 - f.chance_), color="tab:orange", ls=":", lw=1)
    th = f.threshold(tau=tau, level=level)
    if th.estimate is not None:
        ax.axvline(np.log10(th.estimate), color="tab:orange", lw=1.5, label="threshold")
    if th.lower is not None:
        ax.axvspan(np.log10(th.lower), np.log10(th.upper), color="tab:orange", alpha=0.1)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel(f"log10 {f.scale_}")
    ax.set_ylabel("accuracy")
    ax.set_title(f"{f.task_}: {f.name} forecast, cut-off 10^{np.log10(f.cutoff_):.2f}")
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.partial.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    tmp.replace(path)
    return path
