"""The fit plot shows the sandwich: slices and their shapes, the early signal, tau, cut-off,
chance and, for the default mixture, the curve alone beside the mixture with its weights.

Real BIG-G tasks at the 8e9 cut-off; the settings are learned at fit time from four tasks
(``task_slices``: the same rules as on all 66, in seconds).  ``physics`` has an easy-slice
turn in the searched range, ``penguins_in_a_table`` none; ``physics`` at 1.25e8 has four fitted
models, too few for the turn's cubic.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.colors as mcolors  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from task_slices import task_slice  # noqa: E402

from forecast.methods import SliceSandwich, make_method  # noqa: E402
from forecast.plots import forecast_figure, plot_forecast  # noqa: E402
from forecast.plotstyle import CURVE_ALONE_COLOR, EARLY_COLOR, format_compute, slice_chance  # noqa: E402
from forecast.report import easy_turn_or_reason, forecast_report  # noqa: E402

CUT = 8e9
TURN, NO_TURN = "physics", "penguins_in_a_table"
TASKS = (TURN, NO_TURN, "empirical_judgments", "hindu_knowledge")


@pytest.fixture(scope="module")
def part(bigg):
    return task_slice(bigg, TASKS)


@pytest.fixture(scope="module")
def context(part):
    return SliceSandwich().learn_context(part.restrict(CUT), CUT)


@pytest.fixture(scope="module")
def fits(part, context):
    return {task: SliceSandwich().fit(part, CUT, task, context=context) for task in (TURN, NO_TURN)}


@pytest.fixture
def figure():
    """Figures made by a test, closed after it."""
    made = []

    def make(*args, **kwargs):
        made.append(forecast_figure(*args, **kwargs))
        return made[-1]

    yield make
    for fig in made:
        plt.close(fig)


def legend(ax) -> list[str]:
    """The legend's entries, each on one line (the plot wraps long entries)."""
    return [" ".join(t.get_text().split()) for t in ax.get_legend().get_texts()]


def vertical_lines(ax, color=None) -> list[float]:
    """The x of every vertical line of a panel (of ``color`` when given)."""
    out = []
    for line in ax.get_lines():
        x = np.asarray(line.get_xdata(), dtype=float)
        y = np.asarray(line.get_ydata(), dtype=float)
        same = color is None or mcolors.same_color(line.get_color(), color)
        if same and x.size == 2 and x[0] == x[1] and line.get_transform() != ax.transData:
            out.append(float(x[0]))
    return out


def horizontal_lines(ax) -> list[float]:
    out = []
    for line in ax.get_lines():
        x = np.asarray(line.get_xdata(), dtype=float)
        y = np.asarray(line.get_ydata(), dtype=float)
        if y.size == 2 and y[0] == y[1] and x.size == 2 and x[0] == 0 and x[1] == 1:
            out.append(float(y[0]))
    return out


def test_turn_cutoff_and_chance_sit_where_the_fit_says(fits, part, figure):
    f = fits[TURN]
    turn = f.easy_turn(level=0.9)
    assert turn.estimate is not None and f.slice_set_.metric == "accuracy"
    slices, acc = figure(f, part).axes
    for ax in (slices, acc):
        assert any(np.isclose(x, f.cutoff_) for x in vertical_lines(ax)), ax.get_title()
        assert any(np.isclose(y, f.chance_) for y in horizontal_lines(ax)), ax.get_title()
    # the accuracy panel: a vertical line at the turn, in the early signal's colour
    assert vertical_lines(acc, EARLY_COLOR) == pytest.approx([turn.estimate])
    # the slice panel: a marker at the turn on the median of the easy slice's cubic (the turn is read off it)
    marks = [line for line in slices.get_lines() if line.get_marker() == "D" and len(line.get_xdata())]
    assert len(marks) == 1
    x_mark, y_mark = marks[0].get_xdata()[0], marks[0].get_ydata()[0]
    assert x_mark == pytest.approx(turn.estimate)
    easy = np.median(f.easy_curve_scores([turn.estimate])[:, 0])
    assert y_mark == pytest.approx(easy)
    # its interval as the horizontal error bar
    bars = [c for c in slices.collections if type(c).__name__ == "LineCollection"]
    spans = [seg[:, 0] for c in bars for seg in c.get_segments()]
    assert any(np.allclose(s, [turn.lower, turn.upper]) for s in spans)
    expected = f"early signal: easy slice turns at {format_compute(turn.estimate, f.scale_)}"
    for ax in (slices, acc):
        assert any(text.startswith(expected) for text in legend(ax)), legend(ax)
    # the slices, their sizes and shapes
    rows = f.slices_.summary
    for _, row in rows.iterrows():
        assert f"{row['label']} {row['n_questions']} questions ({row['shape']})" in legend(slices)


def test_mixture_weights_and_the_curve_alone(fits, part, context, figure):
    f = fits[TURN]
    assert len(f.weights_) > 1
    acc = figure(f, part).axes[-1]
    entry = next(text for text in legend(acc) if text.startswith("forecast (slice_sandwich, mixture:"))
    for name, w in f.weights_.items():
        shown = f"{w:.2f}" if w >= 0.005 else "<0.01"
        assert f"{'curve' if name == 'slice_sandwich' else name} {shown}" in entry, entry
    # the dashed line is the slice-and-sandwich curve fitted alone (same settings and seed)
    alone = [line for line in acc.get_lines() if mcolors.same_color(line.get_color(), CURVE_ALONE_COLOR)]
    assert len(alone) == 1 and alone[0].get_linestyle() == "--"
    x = np.asarray(alone[0].get_xdata(), dtype=float)
    own = SliceSandwich(combine=None).fit(part, CUT, TURN, context=context).predict(x, kind="mean")
    np.testing.assert_allclose(alone[0].get_ydata(), own["mean"].to_numpy(), rtol=1e-9)
    assert not np.allclose(f.predict(x, kind="mean")["mean"], own["mean"])


def test_no_turn_in_range_is_said_not_drawn(fits, part, figure):
    f = fits[NO_TURN]
    turn = f.easy_turn(level=0.9)
    assert turn.estimate is None
    slices, acc = figure(f, part).axes
    assert vertical_lines(acc, EARLY_COLOR) == []
    assert not [line for line in slices.get_lines() if line.get_marker() == "D" and len(line.get_xdata())]
    for ax in (slices, acc):
        assert any(text.startswith("early signal: no easy slice turn in range") for text in legend(ax))


def test_too_few_models_for_the_turn_plot_says_why(part, tmp_path):
    cut = 1.25e8
    f = SliceSandwich().fit(part, cut, TURN, context=SliceSandwich().learn_context(part.restrict(cut), cut))
    turn, why = easy_turn_or_reason(f)
    assert turn is None and "4 fitted models" in why
    report = forecast_report(f, "slice_sandwich")  # the fit report names it the same way
    assert report["easy_slice_turn_missing"] == why and "easy_slice_turn" not in report
    figures = []
    close = plt.close
    try:
        plt.close = figures.append
        out = plot_forecast(f, part, tmp_path / "few.png")
    finally:
        plt.close = close
    assert out.stat().st_size > 10_000 and not list(tmp_path.glob(".*partial*"))
    for ax in figures[0].axes:
        assert any(text.startswith("early signal: easy slice turn not estimated (slice 0: 4 fitted models")
                   for text in legend(ax)), legend(ax)
    plt.close(figures[0])


def test_curve_alone_and_baselines_draw_no_sandwich_extras(part, context, figure):
    alone = SliceSandwich(combine=None).fit(part, CUT, TURN, context=context)
    acc = figure(alone, part).axes[-1]
    assert not any("mixture" in text for text in legend(acc))
    assert not [line for line in acc.get_lines() if mcolors.same_color(line.get_color(), CURVE_ALONE_COLOR)]
    assert any(text.startswith("forecast (slice_sandwich)") for text in legend(acc))
    base = make_method("sigmoid").fit(part, CUT, TURN, context={})
    (ax,) = figure(base, part).axes
    assert not any("early signal" in text for text in legend(ax)) and vertical_lines(ax, EARLY_COLOR) == []


def test_no_chance_line_on_a_brier_slice_panel(sas, figure):
    from forecast.curves.conjugate import DEFAULT_PRIOR_SD

    f = SliceSandwich(prior_sd=DEFAULT_PRIOR_SD, extrapolation_sd=0.5, combine=None).fit(sas, 3.1623e22, "mmlu")
    assert f.slice_set_.metric == "tc_brier"
    slices, acc = figure(f, sas).axes
    assert horizontal_lines(slices) == [] and any(np.isclose(y, f.chance_) for y in horizontal_lines(acc))
    assert not any("chance" in text for text in legend(slices))


def test_slice_chance_only_where_a_guesser_has_one():
    assert slice_chance("accuracy", 0.25) == 0.25
    assert slice_chance("p_correct", 0.25) == 0.25
    assert slice_chance("p_correct", 0.0) is None
    for metric in ("tc_brier", "loglik", "edit_distance"):
        assert slice_chance(metric, 0.25) is None


def test_a_whole_task_score_is_named_as_one_curve_not_a_slice_of_questions(figure):
    import forecast
    from forecast.curves.conjugate import DEFAULT_PRIOR_SD

    d = forecast.load_dataset("olmo_ladder")
    task = "arc_challenge:test:rc:5"
    f = SliceSandwich(prior_sd=DEFAULT_PRIOR_SD, extrapolation_sd=0.5, combine=None).fit(d, 1.3e21, task)
    assert f.slices_.source == "whole_task"
    slices = figure(f, d).axes[0]
    texts = legend(slices)
    assert f"whole task ({f.slices_.summary['shape'][0]})" in texts
    assert not any("questions" in text or "easy slice" in text for text in texts), texts
    assert any(text.startswith("early signal:") and "whole-task curve" in text for text in texts), texts
