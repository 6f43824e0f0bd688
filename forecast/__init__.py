"""forecast: predict emergent abilities of larger language models from small ones.

The pipeline, as the package tree lays it out::

    data -> metrics -> slicing -> curves -> sandwich -> threshold -> backtest -> report
"""

from forecast.data import EvalData, dataset_names, datasets, load_data, load_dataset
from forecast.errors import InputError

__version__ = "0.1.0"

__all__ = [
    "EvalData",
    "InputError",
    "dataset_names",
    "datasets",
    "load_data",
    "load_dataset",
]
