"""The method a user gets without naming one: one default per kind of data.

The defaults are what the selection rule of ``benchmarks/rule.py`` picked (its output is
committed as ``benchmarks/rule_pick.json``; a test checks that :data:`DEFAULT_BY_KIND` says
the same): chosen on the BIG-G tuning half, the group data and the ladder's own
pseudo-targets, never on the data sets the results report.

A data set's kind for this purpose is the most specific of its kinds
(:func:`~forecast.methods.contract.data_kinds`), in the order of :data:`KIND_ORDER`: a model
ladder before task-level data of many families, before task-level data, group aggregates,
per-question data with probabilities, sampled answers and per-question 0/1 results.
"""

from __future__ import annotations

from typing import Any

from forecast.data.dataset import EvalData
from forecast.methods.contract import data_kinds

#: most specific kind first
KIND_ORDER = ("ladder", "multi_family", "task_level", "group", "per_question_probs", "sampled", "per_question")
#: kind -> (method name or configured variant, parameters): the rule's picks
#: (``slice_sandwich_items`` / ``slice_sandwich_pooled``: the mixture with ``item_level`` /
#: ``pooled_logit`` as a fourth component)
DEFAULT_BY_KIND: dict[str, tuple[str, dict[str, Any]]] = {
    "ladder": ("two_step_slp", {}),
    "multi_family": ("slice_sandwich", {}),
    "task_level": ("slice_sandwich", {}),
    "group": ("slice_sandwich_pooled", {}),
    "per_question_probs": ("slice_sandwich_items", {}),
    "sampled": ("slice_sandwich_items", {}),
    "per_question": ("slice_sandwich_items", {}),
}


def default_kind(data: EvalData) -> str:
    """The kind of :data:`KIND_ORDER` that decides ``data``'s default method."""
    kinds = data_kinds(data)
    return next((k for k in KIND_ORDER if k in kinds), "per_question")


def default_method(data: EvalData) -> tuple[str, dict[str, Any], str]:
    """``(method name, parameters, kind)`` of the default method for ``data``."""
    kind = default_kind(data)
    name, params = DEFAULT_BY_KIND[kind]
    return name, dict(params), kind


def default_chain(data: EvalData) -> list[tuple[str, dict[str, Any], str]]:
    """The defaults of every kind ``data`` holds, most specific first, each method once.

    A caller fits the first and falls back to the next when a method does not apply to one
    task (``two_step_slp``, a ladder's default, needs the task's loss: a ladder task without
    one gets the task-level default)."""
    kinds = data_kinds(data)
    chain: list[tuple[str, dict[str, Any], str]] = []
    seen: set[str] = set()
    for kind in [k for k in KIND_ORDER if k in kinds] or ["per_question"]:
        name, params = DEFAULT_BY_KIND[kind]
        key = repr((name, sorted(params.items())))
        if key not in seen:
            seen.add(key)
            chain.append((name, dict(params), kind))
    return chain


__all__ = ["KIND_ORDER", "DEFAULT_BY_KIND", "default_kind", "default_method", "default_chain"]
