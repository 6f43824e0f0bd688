"""Forecasting methods by name, all behind the :class:`Forecaster` interface."""

from __future__ import annotations

from typing import Any

from forecast.errors import InputError
from forecast.methods.base import Forecaster
from forecast.methods.baselines import (
    FamilySigmoid,
    Linear,
    PaperSigmoid,
    Persistence,
    PersistenceDrift,
    Sigmoid,
)
from forecast.methods.obsscaling import ObsScaling, ObsScalingGivenScores
from forecast.methods.published import Published
from forecast.methods.slice_sandwich import SliceSandwich
from forecast.methods.two_step import TwoStep

METHODS: dict[str, type[Forecaster]] = {
    "slice_sandwich": SliceSandwich,
    "published": Published,
    "sigmoid": Sigmoid,
    "paper_sigmoid": PaperSigmoid,
    "persistence": Persistence,
    "persistence_drift": PersistenceDrift,
    "linear": Linear,
    "family": FamilySigmoid,
    "two_step": TwoStep,
    "obsscaling": ObsScaling,
    "obsscaling_given_scores": ObsScalingGivenScores,
}

#: shorthand names for configured variants
ALIASES: dict[str, tuple[str, dict[str, Any]]] = {
    "slice_sandwich_pymc": ("slice_sandwich", {"engine": "pymc"}),
    "slice_sandwich_ols": ("slice_sandwich", {"engine": "ols"}),
    "slice_sandwich_irt": ("slice_sandwich", {"slicing": "irt"}),
    "slice_sandwich_alone": ("slice_sandwich", {"combine": None}),
    "two_step_slp": ("two_step", {"loss": "soft_log_prob"}),
}


def method_names() -> list[str]:
    """Every name :func:`make_method` accepts."""
    return list(METHODS) + list(ALIASES)


def make_method(name: str, **params: Any) -> Forecaster:
    """A method by name, e.g. ``make_method("slice_sandwich", seed=1)``."""
    if name in ALIASES:
        base, preset = ALIASES[name]
        cls, params = METHODS[base], {**preset, **params}
    elif name in METHODS:
        cls = METHODS[name]
    else:
        raise InputError(f"unknown method {name!r} (known: {', '.join(method_names())})")
    try:
        return cls(**params)
    except TypeError as exc:
        raise InputError(f"method {name!r}: {exc}") from None


__all__ = ["Forecaster", "SliceSandwich", "Published", "Sigmoid", "PaperSigmoid", "Persistence",
           "PersistenceDrift", "Linear", "FamilySigmoid", "TwoStep", "ObsScaling", "ObsScalingGivenScores",
           "METHODS", "make_method", "method_names"]
