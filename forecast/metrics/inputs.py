"""Checked inputs of the per-question metrics: multiple-choice log-likelihoods and targets,
answer strings, and the ``loglik`` cells of a results table, each refused with one line
naming the row and value (:class:`~forecast.errors.InputError`)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd

from forecast.errors import InputError


def show_value(value: Any) -> str:
    """``repr`` of a value for messages, with numpy scalars shown as plain Python ones."""
    if isinstance(value, np.generic):
        value = value.item()
    return repr(value)


def row_name(i: int) -> str:
    return f"row {i}"


def check_choices(
    logliks: Any,
    targets: Any,
    describe: Callable[[int], str] = row_name,
) -> tuple[np.ndarray, np.ndarray]:
    """Validate multiple-choice inputs; return ``(logliks float 2-D, targets int 1-D)``.

    ``describe(i)`` names row ``i`` in error messages.
    """
    try:
        ll = np.asarray(logliks, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InputError(f"logliks must be a numeric 2-D array (ragged rows? pad with NaN): {exc}")
    if ll.ndim != 2:
        raise InputError(f"logliks must be 2-D (n_questions, n_choices), got shape {ll.shape}")
    t_raw = np.asarray(targets)
    if t_raw.ndim != 1:
        raise InputError(f"targets must be 1-D, got shape {t_raw.shape}")
    if t_raw.shape[0] != ll.shape[0]:
        raise InputError(
            f"targets has {t_raw.shape[0]} entries but logliks has {ll.shape[0]} rows"
        )
    if t_raw.dtype.kind in "iu":
        t = t_raw.astype(np.int64)
    elif t_raw.dtype.kind in "fb" or t_raw.size == 0:
        tf = t_raw.astype(float)
        bad = ~np.isfinite(tf) | (tf != np.round(tf))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputError(f"{describe(i)}: target {show_value(t_raw[i])} is not an integer index")
        t = tf.astype(np.int64)
    else:
        raise InputError(f"targets must be integers, got dtype {t_raw.dtype}")

    if np.isposinf(ll).any():
        i = int(np.flatnonzero(np.isposinf(ll).any(axis=1))[0])
        raise InputError(f"{describe(i)}: log-likelihood +inf is not allowed")
    valid = ~np.isnan(ll)
    n_valid = valid.sum(axis=1)
    empty = n_valid == 0
    if empty.any():
        i = int(np.flatnonzero(empty)[0])
        raise InputError(f"{describe(i)}: all log-likelihoods are NaN (no choices)")
    no_mass = ~np.isfinite(ll).any(axis=1)
    if no_mass.any():
        i = int(np.flatnonzero(no_mass)[0])
        raise InputError(f"{describe(i)}: every log-likelihood is -inf (probabilities are 0)")

    n_cols = ll.shape[1]
    in_cols = (t >= 0) & (t < n_cols)
    points_valid = np.zeros_like(in_cols)
    rows = np.flatnonzero(in_cols)
    points_valid[rows] = valid[rows, t[rows]]
    bad = ~points_valid
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"{describe(i)}: target {int(t[i])} out of range for {int(n_valid[i])} choices "
            f"(valid: 0..{int(n_valid[i]) - 1}, non-NaN)"
        )
    return ll, t


def check_strings(outputs: Any, targets: Any) -> tuple[np.ndarray, np.ndarray]:
    out = np.asarray(outputs, dtype=object)
    tgt = np.asarray(targets, dtype=object)
    if out.ndim == 0:
        out = out.reshape(1)
    if tgt.ndim == 0:
        tgt = tgt.reshape(1)
    if out.ndim != 1 or tgt.ndim != 1:
        raise InputError(f"outputs and targets must be 1-D, got shapes {out.shape} and {tgt.shape}")
    if out.shape != tgt.shape:
        raise InputError(
            f"outputs has {out.shape[0]} entries but targets has {tgt.shape[0]}"
        )
    for name, arr in (("outputs", out), ("targets", tgt)):
        is_str = np.fromiter((isinstance(v, str) for v in arr), dtype=bool, count=arr.size)
        if not is_str.all():
            i = int(np.flatnonzero(~is_str)[0])
            raise InputError(f"{name} row {i}: expected a string, got {show_value(arr[i])}")
    return out, tgt


def is_missing(cell: Any) -> bool:
    if cell is None or cell is pd.NA or cell is pd.NaT:
        return True
    if isinstance(cell, float) and np.isnan(cell):
        return True
    if isinstance(cell, str) and not cell.strip():
        return True
    return False


def parse_loglik_cell(cell: Any, i: int, describe: Callable[[int], str]) -> list[float]:
    value = cell
    if isinstance(cell, str):
        try:
            value = json.loads(cell)
        except json.JSONDecodeError as exc:
            raise InputError(f"{describe(i)}: loglik {cell!r} is not a JSON list ({exc.msg})")
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if not isinstance(value, (list, tuple)):
        raise InputError(f"{describe(i)}: loglik {show_value(cell)} is not a list of numbers")
    try:
        return [float(np.nan if v is None else v) for v in value]
    except (TypeError, ValueError):
        raise InputError(f"{describe(i)}: loglik {show_value(cell)} is not a list of numbers")


def loglik_matrix(
    cells: Iterable[Any], describe: Callable[[int], str] = row_name
) -> np.ndarray:
    """Turn per-question log-likelihood lists into a NaN-padded 2-D array.

    Parameters
    ----------
    cells : iterable
        One entry per question: a list/tuple/array of floats or a JSON string such as
        ``"[-1.2, -0.3]"``.  Missing cells (None, NaN, empty string) become all-NaN rows.
    describe : callable, optional
        ``describe(i)`` names entry ``i`` in error messages.

    Returns
    -------
    numpy.ndarray of float, shape (n_questions, max_choices)

    Raises
    ------
    InputError
        If a cell is not a list of numbers or not valid JSON.
    """
    rows = [
        [] if is_missing(c) else parse_loglik_cell(c, i, describe) for i, c in enumerate(cells)
    ]
    lengths = np.array([len(r) for r in rows], dtype=int)
    width = int(lengths.max()) if lengths.size else 0
    out = np.full((len(rows), width), np.nan)
    mask = np.arange(width)[None, :] < lengths[:, None]
    if mask.any():
        out[mask] = np.concatenate([np.asarray(r, dtype=float) for r in rows if r])
    return out
