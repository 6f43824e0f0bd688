"""The metrics of the data, each declared once: what it is, its range, its direction, its
chance level, its noise model and how it is scored per question.

A :class:`Metric` is a named score of a model on a task.  The forecast target is one of
them (:data:`DEFAULT_TARGET`, accuracy); the others are what the data may also carry (TC
Brier, the probability of the correct answer, a model ladder's task losses) and what
:func:`forecast.mirage` compares.  Every layer that needs a fact about a metric asks here:

* :func:`forecast.data.task_table.task_table` adds a per-model column for every metric
  with ``in_task_table`` whose per-question ``score`` the task's rows allow (or whose
  whole-task value the score table holds), the mean of the per-question scores;
* ``forecast metrics`` prints those columns and the emergence score of each;
* :func:`forecast.mirage` takes each metric's kind (continuous or not), direction and
  chance level (its reference line and the questions needed to tell a model from it), and
  scores the registered metrics beyond its built-in ones (per question, or on task-level
  data from the score table's whole-task values: Pythia's and a ladder's ``soft_log_prob``);
* :func:`forecast.plotstyle.metric_label` takes its axis label.

Add a metric with :func:`register_metric` (``docs/CONTRIBUTING.md``); ``tests/test_metrics.py``
shows one registered in one place reaching each of these.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from forecast.errors import InputError
from forecast.metrics.inputs import loglik_matrix
from forecast.metrics.per_question import exact_match, target_loglik, tc_brier, token_edit_distance
from forecast.metrics.sampling import success_rate

#: the noise models a metric may declare: how an observed per-model score scatters around
#: the model's true score
NOISE_MODELS = {
    "binomial": "the share of n_questions 0/1 answers: variance p(1 - p) / n",
    "question_mean": "the mean of n bounded per-question scores: variance sd^2 / n, sd from the questions",
    "none": "a task-level value without a per-question spread (taken as measured)",
}

#: the metric every method forecasts unless told otherwise
DEFAULT_TARGET = "accuracy"


def chance_itself(chance: float) -> float:
    """The reference of a metric on the accuracy scale: the task's chance accuracy."""
    return float(chance)


def zero(chance: float) -> float:
    """The reference of a metric whose no-ability score is 0 whatever the task's chance."""
    return 0.0


def no_reference(chance: float) -> float:
    """No reference level (NaN)."""
    return math.nan


def chance_tc_brier(chance: float) -> float:
    """The TC Brier score ``-(1 - c)**2`` of a model that puts the chance probability on the target."""
    return -((1.0 - chance) ** 2)


def chance_loglik(chance: float) -> float:
    """The target log-likelihood ``log c`` of a model that puts the chance probability on it."""
    return math.log(chance) if chance > 0 else -math.inf


@dataclass(frozen=True)
class Metric:
    """A named score of a model on a task, declared once.

    Parameters
    ----------
    name : str
        Its key: the column of the task table and the name in ``mirage``.  A name ending in
        ``@k`` is a family (``pass@k``: ``pass@1``, ``pass@10``, ...).
    description : str
        What it measures, as an axis label says it (``{k}`` is filled in for a family).
    range : (float, float)
        The values it can take (per question and per model).
    higher_is_better : bool
    continuous : bool
        False for a score read off a threshold (a 0/1 grade, pass@k): the kind ``mirage``
        contrasts with the continuous ones.
    chance : callable
        ``chance(c)``: the score of a model without the ability, from the task's chance
        accuracy ``c`` (NaN: no reference).
    noise : str
        Its noise model, a key of :data:`NOISE_MODELS`.
    needs : tuple of str
        The per-question results columns its ``score`` reads (every row must have them).
    score : callable or None
        ``score(rows)``: the per-question scores (an array, one per row) of a task's rows
        (one answer per question and model); None for a metric known only per model
        (a ladder's task losses, a published whole-task score).
    in_task_table : bool
        Whether :func:`~forecast.data.task_table.task_table` carries its per-model mean.
    """

    name: str
    description: str
    range: tuple[float, float]
    higher_is_better: bool = True
    continuous: bool = True
    chance: Callable[[float], float] = zero
    noise: str = "question_mean"
    needs: tuple[str, ...] = ()
    score: Callable[[pd.DataFrame], np.ndarray | pd.Series] | None = field(default=None, compare=False)
    in_task_table: bool = False

    @property
    def is_family(self) -> bool:
        return self.name.endswith("@k")

    def label(self, name: str | None = None) -> str:
        """The axis label of ``name`` (a member of the family, for ``pass@k``)."""
        if self.is_family and name is not None:
            return self.description.format(k=name.rpartition("@")[2])
        return self.description

    def available(self, rows: pd.DataFrame) -> bool:
        """Whether every row of ``rows`` has the columns :attr:`score` reads."""
        return self.score is not None and all(c in rows.columns and rows[c].notna().all() for c in self.needs)

    def reference(self, chance: float) -> float:
        """The score of a model without the ability on a task of chance accuracy ``chance``."""
        return self.chance(chance)


#: every metric, by name, in the order they are listed
METRICS: dict[str, Metric] = {}


def register_metric(metric: Metric) -> Metric:
    """Add ``metric`` to :data:`METRICS` (the same declaration again is a no-op).

    Raises
    ------
    InputError
        On a name already taken by another declaration, an unknown noise model, an empty
        range, or a chance level outside the range.
    """
    if not isinstance(metric, Metric):
        raise InputError(f"register_metric takes a forecast.metrics.Metric, got {type(metric).__name__}")
    known = METRICS.get(metric.name)
    if known is not None:
        if known == metric and known.score is metric.score:
            return known
        raise InputError(f"metric {metric.name!r} is already registered with another declaration")
    if metric.noise not in NOISE_MODELS:
        raise InputError(f"metric {metric.name!r}: noise {metric.noise!r} is not one of {', '.join(NOISE_MODELS)}")
    lo, hi = metric.range
    if not lo < hi:
        raise InputError(f"metric {metric.name!r}: range {metric.range!r} is empty")
    ref = metric.reference(0.25)
    if math.isfinite(ref) and not lo <= ref <= hi:
        raise InputError(f"metric {metric.name!r}: its chance level {ref!r} (chance 0.25) lies outside {metric.range!r}")
    METRICS[metric.name] = metric
    return metric


def get_metric(name: str) -> Metric:
    """The declaration of ``name`` (``pass@10`` finds the family ``pass@k``)."""
    found = METRICS.get(name)
    if found is None and "@" in name:
        found = METRICS.get(name.rpartition("@")[0] + "@k")
    if found is None:
        raise InputError(f"unknown metric {name!r}; known: {', '.join(METRICS)}")
    return found


def is_metric(name: str) -> bool:
    """Whether ``name`` is a registered metric (or a member of a registered family)."""
    try:
        get_metric(name)
    except InputError:
        return False
    return True


def task_table_metrics() -> tuple[str, ...]:
    """The metrics a task table carries, in registration order (the target first)."""
    return tuple(name for name, m in METRICS.items() if m.in_task_table)


# ------------------------------------------------------------------ per-question scores of rows
def correct_grade(rows: pd.DataFrame) -> np.ndarray:
    """The 0/1 grade of each answer (column ``correct``; for sampled answers the majority
    grade ``1[n_correct > n_samples / 2]`` that validation fills in)."""
    return rows["correct"].to_numpy(dtype=float)


def forecast_accuracy(rows: pd.DataFrame) -> np.ndarray:
    """The forecast's per-question accuracy: the 0/1 grade ``correct``, or for sampled
    answers (``n_samples, n_correct``) the success rate ``n_correct / n_samples``
    (:func:`forecast.metrics.sampling.success_rate`: the expected accuracy of one sample,
    the same as ``pass@1``)."""
    if "n_samples" in rows.columns:
        return success_rate(rows["n_samples"], rows["n_correct"])
    return correct_grade(rows)


def p_correct_score(rows: pd.DataFrame) -> np.ndarray:
    """The probability on the correct answer (column ``p_correct``)."""
    return rows["p_correct"].to_numpy(dtype=float)


def tc_brier_score(rows: pd.DataFrame) -> np.ndarray:
    """TC Brier ``-(1 - p_correct)**2`` (:func:`forecast.metrics.tc_brier`)."""
    return tc_brier(rows["p_correct"].to_numpy(dtype=float))


def target_loglik_score(rows: pd.DataFrame) -> np.ndarray:
    """The log-likelihood of the correct choice (columns ``loglik``, ``target``)."""
    ll = loglik_matrix(rows["loglik"].to_numpy(dtype=object))
    return target_loglik(ll, pd.to_numeric(rows["target"]).to_numpy(dtype=int))


def answer_texts(rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The generated answers and the target texts of ``rows`` as strings."""
    return rows["output"].astype(str).to_numpy(), rows["target_text"].astype(str).to_numpy()


def exact_match_score(rows: pd.DataFrame) -> np.ndarray:
    """Exact match of the generated answer with the target (:func:`forecast.metrics.exact_match`)."""
    return exact_match(*answer_texts(rows)).astype(float)


def edit_distance_score(rows: pd.DataFrame) -> np.ndarray:
    """Token edit distance of the generated answer to the target (lower is better)."""
    return token_edit_distance(*answer_texts(rows)).astype(float)


for _metric in (
    Metric("accuracy", "accuracy (share of questions correct)", (0.0, 1.0), continuous=False,
           chance=chance_itself, noise="binomial", needs=("correct",), score=forecast_accuracy, in_task_table=True),
    Metric("p_correct", "probability on the correct answer (mean)", (0.0, 1.0), chance=chance_itself,
           needs=("p_correct",), score=p_correct_score),
    Metric("tc_brier", "TC Brier score (higher is better; 0 = sure and right)", (-1.0, 0.0),
           chance=chance_tc_brier, needs=("p_correct",), score=tc_brier_score, in_task_table=True),
    Metric("loglik", "log-likelihood of the target (nats, mean over questions)", (-math.inf, 0.0),
           chance=chance_loglik, needs=("loglik", "target"), score=target_loglik_score),
    Metric("exact_match", "exact match (share of answers equal to the target)", (0.0, 1.0), continuous=False,
           noise="binomial", needs=("output", "target_text"), score=exact_match_score),
    Metric("edit_distance", "token edit distance to the target (mean; lower is better)", (0.0, math.inf),
           higher_is_better=False, chance=no_reference, needs=("output", "target_text"), score=edit_distance_score),
    Metric("pass@k", "pass@{k} (chance that one of {k} samples is right)", (0.0, 1.0), continuous=False,
           needs=("n_samples", "n_correct")),
    # a model ladder's task-level metrics (forecast.data.ladder), known per run and task
    Metric("bpb", "bits per byte of the correct answer (lower is better)", (0.0, math.inf),
           higher_is_better=False, chance=no_reference, noise="none"),
    Metric("soft_prob", "probability on the correct answer (ladder, mean)", (0.0, 1.0),
           chance=chance_itself, noise="none"),
    Metric("soft_log_prob", "log-probability of the correct answer (ladder, mean)", (-math.inf, 0.0),
           chance=chance_loglik, noise="none"),
):
    register_metric(_metric)
del _metric
