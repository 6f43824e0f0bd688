"""Model families: who belongs to which, per-family offsets, and a new family's draws.

Several methods use the family of a model (its maker's line of models: Llama-2, Pythia,
...) as the strongest structure of public-model data: the ``family`` baseline (an
efficiency offset in log compute), ``slice_sandwich`` on task-level data (an offset on the
log compute, learned by the baseline) and ``obsscaling`` (an offset of every capability).  They share what is here:

* :func:`family_labels`: the family of each row of a models table (a model whose family is
  not known counts as its own family);
* :class:`FamilyOffsets`: draws of every fitted family's offset and of a *new* family's
  offset (drawn from the spread of the fitted families' offsets), handed out per model;
* :class:`FamilySpread`: a mixin of :class:`~forecast.methods.base.Forecaster` subclasses
  whose between-model spread is measured around each fitted model's own family curve.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecast.errors import InputError

def family_labels(models: pd.DataFrame) -> np.ndarray:
    """The family of each row of ``models`` (``family`` column), as text.

    A row without a family (no column, or an empty value) counts as its own family, named
    after its ``model`` (or ``unnamed model i`` when there is no name either).
    """
    n = len(models)
    names = (models["model"].astype(str).to_numpy() if "model" in models.columns
             else np.array([f"unnamed model {i}" for i in range(n)], dtype=object))
    if "family" not in models.columns:
        return names.astype(str)
    fam = models["family"]
    known = fam.notna() & (fam.astype(str).str.strip() != "")
    return np.where(known.to_numpy(), fam.astype(str).to_numpy(), names).astype(str)


def fitted_family_labels(models: pd.DataFrame, names: list[str] | np.ndarray) -> np.ndarray | None:
    """Families of the fitted models ``names`` (in that order) from a models table, or None
    when the table tells no family (no column, or every model its own family)."""
    if "family" not in models.columns:
        return None
    table = models.drop_duplicates("model").set_index("model").reindex(list(names)).reset_index()
    labels = family_labels(table)
    if (labels == np.asarray(names, dtype=str)).all():
        return None
    return labels


def heldout_report(fitted: list[str], labels: np.ndarray) -> dict[str, int]:
    """How many held-out families and models (of families ``labels``) are not among the
    ``fitted`` families (diagnostics)."""
    labels = np.asarray(labels, dtype=str)
    new = sorted(set(labels) - set(fitted))
    return {"heldout_families": len(set(labels)), "new_heldout_families": len(new),
            "new_heldout_models": int(np.isin(labels, new).sum())}


@dataclass
class FamilyOffsets:
    """Draws of per-family offsets.

    Attributes
    ----------
    families : list of str
        The fitted families, in the order of ``fitted``'s second axis.
    fitted : ndarray, shape (n_draws, n_families, *shape)
        Draws of each fitted family's offset.
    new : ndarray, shape (n_draws, *shape)
        Draws of the offset of a family with no fitted model.
    """

    families: list[str]
    fitted: np.ndarray
    new: np.ndarray

    def draws(self, labels: np.ndarray) -> np.ndarray:
        """Offsets of models of families ``labels``: shape (n_draws, len(labels), *shape).

        A model of a fitted family gets that family's draws, any other the new-family draws.
        """
        code = {f: i for i, f in enumerate(self.families)}
        idx = np.array([code.get(str(f), -1) for f in labels], dtype=int)
        out = np.repeat(self.new[:, None, ...], len(idx), axis=1)
        seen = idx >= 0
        out[:, seen] = self.fitted[:, idx[seen]]
        return out


class FamilySpread:
    """Mixin for a :class:`~forecast.methods.base.Forecaster` with family offsets.

    While the base class estimates the between-model spread, ``_own_family_center`` is True:
    the subclass's ``_mean_draws`` then returns each fitted model's prediction with its own
    family's offset (the residuals are around that, not around a new family's curve, whose
    offset spread is already in the draws).  :meth:`_kind_draws` turns mean-curve draws of
    named models into the draws of ``kind``.
    """

    _own_family_center = False

    def _estimate_spread(self) -> None:
        self._own_family_center = True
        try:
            super()._estimate_spread()  # type: ignore[misc]
        finally:
            self._own_family_center = False

    def _kind_draws(self, mean: np.ndarray, kind: str) -> np.ndarray:
        if kind == "mean":
            return mean
        if kind != "observed":
            raise InputError(f"kind must be 'observed' or 'mean', got {kind!r}")
        return self._observed_draws(mean, self._noise_source())  # type: ignore[attr-defined]
