"""Plots of one fitted forecast (matplotlib, written to PNG)."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from forecast.data.dataset import EvalData
from forecast.data.task_table import task_table
from forecast.methods.base import Forecaster
from forecast.plotstyle import (
    CHANCE_COLOR,
    CURVE_ALONE_COLOR,
    CUTOFF_COLOR,
    EARLY_COLOR,
    HELD_OUT_COLOR,
    LEGEND_SIZE,
    TAU_COLOR,
    chance_label,
    compute_label,
    cutoff_label,
    format_compute,
    metric_label,
    slice_chance,
    style_axes,
    tau_label,
)
from forecast.report import easy_turn_or_reason
from forecast.threshold import Threshold

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

#: points of the plotted curve grid (the bands are quantiles of draws at each point)
PLOT_POINTS = 200
#: characters of a legend entry (one column under a panel) before it wraps onto another line
LEGEND_WIDTH = 80
#: the name of the slice-and-sandwich curve among the components of its mixture
CURVE_COMPONENT = "slice_sandwich"


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


def _legend_below(ax: Axes, ncol: int, width: int) -> None:
    """The panel's legend under its x axis, so it never covers the data; entries longer than
    ``width`` characters are wrapped onto more lines, so the legend stays inside the figure."""
    handles, labels = ax.get_legend_handles_labels()
    wrapped = [textwrap.fill(label, width=width, subsequent_indent="  ", break_on_hyphens=False) for label in labels]
    ax.legend(handles, wrapped, fontsize=LEGEND_SIZE - 1, loc="upper center", bbox_to_anchor=(0.5, -0.11),
              ncol=ncol, frameon=False)


def early_signal_label(turn: Threshold | None, why: str | None, scale: str, subject: str = "easy slice") -> str:
    """The legend entry of the early signal: where the ``subject`` (the easiest slice; the task's
    own curve when it is the only slice) turns, and its interval; or why there is no turn to draw."""
    if why is not None:
        return f"early signal: {subject} turn not estimated ({why})"
    if turn is None or turn.estimate is None:
        share = 0.0 if turn is None else turn.p_reached
        return f"early signal: no {subject} turn in range ({share:.0%} of draws turn)"
    pct = int(round(turn.level * 100))
    lower = "-" if turn.lower is None else f"{turn.lower:.2g}"
    upper = "-" if turn.upper is None else f"{turn.upper:.2g}" + ("+" if turn.upper_censored else "")
    return f"early signal: {subject} turns at {format_compute(turn.estimate, scale)} [{pct}%: {lower} – {upper}]"


def _turn_subject(f: Forecaster) -> str:
    """What turns: the easiest slice, or the whole task's curve when it is the only slice."""
    return "easy slice" if len(f.slices_.summary) > 1 else "whole-task curve"


def _slice_name(row, source: str) -> str:
    """A slice's legend entry: which slice, its size (not for a whole-task score, which has
    none) and its shape."""
    if source == "whole_task":
        return f"whole task ({row['shape']})"
    return f"{row['label']} {row['n_questions']} questions ({row['shape']})"


def mixture_label(weights: dict[str, float]) -> str:
    """The mixture's components and their weights, largest first (the curve named ``curve``)."""
    parts = []
    for name, w in sorted(weights.items(), key=lambda item: -item[1]):
        label = "curve" if name == CURVE_COMPONENT else name
        parts.append(f"{label} {w:.2f}" if w >= 0.005 else f"{label} <0.01")
    return "mixture: " + ", ".join(parts)


def _is_mixture(f: Forecaster) -> bool:
    """True when ``f`` mixes its own curve with other forecasters (``slice_sandwich``'s
    ``combine``, with at least one component fitted)."""
    return bool(getattr(f, "components_", None))


def _slice_panel(ax: Axes, f: Forecaster, level: float, turn: Threshold | None, why: str | None) -> None:
    """Per-slice points, curves and bands with their shapes; the cut-off, chance (on slice
    metrics where it has a meaning) and the easy slice's turn."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import LogFormatterSciNotation, LogLocator

    rep = f.slices_
    metric = f.slice_set_.metric
    colors = plt.cm.viridis(np.linspace(0, 0.9, len(rep.summary)))
    for (g, row), color in zip(rep.summary.iterrows(), colors):
        c = rep.curves[rep.curves["slice"] == g]
        ax.fill_between(10.0 ** c["log10_compute"], c["lower"], c["upper"], color=color, alpha=0.2, lw=0)
        ax.plot(10.0 ** c["log10_compute"], c["mean"], color=color,
                label=_slice_name(row, rep.source))
        p = rep.points[rep.points["slice"] == g]
        ax.scatter(10.0 ** p["log10_compute"], p["score"], color=color, s=14)
    ax.axvline(f.cutoff_, color=CUTOFF_COLOR, ls="--", lw=1, label=cutoff_label(f.cutoff_, f.scale_))
    chance = slice_chance(metric, f.chance_)
    if chance is not None:
        ax.axhline(chance, color=CHANCE_COLOR, ls=":", lw=1, label=chance_label(chance))
    if turn is not None and turn.estimate is not None:
        _easy_turn_marker(ax, f, turn, colors[0])
    else:
        # say why there is no marker (a legend entry with nothing drawn)
        ax.plot([], [], color=EARLY_COLOR, marker="D", ls="none",
                label=early_signal_label(turn, why, f.scale_, _turn_subject(f)))
    ax.set_xscale("log")
    # the fitted range is often under two decades: label minor ticks at 2 and 5 only (no overlap)
    ax.xaxis.set_minor_locator(LogLocator(subs=(2.0, 5.0)))
    ax.xaxis.set_minor_formatter(LogFormatterSciNotation(minor_thresholds=(2, 0.4)))
    ax.set_xlabel(compute_label(f.scale_))
    ax.set_ylabel(f"slice score: {metric_label(metric)}")
    style_axes(ax, f"{f.task_}\ndifficulty slices of the fitted models ({int(level * 100)}% bands)")
    _legend_below(ax, 1, LEGEND_WIDTH)


def _easy_turn_marker(ax: Axes, f: Forecaster, turn: Threshold, color) -> None:
    """The easy slice's turn as a marker at the median of the cubic it is read from
    (``easy_curve_scores``), with the turn's interval as a horizontal error bar; past the drawn
    fitted range, that cubic's median is drawn on, dotted, up to the turn."""
    rep = f.slices_
    easy = rep.curves[rep.curves["slice"] == 0]
    x_turn = float(np.log10(turn.estimate))
    x_end = float(easy["log10_compute"].max())
    if x_turn > x_end:
        ext = np.linspace(x_end, x_turn, 50)
        ax.plot(10.0**ext, np.median(f.easy_curve_scores(10.0**ext), axis=0), color=color, ls=":", lw=1.2,
                label=f"{_turn_subject(f)}'s cubic past the fitted models (median; the turn is read off it)")
    y_turn = float(np.median(f.easy_curve_scores([turn.estimate])[:, 0]))
    lower = turn.lower if turn.lower is not None else turn.estimate
    upper = turn.upper if turn.upper is not None else turn.estimate
    ax.errorbar([turn.estimate], [y_turn], xerr=[[turn.estimate - lower], [upper - turn.estimate]],
                color=EARLY_COLOR, marker="D", ms=7, mec="black", mew=0.6, capsize=3, lw=1.4, zorder=4,
                label=early_signal_label(turn, None, f.scale_, _turn_subject(f)))


def _accuracy_panel(
    ax: Axes, f: Forecaster, data: EvalData, level: float, tau: float, turn: Threshold | None, why: str | None
) -> None:
    """The accuracy forecast with its bands, the fitted and held-out models, cut-off, chance,
    tau, the threshold and its interval; the early signal and, for a mixture, the
    slice-and-sandwich curve alone and the weights."""
    scale = f.scale_
    grid = np.linspace(*f.search_range_, PLOT_POINTS)
    compute = 10.0**grid
    obs = f.predict(compute, level=level, kind="observed")
    mean = f.predict(compute, level=level, kind="mean")
    pct = int(round(level * 100))
    ax.fill_between(compute, _smooth(obs["lower"]), _smooth(obs["upper"]), color="tab:blue", alpha=0.14, lw=0,
                    label=f"{pct}% interval of a new model's score")
    ax.fill_between(compute, mean["lower"], mean["upper"], color="tab:blue", alpha=0.3, lw=0,
                    label=f"{pct}% interval of the mean curve")
    mixture = _is_mixture(f)
    name = f"{f.name}, {mixture_label(f.weights_)}" if mixture else f.name
    ax.plot(compute, mean["mean"], color="tab:blue", label=f"forecast ({name})")
    if mixture:
        alone = f.curve_alone_draws(np.log10(np.asarray(compute, dtype=float))).mean(axis=0)
        ax.plot(compute, alone, color=CURVE_ALONE_COLOR, ls="--", lw=1.2,
                label="slice-and-sandwich curve alone (mean, no mixing)")
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
    if hasattr(f, "easy_turn"):
        label = early_signal_label(turn, why, scale, _turn_subject(f))
        if turn is not None and turn.estimate is not None:
            ax.axvline(turn.estimate, color=EARLY_COLOR, ls="-.", lw=1.5, label=label)
        else:
            ax.plot([], [], color=EARLY_COLOR, ls="-.", lw=1.5, label=label)
    ax.set_xscale("log")
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel(compute_label(scale))
    ax.set_ylabel(metric_label("accuracy"))
    style_axes(ax, f"{f.task_}\n{f.name} forecast from the models up to {format_compute(f.cutoff_, scale)}")
    _legend_below(ax, 2, LEGEND_WIDTH // 2 + 10)


def forecast_figure(f: Forecaster, data: EvalData, level: float = 0.9, tau: float = 0.25) -> Figure:
    """The figure of :func:`plot_forecast` (matplotlib), not yet written.

    With slices (``slice_sandwich``) the left panel shows them: per-slice points, curves and
    bands with their shapes, the cut-off, chance (for accuracy-type slice scores) and the early
    signal, the easiest slice's turn from falling to rising (``easy_turn``) with its interval.
    The right panel (the only one otherwise) shows the accuracy forecast with its bands,
    fitted models as filled dots, held-out models (read from ``data`` only for display, after
    the fit) as open circles, the cut-off, chance, tau, the threshold and its interval, the
    early signal as a vertical line and, when the forecast is a mixture, the slice-and-sandwich
    curve alone (dashed) and the mixture's weights in the legend.  Where the early signal is
    missing, the legend says why.  Both x axes show raw compute on a log scale.
    """
    import matplotlib.pyplot as plt

    has_slices = hasattr(f, "slices_")
    turn, why = easy_turn_or_reason(f, level)
    fig, axes = plt.subplots(1, 2 if has_slices else 1, figsize=(14 if has_slices else 7.5, 7.6))
    axes = np.atleast_1d(axes)
    if has_slices:
        _slice_panel(axes[0], f, level, turn, why)
    _accuracy_panel(axes[-1], f, data, level, tau, turn, why)
    fig.tight_layout()
    return fig


def plot_forecast(
    f: Forecaster, data: EvalData, path: str | Path, level: float = 0.9, tau: float = 0.25
) -> Path:
    """Write :func:`forecast_figure` to the PNG ``path`` (atomically: a partial file is renamed
    into place once complete) and return the path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    fig = forecast_figure(f, data, level=level, tau=tau)
    tmp = path.with_name(f".{path.name}.partial.png")
    fig.savefig(tmp, dpi=120)
    plt.close(fig)
    tmp.replace(path)
    return path
