"""Task-level data of a model ladder: one score per run and task, optional checkpoints.

A *ladder* file (AI2's OLMo ladder, ``datasets/olmo_ladder/``, or a user's own file with
the same columns) holds one row per run and task at the run's final checkpoint:

``run``
    the run's name (a model of the package: ``models.model``);
``params, tokens, flops``
    parameters ``N``, training tokens ``D`` and training compute (the forecast scale is
    ``flops``, compared with a raw cut-off);
``task, split, format, shots``
    the task is named ``task:split:format:shots`` with empty parts dropped
    (``arc_easy:test:rc:5``, ``hellaswag:rc:5``); only ``task`` is required;
``chance, accuracy``
    chance accuracy and accuracy in [0, 1];
``bpb, soft_prob, soft_log_prob``
    optional continuous metrics (any may be empty, even for a whole file);
``role``
    optional: ``ladder`` (default), ``target`` or ``target_variant``; targets are never
    fitted.  A run named ``<twin>-rerun`` is a re-run twin of ``<twin>``: never fitted (its
    role becomes ``rerun``), held out exactly when its twin is.

Other columns (``suite``, ``size``, ``variant``, ``chinchilla_multiple``, ...) are kept on
the models table where they are constant per run; ``suite`` is a free label, never filtered.
The optional *steps* file has ``run, step, task[, split, format, shots], accuracy`` and
optional ``tokens`` and metrics, one row per logged checkpoint; it may leave runs out, and
runs it names that the final file lacks are dropped with a note (the final file is
authoritative).  Tasks no ``ladder`` run was evaluated on (AI2's mc format: targets only)
cannot be forecast and are dropped with a note.  Question counts are not known: ``n_questions`` is NaN downstream.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd

from forecast.data.dataset import EvalData
from forecast.data.readers import read_table
from forecast.errors import InputError

REQUIRED = ("run", "task", "params", "tokens", "flops", "chance", "accuracy")
NAME_PARTS = ("task", "split", "format", "shots")
METRICS = ("accuracy", "bpb", "soft_prob", "soft_log_prob")
RERUN_SUFFIX = "-rerun"
#: run columns kept on the models table when constant per run
RUN_COLUMNS = ("size", "variant", "chinchilla_multiple", "suite", "family")
#: relative tolerance of the agreement check between a models table and the ladder file
AGREE_RTOL = 1e-3

#: the 16 runs of the ladder paper's fits (AI2's ``step2.json`` / ``final.json``)
PAPER_RUNS = tuple(f"{size}-{mult}xC" for size in ("190M", "370M", "760M", "1B") for mult in (1, 2, 5, 10))


def is_ladder_table(df: pd.DataFrame) -> bool:
    """True for a table with a ladder file's columns (``run``, ``task``, ``flops``, ``accuracy``)."""
    return {"run", "task", "flops", "accuracy"} <= set(df.columns)


def _part(value: object) -> str:
    """One part of a task name as text ('' for empty; ``5.0`` -> ``5``)."""
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return ""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    text = str(value).strip()
    return "" if text.lower() in ("nan", "none") else text


def task_names(df: pd.DataFrame) -> pd.Series:
    """``task:split:format:shots`` per row, empty parts dropped."""
    parts = [df[c].map(_part) if c in df.columns else pd.Series("", index=df.index) for c in NAME_PARTS]
    return pd.Series([":".join(p for p in row if p) for row in zip(*parts)], index=df.index, dtype=object)


def _frame(obj: str | Path | pd.DataFrame, what: str) -> tuple[pd.DataFrame, str]:
    if isinstance(obj, pd.DataFrame):
        return obj.copy(), what
    return read_table(obj), str(obj)


def _per_run(final: pd.DataFrame, column: str, source: str, numeric: bool) -> pd.Series:
    """The value of ``column`` per run; refused when a run holds two different values."""
    values = final[column]
    if numeric:
        values = pd.to_numeric(values, errors="coerce")
        bad = values.isna() | ~np.isfinite(values.to_numpy(dtype=float)) | (values <= 0)
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputError(
                f"{source}: column {column!r} must be a positive number, found "
                f"{final[column].iloc[i]!r} for run {final['run'].iloc[i]!r}"
            )
    grouped = values.groupby(final["run"], sort=True)
    spread = grouped.nunique(dropna=False)
    if numeric:
        lo, hi = grouped.min(), grouped.max()
        spread = pd.Series(np.where(hi > lo * (1 + 1e-9), 2, 1), index=lo.index)
    if (spread > 1).any():
        run = spread.index[spread > 1][0]
        raise InputError(f"{source}: run {run!r} has more than one value in column {column!r}")
    return grouped.first()


def _models(final: pd.DataFrame, source: str) -> pd.DataFrame:
    models = pd.DataFrame({"model": sorted(final["run"].unique())}).set_index("model", drop=False)
    for col in ("params", "tokens", "flops"):
        models[col] = _per_run(final, col, source, numeric=True)
    role = final["role"].fillna("ladder").astype(str).str.strip() if "role" in final.columns else None
    final = final.assign(role=role if role is not None else "ladder")
    final["role"] = final["role"].replace("", "ladder")
    models["role"] = _per_run(final, "role", source, numeric=False)
    known = {"ladder", "target", "target_variant"}
    odd = sorted(set(models["role"]) - known)
    if odd:
        raise InputError(f"{source}: column 'role' has value {odd[0]!r}; use ladder, target or target_variant")
    names = set(models["model"])
    twin = [m[: -len(RERUN_SUFFIX)] if m.endswith(RERUN_SUFFIX) and models.at[m, "role"] == "ladder" else None
            for m in models["model"]]
    models["twin"] = [t if t in names else None for t in twin]
    models.loc[[t is not None for t in twin], "role"] = "rerun"
    for col in RUN_COLUMNS:
        if col in final.columns:
            try:
                models[col] = _per_run(final, col, source, numeric=False)
            except InputError:
                continue  # a free label that varies within a run: not a run property
    if "family" not in models.columns:
        models["family"] = "ladder"
    return models.reset_index(drop=True)


def _check_models_table(models: pd.DataFrame, table: pd.DataFrame, source: str) -> pd.DataFrame:
    """A user's models table must agree with the ladder file; its extra columns are added."""
    if "model" not in table.columns:
        raise InputError(f"{source}: missing column 'model' (the run names)")
    table = table.copy()
    table["model"] = table["model"].astype(str)
    mine = models.set_index("model")
    for row in table.itertuples(index=False):
        m = row.model
        if m not in mine.index:
            continue
        for col, what in (("params", "params"), ("tokens", "final tokens"), ("flops", "flops")):
            if col not in table.columns:
                continue
            given = pd.to_numeric(pd.Series([getattr(row, col)]), errors="coerce").iloc[0]
            if pd.isna(given):
                continue
            want = float(mine.at[m, col])
            if not np.isclose(float(given), want, rtol=AGREE_RTOL, atol=0.0):
                raise InputError(
                    f"{source}: column {col!r} of model {m!r} is {float(given):.6g}, but the ladder "
                    f"file's {what} is {want:.6g}"
                )
    extra = [c for c in table.columns if c not in ("params", "tokens", "flops", "role", "twin")]
    merged = models.drop(columns=[c for c in extra if c != "model" and c in models.columns])
    return merged.merge(table[extra].drop_duplicates("model"), on="model", how="left")


def _long_scores(final: pd.DataFrame) -> pd.DataFrame:
    metrics = [m for m in METRICS if m in final.columns]
    long = final.melt(id_vars=["task_name", "run"], value_vars=metrics, var_name="metric", value_name="value")
    long["value"] = pd.to_numeric(long["value"], errors="coerce")
    long = long[np.isfinite(long["value"].to_numpy(dtype=float))]
    return pd.DataFrame({
        "task": long["task_name"].to_numpy(), "model": long["run"].astype(str).to_numpy(),
        "prob_renormalized": True, "metric": long["metric"].to_numpy(), "value": long["value"].to_numpy(),
    })


def _tasks(final: pd.DataFrame, source: str) -> pd.DataFrame:
    chance = pd.to_numeric(final["chance"], errors="coerce")
    if chance.isna().any() or ((chance < 0) | (chance > 1)).any():
        i = int(np.flatnonzero((chance.isna() | (chance < 0) | (chance > 1)).to_numpy())[0])
        raise InputError(
            f"{source}: column 'chance' must lie in [0, 1], found {final['chance'].iloc[i]!r} "
            f"for task {final['task_name'].iloc[i]!r}"
        )
    per = chance.groupby(final["task_name"], sort=True)
    if (per.max() - per.min() > 1e-9).any():
        task = per.max().index[(per.max() - per.min()) > 1e-9][0]
        raise InputError(f"{source}: task {task!r} has more than one value in column 'chance'")
    first = per.first()
    return pd.DataFrame({"task": first.index.astype(str), "format": "multiple_choice",
                         "n_choices": np.nan, "chance": first.to_numpy(dtype=float)})


def _steps(steps: pd.DataFrame, runs: set[str], source: str) -> tuple[pd.DataFrame, list[str]]:
    for col in ("run", "step", "task", "accuracy"):
        if col not in steps.columns:
            raise InputError(f"{source}: missing column {col!r} (has: {', '.join(map(str, steps.columns))})")
    steps = steps.assign(run=steps["run"].astype(str))
    unknown = sorted(set(steps["run"]) - runs)
    notes = []
    if unknown:
        notes.append(f"{source}: dropped {len(unknown)} run(s) not in the final file ({', '.join(unknown[:5])}"
                     + (", ..." if len(unknown) > 5 else "") + ")")
        steps = steps[steps["run"].isin(runs)]
    out = pd.DataFrame({"task": task_names(steps).to_numpy(), "model": steps["run"].to_numpy(),
                        "step": steps["step"].to_numpy()})
    for col in ("tokens", "flops") + METRICS:
        if col in steps.columns:
            out[col] = steps[col].to_numpy()
    return out, notes


def read_ladder(
    final: str | Path | pd.DataFrame,
    steps: str | Path | pd.DataFrame | None = None,
    models: str | Path | pd.DataFrame | None = None,
    name: str | None = None,
) -> EvalData:
    """Read a ladder file (and optionally its checkpoints and a models table) into task-level
    :class:`EvalData`.

    Parameters
    ----------
    final
        The final-checkpoint table (file or DataFrame), columns as in the module docstring.
    steps
        Every logged checkpoint (``run, step, task, ..., accuracy[, tokens, bpb, ...]``).
    models
        Optional models table (``model`` = run name); its ``params``, ``tokens`` and
        ``flops``, where given, must agree with the ladder file's ``params``, final
        ``tokens`` and ``flops`` (relative tolerance :data:`AGREE_RTOL`); its other
        columns (``family``, ...) are added.
    name
        Label of the data (default: the file name).

    Returns
    -------
    EvalData
        ``scores`` holds ``accuracy`` and the continuous metrics per run and task,
        ``steps`` the checkpoints, ``models`` the runs with ``role`` and ``twin``.
    """
    final_df, source = _frame(final, name or "ladder data")
    missing = [c for c in REQUIRED if c not in final_df.columns]
    if missing:
        raise InputError(
            f"{source}: missing column {missing[0]!r} of a ladder file (has: {', '.join(map(str, final_df.columns))})"
        )
    final_df = final_df.assign(run=final_df["run"].astype(str), task_name=task_names(final_df))
    dup = final_df.duplicated(["run", "task_name"])
    if dup.any():
        row = final_df[dup].iloc[0]
        raise InputError(f"{source}: two rows for run {row['run']!r} and task {row['task_name']!r}")
    model_table = _models(final_df, source)
    notes: list[str] = []
    # a task only never-fitted runs have (AI2's mc format: targets only) cannot be forecast
    fittable = set(model_table.loc[model_table["role"] == "ladder", "model"])
    has_ladder = final_df.groupby("task_name")["run"].agg(lambda r: bool(set(r) & fittable))
    dropped = sorted(has_ladder.index[~has_ladder])
    if dropped and len(dropped) < len(has_ladder):
        notes.append(f"dropped {len(dropped)} task(s) no ladder run has ({', '.join(dropped[:4])}"
                     + (", ..." if len(dropped) > 4 else "") + "): only never-fitted runs were evaluated on them")
        final_df = final_df[~final_df["task_name"].isin(dropped)]
    if models is not None:
        table, msource = _frame(models, "models table")
        model_table = _check_models_table(model_table, table, msource)
    step_table = None
    if steps is not None:
        raw, ssource = _frame(steps, "steps")
        step_table, step_notes = _steps(raw, set(model_table["model"]), ssource)
        notes += step_notes
        step_table = step_table[~step_table["task"].isin(dropped)]
        unknown_tasks = sorted(set(step_table["task"]) - set(final_df["task_name"]))
        if unknown_tasks:
            raise InputError(f"{ssource}: task {unknown_tasks[0]!r} is not in the final file")
    data = EvalData.from_frames(
        model_table, _tasks(final_df, source), scores=_long_scores(final_df), name=name or source,
        notes=tuple(notes), steps=step_table,
    )
    return dataclasses.replace(data, default_cutoffs=ladder_default_cutoffs(data))


def ladder_config(data: EvalData, config: str) -> EvalData:
    """A named subset of a ladder: ``"all"`` (every run) or ``"paper"`` (the ladder paper's
    16 runs :data:`PAPER_RUNS`, plus every target, target variant and re-run twin of them)."""
    if config == "all":
        return data
    if config != "paper":
        raise InputError(f"unknown ladder config {config!r} (use 'paper' or 'all')")
    roles = data.roles()
    twins = data.models.set_index("model")["twin"] if "twin" in data.models.columns else pd.Series(dtype=object)
    keep = set(PAPER_RUNS) | set(roles.index[roles.isin(["target", "target_variant"])])
    keep |= {m for m, t in twins.items() if isinstance(t, str) and t in PAPER_RUNS}
    drop = set(data.models["model"]) - keep
    out = data.drop_models(drop)
    return dataclasses.replace(out, default_cutoffs=ladder_default_cutoffs(out))


#: spacing (decades) of a ladder's default grid of cut-offs: four per decade, about the
#: spacing of the ladder's token multiples (1, 2, 5, 10 x Chinchilla: 0.3 decade), fixed a priori
LADDER_GRID_STEP = 0.25
#: fewest fitted runs a default grid cut-off keeps: two_step's minimum (5 law parameters + 1)
LADDER_GRID_MIN_RUNS = 6


def ladder_default_cutoffs(data: EvalData) -> str | None:
    """A ladder's default cut-off rule (``EvalData.default_cutoffs``), fixed a priori.

    ``grid:LO:HI:0.25:6`` -- every quarter decade of FLOPs inside the ``ladder`` runs' range
    wherever a task keeps at least 6 fitted runs, 4 fitted sizes and a held-out run -- plus
    the largest ladder run's FLOPs (the ladder paper's cut-off: every ladder run fitted,
    only the never-fitted targets held out) when a never-fitted run is larger.  None when
    the data hold no ladder run (the package's rolling rule then applies).
    """
    roles = data.roles()
    flops = data.models.set_index("model")["flops"].astype(float)
    ladder = flops[flops.index.isin(roles.index[roles == "ladder"])]
    if ladder.empty:
        return None
    lo = np.ceil(np.log10(ladder.min()) / LADDER_GRID_STEP) * LADDER_GRID_STEP
    hi = np.floor(np.log10(ladder.max()) / LADDER_GRID_STEP) * LADDER_GRID_STEP
    items = [f"grid:{lo:g}:{max(hi, lo):g}:{LADDER_GRID_STEP:g}:{LADDER_GRID_MIN_RUNS}"]
    if (flops[~flops.index.isin(ladder.index)] > ladder.max() * (1 + 1e-12)).any():
        items.append(repr(float(ladder.max())))
    return ",".join(items)
