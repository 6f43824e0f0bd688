"""What a forecasting method declares about itself: its parameters' constraints and its tags.

In the spirit of scikit-learn's ``_parameter_constraints`` and estimator tags, every
:class:`~forecast.methods.base.Forecaster` subclass declares, in its class body,

* ``param_constraints``: its own constructor parameters' legal values
  (:class:`Integer`, :class:`Boolean`, :class:`Spread`); the base class checks the
  constraints of the whole class hierarchy at fit time with one-line errors;
* ``tags``: a :class:`ForecasterTags` saying which kinds of data it handles (see
  :data:`DATA_KINDS` and :func:`data_kinds`), whether it learns settings, whether it is a
  baseline and whether a backtest runs it by default.  The tags drive the backtest's
  default method lists, the baselines of the results tables, and the one-line refusal
  (:class:`~forecast.errors.NotApplicable`) of data the method does not handle.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from forecast.errors import InputError, NotApplicable

if TYPE_CHECKING:
    from forecast.data.dataset import EvalData

#: every kind of data a method can declare it handles
DATA_KINDS = (
    "per_question",        # per-question 0/1 results (``correct``)
    "per_question_probs",  # per-question results with ``p_correct`` / ``loglik``
    "sampled",             # sampled answers (``n_samples, n_correct`` per question)
    "group",               # difficulty-group aggregates (with whole-task scores)
    "task_level",          # one score per model and task
    "multi_family",        # task-level data of many model families (EvalData.multi_family)
    "ladder",              # a model ladder with checkpoints (``steps``)
)


def data_kinds(data: EvalData) -> frozenset[str]:
    """The kinds of :data:`DATA_KINDS` that ``data`` holds.

    The primary kind is one of ``per_question``, ``group`` and ``task_level``
    (:attr:`EvalData.kind`); per-question data with probabilities add
    ``per_question_probs``, sampled answers ``sampled``; data of many families add
    ``multi_family``, a ladder's checkpoints ``ladder``.
    """
    kinds: set[str] = set()
    if data.results is not None:
        kinds.add("per_question")
        cols = set(data.results.columns)
        if "n_samples" in cols or "n_correct" in cols:
            kinds.add("sampled")
        elif cols & {"p_correct", "loglik"}:
            kinds.add("per_question_probs")
    elif data.groups is not None:
        kinds.add("group")
    else:
        kinds.add("task_level")
    if getattr(data, "multi_family", False):
        kinds.add("multi_family")
    if getattr(data, "steps", None) is not None:
        kinds.add("ladder")
    return frozenset(kinds)


@dataclass(frozen=True)
class ForecasterTags:
    """What a method handles and how a backtest uses it.

    Parameters
    ----------
    handles : frozenset of str
        The data kinds (:data:`DATA_KINDS`) the method forecasts.  Data is refused when its
        primary kind (``per_question``, ``group`` or ``task_level``) is not handled.
    needs : frozenset of str
        Kinds the data must hold besides (``ladder`` for a ladder's checkpoints,
        ``multi_family`` for data of many families): other data is refused.
    learns_settings : bool
        The method learns settings at fit time from every task at the cut-off
        (``learn_context``); a backtest learns them once per data set and cut-off.  An
        instance may refine it (``Forecaster.learns_context``).
    is_baseline : bool
        A reference method: the results tables compare every other method to these.
    in_default_run : bool
        Run by ``backtest()`` when no methods are named (on data it handles).
    default_on : frozenset of str
        Kinds a data set must hold for a default run to add the method (besides
        ``needs``): ``multi_family`` for observational scaling, which fits any task-level
        data with families but joins the defaults only on data of many families.
    needs_families : int
        Fitted model families the method needs (``family``: 2); a default run leaves the
        method out on data sets whose models are all of fewer families.
    bounded : bool
        Its point forecasts stay inside the score's range [0, 1] (the published recipe's
        polynomials do not: it reproduces the paper's unbounded curves).
    """

    handles: frozenset[str] = frozenset(DATA_KINDS)
    needs: frozenset[str] = frozenset()
    learns_settings: bool = False
    is_baseline: bool = False
    in_default_run: bool = False
    default_on: frozenset[str] = frozenset()
    needs_families: int = 0
    bounded: bool = True

    def __post_init__(self) -> None:
        for label in ("handles", "needs", "default_on"):
            value = frozenset(getattr(self, label))
            unknown = sorted(value - set(DATA_KINDS))
            if unknown:
                raise ValueError(f"ForecasterTags.{label}: unknown data kind {unknown[0]!r} "
                                 f"(known: {', '.join(DATA_KINDS)})")
            object.__setattr__(self, label, value)

    @property
    def default_kinds(self) -> frozenset[str]:
        """The kinds a data set must hold for a default run to add the method."""
        return self.needs | self.default_on

    def with_(self, **changes: Any) -> ForecasterTags:
        """A copy with ``changes`` (for a subclass that differs in one tag)."""
        return replace(self, **changes)

    def refusal(self, kinds: frozenset[str] | set[str]) -> str | None:
        """Why data of ``kinds`` is not handled (one line), or None when it is."""
        primary = sorted(set(kinds) & {"per_question", "group", "task_level"})
        missing = sorted(self.needs - set(kinds))
        if missing:
            return f"needs {' and '.join(_KIND_TEXT[k] for k in missing)}"
        not_handled = [k for k in primary if k not in self.handles]
        extra = sorted(set(kinds) - {"per_question", "group", "task_level"} - self.handles - self.needs)
        if not_handled:
            return f"does not handle {_KIND_TEXT[not_handled[0]]}"
        if extra:
            return f"does not handle {_KIND_TEXT[extra[0]]}"
        return None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (sorted kinds)."""
        return {"handles": sorted(self.handles), "needs": sorted(self.needs),
                "learns_settings": self.learns_settings, "is_baseline": self.is_baseline,
                "in_default_run": self.in_default_run, "default_on": sorted(self.default_on),
                "needs_families": self.needs_families,
                "bounded": self.bounded}


_KIND_TEXT = {
    "per_question": "per-question data",
    "per_question_probs": "per-question probabilities (p_correct, loglik)",
    "sampled": "sampled answers (n_samples, n_correct)",
    "group": "difficulty-group data",
    "task_level": "task-level data",
    "multi_family": "data of many model families",
    "ladder": "a model ladder's checkpoints (steps)",
}


def refuse_data(name: str, tags: ForecasterTags, data: EvalData) -> None:
    """Raise :class:`NotApplicable` (one line naming the method, data and kind) when ``tags``
    do not declare the kinds of ``data``."""
    reason = tags.refusal(data_kinds(data))
    if reason is not None:
        raise NotApplicable(f"method {name!r} {reason}; data set {data.name!r} is "
                            f"{', '.join(sorted(data_kinds(data)))}")


# ---------------------------------------------------------------------- parameter constraints


@dataclass(frozen=True)
class Integer:
    """A whole number of at least ``low`` (``None`` allowed with ``none_ok``)."""

    low: int = 0
    none_ok: bool = False

    def check(self, name: str, value: Any) -> None:
        if value is None and self.none_ok:
            return
        if not isinstance(value, (int, np.integer)) or isinstance(value, (bool, np.bool_)) or value < self.low:
            extra = " (same seed, same output)" if name == "seed" else ""
            raise InputError(f"{name} must be an integer of at least {self.low}{extra}, got {value!r}")


@dataclass(frozen=True)
class Boolean:
    """``True`` or ``False``."""

    def check(self, name: str, value: Any) -> None:
        if not isinstance(value, (bool, np.bool_)):
            raise InputError(f"{name} must be True or False, got {value!r}")


@dataclass(frozen=True)
class Spread:
    """One or several positive finite numbers (a standard deviation); ``None`` means
    "learned at fit time"; ``zero_ok`` where 0 means "none"."""

    zero_ok: bool = False
    none_ok: bool = True

    def check(self, name: str, value: Any) -> None:
        if value is None and self.none_ok:
            return
        try:
            arr = np.atleast_1d(np.asarray(value, dtype=float))
        except (TypeError, ValueError):
            raise InputError(f"{name} must be positive numbers, got {value!r}") from None
        ok = (arr >= 0) if self.zero_ok else (arr > 0)
        if arr.size == 0 or arr.ndim != 1 or not (np.isfinite(arr) & ok).all():
            kind = "non-negative" if self.zero_ok else "positive"
            raise InputError(f"{name} must be {kind} finite numbers, got {value!r}")


Constraint = Integer | Boolean | Spread

__all__ = ["DATA_KINDS", "ForecasterTags", "data_kinds", "refuse_data", "Integer", "Boolean", "Spread",
           "Constraint"]
