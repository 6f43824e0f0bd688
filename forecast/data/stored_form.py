"""The one stored form of each results column, whatever the route the rows came by.

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

import json
import math
import numbers
from collections.abc import Sequence

import numpy as np
import pandas as pd

from forecast.data.checks import as_shown, first_index, is_absent, row_where, to_float
from forecast.data.columns import ANSWER_TEXT, RESULTS_TEXT
from forecast.data.fingerprint import canonical_text, float_list_text
from forecast.errors import InputError

def is_real(x: object) -> bool:
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
    if is_absent(cell):
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
    if not isinstance(value, (list, tuple)) or not all(is_real(x) for x in value):
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


def normalise_loglik(out: pd.DataFrame, source: str, key: Sequence[str]) -> None:
    texts = []
    for i, cell in enumerate(out["loglik"].to_numpy(dtype=object)):
        try:
            texts.append(loglik_text(cell))
        except (ValueError, OverflowError, RecursionError) as exc:
            raise InputError(
                f"{source}: column 'loglik' must be a list of log-likelihoods (JSON text such as "
                f"'[-1.2, -0.3]'), found {as_shown(shown_cell(cell))!r}: {exc}" + row_where(out, i, key)
            ) from None
    out["loglik"] = pd.Series(texts, index=out.index, dtype="str")


def shown_cell(cell: object) -> object:
    return cell.tolist() if isinstance(cell, np.ndarray) else cell


def whole_numbers(out: pd.DataFrame, column: str, lo: int, source: str, key: Sequence[str]) -> None:
    """``column`` as whole numbers ``>= lo`` where given: int64 when complete, else float64."""
    given = ~np.fromiter((is_absent(v) for v in out[column].to_numpy(dtype=object)), dtype=bool, count=len(out))
    values = to_float(out[column])
    bad = given & ~(np.isfinite(values) & (values == np.round(values)) & (values >= lo))
    i = first_index(bad)
    if i is not None:
        raise InputError(
            f"{source}: column {column!r} must be a whole number of at least {lo}, found "
            f"{as_shown(out[column].iloc[i])!r}" + row_where(out, i, key)
        )
    values = values.where(given)
    out[column] = values.astype(np.int64) if given.all() else values.astype(float)


def text_column(values: pd.Series, keep_empty: bool = False) -> pd.Series:
    """Text as pandas ``str``, NaN where absent (an empty text too, unless ``keep_empty``)."""
    cells = values.to_numpy(dtype=object)
    text = [v if keep_empty and isinstance(v, str) else None if is_absent(v) else v if isinstance(v, str) else
            (canonical_text(v) if isinstance(v, (list, tuple, dict, set, np.ndarray)) else str(plain_value(v)))
            for v in cells]
    return pd.Series(text, index=values.index, dtype="str")


def plain_value(v: object) -> object:
    return v.item() if isinstance(v, np.generic) else v


def canonical_cells(out: pd.DataFrame) -> None:
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


def choice_counts(loglik: pd.Series) -> np.ndarray:
    """Items of each stored ``loglik`` text (NaN where absent): a stored float has no comma."""
    return np.asarray([float(t.count(",") + 1) if isinstance(t, str) else np.nan for t in loglik], dtype=float)


def stored_form(out: pd.DataFrame, source: str, key: Sequence[str]) -> None:
    """Give the optional results columns their one stored form (module docstring)."""
    if "loglik" in out.columns:
        normalise_loglik(out, source, key)
    if "n_choices" in out.columns:
        whole_numbers(out, "n_choices", 2, source, key)
    if "target" in out.columns:
        whole_numbers(out, "target", 0, source, key)
        target = out["target"].to_numpy(dtype=float)
        bounds = []
        if "n_choices" in out.columns:
            bounds.append(("n_choices", out["n_choices"].to_numpy(dtype=float)))
        if "loglik" in out.columns:
            bounds.append(("loglik", choice_counts(out["loglik"])))
        for what, n in bounds:
            i = first_index(np.isfinite(target) & np.isfinite(n) & (target >= n))
            if i is not None:
                raise InputError(
                    f"{source}: column 'target' is {int(target[i])}, out of range for the {int(n[i])} choices "
                    f"of column {what!r} (valid 0..{int(n[i]) - 1})" + row_where(out, i, key)
                )
    if "n_choices" in out.columns and "loglik" in out.columns:
        counts = choice_counts(out["loglik"])
        n = out["n_choices"].to_numpy(dtype=float)
        i = first_index(np.isfinite(n) & np.isfinite(counts) & (n != counts))
        if i is not None:
            raise InputError(
                f"{source}: column 'n_choices' is {int(n[i])} but column 'loglik' holds {int(counts[i])} "
                "log-likelihoods" + row_where(out, i, key)
            )
    if "value" in out.columns:
        given = ~np.fromiter((is_absent(v) for v in out["value"].to_numpy(dtype=object)), dtype=bool, count=len(out))
        values = to_float(out["value"])
        i = first_index(given & ~np.isfinite(values))
        if i is not None:
            raise InputError(
                f"{source}: column 'value' must be a finite number, found {as_shown(out['value'].iloc[i])!r}"
                + row_where(out, i, key)
            )
        out["value"] = values.where(given).astype(float)
    for column in RESULTS_TEXT:
        if column in out.columns:
            out[column] = text_column(out[column], keep_empty=column in ANSWER_TEXT)
    if "metric" in out.columns:  # answer text belongs to generated rows (a CSV reads "" elsewhere)
        for column in ANSWER_TEXT:
            if column in out.columns:
                out[column] = out[column].where(out["metric"].notna())
    canonical_cells(out)
