"""Typed learned settings (``forecast.learned_settings``): one dataclass per method, the
same JSON as the plain dicts, read back without loss.

Per method that learns settings: learn -> JSON -> dataclass -> identical forecast, whether
``fit`` gets the dict or the dataclass; the keys of the JSON are the method's own.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from forecast.errors import InputError
from forecast.learned_settings import LearnedSettings, NoSettings
from forecast.methods import make_method
from forecast.methods.baselines import PersistenceDriftSettings
from forecast.methods.mixture import MixtureSettings
from forecast.methods.pooled_logit import PooledLogitSettings
from forecast.methods.slice_settings import SliceSandwichSettings
from forecast.methods.two_step import TwoStepSettings
from forecast.testing import CHECK_TASK, make_fixture, quick_params
from test_stacking import CUT, make_data

#: method -> (its settings class, the keys its JSON always holds)
EXPECTED = {
    "slice_sandwich": (SliceSandwichSettings, {"prior_sd", "prior_report", "extrapolation_sd", "combine_weights",
                                               "w_slice_sandwich", "component_contexts", "spread_scale"}),
    "slice_sandwich_alone": (SliceSandwichSettings, {"prior_sd", "extrapolation_sd"}),
    "persistence_drift": (PersistenceDriftSettings, {"drift", "s0", "s1", "n_pseudo", "n_pairs", "n_tasks"}),
    "pooled_logit": (PooledLogitSettings, {"slope_mean", "slope_sd", "n_tasks", "s0", "s1", "n_pairs"}),
}


@pytest.fixture(scope="module")
def data():
    return make_data("linear")


def json_round(settings: dict) -> dict:
    return json.loads(json.dumps(settings, sort_keys=True))


def forecast_of(name: str, data, cutoff: float, task: str, context) -> pd.DataFrame:
    fc = make_method(name, **{**quick_params(name), "seed": 3}).fit(data, cutoff, task, context=context)
    at = [cutoff * 3.0, cutoff * 30.0]
    return pd.concat([fc.predict(at), fc.predict(at, kind="mean")], ignore_index=True)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_learn_json_dataclass_identical_forecast(name, data):
    cls, keys = EXPECTED[name]
    method = make_method(name, **quick_params(name))
    assert method.settings_class is cls
    pool = data.restrict(CUT)
    as_dict = method.learn_context(pool, CUT)
    typed = method.learn_settings(pool, CUT)
    assert isinstance(typed, cls)
    assert typed.to_dict() == as_dict
    assert keys <= set(as_dict), f"{name}: keys missing from the JSON: {keys - set(as_dict)}"
    back = cls.from_dict(json_round(as_dict))
    assert back.extra == {}  # every key is a field (the mixture's w_<name> keys come from its weights)
    assert json_round(back.to_dict()) == json_round(as_dict)
    plain = forecast_of(name, data, CUT, "task1", json_round(as_dict))
    pd.testing.assert_frame_equal(plain, forecast_of(name, data, CUT, "task1", back))
    pd.testing.assert_frame_equal(plain, forecast_of(name, data, CUT, "task1", as_dict))


def test_two_step_settings_round_trip():
    data = make_fixture("ladder")
    task = CHECK_TASK["ladder"]
    compute = np.sort(data.compute_table(task)["compute"].unique())
    cutoff = float(compute[-4])
    method = make_method("two_step", **quick_params("two_step"))
    assert method.settings_class is TwoStepSettings
    pool = data.restrict(cutoff)
    as_dict = method.learn_context(pool, cutoff)
    assert {"extrapolation_sd", "extrapolation_sd_logit", "extrapolation_source", "n_pseudo"} <= set(as_dict)
    back = TwoStepSettings.from_dict(json_round(as_dict))
    assert back.extra == {} and back.extrapolation_source == as_dict["extrapolation_source"]
    assert json_round(back.to_dict()) == json_round(as_dict)
    plain = forecast_of("two_step", data, cutoff, task, json_round(as_dict))
    pd.testing.assert_frame_equal(plain, forecast_of("two_step", data, cutoff, task, back))
    # without calibration nothing is learned: the empty dict, as before
    assert make_method("two_step", calibrate=False).learn_context(pool, cutoff) == {}


def test_unknown_keys_kept_and_written_back():
    raw = {"drift": 0.1, "s0": None, "s1": None, "n_pseudo": 0, "n_pairs": 0, "n_tasks": 0,
           "from_a_newer_release": {"a": [1, 2]}}
    s = PersistenceDriftSettings.from_dict(raw)
    assert s.drift == 0.1 and s.extra == {"from_a_newer_release": {"a": [1, 2]}}
    assert s.to_dict() == raw
    assert NoSettings.from_dict({"x": 1}).to_dict() == {"x": 1}


def test_optional_keys_absent_until_learned_and_none_written_where_meaningful():
    assert SliceSandwichSettings().to_dict() == {}
    assert TwoStepSettings().to_dict() == {}
    # persistence_drift has always written s0 / s1 as null when it learned no spread
    assert PersistenceDriftSettings().to_dict() == {"drift": 0.0, "s0": None, "s1": None, "n_pseudo": 0,
                                                    "n_pairs": 0, "n_tasks": 0}


def test_no_shared_nested_values():
    nested = {"combine_weights": {"slice_sandwich": 0.6, "linear": 0.4}, "component_contexts": {"x": {"a": 1}}}
    s = MixtureSettings.from_dict(nested)
    s.combine_weights["linear"] = 0.0
    assert nested["combine_weights"]["linear"] == 0.4
    out = s.to_dict()
    out["component_contexts"]["x"]["a"] = 2
    assert s.component_contexts == {"x": {"a": 1}}
    assert out["w_slice_sandwich"] == 0.6 and "w_linear" in out


def test_bad_settings_are_refused_in_one_line():
    with pytest.raises(InputError, match="learned settings must be a dict"):
        PooledLogitSettings.from_dict([1, 2])
    with pytest.raises(InputError, match="keys must be text"):
        PooledLogitSettings.from_dict({1: 2})
    assert issubclass(SliceSandwichSettings, LearnedSettings)
