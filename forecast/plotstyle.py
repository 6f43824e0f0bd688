"""The package's plotting style: one place for colours, fonts and the words on every axis.

Every figure of :mod:`forecast.plots` and :mod:`forecast.backtest.plots` takes its colours,
font sizes, axis labels and the legend text of tau, the cut-off and chance from here, so
that the plots name the same things the same way.
"""

from __future__ import annotations

import math

from forecast.metrics.registry import get_metric, is_metric

#: method colours, in the order methods are listed (colour-blind-safe qualitative palette)
COLORS = ("#1b6ca8", "#d1495b", "#edae49", "#66a182", "#8d6a9f", "#2e4057", "#c27c0e", "#00798c")
#: colours of the reference lines
CUTOFF_COLOR = "0.35"
CHANCE_COLOR = "0.55"
TAU_COLOR = "#c27c0e"
HELD_OUT_COLOR = "#d1495b"
#: the early signal (the easy slice's turn from falling to rising) and the slice-and-sandwich
#: curve drawn alone inside its mixture
EARLY_COLOR = "#00798c"
CURVE_ALONE_COLOR = "#2e4057"
#: font sizes: panel titles, axis labels, ticks, legends
TITLE_SIZE, LABEL_SIZE, TICK_SIZE, LEGEND_SIZE = 10, 9, 8, 8
# what each metric is, as an axis label: its description in forecast.metrics.registry


def method_colors(methods: list[str]) -> dict[str, str]:
    """One colour per method, stable in the order given."""
    return {m: COLORS[i % len(COLORS)] for i, m in enumerate(methods)}


def compute_label(scale: str) -> str:
    """The x-axis label of a compute axis (log scale, raw values)."""
    return "training compute (FLOPs, log scale)" if scale == "flops" else "parameters (log scale)"


def metric_label(metric: str) -> str:
    """The y-axis label of a metric, with what it measures (declared with the metric,
    :mod:`forecast.metrics.registry`)."""
    return get_metric(metric).label(metric) if is_metric(metric) else metric


def format_compute(value: float, scale: str) -> str:
    """A raw compute value as people write it: ``8e+09 parameters``, ``3.2e+22 FLOPs``."""
    unit = "FLOPs" if scale == "flops" else "parameters"
    return f"{value:.2g} {unit}" if math.isfinite(value) else f"- {unit}"


def tau_label(tau: float, chance: float) -> str:
    """The legend entry of the emergence level, explained in one line."""
    level = chance + tau * (1.0 - chance)
    return f"τ = {tau:g} of the way from chance to perfect (accuracy {level:.2f})"


def cutoff_label(cutoff: float, scale: str) -> str:
    """The legend entry of the cut-off line."""
    return f"cut-off {format_compute(cutoff, scale)}: fitted at or below"


def chance_label(chance: float) -> str:
    """The legend entry of the chance line."""
    return f"chance accuracy ({chance:.2g})"


def slice_chance(metric: str, chance: float) -> float | None:
    """What a guesser scores on a slice of ``metric``, or None where chance has no meaning.

    A uniform guesser answers every question right with the task's chance whatever its
    difficulty, so the share correct of every slice (``accuracy``) and the probability on the
    correct answer (``p_correct``, multiple choice only: ``chance > 0``) sit at the task's
    chance; a Brier-type score or a likelihood has no chance line (none is invented).
    """
    if metric == "accuracy" or (metric == "p_correct" and chance > 0):
        return chance
    return None


def style_axes(ax, title: str | None = None) -> None:
    """Fonts and a light grid on one panel."""
    if title is not None:
        ax.set_title(title, fontsize=TITLE_SIZE)
    ax.xaxis.label.set_size(LABEL_SIZE)
    ax.yaxis.label.set_size(LABEL_SIZE)
    ax.tick_params(labelsize=TICK_SIZE)
    ax.grid(True, color="0.9", lw=0.6)
    ax.set_axisbelow(True)
