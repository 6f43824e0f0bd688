"""The default method per data kind is what the selection rule picked (benchmarks/rule.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import forecast
from forecast.backtest.jobs import method_label
from forecast.methods import ALIASES, make_method
from forecast.methods.defaults import DEFAULT_BY_KIND, KIND_ORDER, default_kind, default_method

PICKS = Path(__file__).resolve().parents[1] / "benchmarks" / "rule_pick.json"


def canonical(label: str) -> str:
    """A configured variant's label as its method and preset parameters (as the rule names it)."""
    if label in ALIASES:
        base, preset = ALIASES[label]
        return method_label(base, preset or None)
    return label


def test_defaults_are_the_rules_picks():
    picks = json.loads(PICKS.read_text())
    assert set(picks) == set(KIND_ORDER) == set(DEFAULT_BY_KIND)
    for kind, (name, params) in DEFAULT_BY_KIND.items():
        assert canonical(method_label(name, params or None)) == canonical(picks[kind]), kind


@pytest.mark.parametrize("dataset, kind", [("bigbench_bigg", "per_question"), ("slice_sandwich", "group"),
                                           ("olmo_ladder", "ladder"), ("obsscaling", "multi_family"),
                                           ("digits", "per_question_probs"), ("pythia", "ladder")])
def test_default_kind_of_shipped_data(dataset, kind):
    data = forecast.load_dataset(dataset)
    assert default_kind(data) == kind
    name, params, got = default_method(data)
    assert got == kind
    make_method(name, **params).check_data(data)  # the default handles its kind
