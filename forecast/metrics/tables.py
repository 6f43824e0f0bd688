"""The per-question metric columns of a results table and their per-model means."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from forecast.errors import InputError
from forecast.metrics.inputs import check_choices, is_missing, loglik_matrix, show_value
from forecast.metrics.per_question import accuracy, multiclass_brier, p_correct, target_loglik, tc_brier

#: Per-question metric columns added by :func:`question_metrics`, in output order.
PER_QUESTION_METRICS: tuple[str, ...] = (
    "accuracy",
    "p_correct",
    "tc_brier",
    "multiclass_brier",
    "target_loglik",
)


def _frame_row_namer(df: pd.DataFrame, positions: np.ndarray) -> Callable[[int], str]:
    key = [k for k in ("task", "question_id", "model") if k in df.columns]

    def describe(i: int) -> str:
        pos = int(positions[i])
        row = df.iloc[pos]
        where = ", ".join(f"{k}={show_value(row[k])}" for k in key)
        return f"results row {pos + 1}" + (f" ({where})" if where else "")

    return describe


def question_metrics(df: pd.DataFrame) -> pd.DataFrame:
    """Add the per-question metric columns to a canonical long results table.

    Parameters
    ----------
    df : pandas.DataFrame
        Columns ``task, question_id, model`` and any of ``correct`` (0/1), ``loglik``
        (per-choice log-likelihoods: a Python list of floats or a JSON string such as
        ``"[-1.2, -0.3]"``), ``target`` (index of the correct choice) and ``p_correct``.

    Returns
    -------
    pandas.DataFrame
        A copy of ``df`` with whichever of ``accuracy, p_correct, tc_brier,
        multiclass_brier, target_loglik`` can be computed (all float):

        * rows with both ``loglik`` and ``target``: every metric from the logliks
          (``accuracy`` is the argmax grade, ``p_correct`` the renormalised probability,
          replacing any given ``p_correct``);
        * other rows: ``accuracy`` = ``correct`` and ``p_correct`` as given, with
          ``tc_brier`` computed from it; the loglik-only metrics are NaN.

        A column that no row can fill is not added.  Optional columns may be absent.

    Raises
    ------
    InputError
        On a missing ``task``/``question_id``/``model`` column, an unparsable ``loglik``,
        a bad ``target``, or ``correct``/``p_correct`` values out of range, naming the row
        (1-based) and its task, question and model.
    """
    missing = [c for c in ("task", "question_id", "model") if c not in df.columns]
    if missing:
        raise InputError(
            f"results: missing column {missing[0]!r} (has: {', '.join(map(str, df.columns))})"
        )
    out = df.copy()
    n = len(out)
    all_pos = np.arange(n)
    describe_all = _frame_row_namer(df, all_pos)
    cols: dict[str, np.ndarray] = {}

    if "correct" in out.columns:
        correct = pd.to_numeric(out["correct"], errors="coerce").to_numpy(dtype=float, copy=True)
        raw_missing = out["correct"].isna().to_numpy()
        bad = (np.isnan(correct) & ~raw_missing) | (~np.isnan(correct) & ~np.isin(correct, [0, 1]))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputError(
                f"{describe_all(i)}: correct must be 0 or 1, found {show_value(out['correct'].iloc[i])}"
            )
        cols["accuracy"] = correct
    if "p_correct" in out.columns:
        pc = pd.to_numeric(out["p_correct"], errors="coerce").to_numpy(dtype=float, copy=True)
        raw_missing = out["p_correct"].isna().to_numpy()
        bad = (np.isnan(pc) & ~raw_missing) | (~np.isnan(pc) & ~((pc >= 0) & (pc <= 1)))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputError(
                f"{describe_all(i)}: p_correct must lie in [0, 1], found "
                f"{show_value(out['p_correct'].iloc[i])}"
            )
        cols["p_correct"] = pc

    if "loglik" in out.columns and "target" in out.columns:
        has_ll = ~np.fromiter((is_missing(c) for c in out["loglik"]), dtype=bool, count=n)
        has_t = ~out["target"].isna().to_numpy()
        use = np.flatnonzero(has_ll & has_t)
        if use.size:
            describe = _frame_row_namer(df, use)
            ll = loglik_matrix(out["loglik"].to_numpy(dtype=object)[use], describe)
            t_raw = pd.to_numeric(out["target"].iloc[use], errors="coerce")
            bad = t_raw.isna().to_numpy()
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise InputError(
                    f"{describe(i)}: target {show_value(out['target'].iloc[use[i]])} is not an integer"
                )
            ll, t = check_choices(ll, t_raw.to_numpy(dtype=float), describe)
            for name, fn in (
                ("accuracy", accuracy),
                ("p_correct", p_correct),
                ("multiclass_brier", multiclass_brier),
                ("target_loglik", target_loglik),
            ):
                col = cols.setdefault(name, np.full(n, np.nan))
                col[use] = fn(ll, t)

    if "p_correct" in cols:
        cols["tc_brier"] = tc_brier(cols["p_correct"])

    for name in PER_QUESTION_METRICS:
        if name in cols:
            out[name] = cols[name].astype(float)
    return out


def model_metrics(df: pd.DataFrame) -> pd.DataFrame:
    """Per (task, model) means of the per-question metrics.

    Parameters
    ----------
    df : pandas.DataFrame
        A per-question table.  If it has no ``accuracy`` column it is first passed
        through :func:`question_metrics`.

    Returns
    -------
    pandas.DataFrame
        One row per (task, model), sorted, with columns ``task, model, n_questions`` and
        the mean of each per-question metric column present (NaN values are skipped in
        the mean; ``n_questions`` counts all rows of the group).

    Raises
    ------
    InputError
        On a missing ``task`` or ``model`` column, or as :func:`question_metrics`.
    """
    if "accuracy" not in df.columns:
        df = question_metrics(df)
    missing = [c for c in ("task", "model") if c not in df.columns]
    if missing:
        raise InputError(f"results: missing column {missing[0]!r}")
    present = [m for m in PER_QUESTION_METRICS if m in df.columns]
    grouped = df.groupby(["task", "model"], sort=True, dropna=False)
    table = grouped[present].mean() if present else grouped.size().to_frame().iloc[:, :0]
    table.insert(0, "n_questions", grouped.size().astype(int))
    return table.reset_index()
