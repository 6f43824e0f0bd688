"""The canonical tables and their validation.

Four tables carry everything a forecast needs:

``results``  (per question, long)
    ``task, question_id, model, correct`` with optional ``p_correct`` (target-conditioned
    probability), ``loglik`` (per-choice log-likelihoods, a JSON list in text form or a
    Python list), ``target`` (index of the correct choice), and ``metric``/``value`` pairs
    for generated answers.
``models``
    ``model, family, params, tokens, flops`` (raw counts; ``flops`` defaults to
    ``6·params·tokens`` when both are known).
``tasks``
    ``task, format, n_choices, chance``.
``groups`` / ``scores`` (slice-level aggregates)
    ``task, model, prob_renormalized, n_groups, group_index, n_questions,
    difficulty_flops_max_1e21, metric, value`` and the whole-task
    ``task, model, prob_renormalized, metric, value``.

All scores are stored higher-is-better: a TC Brier score is ``-(1 - p)**2``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from forecast.errors import InputError

RESULTS_REQUIRED = ("task", "question_id", "model", "correct")
RESULTS_OPTIONAL = ("p_correct", "loglik", "target", "metric", "value")
MODELS_REQUIRED = ("model",)
MODELS_COLUMNS = ("model", "family", "params", "tokens", "flops")
TASKS_REQUIRED = ("task", "format", "chance")
TASKS_COLUMNS = ("task", "format", "n_choices", "chance")
TASK_FORMATS = ("multiple_choice", "generative", "both")
GROUPS_REQUIRED = (
    "task",
    "model",
    "prob_renormalized",
    "n_groups",
    "group_index",
    "n_questions",
    "difficulty_flops_max_1e21",
    "metric",
    "value",
)
SCORES_REQUIRED = ("task", "model", "prob_renormalized", "metric", "value")

#: Brier-type metrics: stored as a loss ``(1-p)**2 >= 0`` by most tools, used as ``-(1-p)**2``
BRIER_METRICS = frozenset({"tc_brier", "brier", "multiclass_brier"})


def _plain(value: object) -> object:
    """A numpy scalar as the Python value it holds, so messages read ``1.5``, not ``np.float64(1.5)``."""
    return value.item() if isinstance(value, np.generic) else value


def require_columns(df: pd.DataFrame, columns: Iterable[str], source: str) -> None:
    """Raise :class:`InputError` naming the first missing column of ``source``."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise InputError(
            f"{source}: missing column {missing[0]!r} (has: {', '.join(map(str, df.columns))})"
        )


def require_finite(
    df: pd.DataFrame, columns: Iterable[str], source: str, key: Sequence[str] = ()
) -> None:
    """Raise if a numeric column holds NaN/inf or a non-number, naming the row."""
    for col in columns:
        if col not in df.columns:
            continue
        values = pd.to_numeric(df[col], errors="coerce")
        bad = ~np.isfinite(values.to_numpy(dtype=float))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            row = df.iloc[i]
            where = ", ".join(f"{k}={_plain(row[k])!r}" for k in key if k in df.columns)
            raise InputError(
                f"{source}: column {col!r} has a missing or non-finite value "
                f"{_plain(df[col].iloc[i])!r} at row {i + 1}" + (f" ({where})" if where else "")
            )


def require_unique(df: pd.DataFrame, key: Sequence[str], source: str) -> None:
    """Raise if two rows share the same ``key``, naming the first duplicate."""
    dup = df.duplicated(list(key), keep="first")
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        row = df.iloc[i]
        what = ", ".join(f"{k}={_plain(row[k])!r}" for k in key)
        raise InputError(f"{source}: duplicate row for {what} at row {i + 1}")


def require_binary(df: pd.DataFrame, column: str, source: str, key: Sequence[str] = ()) -> None:
    """Raise unless ``column`` holds only 0 and 1."""
    values = pd.to_numeric(df[column], errors="coerce")
    bad = ~values.isin([0, 1])
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        row = df.iloc[i]
        where = ", ".join(f"{k}={_plain(row[k])!r}" for k in key if k in df.columns)
        raise InputError(
            f"{source}: column {column!r} must be 0 or 1, found {_plain(df[column].iloc[i])!r} "
            f"at row {i + 1}" + (f" ({where})" if where else "")
        )


def require_range(
    df: pd.DataFrame, column: str, lo: float, hi: float, source: str, key: Sequence[str] = ()
) -> None:
    """Raise unless every value of ``column`` lies in ``[lo, hi]``."""
    values = pd.to_numeric(df[column], errors="coerce")
    bad = ~((values >= lo) & (values <= hi))
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        row = df.iloc[i]
        where = ", ".join(f"{k}={_plain(row[k])!r}" for k in key if k in df.columns)
        raise InputError(
            f"{source}: column {column!r} must lie in [{lo}, {hi}], found "
            f"{_plain(df[column].iloc[i])!r} at row {i + 1}" + (f" ({where})" if where else "")
        )


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
                    f"{_plain(values.iloc[i])!r} at row {i + 1} (model={out['model'].iloc[i]!r})"
                )
            out[col] = values.astype(int)
        if "p_correct" not in out.columns:
            out["p_correct"] = out["n_correct"] / out["n_samples"]
        if "correct" not in out.columns:
            out["correct"] = (2 * out["n_correct"] > out["n_samples"]).astype(int)
    if "correct" in out.columns:
        require_finite(out, ["correct"], source, key)
        require_binary(out, "correct", source, key)
        out["correct"] = pd.to_numeric(out["correct"]).astype(int)
    elif not out["p_correct"].notna().all():
        require_finite(out, ["p_correct"], source, key)  # probability only: every row needs one
    if "p_correct" in out.columns:
        if out["p_correct"].notna().any():
            # generated answers carry no probability: only given values are checked
            given = out["p_correct"].notna()
            require_finite(out[given], ["p_correct"], source, key)
            require_range(out[given], "p_correct", 0.0, 1.0, source, key)
            out["p_correct"] = pd.to_numeric(out["p_correct"]).astype(float)
        else:
            out = out.drop(columns="p_correct")
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
        values = pd.to_numeric(out[col], errors="coerce")
        given = out[col].notna() & (out[col].astype(str).str.strip() != "")
        bad = given & ~np.isfinite(values)
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputError(
                f"{source}: column {col!r} is not a number ({_plain(out[col].iloc[i])!r}) "
                f"for model {out['model'].iloc[i]!r}"
            )
        neg = values <= 0
        if neg.any():
            i = int(np.flatnonzero(neg.to_numpy())[0])
            raise InputError(
                f"{source}: column {col!r} must be positive, found {_plain(values.iloc[i])!r} "
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
    require_unique(out, ["model"], source)
    extra = [c for c in out.columns if c not in MODELS_COLUMNS]
    return out[list(MODELS_COLUMNS) + extra].reset_index(drop=True)


def validate_tasks(df: pd.DataFrame, source: str = "tasks") -> pd.DataFrame:
    """Check a task-info table, keeping only the leak-free columns."""
    require_columns(df, TASKS_REQUIRED, source)
    out = df.copy()
    if "n_choices" not in out.columns:
        out["n_choices"] = np.nan
    out = out[list(TASKS_COLUMNS)].copy()
    out["task"] = out["task"].astype(str)
    out["format"] = out["format"].astype(str)
    out["n_choices"] = pd.to_numeric(out["n_choices"], errors="coerce")
    out["chance"] = pd.to_numeric(out["chance"], errors="coerce")
    bad_format = ~out["format"].isin(list(TASK_FORMATS))
    if bad_format.any():
        i = int(np.flatnonzero(bad_format.to_numpy())[0])
        raise InputError(
            f"{source}: task {out['task'].iloc[i]!r} has format {out['format'].iloc[i]!r}; "
            f"use one of {', '.join(TASK_FORMATS)}"
        )
    mc = out["format"].isin(["multiple_choice", "both"])
    unknown = mc & ~np.isfinite(out["chance"].to_numpy(dtype=float))
    if unknown.any():
        i = int(np.flatnonzero(unknown.to_numpy())[0])
        raise InputError(
            f"{source}: multiple-choice task {out['task'].iloc[i]!r} has no chance accuracy "
            "(column 'chance')"
        )
    out["chance"] = out["chance"].fillna(0.0)
    require_range(out, "chance", 0.0, 1.0, source, ["task"])
    require_unique(out, ["task"], source)
    return out.reset_index(drop=True)


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


def validate_groups(df: pd.DataFrame, source: str = "groups") -> pd.DataFrame:
    """Check a slice-level aggregate table (group scores)."""
    require_columns(df, GROUPS_REQUIRED, source)
    out = df.copy()
    out["task"] = out["task"].astype(str)
    out["model"] = out["model"].astype(str)
    key = ["task", "model", "n_groups", "group_index", "metric"]
    require_finite(
        out,
        ["n_groups", "group_index", "n_questions", "difficulty_flops_max_1e21", "value"],
        source,
        key,
    )
    for col in ("n_groups", "group_index", "n_questions"):
        out[col] = pd.to_numeric(out[col]).astype(int)
    out["value"] = pd.to_numeric(out["value"]).astype(float)
    out["difficulty_flops_max_1e21"] = pd.to_numeric(out["difficulty_flops_max_1e21"]).astype(float)
    out["prob_renormalized"] = out["prob_renormalized"].astype(bool)
    ukey = ["task", "model", "prob_renormalized", "n_groups", "difficulty_flops_max_1e21",
            "group_index", "metric"]
    if "group_metric_file" in out.columns:  # the shipped data: groups sorted per file
        ukey.append("group_metric_file")
    require_unique(out, ukey, source)
    return orient(out, source).reset_index(drop=True)


def validate_scores(df: pd.DataFrame, source: str = "scores") -> pd.DataFrame:
    """Check a whole-task score table."""
    require_columns(df, SCORES_REQUIRED, source)
    out = df.copy()
    out["task"] = out["task"].astype(str)
    out["model"] = out["model"].astype(str)
    require_finite(out, ["value"], source, ["task", "model", "metric"])
    out["value"] = pd.to_numeric(out["value"]).astype(float)
    out["prob_renormalized"] = out["prob_renormalized"].astype(bool)
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
