"""Backtest rules of the ``obsscaling`` data set: grid cut-offs, score columns, emergence
rows per held-out model of an unseen family, seen / new family results."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecast.backtest.splits import GRID_MIN_MODELS, parse_cutoffs, plan_splits
from forecast.data.dataset import EvalData
from forecast.data.shipped import load_dataset
from forecast.data.task_table import task_table
from forecast.errors import InputError
from forecast.tuning import MIN_FITTED_SIZES


@pytest.fixture(scope="module")
def obs() -> EvalData:
    return load_dataset("obsscaling")


def test_default_cutoffs_are_the_data_sets_grid(obs):
    splits = plan_splits([obs], tasks=["GSM8K", "leaderboard_gpqa"])
    grid = {round(10.0 ** (20.5 + 0.5 * k)) for k in range(9)}
    assert {round(s.cutoff) for s in splits} <= grid
    for s in splits:
        table = task_table(obs, s.task)
        fitted = table[table["compute"] <= s.cutoff * (1 + 1e-12)]
        assert len(fitted) >= GRID_MIN_MODELS
        assert fitted["compute"].nunique() >= MIN_FITTED_SIZES
        assert (table["compute"] > s.cutoff).any()
        assert s.rule.startswith("grid:")
    # every grid point that meets the rule is used, and no other
    for task in ("GSM8K", "leaderboard_gpqa"):
        table = task_table(obs, task)
        want = []
        for k in range(9):
            c = 10.0 ** (20.5 + 0.5 * k)
            fitted = table[table["compute"] <= c * (1 + 1e-12)]
            if (len(fitted) >= 10 and fitted["compute"].nunique() >= 4 and (table["compute"] > c).any()):
                want.append(c)
        got = [s.cutoff for s in splits if s.task == task]
        np.testing.assert_allclose(got, want)
    # GSM8K (123 models) is split at 10^21 .. 10^24.5; the leaderboard tasks have fewer small models
    assert len([s for s in splits if s.task == "GSM8K"]) == 8


def test_grid_rule_and_rolling_still_available(obs):
    (item,) = parse_cutoffs("grid:21:23:1:30")
    assert item.kind == "grid" and item.value == (21.0, 23.0, 1.0, 30)
    splits = plan_splits([obs], tasks=["MMLU"], cutoffs="grid:21:23:1:30")
    assert [round(np.log10(s.cutoff), 6) for s in splits] == [22.0, 23.0]  # 10^21 keeps < 30 models
    rolling = plan_splits([obs], tasks=["MMLU"], cutoffs="rolling")
    assert len(rolling) > 50 and all(s.rule == "rolling" for s in rolling)
    with pytest.raises(InputError, match="grid"):
        parse_cutoffs("grid:23:21:0.5")


def test_other_data_keep_rolling_default():
    splits = plan_splits([load_dataset("slice_sandwich")], tasks=["mmlu"])
    assert {s.rule for s in splits} == {"rolling"}
