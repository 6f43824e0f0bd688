"""`load_data`: one entry point from whatever the user has to an :class:`EvalData`.

Accepted inputs: a shipped dataset name, an lm-evaluation-harness output folder, a table
file (per-question results, slice-level groups or whole-task scores), a DataFrame, or an
``EvalData`` to which overrides are applied.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd

from forecast.data.dataset import EvalData
from forecast.data.readers import classify_table, read_table
from forecast.data.reconcile import (
    choose_compute_axis,
    default_task_info,
    derived_task_note,
    resolve_model_names,
)
from forecast.data.schema import (
    validate_groups,
    validate_models,
    validate_results,
    validate_scores,
    validate_tasks,
)
from forecast.data.shipped import dataset_names, load_dataset, shipped_models, shipped_tasks
from forecast.errors import InputError

TableLike = str | Path | pd.DataFrame | None


def _as_frame(obj: TableLike, what: str) -> pd.DataFrame | None:
    if obj is None:
        return None
    if isinstance(obj, pd.DataFrame):
        return obj
    if not isinstance(obj, (str, Path)) or not str(obj).strip():
        raise InputError(f"{what} must be a table file or a DataFrame, got {obj!r}")
    return read_table(obj)


def _label(obj: TableLike, what: str) -> str:
    """How messages name a user table: its path, or ``what`` for a DataFrame."""
    return what if isinstance(obj, pd.DataFrame) else str(obj)


def _derived_task_info(results: pd.DataFrame) -> pd.DataFrame:
    """Task info read off the results: chance = mean of 1/#choices, from lm-eval logs."""
    rows = []
    for task, rows_t in results.groupby("task", sort=True):
        if "n_choices" in rows_t.columns and rows_t["n_choices"].notna().any():
            n = pd.to_numeric(rows_t["n_choices"], errors="coerce")
            rows.append(
                {"task": task, "format": "multiple_choice", "n_choices": float(n.median()),
                 "chance": float(np.mean(1.0 / n.dropna()))}
            )
        elif "metric" in rows_t.columns and rows_t["metric"].notna().any():
            rows.append({"task": task, "format": "generative", "n_choices": np.nan, "chance": 0.0})
    return pd.DataFrame(rows, columns=["task", "format", "n_choices", "chance"])


def _merge_task_info(*tables: pd.DataFrame | None) -> pd.DataFrame:
    """Later tables win for the same task."""
    present = [t for t in tables if t is not None and len(t)]
    if not present:
        return pd.DataFrame(columns=["task", "format", "n_choices", "chance"])
    merged = pd.concat(present, ignore_index=True)
    return merged.drop_duplicates("task", keep="last").reset_index(drop=True)


def _on_axis(data: EvalData, compute: str) -> EvalData:
    """``data`` with every fit on the ``compute`` axis; models without a value on it left out."""
    used = data.models[data.models["model"].isin(data.models_of())]
    _, axis, dropped, notes = choose_compute_axis(used, compute, data.name)
    return dataclasses.replace(data.drop_models(dropped), axis=axis, notes=tuple(data.notes) + tuple(notes))


def load_data(
    data: str | Path | pd.DataFrame | EvalData,
    models: TableLike = None,
    scores: TableLike = None,
    task_info: TableLike = None,
    steps: TableLike = None,
    compute: str | None = None,
) -> EvalData:
    """Load evaluation results into a validated :class:`EvalData`.

    Parameters
    ----------
    data
        A shipped dataset name (see :func:`forecast.datasets`), a folder written by
        lm-evaluation-harness with ``--log_samples``, a table file (CSV/TSV/parquet/JSON/JSONL,
        gzip allowed) of per-question results or of slice-level groups, a DataFrame of
        per-question results, or an ``EvalData``.
    models
        Models table (``model, family, params, tokens, flops``; raw counts). Defaults to the
        dataset's own, else to the shipped table of public models.
    scores
        Whole-task scores (``task, model, prob_renormalized, metric, value``) to go with
        slice-level groups.
    task_info
        Task table (``task, format, n_choices, chance``); it overrides shipped or derived info.
    steps
        Intermediate checkpoints of a model-ladder file (task-level data with a ``run``
        column, see :mod:`forecast.data.ladder`); only with such a file.
    compute
        The compute axis of every fit: ``"flops"`` (training FLOPs, ``6·N·D`` where only
        parameters and tokens are known), ``"params"``, or ``None``: FLOPs when any model
        has them, else parameters. Models without a value on the axis are left out with a
        note (:mod:`forecast.data.reconcile`).

    Notes
    -----
    What the loader assumes is said once as a :class:`~forecast.errors.DataNote` warning
    and kept in ``EvalData.notes``: model names matched loosely to the models table (case,
    missing organisation, ``-hf``), chance 0 for a task no task table knows, models left out
    for lacking a value on the compute axis. A model that matches no entry is refused with
    the closest known names.

    Returns
    -------
    EvalData
    """
    if models is None and scores is None and task_info is None and steps is None:
        # nothing to add: the data as they are (keeping every table, a ladder's steps too)
        if isinstance(data, EvalData):
            return data if compute is None else _on_axis(data, compute)
        if isinstance(data, str) and data in dataset_names():
            return load_dataset(data) if compute is None else _on_axis(load_dataset(data), compute)
    notes: tuple[str, ...] = ()
    if isinstance(data, EvalData):
        base = data
        results, groups, base_scores = base.results, base.groups, base.scores
        base_models, base_tasks, name = base.models, base.tasks, base.name
        notes = base.notes
    elif isinstance(data, str) and data in dataset_names():
        base = load_dataset(data)
        results, groups, base_scores = base.results, base.groups, base.scores
        base_models, base_tasks, name = base.models, base.tasks, base.name
        notes = base.notes
    else:
        base_models, base_tasks = None, None
        results = groups = base_scores = None
        if isinstance(data, pd.DataFrame):
            table, name = data, "data"
        else:
            if not isinstance(data, (str, Path)):
                raise InputError(
                    f"data must be a dataset name, a file or folder path, a DataFrame or an EvalData, "
                    f"got {type(data).__name__}"
                )
            if isinstance(data, str) and not data.strip():
                raise InputError("data is an empty name; give a dataset name, file or folder")
            path = Path(data)
            name = str(path)
            if not path.exists():
                known = ", ".join(dataset_names())
                raise InputError(f"{path}: no such file, folder or shipped dataset (shipped: {known})")
            if path.is_dir():
                from forecast.data.lmeval import read_lmeval

                table = read_lmeval(path)
            else:
                table = read_table(path)
        if table.empty:
            raise InputError(f"{name}: has no rows (only a header, or nothing)")

        from forecast.data.ladder import is_ladder_table, read_ladder
        from forecast.data.pythia import is_suite_table, read_suite

        if is_suite_table(table) and models is None and scores is None and task_info is None and steps is None:
            return read_suite(table, name=name)

        if is_ladder_table(table):
            if scores is not None or task_info is not None:
                raise InputError(f"{name}: a ladder file carries its own scores and chance; "
                                 "do not pass scores or task info with it")
            return read_ladder(table, steps=steps, models=models,
                               name=name)
        kind = classify_table(table)
        if kind == "results":
            results = validate_results(table, name)
        elif kind == "groups":
            groups = validate_groups(table, name)
        elif kind == "scores":
            base_scores = validate_scores(table, name)
        else:
            raise InputError(
                f"{name}: cannot tell what the table holds; per-question results need columns "
                "task, question_id, model, correct; slice groups need group_index"
            )
    if steps is not None:
        raise InputError(f"{name}: steps are read only with a ladder file (columns run, task, flops, accuracy)")
    models_df = _as_frame(models, "models")
    if models_df is None:
        models_df = base_models if base_models is not None else shipped_models()
    else:
        models_df = validate_models(models_df, _label(models, "models"))
    extra_scores = _as_frame(scores, "scores")
    if extra_scores is not None:
        if extra_scores.empty:
            raise InputError(f"{_label(scores, 'scores')}: has no rows (only a header, or nothing)")
        base_scores = validate_scores(extra_scores, _label(scores, "scores"))
    derived = _derived_task_info(results) if results is not None and base_tasks is None else None
    shipped = shipped_tasks() if base_tasks is None else base_tasks
    user_tasks = _as_frame(task_info, "task info")
    if user_tasks is not None:
        user_tasks = validate_tasks(user_tasks, _label(task_info, "task info"), require_chance=True)
    tasks = _merge_task_info(shipped, derived, user_tasks)
    said: list[str] = []
    if derived is not None and len(derived):
        told = set(shipped["task"].astype(str)) | (set(user_tasks["task"]) if user_tasks is not None else set())
        said += derived_task_note(derived[~derived["task"].isin(told)], name)
    # keep only the models and tasks the data refer to (smaller, clearer errors)
    used_models: set[str] = set()
    used_tasks: set[str] = set()
    for table in (results, groups, base_scores):
        if table is not None and "model" in table.columns:
            used_models |= set(table["model"].astype(str))
            used_tasks |= set(table["task"].astype(str))
    renames, new_notes = resolve_model_names(used_models, models_df["model"], name, models is not None)
    said += new_notes
    if renames:
        results, groups, base_scores = (
            None if t is None else t.assign(model=t["model"].astype(str).replace(renames))
            for t in (results, groups, base_scores)
        )
        used_models = {renames.get(m, m) for m in used_models}
    if "model" in models_df.columns and used_models:
        models_df = models_df[models_df["model"].astype(str).isin(used_models)]
    unknown_tasks = sorted(used_tasks - set(tasks["task"].astype(str)))
    defaults, new_notes = default_task_info(unknown_tasks, name)
    said += new_notes
    tasks = _merge_task_info(tasks, defaults)
    if "task" in tasks.columns and used_tasks:
        tasks = tasks[tasks["task"].astype(str).isin(used_tasks)]
    models_df, axis, dropped, new_notes = choose_compute_axis(validate_models(models_df, name), compute, name)
    said += new_notes
    if dropped:
        results, groups, base_scores = (
            None if t is None else t[~t["model"].astype(str).isin(dropped)].reset_index(drop=True)
            for t in (results, groups, base_scores)
        )
    return EvalData.from_frames(
        models_df, tasks, results=results, groups=groups, scores=base_scores, name=name,
        notes=tuple(notes) + tuple(said), axis=axis,
    )
