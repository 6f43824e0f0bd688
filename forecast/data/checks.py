"""Checks of a table's values, each refusing bad input with one line that names the source,
the column, the value and the row (:class:`~forecast.errors.InputError`), and the helpers
that write those lines."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from forecast.errors import InputError

#: longest value quoted in a message (a 400-digit number is cut, not printed whole)
MAX_SHOWN = 40


class Shown:
    """A value as a message shows it: plain Python repr, cut at :data:`MAX_SHOWN` characters."""

    def __init__(self, value: object) -> None:
        self.text = repr(value)
        if len(self.text) > MAX_SHOWN:
            self.text = f"{self.text[:MAX_SHOWN - 12]}... ({len(self.text)} characters)"

    def __repr__(self) -> str:
        return self.text


def as_shown(value: object) -> object:
    """A numpy scalar as the Python value it holds, so messages read ``1.5``, not ``np.float64(1.5)``;
    a long value is cut so that the message stays one short line."""
    value = value.item() if isinstance(value, np.generic) else value
    return Shown(value) if len(repr(value)) > MAX_SHOWN else value


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
            raise InputError(f"{source}: column {col!r} is blank at row {first_index(blank.reset_index(drop=True)) + 1}")


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


def row_where(df: pd.DataFrame, i: int, key: Sequence[str]) -> str:
    row = df.iloc[i]
    where = ", ".join(f"{k}={as_shown(row[k])!r}" for k in key if k in df.columns)
    return f" at row {i + 1}" + (f" ({where})" if where else "")


def first_index(mask: pd.Series | np.ndarray) -> int | None:
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
    i = first_index(bad)
    if i is not None:
        bound = f"a whole number of at least {lo}" + (f" and at most {as_shown(hi.iloc[i])!r}" if hi is not None else "")
        raise InputError(
            f"{source}: column {column!r} must be {bound}, found {as_shown(df[column].iloc[i])!r}"
            + row_where(df, i, key)
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
    i = first_index([p is None for p in parsed])
    if i is not None:
        raise InputError(
            f"{source}: column {column!r} must be true or false, found {as_shown(df[column].iloc[i])!r}"
            + row_where(df, i, key)
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
        i = first_index(~np.isfinite(values.to_numpy(dtype=float)))
        if i is not None:
            raise InputError(
                f"{source}: column {col!r} has a missing or non-finite value "
                f"{as_shown(df[col].iloc[i])!r}" + row_where(df, i, key)
            )


def require_unique(df: pd.DataFrame, key: Sequence[str], source: str) -> None:
    """Raise if two rows share the same ``key``, naming the first duplicate and the key
    columns that vary across the table (a column with one value throughout says nothing)."""
    dup = df.duplicated(list(key), keep="first")
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        row = df.iloc[i]
        varying = [k for k in key if df[k].nunique(dropna=False) > 1] or list(key)
        what = ", ".join(f"{k}={as_shown(row[k])!r}" for k in varying)
        first = int(np.flatnonzero((df[list(key)] == df[list(key)].iloc[i]).all(axis=1).to_numpy())[0])
        raise InputError(
            f"{source}: duplicate row for {what} at row {i + 1} (same {', '.join(key)} as row {first + 1})"
        )


def require_binary(df: pd.DataFrame, column: str, source: str, key: Sequence[str] = ()) -> None:
    """Raise unless ``column`` holds only 0 and 1."""
    values = to_float(df[column])
    i = first_index(~values.isin([0, 1]))
    if i is not None:
        raise InputError(
            f"{source}: column {column!r} must be 0 or 1, found {as_shown(df[column].iloc[i])!r}"
            + row_where(df, i, key)
        )


def require_range(
    df: pd.DataFrame, column: str, lo: float, hi: float, source: str, key: Sequence[str] = ()
) -> None:
    """Raise unless every value of ``column`` lies in ``[lo, hi]``."""
    values = to_float(df[column])
    i = first_index(~((values >= lo) & (values <= hi)))
    if i is not None:
        raise InputError(
            f"{source}: column {column!r} must lie in [{lo}, {hi}], found "
            f"{as_shown(df[column].iloc[i])!r}" + row_where(df, i, key)
        )


def is_absent(v: object) -> bool:
    """None, NaN, ``pd.NA`` or blank text: a cell that holds nothing."""
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    if isinstance(v, (float, np.floating)) and math.isnan(v):
        return True
    return isinstance(v, str) and not v.strip()

