"""Read lm-evaluation-harness (0.4.x) output folders written with ``--log_samples``.

lm-eval writes, for every model, a folder ``{output_path}/{model_dir}`` (``model_dir`` is the
model name with ``/`` turned into ``__``) holding::

    results_{timestamp}.json                 aggregated scores and the run's configuration
    samples_{task}_{timestamp}.jsonl         one JSON record per (document, filter)

with ``timestamp`` like ``2024-05-01T10-00-00.123456``. A samples record carries ``doc_id``,
``doc``, ``target``, ``arguments``, ``resps``, ``filtered_resps``, ``filter``, ``metrics``
(the metric names) and one key per metric. lm-eval turns every leaf of ``resps`` and
``filtered_resps`` (and ``target``) into a string, so a multiple-choice record looks like
``"resps": [[["-1.23", "False"]], [["-0.50", "True"]], ...]`` (one entry per choice) and a
generative one like ``"resps": [["The answer is 18."]]``.

:func:`read_lmeval` turns such a folder into the package's per-question long table:

* multiple-choice tasks: one row per (task, model, document, filter) with the per-choice
  log-likelihoods ``loglik``, the ``target`` index, ``n_choices``, ``correct`` (1 when the
  arg-max log-likelihood is the target, as lm-eval's ``acc``) and the target-conditioned
  probability ``p_correct = exp(l_t) / sum_k exp(l_k)`` (computed stably);
* generative tasks (and any task that is not multiple-choice): one row per
  (task, model, document, filter, metric) with ``metric``/``value`` and ``correct`` taken
  from ``exact_match`` (else the first metric whose values are all 0 or 1); ``p_correct``
  is NaN; ``output`` holds the generated answer (after the record's filter) and
  ``target_text`` the target string, so exact match and token edit distance can be
  recomputed from the same outputs (:mod:`forecast.mirage`).

Rules
-----
* Model name: ``model_name`` of the run's ``results_*.json`` (the one with the same
  timestamp as the samples file, else the newest in the folder) when present and non-empty;
  else the ``pretrained=`` (or ``model=``) entry of ``config.model_args`` (a ``"k=v,k=v"``
  string or a dict); else the folder name with ``__`` turned back into ``/``.
* Several runs of the same task for the same model (several timestamps): only the newest
  ``samples_*.jsonl`` file (by the timestamp in its name) is read; the older ones are listed
  in ``df.attrs["notes"]`` and by :func:`list_lmeval_runs` (column ``used``).
* Multiple- versus free-form: the task's ``output_type`` in ``results_*.json`` when known,
  else the shape of the responses (pairs ``[loglik, is_greedy]`` for two or more choices).
* A record's ``acc`` is cross-checked against the arg-max of the log-likelihoods; when they
  disagree the log-likelihoods win and a note is added to ``df.attrs["notes"]``.

Nothing read is evaluated or unpickled: files are parsed with :mod:`json` only.

Modules: :mod:`~forecast.data.lmeval.folders` (finding the runs), :mod:`~forecast.data.lmeval.records`
(parsing one record), :mod:`~forecast.data.lmeval.tasks` (multiple-choice and free-form tasks);
this module puts them together.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from forecast.data.lmeval.folders import discover, list_lmeval_runs
from forecast.data.lmeval.tasks import is_multiple_choice, read_free_form, read_multiple_choice
from forecast.data.schema import validate_results
from forecast.errors import InputError

__all__ = ["COLUMNS", "list_lmeval_runs", "read_lmeval"]

#: column order of the table :func:`read_lmeval` returns
COLUMNS = (
    "task",
    "question_id",
    "model",
    "filter",
    "correct",
    "p_correct",
    "target",
    "n_choices",
    "loglik",
    "metric",
    "value",
    "output",
    "target_text",
)


def read_lmeval(path: str | Path, tasks: str | Iterable[str] | None = None) -> pd.DataFrame:
    """Read an lm-evaluation-harness ``--log_samples`` output folder into a long table.

    Parameters
    ----------
    path
        The ``--output_path`` folder (model sub-folders are searched recursively), one model's
        folder, or a single ``samples_<task>_<timestamp>.jsonl`` file.
    tasks
        Task names to read (default: all found). An unknown name is an error.

    Returns
    -------
    DataFrame
        Columns ``task, question_id, model, filter, correct, p_correct, target, n_choices,
        loglik, metric, value, output, target_text`` (see the module docstring). Multiple-choice rows have
        ``metric``/``value`` missing; free-form rows have ``p_correct``, ``target``,
        ``n_choices`` and ``loglik`` missing. ``loglik`` holds lists of floats here; loading
        the table (:func:`forecast.load_data`, ``EvalData.from_frames``) stores it as JSON
        text like every other route does (:mod:`forecast.data.schema`), and
        :func:`~forecast.data.readers.write_table` writes it in that form.
        ``df.attrs["notes"]`` names the older runs left
        out (only the newest run of a task per model is read) and any disagreement with the
        logged ``acc``. Rows are checked with :func:`~forecast.data.schema.validate_results`
        one (task, filter) block at a time: a multiple-choice block has finite ``p_correct``,
        a free-form block none, and a document appears once per filter (and metric).

    Raises
    ------
    InputError
        One line naming the file (and line) at fault: missing folder, no samples files, an empty
        samples file, a line that is not JSON, a record without ``doc_id``/``target``/``resps``,
        a target outside the choices, a log-likelihood that is not a number, a document repeated
        for the same filter, a free-form task without a 0/1 metric to use as ``correct``.
    """
    used, superseded = discover(path)
    if tasks is not None:
        wanted = [tasks] if isinstance(tasks, str) else list(tasks)
        known = sorted({r.task for r in used})
        unknown = [t for t in wanted if t not in known]
        if unknown:
            raise InputError(
                f"{path}: task {unknown[0]!r} not found (found: {', '.join(known)})"
            )
        used = [r for r in used if r.task in set(wanted)]
        superseded = [r for r in superseded if r.task in set(wanted)]
    notes: list[str] = [
        f"{r.file}: superseded by a newer run of task {r.task!r} for model {r.model!r}; not read"
        for r in superseded
    ]
    blocks: list[pd.DataFrame] = []
    for run in used:
        rows = (
            read_multiple_choice(run, notes)
            if is_multiple_choice(run)
            else read_free_form(run, notes)
        )
        if not rows:
            raise InputError(f"{run.file}: no records (an interrupted lm-eval run?)")
        blocks.append(pd.DataFrame(rows, columns=list(COLUMNS)))
    df = pd.concat(blocks, ignore_index=True)
    dup = df.duplicated(["task", "question_id", "model", "filter", "metric"], keep="first")
    if dup.any():  # two folders resolving to the same model (different names for one run)
        row = df[dup].iloc[0]
        raise InputError(
            f"{path}: model {row['model']!r} has two rows for task {row['task']!r}, doc_id "
            f"{row['question_id']!r}, filter {row['filter']!r}"
        )
    # validate per (task, filter): a task is either multiple-choice (p_correct known) or
    # free-form (p_correct NaN), and (task, question_id, model[, metric]) is unique per filter
    df["_order"] = np.arange(len(df))
    parts = []
    for (task, filt), part in df.groupby(["task", "filter"], sort=False):
        checked = validate_results(part, source=f"{path}: task {task!r}, filter {filt!r}")
        parts.append(checked.reindex(columns=[*COLUMNS, "_order"]))
    out = pd.concat(parts, ignore_index=True).sort_values("_order", kind="stable")
    out = out.drop(columns="_order").reset_index(drop=True)
    # the per-choice log-likelihoods as lists of floats (every row kept, in the same order);
    # validate_results stores them as JSON text when the table is loaded
    out["loglik"] = pd.Series(df["loglik"].to_numpy(dtype=object), dtype=object)
    out["question_id"] = out["question_id"].astype(str)
    out["filter"] = out["filter"].astype(str)
    out["correct"] = out["correct"].astype(int)
    out["p_correct"] = pd.to_numeric(out["p_correct"], errors="coerce").astype(float)
    out["target"] = pd.array(out["target"], dtype="Int64")
    out["n_choices"] = pd.array(out["n_choices"], dtype="Int64")
    out["value"] = pd.to_numeric(out["value"], errors="coerce").astype(float)
    out["metric"] = out["metric"].astype(object).where(out["metric"].notna(), None)
    out.attrs["notes"] = tuple(notes)
    return out
