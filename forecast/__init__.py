"""forecast: predict emergent abilities of larger language models from small ones.

The pipeline, as the package tree lays it out::

    data -> metrics -> slicing -> curves -> sandwich -> threshold -> backtest -> report
"""

from forecast.data import EvalData, dataset_names, datasets, load_data, load_dataset
from forecast.errors import FitError, InputError
from forecast.methods import (
    Forecaster,
    Linear,
    Persistence,
    Published,
    Sigmoid,
    SliceSandwich,
    make_method,
    method_names,
)

__version__ = "0.1.0"


# the subpackage is callable: ``forecast.backtest(data, methods=...)`` runs a backtest
import forecast.backtest  # noqa: E402
import forecast.mirage  # noqa: E402  (callable too: forecast.mirage(data, task))

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
