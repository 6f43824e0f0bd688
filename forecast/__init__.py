"""forecast: predict emergent abilities of larger language models from small ones.

The pipeline, as the package tree lays it out::

    data -> metrics -> slicing -> curves -> sandwich -> threshold -> backtest -> report

The public names below are imported on first use (PEP 562), so that ``forecast --help``
and ``import forecast`` do not load numpy, pandas, scikit-learn or PyMC up front.
"""

from __future__ import annotations

import importlib
from typing import Any

from forecast.errors import FitError, InputError

__version__ = "0.1.0"

#: public name -> the module that defines it
_LAZY = {
    "EvalData": "forecast.data",
    "dataset_names": "forecast.data",
    "datasets": "forecast.data",
    "load_data": "forecast.data",
    "load_dataset": "forecast.data",
    "Forecaster": "forecast.methods",
    "Linear": "forecast.methods",
    "Persistence": "forecast.methods",
    "Published": "forecast.methods",
    "Sigmoid": "forecast.methods",
    "SliceSandwich": "forecast.methods",
    "make_method": "forecast.methods",
    "method_names": "forecast.methods",
}
#: subpackages that are callable: ``forecast.backtest(data, methods=...)`` runs a backtest,
#: ``forecast.mirage(data, task)`` checks a metric
_CALLABLE_MODULES = ("backtest", "mirage")


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
    elif name in _CALLABLE_MODULES:
        value = importlib.import_module(f"forecast.{name}")
    else:
        raise AttributeError(f"module 'forecast' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY) | set(_CALLABLE_MODULES))


__all__ = [
    "EvalData",
    "FitError",
    "Forecaster",
    "InputError",
    "Linear",
    "Persistence",
    "Published",
    "Sigmoid",
    "SliceSandwich",
    "backtest",
    "dataset_names",
    "datasets",
    "load_data",
    "load_dataset",
    "make_method",
    "method_names",
    "mirage",
]
