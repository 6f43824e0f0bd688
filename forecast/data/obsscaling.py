"""The observational-scaling data set (``obsscaling``): public base models, many families.

Whole-task scores of public pretrained models from the ObsScaling repository (Ruan, Maddison
& Hashimoto 2024, Apache-2.0; ``datasets/README.md`` section 7): the eight standard
benchmarks :data:`STANDARD_BENCHMARKS`, BIG-bench tasks called emergent (2-shot) and Open
LLM Leaderboard v2 tasks.  Compute is training FLOPs from the shipped models table
(``flops_1e21`` x 1e21); the family is the models table's ``family``.

What the loader changes (each is documented in ``datasets/README.md``):

* ``ipa_transliterate_2_bleu`` is on a 0-100 scale upstream: divided by 100;
* models with no training FLOPs are dropped, with one note naming how many;
* the task table ``datasets/obsscaling_tasks.csv`` gives every benchmark its format,
  chance, question count, ``task_group`` (the two IPA variants are one group) and
  ``emergence_scored`` (False for TruthfulQA mc2, which has no meaningful chance).

The BTLM-3B-8K training-token correction (627 B, not 627 T) lives in the shipped models
table itself.
"""

from __future__ import annotations

from dataclasses import replace

import pandas as pd

from forecast.data.dataset import EvalData

#: the eight standard benchmarks of the observational-scaling paper (PCA inputs)
STANDARD_BENCHMARKS = ("MMLU", "ARC-C", "HellaSwag", "Winograd", "TruthfulQA", "GSM8K", "XWinograd", "HumanEval")
#: prefix of the arithmetic targets (their PCA inputs leave GSM8K out)
ARITHMETIC_PREFIX = "arithmetic_"
#: name of the data set (the one definition: :mod:`forecast.data.shipped` imports it)
OBSSCALING = "obsscaling"
#: benchmarks stored on a 0-100 scale upstream
PERCENT_SCALE = ("ipa_transliterate_2_bleu",)

#: the data set's backtest cut-offs (issue 13, fixed a priori): every 0.5 decade from
#: 10^20.5 to 10^24.5 FLOPs, used where a task has at least 10 fitted models with scores
#: and at least 4 distinct compute values (and one held-out model)
DEFAULT_CUTOFFS = "grid:20.5:24.5:0.5:10"

SCORES_FILE = "obsscaling_aggregate_scores.csv"
TASKS_FILE = "obsscaling_tasks.csv"


def obsscaling_frames(
    raw_scores: pd.DataFrame, models: pd.DataFrame, tasks: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, tuple[str, ...]]:
    """The canonical ``models, tasks, scores`` tables and the loader's notes.

    Parameters
    ----------
    raw_scores
        ObsScaling's long table ``model, benchmark, value[, source_file]``.
    models
        Models table in canonical form (raw ``flops``, ``family``).
    tasks
        The task table (``task, format, n_choices, chance, n_questions, task_group,
        emergence_scored``).

    Returns
    -------
    models, tasks, scores, notes
        Only models with training FLOPs are kept; ``scores`` holds metric ``accuracy``
        in [0, 1] for every benchmark.
    """
    value = raw_scores["value"].astype(float).where(
        ~raw_scores["benchmark"].isin(PERCENT_SCALE), raw_scores["value"].astype(float) / 100.0
    )
    scores = pd.DataFrame({
        "task": raw_scores["benchmark"].astype(str).to_numpy(),
        "model": raw_scores["model"].astype(str).to_numpy(),
        "prob_renormalized": True,
        "metric": "accuracy",
        "value": value.to_numpy(),
    })
    used = models[models["model"].isin(set(scores["model"]))]
    no_flops = sorted(used.loc[used["flops"].isna(), "model"])
    notes = (
        f"{OBSSCALING}: dropped {len(no_flops)} models without training FLOPs "
        f"({', '.join(m.split('/')[-1] for m in no_flops)})",
        f"{OBSSCALING}: {', '.join(PERCENT_SCALE)} divided by 100 (0-100 scale upstream)",
    )
    keep = used[used["flops"].notna()].reset_index(drop=True)
    scores = scores[scores["model"].isin(set(keep["model"]))].reset_index(drop=True)
    tasks = tasks[tasks["task"].isin(set(scores["task"]))].reset_index(drop=True)
    return keep, tasks, scores, notes


def load_obsscaling(raw_scores: pd.DataFrame, models: pd.DataFrame, tasks: pd.DataFrame) -> EvalData:
    """The ``obsscaling`` data set as task-level :class:`EvalData`, from its shipped files.

    :mod:`forecast.data.shipped` reads the files (:data:`SCORES_FILE`, the shipped models
    table, :data:`TASKS_FILE`) and passes them here, so that this module imports nothing
    of the shipped-data registry (no import circle).

    Tasks are the upstream ``benchmark`` names unchanged (``MMLU``, ``GSM8K``,
    ``arithmetic_2da_2_acc``, ``leaderboard_bbh``, ...); ``models`` has ``model, family,
    params, tokens, flops`` (raw FLOPs).
    """
    models, tasks, scores, notes = obsscaling_frames(raw_scores, models, tasks)
    data = EvalData.from_frames(models, tasks, scores=scores, name=OBSSCALING, notes=notes)
    return replace(data, default_cutoffs=DEFAULT_CUTOFFS, multi_family=True)
