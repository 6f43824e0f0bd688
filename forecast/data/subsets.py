"""Named subsets of a data set's tasks (and cut-offs) that a backtest's summary reports
beside "all": each shipped data set declares its own here, with its facts, not in the
backtest code.

A data set's subsets are looked up by its name; a user's file has none beyond those every
data set gets (the multiple-choice tasks, predictable or not), which the summary adds itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class TaskSubset:
    """``tasks`` of a data set, at the cut-offs ``cutoffs`` accepts (None: every cut-off)."""

    name: str
    tasks: frozenset[str]
    cutoffs: Callable[[float], bool] | None = None


def dataset_subsets(dataset: str, tasks: Iterable[str]) -> list[TaskSubset]:
    """The named subsets the shipped data set ``dataset`` declares for its ``tasks`` (BIG-G:
    its tuning and evaluation halves; Pythia: the MMLU subjects and the rest)."""
    from forecast.data.bigg import BIGG_DATASET, bigg_subsets
    from forecast.data.pythia import FAMILIES as PYTHIA_FAMILIES
    from forecast.data.pythia import pythia_subsets

    declared = {BIGG_DATASET: bigg_subsets, **{name: pythia_subsets for name in PYTHIA_FAMILIES}}
    make = declared.get(dataset)
    return [] if make is None else [TaskSubset(*spec) for spec in make(tasks)]
