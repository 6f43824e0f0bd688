"""Checks of the values a forecaster is asked about: raw compute, interval levels.

Re-exported by :mod:`forecast.methods.base`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from forecast.errors import InputError
from forecast.threshold import check_open_unit

__all__ = ["UNIT_SLIP_DECADES", "ZERO_OK_SD", "as_compute", "check_compute_scale", "check_level", "model_compute"]


def check_level(level: float) -> float:
    """Validate an interval level in (0, 1)."""
    return check_open_unit(level, "level")


def as_compute(values: Any, what: str = "compute") -> np.ndarray:
    """Raw compute values (FLOPs or parameters) as a positive finite float array.

    Text that is not a number (``'abc'``), an empty list, NaN, inf, zero or a negative value
    raise :class:`InputError` naming ``what``.
    """
    if isinstance(values, (bool, np.bool_)):
        raise InputError(f"{what} must be raw FLOPs or parameters, got {values!r}")
    try:
        arr = np.atleast_1d(np.asarray(values, dtype=float))
    except (TypeError, ValueError, OverflowError):
        shown = repr(values) if len(repr(values)) <= 40 else repr(values)[:30] + "..."
        raise InputError(f"{what} must be raw FLOPs or parameters such as 8e9, got {shown}") from None
    if arr.size == 0:
        raise InputError(f"{what} is empty; give at least one raw compute value")
    if arr.ndim != 1:
        raise InputError(f"{what} must be one value or a flat list of values, got shape {arr.shape}")
    bad = ~np.isfinite(arr) | (arr <= 0)
    if bad.any():
        raise InputError(f"{what} must be positive raw FLOPs or parameters, got {arr[bad][0].item()!r}")
    return arr


#: a compute value this many decades below every model's compute is surely a log10 value
#: or a value in other units (21.5 for 10^21.5 FLOPs, 31.6 for 3.16e22 = 31.6 x 1e21)
UNIT_SLIP_DECADES = 3.0


def check_compute_scale(values: Any, smallest: float, what: str = "compute") -> np.ndarray:
    """Refuse compute values more than :data:`UNIT_SLIP_DECADES` decades below ``smallest``
    (the smallest model's compute), with a hint at what was probably meant."""
    arr = as_compute(values, what)
    low = arr < smallest * 10.0 ** -UNIT_SLIP_DECADES
    if low.any():
        v = float(arr[low][0])
        decades = int(np.floor(np.log10(smallest) - np.log10(v)))
        hint = f"; did you mean {10.0 ** v:.3g} (10^{v:g})?" if v < 40 else "; give raw compute"
        raise InputError(
            f"{what} {v:g} is {decades} decades below the smallest model ({smallest:.3g}); "
            f"values are raw compute, not log10 or 1e21 units{hint}"
        )
    return arr


#: spread parameters for which 0 is meaningful (kept for old imports; each class declares
#: its own in ``param_constraints``)
ZERO_OK_SD = ("extrapolation_sd",)


def model_compute(models: pd.DataFrame) -> np.ndarray:
    """The raw ``compute`` column of a models table, validated (:func:`as_compute`)."""
    if not isinstance(models, pd.DataFrame) or "compute" not in models.columns:
        raise InputError("models must be a table with a 'compute' column (raw FLOPs or parameters)")
    return as_compute(models["compute"].to_numpy(dtype=float))
