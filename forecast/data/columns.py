"""The canonical tables: their columns (what each table requires, may hold, and stores as text).


Four tables carry everything a forecast needs:

``results``  (per question, long)
    ``task, question_id, model, correct`` with optional ``p_correct`` (target-conditioned
    probability), ``loglik`` (per-choice log-likelihoods), ``target`` (index of the correct
    choice), ``n_choices``, and ``metric``/``value`` pairs for generated answers (with the
    ``filter``, the generated ``output`` and the ``target_text`` of lm-eval logs).
``models``
    ``model, family, params, tokens, flops`` (raw counts; ``flops`` defaults to
    ``6·params·tokens`` when both are known).
``tasks``
    ``task, format, n_choices, chance`` with optional ``n_questions`` (question count, used
    by the binomial noise models of task-level data), ``task_group`` (the unit of per-task
    averages and task bootstraps: variants of one task share a group; default the task)
    and ``emergence_scored`` (False for a task without a meaningful chance, left out of
    emergence scoring but still forecast; default True).
``groups`` / ``scores`` (slice-level aggregates)
    ``task, model, prob_renormalized, n_groups, group_index, n_questions,
    difficulty_flops_max_1e21, metric, value`` and the whole-task
    ``task, model, prob_renormalized, metric, value``.

All scores are stored higher-is-better: a TC Brier score is ``-(1 - p)**2``.

Validation is in :mod:`forecast.data.schema`, the value checks it uses in
:mod:`forecast.data.checks`, the one stored form per column in :mod:`forecast.data.stored_form`.
"""

from __future__ import annotations

RESULTS_REQUIRED = ("task", "question_id", "model", "correct")
RESULTS_OPTIONAL = ("p_correct", "loglik", "target", "n_choices", "metric", "value")
#: text columns of a results table besides the names (stored as ``str``, NaN where absent)
RESULTS_TEXT = ("filter", "metric", "output", "target_text")
#: every text column a user table may hold: a reader keeps them as text (``"007"`` stays
#: ``"007"``, an answer ``"None"`` stays ``"None"``)
TEXT_COLUMNS = ("task", "question_id", "model", "family", "format", "task_group", *RESULTS_TEXT)
#: text columns in which an empty text is a value (an empty generation), not a missing one
ANSWER_TEXT = ("output", "target_text")
MODELS_REQUIRED = ("model",)
MODELS_COLUMNS = ("model", "family", "params", "tokens", "flops")
TASKS_REQUIRED = ("task", "format", "chance")
TASKS_COLUMNS = ("task", "format", "n_choices", "chance")
#: optional task columns kept when given (fixed a priori, never computed from scores)
TASKS_OPTIONAL = ("n_questions", "task_group", "emergence_scored")
TASK_FORMATS = ("multiple_choice", "generative", "both")
GROUPS_REQUIRED = (
    "task",
    "model",
    "prob_renormalized",
    "n_groups",
    "group_index",
    "n_questions",
    "difficulty_flops_max_1e21",
    "metric",
    "value",
)
SCORES_REQUIRED = ("task", "model", "prob_renormalized", "metric", "value")

#: Brier-type metrics: stored as a loss ``(1-p)**2 >= 0`` by most tools, used as ``-(1-p)**2``
BRIER_METRICS = frozenset({"tc_brier", "brier", "multiclass_brier"})
