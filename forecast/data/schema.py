"""The canonical tables and their validation: ``validate_results``, ``validate_models``,
``validate_tasks``, ``validate_groups``, ``validate_scores`` and ``validate_steps`` each check
one table and return it clean (one line naming file, column, row and value for bad input).

The tables and their columns are described in :mod:`forecast.data.columns`, the value checks
are in :mod:`forecast.data.checks`, the one stored form of every results column (and its
table) in :mod:`forecast.data.stored_form`; their public names are importable from here too.
All scores are stored higher-is-better: a TC Brier score is ``-(1 - p)**2``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from forecast.data.checks import (
    FALSE_TEXT,
    MAX_SHOWN,
    TRUE_TEXT,
    first_index,
    is_absent,
    require_binary,
    require_columns,
    require_finite,
    require_integer,
    require_names,
    require_range,
    require_unique,
    row_where,
    as_shown,
    to_bool,
    to_float,
)
from forecast.data.columns import (
    ANSWER_TEXT,
    BRIER_METRICS,
    GROUPS_REQUIRED,
    MODELS_COLUMNS,
    MODELS_REQUIRED,
    RESULTS_OPTIONAL,
    RESULTS_REQUIRED,
    RESULTS_TEXT,
    SCORES_REQUIRED,
    TASK_FORMATS,
    TASKS_COLUMNS,
    TASKS_OPTIONAL,
    TASKS_REQUIRED,
    TEXT_COLUMNS,
)
from forecast.data.stored_form import loglik_text, stored_form
from forecast.errors import InputError

__all__ = [
    "ANSWER_TEXT", "BRIER_METRICS", "FALSE_TEXT", "GROUPS_REQUIRED", "MAX_SHOWN", "METRIC_RANGES",
    "MODELS_COLUMNS", "MODELS_REQUIRED", "RESULTS_OPTIONAL", "RESULTS_REQUIRED", "RESULTS_TEXT",
    "SCORES_REQUIRED", "STEPS_NUMERIC", "STEPS_REQUIRED", "TASKS_COLUMNS", "TASKS_OPTIONAL",
    "TASKS_REQUIRED", "TASK_FORMATS", "TEXT_COLUMNS", "TRUE_TEXT", "first_index", "is_absent",
    "loglik_text", "orient", "require_binary", "require_columns", "require_finite", "require_integer",
    "require_names", "require_range", "require_unique", "row_where", "as_shown", "to_bool", "to_float",
    "validate_groups", "validate_models", "validate_results", "validate_scores", "validate_steps",
    "validate_tasks",
]


def validate_results(df: pd.DataFrame, source: str = "results") -> pd.DataFrame:
    """Check and normalise a per-question results table; return a clean copy.

    Three kinds are accepted: 0/1 ``correct`` (with optional ``p_correct``); probability
    only (``p_correct`` and no ``correct``: metrics needing the argmax are unavailable);
    sampled answers (``n_samples, n_correct`` per question and model), for which
    ``p_correct`` defaults to the success rate ``n_correct / n_samples`` and ``correct`` to
    the greedy-style (majority) grade ``1[n_correct > n_samples / 2]``.
    """
    key = ["task", "question_id", "model"]
    sampled = "n_samples" in df.columns or "n_correct" in df.columns
    needed = list(key) + (["n_samples", "n_correct"] if sampled else [])
    if not sampled and "p_correct" not in df.columns:
        needed.append("correct")
    require_columns(df, needed, source)
    out = df.copy()
    require_names(out, ("task", "model"), source)
    out["task"] = out["task"].astype(str)
    out["model"] = out["model"].astype(str)
    out["question_id"] = out["question_id"].astype(str)
    if sampled:
        require_finite(out, ["n_samples", "n_correct"], source, key)
        require_range(out, "n_samples", 1, np.inf, source, key)
        for col in ("n_samples", "n_correct"):
            values = pd.to_numeric(out[col])
            bad = (values % 1 != 0) | (values < 0) | (values > pd.to_numeric(out["n_samples"]))
            if bad.any():
                i = int(np.flatnonzero(bad.to_numpy())[0])
                raise InputError(
                    f"{source}: column {col!r} must be a whole number in [0, n_samples], found "
                    f"{as_shown(values.iloc[i])!r} at row {i + 1} (model={out['model'].iloc[i]!r})"
                )
            out[col] = values.astype(int)
        if "p_correct" not in out.columns:
            out["p_correct"] = out["n_correct"] / out["n_samples"]
        if "correct" not in out.columns:
            out["correct"] = (2 * out["n_correct"] > out["n_samples"]).astype(int)
    if "correct" in out.columns:
        require_finite(out, ["correct"], source, key)
        require_binary(out, "correct", source, key)
        out["correct"] = to_float(out["correct"]).astype(int)
    elif not out["p_correct"].notna().all():
        require_finite(out, ["p_correct"], source, key)  # probability only: every row needs one
    if "p_correct" in out.columns:
        if out["p_correct"].notna().any():
            # generated answers carry no probability: only given values are checked
            given = out["p_correct"].notna()
            require_finite(out[given], ["p_correct"], source, key)
            require_range(out[given], "p_correct", 0.0, 1.0, source, key)
            out["p_correct"] = to_float(out["p_correct"])
        else:
            out = out.drop(columns="p_correct")
    stored_form(out, source, key)
    dup_key = key + [c for c in ("filter", "metric") if c in out.columns]
    require_unique(out, dup_key, source)
    return out.reset_index(drop=True)


def validate_models(df: pd.DataFrame, source: str = "models") -> pd.DataFrame:
    """Check a models table; fill ``flops = 6·params·tokens`` where missing."""
    require_columns(df, MODELS_REQUIRED, source)
    out = df.copy()
    out["model"] = out["model"].astype(str)
    for col in ("params", "tokens", "flops"):
        if col not in out.columns:
            out[col] = np.nan
        values = to_float(out[col])
        given = out[col].notna() & (out[col].astype(str).str.strip() != "")
        bad = given & ~np.isfinite(values)
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputError(
                f"{source}: column {col!r} is not a number ({as_shown(out[col].iloc[i])!r}) "
                f"for model {out['model'].iloc[i]!r}"
            )
        neg = values <= 0
        if neg.any():
            i = int(np.flatnonzero(neg.to_numpy())[0])
            raise InputError(
                f"{source}: column {col!r} must be positive, found {as_shown(values.iloc[i])!r} "
                f"for model {out['model'].iloc[i]!r}"
            )
        out[col] = values.astype(float)
    if "family" not in out.columns:
        out["family"] = out["model"]
    out["family"] = out["family"].fillna(out["model"]).astype(str)
    derived = 6.0 * out["params"] * out["tokens"]
    out["flops"] = out["flops"].fillna(derived)
    if out[["params", "flops"]].isna().all(axis=1).any():
        i = int(np.flatnonzero(out[["params", "flops"]].isna().all(axis=1).to_numpy())[0])
        raise InputError(
            f"{source}: model {out['model'].iloc[i]!r} has neither params nor flops"
        )
    empty = out["model"].str.strip() == ""
    if empty.any():
        raise InputError(f"{source}: column 'model' is blank at row {first_index(empty) + 1}")
    require_unique(out, ["model"], source)
    extra = [c for c in out.columns if c not in MODELS_COLUMNS]
    return out[list(MODELS_COLUMNS) + extra].reset_index(drop=True)


def validate_tasks(df: pd.DataFrame, source: str = "tasks", require_chance: bool = False) -> pd.DataFrame:
    """Check a task-info table, keeping only the leak-free columns.

    ``chance`` must lie in ``[0, 1)`` (normalised accuracy divides by ``1 - chance``).  A
    blank chance is 0 for a generative task unless ``require_chance`` (a user's
    ``--task-info`` table, where a blank is refused: the user meant to say something).
    """
    require_columns(df, TASKS_REQUIRED, source)
    out = df.copy()
    if "n_choices" not in out.columns:
        out["n_choices"] = np.nan
    optional = [c for c in TASKS_OPTIONAL if c in out.columns]
    out = out[list(TASKS_COLUMNS) + optional].copy()
    out["task"] = out["task"].astype(str)
    given_chance = out["chance"].notna() & (out["chance"].astype(str).str.strip() != "")
    raw = out.copy()
    out["format"] = out["format"].astype(str)
    out["n_choices"] = to_float(out["n_choices"])
    out["chance"] = to_float(out["chance"])
    bad_format = ~out["format"].isin(list(TASK_FORMATS))
    if bad_format.any():
        i = int(np.flatnonzero(bad_format.to_numpy())[0])
        raise InputError(
            f"{source}: task {out['task'].iloc[i]!r} has format {as_shown(raw['format'].iloc[i])!r} "
            f"in column 'format'; use one of {', '.join(TASK_FORMATS)}"
        )
    i = first_index(given_chance & ~np.isfinite(out["chance"]))
    if i is not None:
        raise InputError(
            f"{source}: column 'chance' is not a number ({as_shown(raw['chance'].iloc[i])!r}) for task "
            f"{out['task'].iloc[i]!r}"
        )
    mc = out["format"].isin(["multiple_choice", "both"])
    unknown = (mc | require_chance) & ~np.isfinite(out["chance"].to_numpy(dtype=float))
    if unknown.any():
        i = int(np.flatnonzero(unknown.to_numpy())[0])
        kind = "multiple-choice task" if mc.iloc[i] else "task"
        raise InputError(
            f"{source}: {kind} {out['task'].iloc[i]!r} has no chance accuracy "
            "(column 'chance'; 0 for a generative task)"
        )
    out["chance"] = out["chance"].fillna(0.0)
    i = first_index(~((out["chance"] >= 0.0) & (out["chance"] < 1.0)))
    if i is not None:
        raise InputError(
            f"{source}: column 'chance' must lie in [0, 1) (1 leaves nothing to learn), found "
            f"{as_shown(raw['chance'].iloc[i])!r} for task {out['task'].iloc[i]!r}"
        )
    given_n = raw["n_choices"].notna() & (raw["n_choices"].astype(str).str.strip() != "")
    n = out["n_choices"]
    i = first_index(given_n & ~(np.isfinite(n) & (n >= 2) & (n == np.round(n))))
    if i is not None:
        raise InputError(
            f"{source}: column 'n_choices' must be a whole number of at least 2, found "
            f"{as_shown(raw['n_choices'].iloc[i])!r} for task {out['task'].iloc[i]!r}"
        )
    empty = out["task"].str.strip() == ""
    if empty.any():
        raise InputError(f"{source}: column 'task' is blank at row {first_index(empty) + 1}")
    require_unique(out, ["task"], source)
    return _optional_task_columns(out, raw=df, source=source).reset_index(drop=True)


def _optional_task_columns(out: pd.DataFrame, raw: pd.DataFrame, source: str) -> pd.DataFrame:
    """Check and normalise ``n_questions``, ``task_group`` and ``emergence_scored``."""
    if "n_questions" in out.columns:
        n = to_float(out["n_questions"])
        given = raw["n_questions"].notna() & (raw["n_questions"].astype(str).str.strip() != "")
        i = first_index(given.to_numpy() & ~(np.isfinite(n) & (n >= 1) & (n == np.round(n))))
        if i is not None:
            raise InputError(
                f"{source}: column 'n_questions' must be a whole number of at least 1, found "
                f"{as_shown(raw['n_questions'].iloc[i])!r} for task {out['task'].iloc[i]!r}"
            )
        out["n_questions"] = n
    if "task_group" in out.columns:
        group = out["task_group"]
        blank = group.isna() | (group.astype(str).str.strip() == "")
        out["task_group"] = group.astype(object).where(~blank, out["task"]).astype(str)
    if "emergence_scored" in out.columns:
        text = out["emergence_scored"].astype(str).str.strip().str.lower()
        truth = {"true": True, "1": True, "1.0": True, "yes": True, "nan": True, "": True,
                 "none": True, "false": False, "0": False, "0.0": False, "no": False}
        bad = ~text.isin(list(truth))
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputError(
                f"{source}: column 'emergence_scored' must be true or false, found "
                f"{as_shown(raw['emergence_scored'].iloc[i])!r} for task {out['task'].iloc[i]!r}"
            )
        out["emergence_scored"] = text.map(truth).astype(bool)
    return out


def orient(df: pd.DataFrame, source: str) -> pd.DataFrame:
    """Turn Brier-type scores higher-is-better.

    A Brier column stored as a loss (all values >= 0, the form of the shipped files and of
    most evaluation tools) is negated; one already stored as ``-(1-p)**2`` (all <= 0) is kept.
    A column that mixes signs is refused.
    """
    out = df.copy()
    for metric in BRIER_METRICS:
        rows = out["metric"] == metric
        if not rows.any():
            continue
        values = out.loc[rows, "value"]
        if (values >= 0).all():
            out.loc[rows, "value"] = -values
        elif not (values <= 0).all():
            raise InputError(
                f"{source}: metric {metric!r} mixes positive and negative values; store it "
                "either as a loss (1-p)^2 or as a score -(1-p)^2"
            )
    return out


#: the range of a score per metric as users store them (a Brier loss in [0, 1] or its
#: negation in [-1, 0]; an accuracy in [0, 1])
METRIC_RANGES = {"accuracy": (0.0, 1.0), **{m: (-1.0, 1.0) for m in BRIER_METRICS}}


def _check_metric_values(out: pd.DataFrame, source: str, key: Sequence[str]) -> None:
    """Every known metric's values inside their range (a TC Brier loss of 5, an accuracy of 1.7
    are refused)."""
    metric = out["metric"].astype(str)
    for name, (lo, hi) in METRIC_RANGES.items():
        rows = metric == name
        values = out["value"].where(rows)
        i = first_index(rows & ~((values >= lo) & (values <= hi)))
        if i is not None:
            what = "a loss in [0, 1] or a score in [-1, 0]" if name in BRIER_METRICS else f"in [{lo}, {hi}]"
            raise InputError(
                f"{source}: column 'value' for metric {name!r} must be {what}, found "
                f"{as_shown(out['value'].iloc[i])!r}" + row_where(out, i, key)
            )


def validate_groups(df: pd.DataFrame, source: str = "groups") -> pd.DataFrame:
    """Check a slice-level aggregate table (group scores).

    ``n_groups`` and ``n_questions`` are whole numbers of at least 1, ``group_index`` a whole
    number in ``[0, n_groups)``, ``difficulty_flops_max_1e21`` positive, the values of known
    metrics in range, ``prob_renormalized`` true or false.
    """
    require_columns(df, GROUPS_REQUIRED, source)
    out = df.copy().reset_index(drop=True)
    require_names(out, ("task", "model"), source)
    out["task"] = out["task"].astype(str)
    out["model"] = out["model"].astype(str)
    key = ["task", "model", "n_groups", "group_index", "metric"]
    require_finite(
        out,
        ["n_groups", "group_index", "n_questions", "difficulty_flops_max_1e21", "value"],
        source,
        key,
    )
    out["n_groups"] = require_integer(out, "n_groups", 1, source, key)
    out["group_index"] = require_integer(out, "group_index", 0, source, key, hi=out["n_groups"] - 1)
    out["n_questions"] = require_integer(out, "n_questions", 1, source, key)
    out["value"] = to_float(out["value"])
    out["difficulty_flops_max_1e21"] = to_float(out["difficulty_flops_max_1e21"])
    i = first_index(out["difficulty_flops_max_1e21"] <= 0)
    if i is not None:
        raise InputError(
            f"{source}: column 'difficulty_flops_max_1e21' must be positive (FLOPs / 1e21), found "
            f"{as_shown(out['difficulty_flops_max_1e21'].iloc[i])!r}" + row_where(out, i, key)
        )
    _check_metric_values(out, source, key)
    out["prob_renormalized"] = to_bool(out, "prob_renormalized", source, key)
    ukey = ["task", "model", "prob_renormalized", "n_groups", "difficulty_flops_max_1e21",
            "group_index", "metric"]
    if "group_metric_file" in out.columns:  # the shipped data: groups sorted per file
        ukey.append("group_metric_file")
    require_unique(out, ukey, source)
    return orient(out, source).reset_index(drop=True)


def validate_scores(df: pd.DataFrame, source: str = "scores") -> pd.DataFrame:
    """Check a whole-task score table (known metrics in range, ``prob_renormalized`` true or false)."""
    require_columns(df, SCORES_REQUIRED, source)
    out = df.copy().reset_index(drop=True)
    require_names(out, ("task", "model"), source)
    out["task"] = out["task"].astype(str)
    out["model"] = out["model"].astype(str)
    key = ["task", "model", "metric"]
    require_finite(out, ["value"], source, key)
    out["value"] = to_float(out["value"])
    _check_metric_values(out, source, key)
    out["prob_renormalized"] = to_bool(out, "prob_renormalized", source, key)
    require_unique(out, ["task", "model", "prob_renormalized", "metric"], source)
    return orient(out, source).reset_index(drop=True)


STEPS_REQUIRED = ("task", "model", "step", "accuracy")
#: optional numeric columns of the steps table (continuous metrics may be missing)
STEPS_NUMERIC = ("tokens", "flops", "bpb", "soft_prob", "soft_log_prob")


def validate_steps(df: pd.DataFrame, source: str = "steps") -> pd.DataFrame:
    """Check a table of intermediate checkpoints (task-level data): ``task, model, step,
    accuracy`` and optional ``tokens, flops`` and continuous metrics, one row per
    (task, model, step)."""
    require_columns(df, STEPS_REQUIRED, source)
    out = df.copy()
    require_names(out, ("task", "model"), source)
    out["task"] = out["task"].astype(str)
    out["model"] = out["model"].astype(str)
    key = ["task", "model", "step"]
    require_finite(out, ["step", "accuracy"], source, key)
    require_range(out, "accuracy", 0.0, 1.0, source, key)
    out["step"] = pd.to_numeric(out["step"]).astype(float)
    out["accuracy"] = pd.to_numeric(out["accuracy"]).astype(float)
    for col in STEPS_NUMERIC:
        if col in out.columns:
            out[col] = pd.to_numeric(out[col], errors="coerce").astype(float)
    require_unique(out, key, source)
    return out.sort_values(key).reset_index(drop=True)
