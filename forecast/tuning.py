"""Fit-time tuning: settings learned from the data a user has at the cut-off, never from the test.

A forecast at a cut-off may learn a setting (an extrapolation spread, a drift, a prior
scale) only from models at or below that cut-off.  The way to do it is to imitate the
backtest *inside* the fitted range: pick *pseudo-cut-offs* among the fitted models, fit on
the models at or below each, and score the forecasts of the larger fitted models.  Pooled
over every task of the data set (each task restricted to the same real cut-off), that gives
many small, honest backtests to tune on.

The same rule makes the real backtest's default cut-offs (:func:`rolling_cutoffs`): every
model size that leaves at least :data:`MIN_FITTED_SIZES` distinct fitted sizes and at least
one larger model.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecast.data.dataset import EvalData
from forecast.data.task_table import task_table
from forecast.errors import InputError

#: fewest distinct model sizes a fit may use (one rule for every method and data set)
MIN_FITTED_SIZES = 4
#: pseudo-cut-offs used per task when tuning: the ones nearest the real cut-off
MAX_PSEUDO_CUTOFFS = 3


def rolling_cutoffs(compute: np.ndarray, min_sizes: int = MIN_FITTED_SIZES) -> list[float]:
    """Rolling-origin cut-offs: every distinct size leaving ``>= min_sizes`` distinct sizes at
    or below it and at least one larger model.

    Parameters
    ----------
    compute : array
        Raw compute of every model (duplicates allowed).

    Returns
    -------
    list of float
        Increasing raw cut-offs (possibly empty).
    """
    sizes = np.unique(np.asarray(compute, dtype=float))
    return [float(c) for c in sizes[min_sizes - 1:-1]] if sizes.size > min_sizes else []


@dataclass
class PseudoSplit:
    """One pseudo-cut-off of one task inside a fitted range.

    ``table`` is the task's per-model table at or below the *real* cut-off
    (:func:`~forecast.data.task_table.task_table`); ``targets`` its models above the
    pseudo-cut-off (the larger fitted models a pseudo-forecast is scored on).
    """

    task: str
    cutoff: float
    table: pd.DataFrame

    @property
    def targets(self) -> pd.DataFrame:
        return self.table[self.table["compute"] > self.cutoff * (1 + 1e-12)].reset_index(drop=True)

    @property
    def fitted(self) -> pd.DataFrame:
        return self.table[self.table["compute"] <= self.cutoff * (1 + 1e-12)].reset_index(drop=True)


def pseudo_splits(
    pool: EvalData,
    min_sizes: int = MIN_FITTED_SIZES,
    max_per_task: int | None = MAX_PSEUDO_CUTOFFS,
    tasks: list[str] | None = None,
) -> Iterator[PseudoSplit]:
    """Pseudo-cut-offs of every task of ``pool`` (data already restricted to the real cut-off).

    Each task's pseudo-cut-offs are its :func:`rolling_cutoffs` inside the pool (the last
    ``max_per_task`` of them: those nearest the real cut-off).  Tasks whose table cannot be
    built are skipped.
    """
    for task in tasks if tasks is not None else pool.task_names:
        try:
            table = task_table(pool, task)
        except InputError:
            continue
        table = table[np.isfinite(table["accuracy"].to_numpy(dtype=float))].reset_index(drop=True)
        cuts = rolling_cutoffs(table["compute"].to_numpy(dtype=float), min_sizes)
        if max_per_task is not None:
            cuts = cuts[-max_per_task:] if max_per_task > 0 else []
        for c in cuts:
            yield PseudoSplit(task, c, table)


def pseudo_forecasts(
    pool: EvalData,
    fit: Callable[[EvalData, float, str], object],
    splits: list[PseudoSplit] | None = None,
) -> list[tuple[PseudoSplit, object]]:
    """Fit ``fit(pool, pseudo_cutoff, task)`` on every pseudo-split; failures are skipped.

    ``fit`` returns a fitted forecaster (it must not learn a context of its own, or the
    tuning would recurse: pass ``context=`` explicitly).
    """
    out = []
    for split in splits if splits is not None else list(pseudo_splits(pool)):
        try:
            out.append((split, fit(pool, split.cutoff, split.task)))
        except (InputError, ValueError, RuntimeError, np.linalg.LinAlgError):
            continue
    return out
