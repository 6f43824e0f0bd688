"""A data fingerprint that cannot fail: a hash of every table of an :class:`EvalData`.

A bottom module (it imports nothing of the package): the backtest uses it to tell whether a
saved job used the same data (``--resume``), the methods to key the settings they learn.

How a table is hashed
---------------------
Each table is hashed as ``pandas.util.hash_pandas_object(table, index=False)``: pandas hashes
every cell by a canonical serialisation (the bytes of its text for text and other objects,
the bits of its value for numbers; missing cells -- ``None``, ``NaN``, ``pd.NA`` -- all hash
alike) and combines the columns row by row.  A table made only of hashable cells (every
table of the shipped data sets, every table read from CSV) hashes exactly as the backtest
hashed it before this module existed, so the fingerprints of saved backtest output are
unchanged (``bigbench_bigg``, ``slice_sandwich``, ``obsscaling``, ``olmo_ladder``: checked).

A cell pandas cannot hash (a list, tuple, array, dict or set: a ``loglik`` list not yet
turned into its stored form, a JSON Lines column of lists) is first replaced by its
canonical text (:func:`canonical_text`): a list of numbers by the same JSON text the schema
stores (``"[-1.0, -2.5]"``), so an :class:`EvalData` built around the schema hashes like the
validated one; anything else by sorted-key JSON, or its ``repr`` as a last resort.  A column
that pandas still cannot hash is hashed through the text of its cells.  No value can make
:func:`data_fingerprint` raise.
"""

from __future__ import annotations

import hashlib
import json
import math
import numbers
from typing import Any

import numpy as np
import pandas as pd

#: the tables of an EvalData that are hashed, in order
TABLES = ("models", "tasks", "results", "groups", "scores")


def _is_number(x: object) -> bool:
    kind = type(x)
    if kind is float or kind is int:  # the common case, without the slow ABC check
        return True
    return isinstance(x, numbers.Real) and not isinstance(x, (bool, np.bool_))


def float_list_text(values: Any) -> str:
    """The stored text of a list of numbers: ``json.dumps`` of the floats.

    Python's shortest round-trip ``repr`` of each float (lossless), ``", "`` between items,
    ``-Infinity`` / ``Infinity`` / ``NaN`` for the non-finite values (Python's :mod:`json`
    reads them back).  ``[-1, -2.5]`` gives ``"[-1.0, -2.5]"``.
    """
    return json.dumps([float(x) for x in values])


def _plain(value: Any) -> Any:
    """``value`` with arrays, tuples and sets as lists and numpy scalars as Python ones."""
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted((_plain(v) for v in value), key=repr)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def canonical_text(value: Any) -> str:
    """A canonical text of any cell; it never raises.

    A sequence of numbers (list, tuple, 1-D array) gives :func:`float_list_text`; other
    containers give JSON with sorted keys (numpy values as Python ones, non-JSON leaves by
    their ``str``); a value JSON cannot hold at all, its ``repr``.
    """
    try:
        if isinstance(value, (list, tuple, np.ndarray)):
            items = np.asarray(value, dtype=object).ravel().tolist() if isinstance(value, np.ndarray) else value
            if (not isinstance(value, np.ndarray) or np.ndim(value) == 1) and all(_is_number(x) for x in items):
                return float_list_text(items)
        return json.dumps(_plain(value), sort_keys=True, default=str)
    except (TypeError, ValueError, OverflowError, RecursionError):
        try:
            return repr(value)
        except Exception:  # noqa: BLE001 - a broken __repr__: the type still names it
            return f"<{type(value).__module__}.{type(value).__qualname__}>"


def _unhashable(value: Any) -> bool:
    if isinstance(value, (list, tuple, dict, set, np.ndarray)):
        return True
    try:
        hash(value)
    except TypeError:
        return True
    return False


def _missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def hashable_table(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with every cell pandas cannot hash replaced by its :func:`canonical_text`
    (``table`` itself when there is none)."""
    out = None
    for i, column in enumerate(table.columns):
        values = table.iloc[:, i]
        if values.dtype != object:
            continue
        cells = values.to_numpy()
        if not any(_unhashable(v) for v in cells):
            continue
        if out is None:
            out = table.copy()
        fixed = [None if _missing(v) else (canonical_text(v) if _unhashable(v) else v) for v in cells]
        out.isetitem(i, pd.Series(fixed, index=table.index, dtype=object))
    return table if out is None else out


def _as_text(table: pd.DataFrame) -> pd.DataFrame:
    """Every column pandas cannot hash as the text of its cells."""
    out = table.copy()
    for i in range(table.shape[1]):
        try:
            pd.util.hash_pandas_object(table.iloc[:, i], index=False)
        except Exception:  # noqa: BLE001 - an extension type without a hash: hash its text
            cells = table.iloc[:, i].astype(object).to_numpy()
            out.isetitem(i, pd.Series([None if _missing(v) else canonical_text(v) if not isinstance(v, str) else v
                                       for v in cells], index=table.index, dtype=object))
    return out


def table_hash(table: pd.DataFrame) -> bytes:
    """The bytes of the row hashes of ``table`` (``hash_pandas_object``, index left out)."""
    table = hashable_table(table)
    try:
        hashed = pd.util.hash_pandas_object(table, index=False)
    except Exception:  # noqa: BLE001 - see _as_text
        hashed = pd.util.hash_pandas_object(_as_text(table), index=False)
    return hashed.to_numpy().tobytes()


def data_fingerprint(data: Any) -> str:
    """A hash of every table of ``data`` (to tell whether a saved job used the same data).

    Parameters
    ----------
    data : EvalData
        Or anything with the attributes ``models, tasks, results, groups, scores`` (tables
        or None), ``multi_family`` and ``steps``.

    Returns
    -------
    str
        16 hexadecimal digits; the same for the same tables in any process.
    """
    h = hashlib.sha256()
    for label in TABLES:
        table = getattr(data, label)
        h.update(label.encode())
        if table is None:
            h.update(b"-")
            continue
        h.update(",".join(map(str, table.columns)).encode())
        h.update(table_hash(table))
    if getattr(data, "multi_family", False):  # changes what a job reports (emergence rows, score columns)
        h.update(b"multi_family")
    steps = getattr(data, "steps", None)
    if steps is not None:  # a ladder's checkpoints (absent elsewhere: those hashes unchanged)
        h.update(b"steps" + ",".join(map(str, steps.columns)).encode())
        h.update(table_hash(steps))
    return h.hexdigest()[:16]
