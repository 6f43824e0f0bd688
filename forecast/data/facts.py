"""Facts of the shipped data sets that their files do not hold, looked up by data set name.

Each data set's facts live beside it (:mod:`forecast.data.slice_sandwich`: the paper's
cut-offs; :mod:`forecast.data.bigg`: BIG-G's tuning and evaluation halves and its headline
cut-off); the backtest asks here instead of keeping its own tables keyed by data set name.
A new shipped data set with paper cut-offs adds one entry to :data:`PAPER_CUTOFFS`.
"""

from __future__ import annotations

from forecast.data import slice_sandwich

#: the published cut-offs per data set and task, raw compute (``--cutoffs paper``); a task
#: ``"*"`` stands for every task of its data set
PAPER_CUTOFFS: dict[str, dict[str, tuple[float, ...]]] = {
    slice_sandwich.SLICE_SANDWICH_DATASET: slice_sandwich.PAPER_CUTOFFS,
}


def paper_cutoffs(dataset: str, task: str) -> tuple[float, ...] | None:
    """The published cut-offs of ``task`` of ``dataset`` (None: it has none)."""
    known = PAPER_CUTOFFS.get(dataset, {})
    return known.get(task, known.get("*"))


def paper_cutoff_datasets() -> tuple[str, ...]:
    """The data sets with published cut-offs."""
    return tuple(PAPER_CUTOFFS)
