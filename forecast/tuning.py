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
import functools
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

    @functools.cached_property
    def is_target(self) -> np.ndarray:
        """Which rows of ``table`` are targets (models above the pseudo-cut-off)."""
        return self.table["compute"].to_numpy(dtype=float) > self.cutoff * (1 + 1e-12)

    @functools.cached_property
    def targets(self) -> pd.DataFrame:
        return self.table[self.is_target].reset_index(drop=True)

    @functools.cached_property
    def fitted(self) -> pd.DataFrame:
        return self.table[~self.is_target].reset_index(drop=True)


def pseudo_splits(
    pool: EvalData,
    min_sizes: int = MIN_FITTED_SIZES,
    max_per_task: int | None = MAX_PSEUDO_CUTOFFS,
    tasks: list[str] | None = None,
    spacing: float = 0.0,
) -> Iterator[PseudoSplit]:
    """Pseudo-cut-offs of every task of ``pool`` (data already restricted to the real cut-off).

    Each task's pseudo-cut-offs are its :func:`rolling_cutoffs` inside the pool (the last
    ``max_per_task`` of them: those nearest the real cut-off).  With ``spacing`` (decades),
    they are taken going back from the nearest, each at least ``spacing`` below the previous
    one kept, so that their targets lie at a spread of distances.  Tasks whose table cannot be
    built are skipped.
    """
    for task in tasks if tasks is not None else pool.task_names:
        try:
            table = task_table(pool, task)
        except InputError:
            continue
        table = table[np.isfinite(table["accuracy"].to_numpy(dtype=float))].reset_index(drop=True)
        cuts = rolling_cutoffs(table["compute"].to_numpy(dtype=float), min_sizes)
        if spacing > 0 and len(cuts):
            kept = [cuts[-1]]
            for c in cuts[-2::-1]:
                if np.log10(kept[-1]) - np.log10(c) >= spacing - 1e-9:
                    kept.append(c)
            cuts = kept[::-1]
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

    ``fit`` returns a *new* fitted forecaster on every call (it must not learn a context of
    its own, or the tuning would recurse: pass ``context=`` explicitly).
    """
    out = []
    per_task: dict[str, EvalData] = {}
    for split in splits if splits is not None else list(pseudo_splits(pool)):
        if split.task not in per_task:  # fit on the task's own rows: the same fit, less to filter
            per_task[split.task] = pool.for_task(split.task)
        try:
            out.append((split, fit(per_task[split.task], split.cutoff, split.task)))
        except (InputError, ValueError, RuntimeError, np.linalg.LinAlgError):
            continue
    return out


#: the package's a-priori extrapolation spread past the cut-off, used where nothing can be
#: learned (no pseudo-cut-off inside the fitted range): a slope change of half a logit of
#: accuracy per decade (fixed with ``slice_sandwich``'s extrapolation prior, 2026-11-24,
#: before any model-ladder data was in the package)
FALLBACK_EXTRAPOLATION_SD = 0.5
#: candidate values of a slope-change spread past the cut-off (logit per decade), fixed a priori
EXTRAPOLATION_GRID = (0.0, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0)


def choose_by_pseudo_crps(
    fits: list[tuple[PseudoSplit, object]],
    candidates: tuple[float, ...],
    apply: Callable[[object, float], None],
    sample_all: Callable[[object, np.ndarray, tuple[float, ...]], list[np.ndarray]] | None = None,
) -> tuple[float | None, pd.DataFrame]:
    """The candidate setting chosen by pooled CRPS on pseudo-cut-offs (one-standard-error rule).

    For each fitted pseudo-split, ``apply(forecaster, value)`` sets the candidate on the
    fitted forecaster; its observed-score draws of the split's targets (the larger fitted
    models) are scored by CRPS.  Each task's CRPS is averaged over its targets, then the
    tasks are averaged (each task counts once).  The choice is the *first* candidate (the
    candidates are ordered simplest first) whose mean CRPS is within one standard error of
    the best one, the standard error being that of the per-task paired difference to the
    best -- the usual one-standard-error rule of model selection, so that differences
    the pseudo-cut-offs cannot resolve do not pick the most extreme setting.

    ``sample_all(forecaster, compute, candidates)``, when given, returns the observed-score
    draws of every candidate at once (the same draws as ``apply`` then ``sample`` for each,
    made in one call).

    Returns
    -------
    best : float or None
        None when there is nothing to score.
    table : DataFrame
        ``value, crps, n_tasks, n_targets`` per candidate.
    """
    from forecast.scoring import crps_sample

    per_task: dict[tuple[float, str], list[float]] = {}
    n_targets = 0
    for split, fc in fits:
        targets = split.targets
        if targets.empty:
            continue
        n_targets += len(targets)
        y = targets["accuracy"].to_numpy(dtype=float)
        compute = targets["compute"].to_numpy(dtype=float)
        if sample_all is not None:  # every candidate's draws at once: one CRPS call, column by column
            every = np.concatenate([np.asarray(d, dtype=float) for d in sample_all(fc, compute, candidates)], axis=1)
            scores = crps_sample(every, np.tile(y, len(candidates))).reshape(len(candidates), y.size)
        for i, value in enumerate(candidates):
            if sample_all is None:
                apply(fc, value)
                row = crps_sample(fc.sample(compute, "observed"), y)
            else:
                row = scores[i]
            per_task.setdefault((value, split.task), []).extend(row.tolist())
    tasks = sorted({t for (_, t) in per_task})
    wide = np.array([[np.mean(per_task[(v, t)]) for t in tasks] for v in candidates]) if tasks else None
    rows = []
    for i, value in enumerate(candidates):
        rows.append({"value": float(value), "crps": float(wide[i].mean()) if tasks else np.nan,
                     "n_tasks": len(tasks), "n_targets": n_targets})
    table = pd.DataFrame(rows)
    if not tasks:
        return None, table
    i_best = int(np.argmin(wide.mean(axis=1)))
    best = float(candidates[i_best])
    for i, value in enumerate(candidates):
        diff = wide[i] - wide[i_best]
        se = float(np.std(diff, ddof=1) / np.sqrt(diff.size)) if diff.size > 1 else 0.0
        if diff.mean() <= se:
            best = float(value)
            break
    table["chosen"] = table["value"] == best
    return best, table
