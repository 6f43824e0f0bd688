"""Per-question metrics, per-model aggregates and the emergence score.

The same model outputs can look "emergent" or smooth depending on the metric used to score
them (METHOD.md section 2; Schaeffer, Miranda & Koyejo 2023).  This module computes the
discontinuous metrics (multiple-choice grade, exact match) next to the continuous ones
(target-conditioned probability, Brier scores, target log-likelihood, token edit distance)
and the BIG-bench emergence score ("breakthroughness") of a metric's curve over model scale.

Conventions
-----------
* Every score is **higher-is-better**.  The Brier scores are returned negated
  (``tc_brier = -(1 - p)**2`` in ``[-1, 0]``, ``multiclass_brier`` in ``[-2, 0]``).
  The one exception is :func:`token_edit_distance`, a distance (lower is better);
  :func:`neg_token_edit_distance` is its higher-is-better form.
* Multiple-choice inputs are a 2-D array ``logliks`` of shape ``(n_questions, n_choices)``
  with NaN padding for questions with fewer choices (NaN choices are ignored) and an
  integer array ``targets`` of correct-choice column indices.  ``-inf`` is a valid
  log-likelihood (probability 0); ``+inf`` is not.
* Bad input raises :class:`forecast.errors.InputError` with a one-line message naming the
  offending row and value.

Modules: :mod:`~forecast.metrics.inputs` (checked inputs, ``loglik`` cells),
:mod:`~forecast.metrics.per_question` (the scores), :mod:`~forecast.metrics.tables` (a results
table's metric columns, per-model means), :mod:`~forecast.metrics.emergence` (the emergence
score), :mod:`~forecast.metrics.registry` (every metric of the data declared once: range,
direction, chance level, noise model, per-question score; the forecast target is one of
them).  Every name is importable from ``forecast.metrics``.
"""

from __future__ import annotations

from forecast.metrics.emergence import emergence_score, emergence_scores
from forecast.metrics.inputs import loglik_matrix
from forecast.metrics.per_question import (
    accuracy,
    exact_match,
    multiclass_brier,
    neg_token_edit_distance,
    p_correct,
    target_loglik,
    tc_brier,
    token_edit_distance,
)
from forecast.metrics.registry import (
    DEFAULT_TARGET,
    METRICS,
    NOISE_MODELS,
    Metric,
    get_metric,
    is_metric,
    register_metric,
    task_table_metrics,
)
from forecast.metrics.tables import PER_QUESTION_METRICS, model_metrics, question_metrics

__all__ = [
    "DEFAULT_TARGET",
    "METRICS",
    "NOISE_MODELS",
    "Metric",
    "get_metric",
    "is_metric",
    "register_metric",
    "task_table_metrics",
    "PER_QUESTION_METRICS",
    "accuracy",
    "p_correct",
    "tc_brier",
    "multiclass_brier",
    "target_loglik",
    "exact_match",
    "token_edit_distance",
    "neg_token_edit_distance",
    "loglik_matrix",
    "question_metrics",
    "model_metrics",
    "emergence_score",
    "emergence_scores",
]
