"""Forecasting methods by name, all behind the :class:`Forecaster` interface.

Add a method with one call, :func:`register` (see ``docs/CONTRIBUTING.md``), or name it by
import path (``make_method("my_pkg.my_mod:MyForecaster")``, ``--methods
my_pkg.my_mod:MyForecaster``); :func:`forecast.testing.check_forecaster` checks it.
"""

from __future__ import annotations

from forecast.methods.base import Forecaster
from forecast.methods.baselines import (
    FamilySigmoid,
    Linear,
    PaperSigmoid,
    Persistence,
    PersistenceDrift,
    Sigmoid,
)
from forecast.methods.log_power import LogPower
from forecast.methods.pooled_logit import PooledLogit
from forecast.methods.contract import DATA_KINDS, ForecasterTags, data_kinds
from forecast.methods.item_level import ItemLevel
from forecast.methods.obsscaling import ObsScaling, ObsScalingGivenScores
from forecast.methods.published import Published
from forecast.methods.registry import (
    ALIASES,
    METHODS,
    make_method,
    method_names,
    method_path,
    method_tags,
    register,
    register_alias,
)
from forecast.methods.slice_sandwich import SliceSandwich
from forecast.methods.two_step import TwoStep

for _cls in (SliceSandwich, Published, Sigmoid, PaperSigmoid, Persistence, PersistenceDrift, Linear,
             FamilySigmoid, LogPower, PooledLogit, TwoStep, ObsScaling, ObsScalingGivenScores,
             ItemLevel):
    register(_cls)

#: shorthand names for configured variants
register_alias("slice_sandwich_pymc", "slice_sandwich", {"engine": "pymc"})
register_alias("slice_sandwich_ols", "slice_sandwich", {"engine": "ols"})
register_alias("slice_sandwich_irt", "slice_sandwich", {"slicing": "irt"})
register_alias("slice_sandwich_alone", "slice_sandwich", {"combine": None})
register_alias("slice_sandwich_pooled", "slice_sandwich",
               {"combine": ("sigmoid", "persistence_drift", "linear", "pooled_logit")})
register_alias("slice_sandwich_items", "slice_sandwich",
               {"combine": ("sigmoid", "persistence_drift", "linear", "item_level")})
register_alias("two_step_slp", "two_step", {"loss": "soft_log_prob"}, in_default_run=True)

__all__ = ["Forecaster", "SliceSandwich", "Published", "Sigmoid", "PaperSigmoid", "Persistence",
           "PersistenceDrift", "Linear", "LogPower", "PooledLogit", "ItemLevel", "FamilySigmoid", "TwoStep", "ObsScaling", "ObsScalingGivenScores",
           "METHODS", "ALIASES", "make_method", "method_names", "method_path", "method_tags", "register",
           "register_alias", "ForecasterTags", "DATA_KINDS", "data_kinds"]
