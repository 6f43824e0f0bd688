"""Tests for forecast.metrics against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from forecast.errors import InputError
from forecast.metrics import (
    accuracy,
    emergence_score,
    emergence_scores,
    exact_match,
    loglik_matrix,
    model_metrics,
    multiclass_brier,
    neg_token_edit_distance,
    p_correct,
    question_metrics,
    target_loglik,
    tc_brier,
    token_edit_distance,
)

L = np.log
NAN = np.nan

# Row 0: probs (0.5, 0.3, 0.2), target 1 (not the argmax).
# Row 1: probs (0.1, 0.9) padded with NaN, target 1 (the argmax).
LOGLIKS = np.array([[L(0.5), L(0.3), L(0.2)], [L(0.1), L(0.9), NAN]])
TARGETS = np.array([1, 1])


# ----------------------------------------------------------------- multiple choice


def test_accuracy_hand_values_and_nan_padding():
    # row 0: argmax is choice 0 != 1 -> 0; row 1: argmax over (0.1, 0.9) is 1 -> 1
    np.testing.assert_array_equal(accuracy(LOGLIKS, TARGETS), [0, 1])


def test_accuracy_nan_padding_is_ignored_not_treated_as_max():
    # NaN in the first column must not win the argmax: valid choices are columns 1, 2.
    ll = np.array([[NAN, -2.0, -1.0]])
    np.testing.assert_array_equal(accuracy(ll, [2]), [1])


def test_accuracy_ties_take_first_max():
    ll = np.array([[-1.0, -1.0, -3.0], [-1.0, -1.0, -3.0]])
    # tie between choices 0 and 1: the first (0) is the prediction
    np.testing.assert_array_equal(accuracy(ll, [0, 1]), [1, 0])


def test_p_correct_hand_values():
    # row 0: 0.3 / (0.5+0.3+0.2) = 0.3; row 1: 0.9 / (0.1+0.9) = 0.9
    np.testing.assert_allclose(p_correct(LOGLIKS, TARGETS), [0.3, 0.9], rtol=1e-12)


def test_p_correct_renormalises_over_offered_choices():
    # unnormalised: exp(-1) / (exp(-1) + exp(-2)) = 1 / (1 + e^-1)
    got = p_correct([[-1.0, -2.0, NAN]], [0])
    assert got[0] == pytest.approx(1.0 / (1.0 + math.exp(-1.0)), rel=1e-12)


def test_p_correct_is_stable_for_huge_logliks():
    # naive exp would overflow/underflow; difference of 1 nat -> same as above
    got = p_correct([[-1000.0, -1001.0], [1000.0, 999.0]], [0, 0])
    np.testing.assert_allclose(got, [1.0 / (1.0 + math.exp(-1.0))] * 2, rtol=1e-12)


def test_p_correct_with_minus_inf_choice():
    # probabilities (0.4, 0) -> the -inf choice has zero mass; target 0 gets 1.0
    np.testing.assert_allclose(p_correct([[L(0.4), -np.inf]], [0]), [1.0])


def test_tc_brier_hand_values():
    # -(1-0.3)^2 = -0.49 ; -(1-1)^2 = 0 ; -(1-0)^2 = -1 ; NaN propagates
    got = tc_brier([0.3, 1.0, 0.0, NAN])
    np.testing.assert_allclose(got[:3], [-0.49, 0.0, -1.0], atol=1e-12)
    assert np.isnan(got[3])


def test_tc_brier_rejects_out_of_range():
    with pytest.raises(InputError, match=r"index 1.*1\.5"):
        tc_brier([0.2, 1.5])


def test_multiclass_brier_hand_values():
    # row 0: (0.5-0)^2 + (0.3-1)^2 + (0.2-0)^2 = 0.25 + 0.49 + 0.04 = 0.78 -> -0.78
    # row 1: (0.1-0)^2 + (0.9-1)^2 = 0.01 + 0.01 = 0.02 -> -0.02 (padding adds nothing)
    np.testing.assert_allclose(multiclass_brier(LOGLIKS, TARGETS), [-0.78, -0.02], atol=1e-12)


def test_multiclass_brier_range():
    # all mass on a wrong choice: 1^2 + 1^2 = 2 -> -2 (worst); all on target -> 0 (best)
    got = multiclass_brier([[0.0, -np.inf], [0.0, -np.inf]], [1, 0])
    np.testing.assert_allclose(got, [-2.0, 0.0], atol=1e-12)


def test_target_loglik():
    np.testing.assert_allclose(target_loglik(LOGLIKS, TARGETS), [L(0.3), L(0.9)])


@pytest.mark.parametrize("fn", [accuracy, p_correct, multiclass_brier, target_loglik])
def test_target_beyond_non_nan_choices_names_row_and_value(fn):
    # row 1 has 2 real choices: target 2 points at padding
    with pytest.raises(InputError, match=r"row 1: target 2 out of range for 2 choices"):
        fn(LOGLIKS, [0, 2])


@pytest.mark.parametrize("bad", [-1, 3, 7])
def test_target_out_of_range_negative_or_too_big(bad):
    with pytest.raises(InputError, match=rf"row 0: target {bad} out of range"):
        p_correct(LOGLIKS, [bad, 0])


def test_all_nan_row_rejected():
    ll = np.array([[-1.0, -2.0], [NAN, NAN]])
    with pytest.raises(InputError, match=r"row 1: all log-likelihoods are NaN"):
        accuracy(ll, [0, 0])


def test_all_minus_inf_row_rejected():
    with pytest.raises(InputError, match=r"row 0: every log-likelihood is -inf"):
        p_correct([[-np.inf, -np.inf]], [0])


def test_shape_mismatch_rejected():
    with pytest.raises(InputError, match=r"targets has 3 entries but logliks has 2 rows"):
        p_correct(LOGLIKS, [0, 1, 0])
    with pytest.raises(InputError, match=r"must be 2-D"):
        p_correct([-1.0, -2.0], [0, 0])


def test_non_integer_target_rejected():
    with pytest.raises(InputError, match=r"row 0: target 0\.5 is not an integer"):
        p_correct(LOGLIKS, [0.5, 1.0])
    # integral floats are accepted
    np.testing.assert_allclose(p_correct(LOGLIKS, [1.0, 1.0]), [0.3, 0.9])


def test_loglik_matrix_pads_and_parses_json():
    got = loglik_matrix(["[-1.0, -2.0, -3.0]", [-0.5], np.array([-4.0, -5.0])])
    expected = np.array([[-1.0, -2.0, -3.0], [-0.5, NAN, NAN], [-4.0, -5.0, NAN]])
    np.testing.assert_array_equal(got, expected)


def test_loglik_matrix_bad_json():
    with pytest.raises(InputError, match=r"row 1: loglik '\[-1, oops\]' is not a JSON list"):
        loglik_matrix(["[-1]", "[-1, oops]"])


# ----------------------------------------------------------------- generation


def test_exact_match_strips_outer_whitespace_only():
    outputs = ["  Paris\n", "paris", "New  York", "42"]
    targets = ["Paris", "Paris", "New York", "42 "]
    # strip makes 0 and 3 equal; case (1) and inner whitespace (2) matter
    np.testing.assert_array_equal(exact_match(outputs, targets), [1, 0, 0, 1])


def test_exact_match_rejects_mismatch_and_non_strings():
    with pytest.raises(InputError, match=r"2 entries but targets has 1"):
        exact_match(["a", "b"], ["a"])
    with pytest.raises(InputError, match=r"outputs row 1: expected a string, got None"):
        exact_match(["a", None], ["a", "b"])


def test_token_edit_distance_hand_examples():
    outputs = ["a b c", "", "a b", "kitten sitting", "x y z", "a  b\tc", "a b c d"]
    targets = ["a x c", "a b", "", "kitten sitting", "x y z", "a b c", "b c d e"]
    # 1 substitution; 2 insertions; 2 deletions; equal; equal; whitespace-insensitive;
    # "a b c d" -> "b c d e": delete a, insert e = 2
    expected = [1, 2, 2, 0, 0, 0, 2]
    got = token_edit_distance(outputs, targets)
    np.testing.assert_array_equal(got, expected)
    assert got.dtype.kind == "i"
    np.testing.assert_array_equal(neg_token_edit_distance(outputs, targets), [-v for v in expected])


def test_token_edit_distance_classic_case():
    # kitten -> sitting as character tokens: distance 3 (k->s, e->i, +g)
    assert token_edit_distance(["k i t t e n"], ["s i t t i n g"])[0] == 3
    # symmetric
    assert token_edit_distance(["s i t t i n g"], ["k i t t e n"])[0] == 3
    # completely different, unequal lengths: max(3, 2) = 3
    assert token_edit_distance(["a b c"], ["x y"])[0] == 3


# ----------------------------------------------------------------- tables


def _frame(loglik_cells):
    return pd.DataFrame(
        {
            "task": ["t", "t", "t"],
            "question_id": ["q1", "q2", "q3"],
            "model": ["m", "m", "m"],
            "correct": [0, 1, 1],
            "loglik": loglik_cells,
            "target": [1, 1, 0],
        }
    )


@pytest.mark.parametrize(
    "cells",
    [
        [
            f"[{float(L(0.5))!r}, {float(L(0.3))!r}, {float(L(0.2))!r}]",
            f"[{float(L(0.1))!r}, {float(L(0.9))!r}]",
            f"[{float(L(0.6))!r}, {float(L(0.4))!r}]",
        ],
        [[L(0.5), L(0.3), L(0.2)], [L(0.1), L(0.9)], [L(0.6), L(0.4)]],
    ],
    ids=["json", "lists"],
)
def test_question_metrics_from_logliks(cells):
    df = _frame(cells)
    out = question_metrics(df)
    # p: 0.3, 0.9, 0.6; brier: -(0.7^2), -(0.1^2), -(0.4^2)
    np.testing.assert_array_equal(out["accuracy"], [0.0, 1.0, 1.0])
    np.testing.assert_allclose(out["p_correct"], [0.3, 0.9, 0.6], rtol=1e-12)
    np.testing.assert_allclose(out["tc_brier"], [-0.49, -0.01, -0.16], atol=1e-12)
    # multiclass: -0.78; -(0.01+0.01) = -0.02; -(0.4^2+0.4^2) = -0.32
    np.testing.assert_allclose(out["multiclass_brier"], [-0.78, -0.02, -0.32], atol=1e-12)
    np.testing.assert_allclose(out["target_loglik"], [L(0.3), L(0.9), L(0.6)])
    # a copy: input untouched
    assert "accuracy" not in df.columns


def test_question_metrics_correct_only():
    df = pd.DataFrame(
        {"task": ["t", "t"], "question_id": ["a", "b"], "model": ["m", "m"], "correct": [1, 0]}
    )
    out = question_metrics(df)
    np.testing.assert_array_equal(out["accuracy"], [1.0, 0.0])
    for col in ("p_correct", "tc_brier", "multiclass_brier", "target_loglik"):
        assert col not in out.columns


def test_question_metrics_p_correct_without_logliks():
    df = pd.DataFrame(
        {
            "task": ["t", "t"],
            "question_id": ["a", "b"],
            "model": ["m", "m"],
            "correct": [1, 0],
            "p_correct": [0.8, 0.25],
        }
    )
    out = question_metrics(df)
    # -(0.2^2) = -0.04 ; -(0.75^2) = -0.5625
    np.testing.assert_allclose(out["tc_brier"], [-0.04, -0.5625], atol=1e-12)
    assert "multiclass_brier" not in out.columns


def test_question_metrics_mixed_rows_fall_back():
    df = pd.DataFrame(
        {
            "task": ["t", "t"],
            "question_id": ["a", "b"],
            "model": ["m", "m"],
            "correct": [1, 0],
            "p_correct": [0.99, 0.5],
            "loglik": ["[-0.1, -5.0]", None],
            "target": [1, None],
        }
    )
    out = question_metrics(df)
    # row a from logliks: argmax 0 != 1 -> accuracy 0 (overrides correct=1),
    # p = e^-5 / (e^-0.1 + e^-5) (overrides the given 0.99)
    p_a = math.exp(-5.0) / (math.exp(-0.1) + math.exp(-5.0))
    assert out["accuracy"].tolist() == [0.0, 0.0]
    np.testing.assert_allclose(out["p_correct"], [p_a, 0.5], rtol=1e-12)
    np.testing.assert_allclose(out["tc_brier"], [-((1 - p_a) ** 2), -0.25], rtol=1e-12)
    assert out["target_loglik"].iloc[0] == -5.0
    assert np.isnan(out["target_loglik"].iloc[1])


def test_question_metrics_bad_target_names_frame_row():
    df = _frame(["[-1.0, -2.0]", "[-1.0, -2.0]", "[-1.0, -2.0]"])
    df.loc[2, "target"] = 5
    msg = r"row 3 \(task='t', question_id='q3', model='m'\): target 5"
    with pytest.raises(InputError, match=msg):
        question_metrics(df)


def test_question_metrics_bad_correct_and_missing_key():
    df = pd.DataFrame({"task": ["t"], "question_id": ["a"], "model": ["m"], "correct": [2]})
    with pytest.raises(InputError, match=r"correct must be 0 or 1, found 2"):
        question_metrics(df)
    with pytest.raises(InputError, match=r"missing column 'model'"):
        question_metrics(df.drop(columns="model"))


def test_model_metrics_means_per_task_model():
    df = pd.DataFrame(
        {
            "task": ["t", "t", "t", "u"],
            "question_id": ["a", "b", "a", "a"],
            "model": ["m1", "m1", "m2", "m1"],
            "correct": [1, 0, 1, 1],
            "p_correct": [0.8, 0.2, 0.6, 1.0],
        }
    )
    out = model_metrics(df)
    cols = ["task", "model", "n_questions", "accuracy", "p_correct", "tc_brier"]
    assert list(out.columns) == cols
    assert list(zip(out["task"], out["model"])) == [("t", "m1"), ("t", "m2"), ("u", "m1")]
    assert out["n_questions"].tolist() == [2, 1, 1]
    np.testing.assert_allclose(out["accuracy"], [0.5, 1.0, 1.0])
    np.testing.assert_allclose(out["p_correct"], [0.5, 0.6, 1.0])
    # t/m1: mean(-(0.2^2), -(0.8^2)) = mean(-0.04, -0.64) = -0.34 ; t/m2: -(0.4^2) = -0.16
    np.testing.assert_allclose(out["tc_brier"], [-0.34, -0.16, 0.0], atol=1e-12)


# ----------------------------------------------------------------- emergence


def test_emergence_score_median_zero_uses_mean():
    # steps^2 = [0, 0, 1]: median 0 -> mean 1/3 ; E = +1 * 1 / sqrt(1/3) = sqrt(3)
    assert emergence_score([1, 2, 3, 4], [0, 0, 0, 1]) == pytest.approx(math.sqrt(3.0))


def test_emergence_score_sorts_by_x():
    # same curve as above, shuffled
    assert emergence_score([4, 2, 1, 3], [1, 0, 0, 0]) == pytest.approx(math.sqrt(3.0))


def test_emergence_score_median_nonzero():
    # y = [0, 0.1, 0.2, 1.0]: steps^2 = [0.01, 0.01, 0.64], median 0.01 -> 1.0 / 0.1 = 10
    assert emergence_score([0, 1, 2, 3], [0.0, 0.1, 0.2, 1.0]) == pytest.approx(10.0)
    # linear y = [0, 1, 2, 3]: steps^2 all 1 -> E = 3 / 1 = 3
    assert emergence_score([0, 1, 2, 3], [0, 1, 2, 3]) == pytest.approx(3.0)


def test_emergence_score_flat_and_decreasing():
    assert emergence_score([0, 1, 2], [0.4, 0.4, 0.4]) == 0.0
    # decreasing: argmax 0 before argmin 3 -> negative; magnitude as the increasing case
    assert emergence_score([1, 2, 3, 4], [1, 0, 0, 0]) == pytest.approx(-math.sqrt(3.0))


def test_emergence_score_errors():
    with pytest.raises(InputError, match=r"at least 2 points, got 1"):
        emergence_score([1.0], [0.5])
    with pytest.raises(InputError, match=r"y\[1\] is nan"):
        emergence_score([1, 2, 3], [0.1, NAN, 0.3])
    with pytest.raises(InputError, match=r"x\[0\] is nan"):
        emergence_score([NAN, 2, 3], [0.1, 0.2, 0.3])
    with pytest.raises(InputError, match=r"x has 3 points but y has 2"):
        emergence_score([1, 2, 3], [0.1, 0.2])


def test_emergence_scores_metric_comparison():
    df = pd.DataFrame(
        {
            "task": ["t"] * 4 + ["u"] * 2,
            "model": ["a", "b", "c", "d", "a", "b"],
            "log10_compute": [20.0, 21.0, 22.0, 23.0, 20.0, 21.0],
            # accuracy jumps at the end; p_correct rises linearly
            "accuracy": [0.0, 0.0, 0.0, 1.0, 0.5, 0.5],
            "p_correct": [0.1, 0.2, 0.3, 0.4, 0.2, NAN],
        }
    )
    out = emergence_scores(df, metrics=["accuracy", "p_correct"])
    assert list(out.columns) == ["task", "metric", "emergence_score", "n_points"]
    assert list(zip(out["task"], out["metric"])) == [
        ("t", "accuracy"),
        ("t", "p_correct"),
        ("u", "accuracy"),
        ("u", "p_correct"),
    ]
    # t/accuracy: sqrt(3) ; t/p_correct: 0.3 / 0.1 = 3 ; u/accuracy: flat 0 ;
    # u/p_correct: NaN dropped -> 1 point -> NaN
    np.testing.assert_allclose(out["emergence_score"].iloc[:3], [math.sqrt(3.0), 3.0, 0.0])
    assert np.isnan(out["emergence_score"].iloc[3])
    assert out["n_points"].tolist() == [4, 4, 2, 1]


def test_emergence_scores_errors():
    df = pd.DataFrame(
        {"task": ["t", "t"], "model": ["a", "a"], "log10_compute": [1.0, 2.0], "accuracy": [0, 1]}
    )
    with pytest.raises(InputError, match=r"duplicate row for task='t', model='a'"):
        emergence_scores(df)
    with pytest.raises(InputError, match=r"missing column 'flops'"):
        emergence_scores(df.assign(model=["a", "b"]), x="flops")


# ----------------------------------------------------------------- the metric seam


def test_the_registry_declares_the_metrics_the_data_carry():
    from forecast.data.ladder import METRICS as LADDER_METRICS
    from forecast.metrics import DEFAULT_TARGET, METRICS, NOISE_MODELS, get_metric, task_table_metrics
    from forecast.mirage import ORDER

    assert DEFAULT_TARGET == "accuracy" and task_table_metrics()[0] == "accuracy"
    target = get_metric("accuracy")
    assert (target.range, target.noise, target.continuous) == ((0.0, 1.0), "binomial", False)
    assert target.reference(0.25) == 0.25
    assert get_metric("tc_brier").reference(0.25) == -(0.75 ** 2)
    assert get_metric("pass@10") is get_metric("pass@k")
    for name in (*ORDER, *LADDER_METRICS):  # mirage's metrics and a ladder's task losses
        assert name in METRICS, name
    for metric in METRICS.values():
        assert metric.noise in NOISE_MODELS
        lo, hi = metric.range
        assert lo < hi and metric.description


def test_register_metric_refuses_a_bad_declaration():
    from forecast.metrics import Metric, register_metric

    with pytest.raises(InputError, match="already registered"):
        register_metric(Metric("accuracy", "another accuracy", (0.0, 1.0)))
    with pytest.raises(InputError, match="noise"):
        register_metric(Metric("toy_bad", "a toy", (0.0, 1.0), noise="gaussian"))
    with pytest.raises(InputError, match="outside"):
        register_metric(Metric("toy_bad", "a toy", (0.0, 1.0), chance=lambda c: -1.0))
    with pytest.raises(InputError, match="empty"):
        register_metric(Metric("toy_bad", "a toy", (1.0, 0.0)))


def squared_p(rows: pd.DataFrame) -> np.ndarray:
    return rows["p_correct"].to_numpy(dtype=float) ** 2


@pytest.fixture
def toy_metric():
    """A metric declared in one place: the squared probability on the correct answer."""
    from forecast.metrics import METRICS, Metric, register_metric

    metric = register_metric(Metric(
        "p_squared", "squared probability on the correct answer (a toy)", (0.0, 1.0),
        chance=lambda c: c ** 2, needs=("p_correct",), score=squared_p, in_task_table=True))
    yield metric
    METRICS.pop("p_squared")


def test_a_metric_declared_once_reaches_the_task_table_the_cli_mirage_and_the_plots(toy_metric, tmp_path):
    from click.testing import CliRunner

    from forecast.cli import cli
    from forecast.data import load_data
    from forecast.data.task_table import task_table
    from forecast.mirage import mirage
    from forecast.plotstyle import metric_label
    from forecast.testing import write_lmeval_folder

    folder = write_lmeval_folder(tmp_path / "lmeval")
    data = load_data(str(folder))
    task = "arc_easy"  # multiple choice: every row has p_correct
    table = task_table(data, task)
    rows = data.results[(data.results["task"] == task) & (data.results["filter"] == "none")]
    want = rows.assign(v=rows["p_correct"] ** 2).groupby("model")["v"].mean()
    assert np.allclose(table.set_index("model")["p_squared"], want.loc[table["model"]])
    assert "tc_brier" in table.columns  # the built-in metrics are still there

    out = CliRunner().invoke(cli, ["metrics", str(folder), "--task", task])
    assert out.exit_code == 0, out.output
    assert "p_squared" in out.output and "p_squared: " in out.output.split("emergence score —")[1]

    result = mirage(data, task, n_boot=20)
    row = result.metrics.set_index("metric").loc["p_squared"]
    assert row["kind"] == "continuous" and np.isfinite(row["emergence_score"])
    curve = result.curves[result.curves["metric"] == "p_squared"]
    assert np.allclose(curve["reference"], data.chance(task) ** 2)
    assert list(result.metrics["metric"])[-1] == "p_squared"  # after the built-in metrics
    assert metric_label("p_squared") == "squared probability on the correct answer (a toy)"

    generated = mirage(data, "gsm8k", n_boot=20)  # no p_correct: said, not guessed
    assert "p_squared" in generated.unavailable


def test_forecast_noise_model_is_the_target_metrics_declared_one(monkeypatch):
    """The forecasters read the observation noise of a new model's score off the target
    metric's declaration (forecast.metrics.registry): accuracy's binomial count on the
    task's questions, none when the declaration says none."""
    import dataclasses

    import forecast
    from forecast.methods import make_method
    from forecast.metrics import registry

    data = forecast.load_dataset("bigbench_bigg")
    task, cut = "qa_wikidata", 1e9
    binomial = make_method("sigmoid").fit(data, cut, task)
    assert registry.get_metric(registry.DEFAULT_TARGET).noise == "binomial"
    assert binomial.n_questions_ and binomial.n_questions_ > 100
    monkeypatch.setitem(registry.METRICS, registry.DEFAULT_TARGET,
                        dataclasses.replace(registry.METRICS[registry.DEFAULT_TARGET], noise="none"))
    none = make_method("sigmoid").fit(data, cut, task)
    assert none.n_questions_ is None
    # at the cut-off, where the question noise is most of the interval (far past it, the curve's
    # spread measured without the binomial part taken out can outweigh it: a tie at 8e9)
    a, b = binomial.predict([cut]), none.predict([cut])
    assert float(a["mean"].iloc[0]) == pytest.approx(float(b["mean"].iloc[0]))
    assert float(b["upper"].iloc[0] - b["lower"].iloc[0]) < float(a["upper"].iloc[0] - a["lower"].iloc[0])
