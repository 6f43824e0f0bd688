"""The shipped ``obsscaling`` data set: fixes, task table, installation."""

from __future__ import annotations

import fnmatch
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from forecast.data.dataset import EvalData
from forecast.data.obsscaling import (
    ARITHMETIC_PREFIX,
    SCORES_FILE,
    STANDARD_BENCHMARKS,
    TASKS_FILE,
    obsscaling_frames,
)
from forecast.data.schema import validate_tasks
from forecast.data.shipped import DESCRIPTIONS, dataset_names, load_dataset, read_shipped_csv
from forecast.data.task_table import task_table
from forecast.errors import InputError

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def obs() -> EvalData:
    return load_dataset("obsscaling")


def test_btlm_trained_on_627_billion_tokens(obs):
    row = obs.models.set_index("model").loc["cerebras/btlm-3b-8k-base"]
    assert row["tokens"] == pytest.approx(6.27e11)
    assert row["flops"] == pytest.approx(11.286e21)
    # 6·N·D agrees with the corrected FLOPs (it did not with 627 T tokens)
    assert 6 * row["params"] * row["tokens"] == pytest.approx(row["flops"], rel=0.01)


def test_ipa_bleu_on_unit_scale(obs):
    raw = read_shipped_csv(SCORES_FILE)
    upstream = raw[raw["benchmark"] == "ipa_transliterate_2_bleu"].set_index("model")["value"]
    assert upstream.max() > 1.0  # the shipped copy is on BLEU's 0-100 scale
    s = obs.scores[obs.scores["task"] == "ipa_transliterate_2_bleu"].set_index("model")["value"]
    assert s.between(0, 1).all()
    common = s.index
    np.testing.assert_allclose(s.to_numpy(), upstream.loc[common].to_numpy() / 100.0)
    # every benchmark's score lies in [0, 1] after the fix
    assert obs.scores["value"].between(0, 1).all()


def test_models_without_flops_dropped_with_one_note(obs):
    raw = read_shipped_csv(SCORES_FILE)
    assert raw["model"].nunique() == 148
    assert len(obs.models) == 123 and obs.models["flops"].notna().all()
    assert obs.models["family"].nunique() == 39
    notes = [n for n in obs.notes if "without training FLOPs" in n]
    assert len(notes) == 1 and "dropped 25 models" in notes[0]
    assert "gpt2-xl" in notes[0]
    assert not set(obs.scores["model"]) - set(obs.models["model"])


def test_task_table_gives_every_benchmark_chance_and_questions(obs):
    raw = read_shipped_csv(SCORES_FILE)
    tasks = obs.tasks.set_index("task")
    assert set(tasks.index) == set(raw["benchmark"])
    assert set(STANDARD_BENCHMARKS) <= set(tasks.index)
    assert any(t.startswith(ARITHMETIC_PREFIX) for t in tasks.index)
    assert tasks["chance"].between(0, 1).all()
    assert tasks["n_questions"].notna().all() and (tasks["n_questions"] >= 100).all()
    generated = ["GSM8K", "HumanEval", "word_unscrambling_2_exact_match", "ipa_transliterate_2_exact_match",
                 "leaderboard_math_hard", "leaderboard_ifeval"] + [t for t in tasks.index if t.startswith(ARITHMETIC_PREFIX)]
    assert (tasks.loc[generated, "chance"] == 0).all()
    assert tasks.loc["MMLU", "chance"] == 0.25 and tasks.loc["Winograd", "chance"] == 0.5
    assert tasks.loc["leaderboard_mmlu_pro", "chance"] == 0.1
    # a whole-number question count is consistent with the scores: most are multiples of 1/n
    for task in ("GSM8K", "parsinlu_qa_2_acc", "arithmetic_2da_2_acc", "leaderboard_bbh"):
        v = obs.scores.loc[obs.scores["task"] == task, "value"].to_numpy() * tasks.loc[task, "n_questions"]
        assert np.mean(np.abs(v - np.round(v)) < 1e-3) > 0.9, task


def test_task_level_table_carries_question_count(obs):
    table = task_table(obs, "GSM8K")
    assert (table["n_questions"] == 1319).all()


def test_truthfulqa_not_emergence_scored_and_ipa_one_group(obs):
    assert not obs.emergence_scored("TruthfulQA")
    assert obs.emergence_scored("GSM8K")
    groups = obs.task_groups()
    assert groups["ipa_transliterate_2_bleu"] == groups["ipa_transliterate_2_exact_match"]
    assert groups["MMLU"] == "MMLU"
    assert groups.nunique() == len(groups) - 1


def test_data_without_optional_task_columns_keep_defaults():
    data = load_dataset("slice_sandwich")
    assert data.emergence_scored("mmlu")
    assert (data.task_groups().index == data.task_groups().to_numpy()).all()
    assert np.isnan(data.n_questions("mmlu"))


@pytest.mark.parametrize(
    ("column", "value", "fragment"),
    [("n_questions", "12.5", "n_questions"), ("n_questions", "0", "n_questions"),
     ("emergence_scored", "maybe", "emergence_scored")],
)
def test_bad_optional_task_column_is_one_line_input_error(column, value, fragment):
    tasks = pd.DataFrame({"task": ["a"], "format": ["generative"], "chance": [0.0], column: [value]})
    with pytest.raises(InputError, match=fragment) as err:
        validate_tasks(tasks, "tasks.csv")
    assert "\n" not in str(err.value) and "'a'" in str(err.value)


def test_frames_drop_models_without_flops():
    raw = pd.DataFrame({"model": ["m1", "m2", "m1"], "benchmark": ["MMLU", "MMLU", "ipa_transliterate_2_bleu"],
                        "value": [0.3, 0.4, 50.0]})
    models = pd.DataFrame({"model": ["m1", "m2"], "family": ["f", "g"], "params": [1e9, 2e9],
                           "tokens": [1e10, np.nan], "flops": [6e19, np.nan]})
    tasks = read_shipped_csv(TASKS_FILE)
    kept, t, scores, notes = obsscaling_frames(raw, models, tasks)
    assert list(kept["model"]) == ["m1"] and "dropped 1 models" in notes[0]
    assert scores.set_index("task").loc["ipa_transliterate_2_bleu", "value"] == 0.5
    assert set(t["task"]) == {"MMLU", "ipa_transliterate_2_bleu"}


def test_listed_by_forecast_datasets(obs):
    assert "obsscaling" in dataset_names() and "obsscaling" in DESCRIPTIONS
    info = obs.summary()
    assert info["kind"] == "task_level" and info["models"] == 123 and info["tasks"] == 22


def test_package_data_patterns_cover_the_files():
    """Every file the loader reads is matched by pyproject's package-data patterns."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["forecast.datasets"]
    for name in (SCORES_FILE, TASKS_FILE, "models.csv"):
        assert (ROOT / "datasets" / name).is_file()
        assert any(fnmatch.fnmatch(name, p) for p in patterns), name
