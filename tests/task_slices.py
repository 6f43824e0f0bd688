"""A few tasks of a shipped data set, for tests whose cost grows with the number of tasks.

Backtests learn settings from every task of a data set at each cut-off (the predictability
flags, ``slice_sandwich``'s priors and extrapolation spread, ``persistence_drift``'s drift):
on all 66 BIG-G tasks that takes minutes a cut-off, on a few tasks seconds, and every rule
(nothing above the cut-off, other tasks inform the settings) is exercised the same way.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

from forecast.data.dataset import EvalData

#: two BIG-G tasks with enough questions for every method's slices (one generative, one
#: multiple choice): settings are still learned across tasks
BIGG_FEW = ("abstract_narrative_understanding", "qa_wikidata")
#: four BIG-G tasks (``qa_wikidata`` and ``hindu_knowledge`` among them): enough for settings
#: learned across tasks and for the mixture's weights (3 tasks or more)
BIGG_FOUR = (*BIGG_FEW, "physics", "hindu_knowledge")


def task_slice(data: EvalData, tasks: Sequence[str]) -> EvalData:
    """``data`` with only ``tasks``: every table keeps their rows, the models table their models."""
    tasks = list(tasks)
    unknown = sorted(set(tasks) - set(data.task_names))
    assert not unknown, f"{data.name} has no task {unknown}"
    pick = {}
    for label in ("results", "groups", "scores", "steps"):
        table = getattr(data, label)
        pick[label] = None if table is None else table[table["task"].isin(tasks)].reset_index(drop=True)
    keep = {m for t in tasks for m in data.models_of(t)}
    return dataclasses.replace(
        data, models=data.models[data.models["model"].isin(keep)].reset_index(drop=True),
        tasks=data.tasks[data.tasks["task"].isin(tasks)].reset_index(drop=True), **pick)


def write_task_slice(data: EvalData, tasks: Sequence[str], folder: Path) -> list[str]:
    """Write ``tasks`` of per-question ``data`` as the files a user passes; returns the
    command-line words that load them (``RESULTS --models M --task-info T``)."""
    part = task_slice(data, tasks)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {name: folder / f"{name}.csv" for name in ("results", "models", "tasks")}
    part.results.to_csv(paths["results"], index=False)
    part.models.to_csv(paths["models"], index=False)
    part.tasks.to_csv(paths["tasks"], index=False)
    return [str(paths["results"]), "--models", str(paths["models"]), "--task-info", str(paths["tasks"])]
