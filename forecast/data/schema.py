"""The canonical tables and their validation.

Four tables carry everything a forecast needs:

``results``  (per question, long)
    ``task, question_id, model, correct`` with optional ``p_correct`` (target-conditioned
    probability), ``loglik`` (per-choice log-likelihoods), ``target`` (index of the correct
    choice), ``n_choices``, and ``metric``/``value`` pairs for generated answers (with the
    ``filter``, the generated ``output`` and the ``target_text`` of lm-eval logs).
``models``
    ``model, family, params, tokens, flops`` (raw counts; ``flops`` defaults to
    ``6·params·tokens`` when both are known).
``tasks``
    ``task, format, n_choices, chance`` with optional ``n_questions`` (question count, used
    by the binomial noise models of task-level data), ``task_group`` (the unit of per-task
    averages and task bootstraps: variants of one task share a group; default the task)
    and ``emergence_scored`` (False for a task without a meaningful chance, left out of
    emergence scoring but still forecast; default True).
``groups`` / ``scores`` (slice-level aggregates)
    ``task, model, prob_renormalized, n_groups, group_index, n_questions,
    difficulty_flops_max_1e21, metric, value`` and the whole-task
    ``task, model, prob_renormalized, metric, value``.

All scores are stored higher-is-better: a TC Brier score is ``-(1 - p)**2``.

Stored form of the results columns
----------------------------------
:func:`validate_results` gives every column one stored form, whatever the route the rows came
by (an lm-eval folder, CSV, TSV, parquet, JSON Lines, a DataFrame given to the API, a shipped
data set), so the same rows give the same table, the same :func:`data fingerprint
<forecast.data.fingerprint.data_fingerprint>` and byte-identical forecasts:

==================================  ==========================================================
column                              stored form
==================================  ==========================================================
``task, model, question_id``        text (pandas ``str``)
``correct``, ``n_samples``,         ``int64``
``n_correct``
``p_correct``, ``value``            ``float64``, NaN where absent
``target``, ``n_choices``           whole numbers: ``int64`` when every row has one, else
                                    ``float64`` with NaN where absent (the dtype a CSV file
                                    reads back as, so a CSV round trip keeps it)
``loglik``                          text: the JSON list of the per-choice log-likelihoods as
                                    floats, written by ``json.dumps`` (Python's shortest
                                    round-trip float ``repr``, lossless; ``", "`` between
                                    items; ``-Infinity`` for a choice of probability 0), e.g.
                                    ``"[-1.0, -2.25, -0.5]"``; NaN where absent.  Accepted as
                                    a list, tuple or array of numbers or as JSON text
                                    (``[-1, -2.25]`` is stored ``"[-1.0, -2.25]"``)
``filter, metric``                  text (pandas ``str``), NaN where absent; an empty text is
                                    absent (a CSV file cannot tell them apart)
``output, target_text``             text (pandas ``str``) on the rows of generated answers
                                    (a ``metric`` given), ``""`` an empty generation; NaN
                                    on the other rows (a CSV reads both kinds of empty
                                    cell as ``""``: the ``metric`` tells them apart)
any other column                    as given, except a cell holding a list, tuple, array, dict
                                    or set: its canonical JSON text
                                    (:func:`forecast.data.fingerprint.canonical_text`)
==================================  ==========================================================

Text is hashable, is written to CSV and parquet and read back byte for byte, and is the form
``forecast ingest lm-eval`` has always written, so fingerprints of tables read from such
files are unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import json
import math
import numbers

import numpy as np
import pandas as pd

from forecast.data.fingerprint import canonical_text, float_list_text
from forecast.errors import InputError

RESULTS_REQUIRED = ("task", "question_id", "model", "correct")
RESULTS_OPTIONAL = ("p_correct", "loglik", "target", "n_choices", "metric", "value")
#: text columns of a results table besides the names (stored as ``str``, NaN where absent)
RESULTS_TEXT = ("filter", "metric", "output", "target_text")
#: every text column a user table may hold: a reader keeps them as text (``"007"`` stays
#: ``"007"``, an answer ``"None"`` stays ``"None"``)
TEXT_COLUMNS = ("task", "question_id", "model", "family", "format", "task_group", *RESULTS_TEXT)
#: text columns in which an empty text is a value (an empty generation), not a missing one
ANSWER_TEXT = ("output", "target_text")
MODELS_REQUIRED = ("model",)
MODELS_COLUMNS = ("model", "family", "params", "tokens", "flops")
TASKS_REQUIRED = ("task", "format", "chance")
TASKS_COLUMNS = ("task", "format", "n_choices", "chance")
#: optional task columns kept when given (fixed a priori, never computed from scores)
TASKS_OPTIONAL = ("n_questions", "task_group", "emergence_scored")
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


#: longest value quoted in a message (a 400-digit number is cut, not printed whole)
MAX_SHOWN = 40


class _Shown:
    """A value as a message shows it: plain Python repr, cut at :data:`MAX_SHOWN` characters."""

    def __init__(self, value: object) -> None:
        self.text = repr(value)
        if len(self.text) > MAX_SHOWN:
            self.text = f"{self.text[:MAX_SHOWN - 12]}... ({len(self.text)} characters)"

    def __repr__(self) -> str:
        return self.text


def _plain(value: object) -> object:
    """A numpy scalar as the Python value it holds, so messages read ``1.5``, not ``np.float64(1.5)``;
    a long value is cut so that the message stays one short line."""
    value = value.item() if isinstance(value, np.generic) else value
    return _Shown(value) if len(repr(value)) > MAX_SHOWN else value


def to_float(values: pd.Series) -> pd.Series:
    """``values`` as floats; anything that is not a finite-size number (text, a 400-digit
    integer that overflows a float, a list) becomes NaN, never an exception."""
    try:
        out = pd.to_numeric(values, errors="coerce")
        return out.astype(float)
    except (OverflowError, TypeError, ValueError):
        pass

    def one(v: object) -> float:
        try:
            if isinstance(v, str):
                v = v.strip()
            x = float(v)  # type: ignore[arg-type]
        except (OverflowError, TypeError, ValueError):
            return np.nan
        return x

    return pd.Series([one(v) for v in values], index=values.index, dtype=float)


def require_names(df: pd.DataFrame, columns: tuple[str, ...], source: str) -> None:
    """Refuse a missing or blank name (``task``, ``model``) with the row it sits in."""
    for col in columns:
        if col not in df.columns:
            continue
        values = df[col]
        blank = values.isna() | (values.astype(str).str.strip().isin(["", "nan", "None"]))
        if blank.any():
            raise InputError(f"{source}: column {col!r} is blank at row {_first(blank.reset_index(drop=True)) + 1}")


def require_columns(df: pd.DataFrame, columns: Iterable[str], source: str) -> None:
    """Raise :class:`InputError` naming the first missing column of ``source``.

    Names match exactly: a column ``'correct '`` or ``'Correct'`` does not stand in for
    ``'correct'``; the message names the near miss so that the user can rename it.
    """
    missing = [c for c in columns if c not in df.columns]
    if missing:
        want = missing[0]
        near = [str(c) for c in df.columns if str(c).strip().casefold() == want.casefold()]
        hint = (
            f"; found {near[0]!r}: column names must match exactly" if near
            else f" (has: {', '.join(map(str, df.columns))})"
        )
        raise InputError(f"{source}: missing column {want!r}{hint}")


def _where(df: pd.DataFrame, i: int, key: Sequence[str]) -> str:
    row = df.iloc[i]
    where = ", ".join(f"{k}={_plain(row[k])!r}" for k in key if k in df.columns)
    return f" at row {i + 1}" + (f" ({where})" if where else "")


def _first(mask: pd.Series | np.ndarray) -> int | None:
    hits = np.flatnonzero(np.asarray(mask, dtype=bool))
    return int(hits[0]) if len(hits) else None


def require_integer(
    df: pd.DataFrame, column: str, lo: int, source: str, key: Sequence[str] = (), hi: pd.Series | None = None
) -> pd.Series:
    """Whole numbers ``>= lo`` (and ``<= hi`` row by row when given); return them as ints."""
    values = to_float(df[column])
    bad = ~np.isfinite(values) | (values != np.round(values)) | (values < lo)
    if hi is not None:
        bad |= values > hi.to_numpy(dtype=float)
    i = _first(bad)
    if i is not None:
        bound = f"a whole number of at least {lo}" + (f" and at most {_plain(hi.iloc[i])!r}" if hi is not None else "")
        raise InputError(
            f"{source}: column {column!r} must be {bound}, found {_plain(df[column].iloc[i])!r}"
            + _where(df, i, key)
        )
    return values.astype(np.int64)


TRUE_TEXT = frozenset({"true", "1", "1.0", "yes"})
FALSE_TEXT = frozenset({"false", "0", "0.0", "no"})


def to_bool(df: pd.DataFrame, column: str, source: str, key: Sequence[str] = ()) -> pd.Series:
    """A true/false column: booleans, 0/1, or the words true/false (any case); anything else
    (``'maybe'``, a blank, 2) is refused, never read as True."""

    def one(v: object) -> bool | None:
        if isinstance(v, (bool, np.bool_)):
            return bool(v)
        if isinstance(v, (int, float, np.integer, np.floating)) and v in (0, 1):
            return bool(v)
        if isinstance(v, str):
            t = v.casefold()
            return True if t in TRUE_TEXT else False if t in FALSE_TEXT else None
        return None

    parsed = [one(v) for v in df[column]]
    i = _first([p is None for p in parsed])
    if i is not None:
        raise InputError(
            f"{source}: column {column!r} must be true or false, found {_plain(df[column].iloc[i])!r}"
            + _where(df, i, key)
        )
    return pd.Series(parsed, index=df.index, dtype=bool)


def require_finite(
    df: pd.DataFrame, columns: Iterable[str], source: str, key: Sequence[str] = ()
) -> None:
    """Raise if a numeric column holds NaN/inf or a non-number, naming the row."""
    for col in columns:
        if col not in df.columns:
            continue
        values = to_float(df[col])
        i = _first(~np.isfinite(values.to_numpy(dtype=float)))
        if i is not None:
            raise InputError(
                f"{source}: column {col!r} has a missing or non-finite value "
                f"{_plain(df[col].iloc[i])!r}" + _where(df, i, key)
            )


def require_unique(df: pd.DataFrame, key: Sequence[str], source: str) -> None:
    """Raise if two rows share the same ``key``, naming the first duplicate and the key
    columns that vary across the table (a column with one value throughout says nothing)."""
    dup = df.duplicated(list(key), keep="first")
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        row = df.iloc[i]
        shown = [k for k in key if df[k].nunique(dropna=False) > 1] or list(key)
        what = ", ".join(f"{k}={_plain(row[k])!r}" for k in shown)
        first = int(np.flatnonzero((df[list(key)] == df[list(key)].iloc[i]).all(axis=1).to_numpy())[0])
        raise InputError(
            f"{source}: duplicate row for {what} at row {i + 1} (same {', '.join(key)} as row {first + 1})"
        )


def require_binary(df: pd.DataFrame, column: str, source: str, key: Sequence[str] = ()) -> None:
    """Raise unless ``column`` holds only 0 and 1."""
    values = to_float(df[column])
    i = _first(~values.isin([0, 1]))
    if i is not None:
        raise InputError(
            f"{source}: column {column!r} must be 0 or 1, found {_plain(df[column].iloc[i])!r}"
            + _where(df, i, key)
        )


def require_range(
    df: pd.DataFrame, column: str, lo: float, hi: float, source: str, key: Sequence[str] = ()
) -> None:
    """Raise unless every value of ``column`` lies in ``[lo, hi]``."""
    values = to_float(df[column])
    i = _first(~((values >= lo) & (values <= hi)))
    if i is not None:
        raise InputError(
            f"{source}: column {column!r} must lie in [{lo}, {hi}], found "
            f"{_plain(df[column].iloc[i])!r}" + _where(df, i, key)
        )


def _absent(v: object) -> bool:
    """None, NaN, ``pd.NA`` or blank text: a cell that holds nothing."""
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    if isinstance(v, (float, np.floating)) and math.isnan(v):
        return True
    return isinstance(v, str) and not v.strip()


def _is_real(x: object) -> bool:
    kind = type(x)
    if kind is float or kind is int:  # the common case, without the slow ABC check
        return True
    return isinstance(x, numbers.Real) and not isinstance(x, (bool, np.bool_))


def loglik_text(cell: object) -> str | None:
    """The stored form of one ``loglik`` cell: JSON text of the floats (None when absent).

    Raises
    ------
    ValueError
        When the cell is not a list of at least two numbers, or one is NaN or ``+inf``
        (``-inf`` is a choice of probability 0).
    """
    if _absent(cell):
        return None
    value = cell
    if isinstance(cell, str):
        try:
            value = json.loads(cell)
        except (json.JSONDecodeError, RecursionError):
            raise ValueError("not a JSON list of numbers") from None
    if isinstance(value, np.ndarray):
        if value.ndim != 1:
            raise ValueError("not a flat list of numbers")
        value = value.tolist()
    if not isinstance(value, (list, tuple)) or not all(_is_real(x) for x in value):
        raise ValueError("not a list of numbers")
    if len(value) < 2:
        raise ValueError("a multiple-choice question needs one log-likelihood per choice, at least two")
    try:
        floats = [float(x) for x in value]
    except OverflowError:
        raise ValueError("holds a number too large for a float") from None
    if any(math.isnan(x) or x == math.inf for x in floats):
        raise ValueError("holds NaN or +inf")
    return float_list_text(floats)


def _normalise_loglik(out: pd.DataFrame, source: str, key: Sequence[str]) -> None:
    texts = []
    for i, cell in enumerate(out["loglik"].to_numpy(dtype=object)):
        try:
            texts.append(loglik_text(cell))
        except (ValueError, OverflowError, RecursionError) as exc:
            raise InputError(
                f"{source}: column 'loglik' must be a list of log-likelihoods (JSON text such as "
                f"'[-1.2, -0.3]'), found {_plain(_shown_cell(cell))!r}: {exc}" + _where(out, i, key)
            ) from None
    out["loglik"] = pd.Series(texts, index=out.index, dtype="str")


def _shown_cell(cell: object) -> object:
    return cell.tolist() if isinstance(cell, np.ndarray) else cell


def _whole_numbers(out: pd.DataFrame, column: str, lo: int, source: str, key: Sequence[str]) -> None:
    """``column`` as whole numbers ``>= lo`` where given: int64 when complete, else float64."""
    given = ~np.fromiter((_absent(v) for v in out[column].to_numpy(dtype=object)), dtype=bool, count=len(out))
    values = to_float(out[column])
    bad = given & ~(np.isfinite(values) & (values == np.round(values)) & (values >= lo))
    i = _first(bad)
    if i is not None:
        raise InputError(
            f"{source}: column {column!r} must be a whole number of at least {lo}, found "
            f"{_plain(out[column].iloc[i])!r}" + _where(out, i, key)
        )
    values = values.where(given)
    out[column] = values.astype(np.int64) if given.all() else values.astype(float)


def _text_column(values: pd.Series, keep_empty: bool = False) -> pd.Series:
    """Text as pandas ``str``, NaN where absent (an empty text too, unless ``keep_empty``)."""
    cells = values.to_numpy(dtype=object)
    text = [v if keep_empty and isinstance(v, str) else None if _absent(v) else v if isinstance(v, str) else
            (canonical_text(v) if isinstance(v, (list, tuple, dict, set, np.ndarray)) else str(_plain_value(v)))
            for v in cells]
    return pd.Series(text, index=values.index, dtype="str")


def _plain_value(v: object) -> object:
    return v.item() if isinstance(v, np.generic) else v


def _canonical_cells(out: pd.DataFrame) -> None:
    """Cells of other object columns that hold a list, tuple, array, dict or set: their
    canonical JSON text (hashable, and the same after a CSV or parquet round trip)."""
    for i, column in enumerate(out.columns):
        values = out.iloc[:, i]
        if values.dtype != object:
            continue
        cells = values.to_numpy()
        nested = [isinstance(v, (list, tuple, dict, set, np.ndarray)) for v in cells]
        if any(nested):
            out.isetitem(i, pd.Series([canonical_text(v) if n else v for v, n in zip(cells, nested)],
                                      index=out.index, dtype=object))


def _choice_counts(loglik: pd.Series) -> np.ndarray:
    """Items of each stored ``loglik`` text (NaN where absent): a stored float has no comma."""
    return np.asarray([float(t.count(",") + 1) if isinstance(t, str) else np.nan for t in loglik], dtype=float)


def _stored_form(out: pd.DataFrame, source: str, key: Sequence[str]) -> None:
    """Give the optional results columns their one stored form (module docstring)."""
    if "loglik" in out.columns:
        _normalise_loglik(out, source, key)
    if "n_choices" in out.columns:
        _whole_numbers(out, "n_choices", 2, source, key)
    if "target" in out.columns:
        _whole_numbers(out, "target", 0, source, key)
        target = out["target"].to_numpy(dtype=float)
        bounds = []
        if "n_choices" in out.columns:
            bounds.append(("n_choices", out["n_choices"].to_numpy(dtype=float)))
        if "loglik" in out.columns:
            bounds.append(("loglik", _choice_counts(out["loglik"])))
        for what, n in bounds:
            i = _first(np.isfinite(target) & np.isfinite(n) & (target >= n))
            if i is not None:
                raise InputError(
                    f"{source}: column 'target' is {int(target[i])}, out of range for the {int(n[i])} choices "
                    f"of column {what!r} (valid 0..{int(n[i]) - 1})" + _where(out, i, key)
                )
    if "n_choices" in out.columns and "loglik" in out.columns:
        counts = _choice_counts(out["loglik"])
        n = out["n_choices"].to_numpy(dtype=float)
        i = _first(np.isfinite(n) & np.isfinite(counts) & (n != counts))
        if i is not None:
            raise InputError(
                f"{source}: column 'n_choices' is {int(n[i])} but column 'loglik' holds {int(counts[i])} "
                "log-likelihoods" + _where(out, i, key)
            )
    if "value" in out.columns:
        given = ~np.fromiter((_absent(v) for v in out["value"].to_numpy(dtype=object)), dtype=bool, count=len(out))
        values = to_float(out["value"])
        i = _first(given & ~np.isfinite(values))
        if i is not None:
            raise InputError(
                f"{source}: column 'value' must be a finite number, found {_plain(out['value'].iloc[i])!r}"
                + _where(out, i, key)
            )
        out["value"] = values.where(given).astype(float)
    for column in RESULTS_TEXT:
        if column in out.columns:
            out[column] = _text_column(out[column], keep_empty=column in ANSWER_TEXT)
    if "metric" in out.columns:  # answer text belongs to generated rows (a CSV reads "" elsewhere)
        for column in ANSWER_TEXT:
            if column in out.columns:
                out[column] = out[column].where(out["metric"].notna())
    _canonical_cells(out)


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
    _stored_form(out, source, key)
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
    empty = out["model"].str.strip() == ""
    if empty.any():
        raise InputError(f"{source}: column 'model' is blank at row {_first(empty) + 1}")
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
            f"{source}: task {out['task'].iloc[i]!r} has format {_plain(raw['format'].iloc[i])!r} "
            f"in column 'format'; use one of {', '.join(TASK_FORMATS)}"
        )
    i = _first(given_chance & ~np.isfinite(out["chance"]))
    if i is not None:
        raise InputError(
            f"{source}: column 'chance' is not a number ({_plain(raw['chance'].iloc[i])!r}) for task "
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
    i = _first(~((out["chance"] >= 0.0) & (out["chance"] < 1.0)))
    if i is not None:
        raise InputError(
            f"{source}: column 'chance' must lie in [0, 1) (1 leaves nothing to learn), found "
            f"{_plain(raw['chance'].iloc[i])!r} for task {out['task'].iloc[i]!r}"
        )
    given_n = raw["n_choices"].notna() & (raw["n_choices"].astype(str).str.strip() != "")
    n = out["n_choices"]
    i = _first(given_n & ~(np.isfinite(n) & (n >= 2) & (n == np.round(n))))
    if i is not None:
        raise InputError(
            f"{source}: column 'n_choices' must be a whole number of at least 2, found "
            f"{_plain(raw['n_choices'].iloc[i])!r} for task {out['task'].iloc[i]!r}"
        )
    empty = out["task"].str.strip() == ""
    if empty.any():
        raise InputError(f"{source}: column 'task' is blank at row {_first(empty) + 1}")
    require_unique(out, ["task"], source)
    return _optional_task_columns(out, raw=df, source=source).reset_index(drop=True)


def _optional_task_columns(out: pd.DataFrame, raw: pd.DataFrame, source: str) -> pd.DataFrame:
    """Check and normalise ``n_questions``, ``task_group`` and ``emergence_scored``."""
    if "n_questions" in out.columns:
        n = to_float(out["n_questions"])
        given = raw["n_questions"].notna() & (raw["n_questions"].astype(str).str.strip() != "")
        i = _first(given.to_numpy() & ~(np.isfinite(n) & (n >= 1) & (n == np.round(n))))
        if i is not None:
            raise InputError(
                f"{source}: column 'n_questions' must be a whole number of at least 1, found "
                f"{_plain(raw['n_questions'].iloc[i])!r} for task {out['task'].iloc[i]!r}"
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
                f"{_plain(raw['emergence_scored'].iloc[i])!r} for task {out['task'].iloc[i]!r}"
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
        i = _first(rows & ~((values >= lo) & (values <= hi)))
        if i is not None:
            what = "a loss in [0, 1] or a score in [-1, 0]" if name in BRIER_METRICS else f"in [{lo}, {hi}]"
            raise InputError(
                f"{source}: column 'value' for metric {name!r} must be {what}, found "
                f"{_plain(out['value'].iloc[i])!r}" + _where(out, i, key)
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
    i = _first(out["difficulty_flops_max_1e21"] <= 0)
    if i is not None:
        raise InputError(
            f"{source}: column 'difficulty_flops_max_1e21' must be positive (FLOPs / 1e21), found "
            f"{_plain(out['difficulty_flops_max_1e21'].iloc[i])!r}" + _where(out, i, key)
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
