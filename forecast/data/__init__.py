"""Data: the canonical tables, their validation, readers and the shipped datasets."""

from forecast.data.dataset import EvalData
from forecast.data.loading import load_data
from forecast.data.shipped import dataset_names, datasets, load_dataset

__all__ = ["EvalData", "load_data", "load_dataset", "dataset_names", "datasets"]
