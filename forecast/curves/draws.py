"""`CurveDraws`: posterior (or sampling) draws of every slice's curve on the link scale."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from forecast.curves.basis import design, from_link


@dataclass
class CurveDraws:
    """Draws of polynomial coefficients for every slice.

    Attributes
    ----------
    coef : ndarray, shape (n_draws, n_slices, degree + 1)
        Coefficients on the link (logit) scale, in powers of ``x - center``.
    center : float
        Centre of the polynomial basis (mean fitted log10 compute).
    metric : str
        Slice metric (``"tc_brier"`` or ``"accuracy"``): fixes the inverse link.
    extra : dict
        Other draws a curve model keeps (e.g. the PyMC path's accuracy map).
    n_questions : ndarray, shape (n_slices,), optional
        Question count of each slice when the link was fitted to counts with the
        half-question continuity correction (:func:`~forecast.curves.basis.to_link`);
        :meth:`scores` undoes the correction.
    """

    coef: np.ndarray
    center: float
    metric: str
    extra: dict = field(default_factory=dict)
    n_questions: np.ndarray | None = None

    @property
    def degree(self) -> int:
        return self.coef.shape[-1] - 1

    @property
    def n_draws(self) -> int:
        return self.coef.shape[0]

    def link(self, x: np.ndarray) -> np.ndarray:
        """Link-scale curves, shape (n_draws, n_slices, len(x))."""
        X = design(np.atleast_1d(x), self.center, self.degree)
        return np.einsum("sgp,np->sgn", self.coef, X)

    def scores(self, x: np.ndarray) -> np.ndarray:
        """Slice scores inside their metric's range, shape (n_draws, n_slices, len(x))."""
        return from_link(self.link(x), self.metric, self.n_questions)
