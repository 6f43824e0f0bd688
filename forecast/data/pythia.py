"""A scaling suite evaluated with lm-evaluation-harness, over sizes and checkpoints (``pythia``).

The shipped data (``datasets/pythia/``, Apache-2.0, EleutherAI's own results for the Pythia
v1 suite) and a user's own suite in the same long format load through one reader,
:func:`read_suite`.  One row per model, checkpoint, task and metric:

``model``
    the model's name (``pythia-1.4b-deduped``);
``task, metric, value``
    lm-eval task name, metric (:data:`ACCURACY_METRICS`, :data:`LOSS_METRICS`,
    :data:`OTHER_METRICS`; an lm-eval 0.4 suffix such as ``acc,none`` is dropped) and value;
``params_total, tokens_seen``
    parameters (embeddings included) and training tokens seen at that checkpoint;
``step, shots, family, chance``
    optional: the checkpoint (absent: one checkpoint per model), the few-shot count (part of
    the task name: ``arc_easy:5``), the model family (absent: ``suite``) and the task's
    chance accuracy (absent: :data:`CHANCE`, else 0 with a note).

Other columns (``suite``, ``size``, ``deduped``, ``variant``, ``params_nonembedding``) are
kept on the models table where they are constant per model.

What the reader makes of it
---------------------------
* the **final checkpoint** of a model is its largest ``step``; its rows are the ``scores``
  (``accuracy`` = lm-eval's ``acc``; on a task with a perplexity, ``soft_log_prob`` =
  ``-ln(ppl)``: lm-eval's perplexity is ``exp`` of minus the mean log-likelihood of the
  correct continuation, so this is the mean log-probability of the correct answer, the
  task loss ``two_step_slp`` reads);
* **every checkpoint** (the final one too) is a row of the ladder-style ``steps`` table
  (``accuracy``, ``tokens``, ``flops`` and, where the task has a perplexity,
  ``soft_log_prob``), the two-step method's step-2 points; tasks without a loss keep their
  checkpoints there too (no method reads them yet);
* **compute** is ``flops = 6 * params_total * tokens`` (:data:`FLOPS_PER_PARAM_TOKEN`):
  the total parameter count, as the Pythia paper and the shipped ``models.csv`` name the
  models; the non-embedding count is kept on the models table (``params_nonembedding``);
* the **MMLU average** ``mmlu_avg`` (the unweighted mean over subjects, lm-eval's old
  convention; question counts are not in the files) is added per model, checkpoint and
  shot count where every subject of that shot count is present;
* **task groups**: MMLU subjects (``hendrycksTest-*``, ``mmlu_*``) are group ``mmlu``, the
  average is ``mmlu_avg``, every other task its own; the bootstrap unit (``task_group``)
  is the task without its shot count (``arc_easy:0`` and ``arc_easy:5`` are one unit);
* **question counts** (``n_questions``) are read off lm-eval's standard errors of the
  smallest model (:func:`question_counts`); without a ``stderr`` column they are unknown;
* CrowS-Pairs' bias measures (:data:`OTHER_METRICS`) are not abilities with a chance level:
  left out with a note;
* rows that repeat a ``(model, step, shots, task, metric)`` of another ``eval_run`` (the
  Pythia files' ``baseline`` re-runs) are dropped with a note, keeping the eval run with the
  most rows; without an ``eval_run`` column such repeats are refused.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd

from forecast.data.dataset import EvalData
from forecast.data.readers import read_table
from forecast.data.reconcile import default_task_info, note
from forecast.errors import InputError

#: required columns of a suite file
REQUIRED = ("model", "task", "metric", "value", "params_total", "tokens_seen")
#: columns that mark a table as a suite file (with ``task``, ``metric``, ``value``)
MARKERS = ("tokens_seen", "params_total", "params_nonembedding")
#: accuracy metrics (lm-eval ``acc`` is the one forecast; ``acc_norm`` is read and left aside)
ACCURACY_METRICS = ("acc", "acc_norm")
#: the accuracy forecast, fixed a priori: every multiple-choice lm-eval task and LAMBADA have it
ACCURACY = "acc"
#: perplexity metrics: turned into the task loss ``soft_log_prob = -ln(ppl)``
LOSS_METRICS = ("ppl", "perplexity")
#: measures that are not an ability with a chance level (CrowS-Pairs): left out with a note
OTHER_METRICS = ("likelihood_difference", "pct_stereotype")
KNOWN_METRICS = ACCURACY_METRICS + LOSS_METRICS + OTHER_METRICS
#: training FLOPs per parameter and token (forward + backward pass)
FLOPS_PER_PARAM_TOKEN = 6.0
#: the family given to models of a file without a ``family`` column
DEFAULT_FAMILY = "suite"
#: chance accuracy of the lm-eval tasks in the Pythia files (and a few common others)
CHANCE = {
    "arc_easy": 0.25, "arc_challenge": 0.25, "logiqa": 0.25, "sciq": 0.25, "openbookqa": 0.25,
    "hellaswag": 0.25, "mmlu": 0.25, "piqa": 0.5, "winogrande": 0.5, "wsc": 0.5, "wsc273": 0.5,
    "boolq": 0.5, "copa": 0.5, "lambada_openai": 0.0, "lambada_standard": 0.0,
}
#: prefixes of MMLU subjects (lm-eval 0.3 and 0.4 names)
MMLU_PREFIXES = ("hendrycksTest-", "mmlu_")
#: name of the subject average
MMLU_AVERAGE = "mmlu_avg"
#: task groups of the summary
GROUP_MMLU, GROUP_REST = "mmlu_subjects", "other"

#: the shipped files
FOLDER = "pythia"
EVALS_FILE = "pythia_evals.csv.gz"
#: names of the shipped data sets, one per training-data family
PYTHIA, PYTHIA_DEDUPED = "pythia", "pythia_deduped"
FAMILIES = {PYTHIA: "Pythia", PYTHIA_DEDUPED: "Pythia-deduped"}
#: the suite's main evaluations and training runs (the batch-size ablations and the
#: ``baseline`` re-runs are left out of the shipped data sets)
MAIN_EVAL_RUNS = ("zero-shot", "five-shot")
MAIN_VARIANTS = ("standard", "bf16")


def is_suite_table(df: pd.DataFrame) -> bool:
    """True for a table in the suite format (``task``, ``metric``, ``value`` and one of
    :data:`MARKERS`)."""
    cols = set(df.columns)
    return {"task", "metric", "value"} <= cols and bool(cols & set(MARKERS))


def base_task(task: str) -> str:
    """The task without its shot count (``arc_easy:5`` -> ``arc_easy``)."""
    head, _, tail = str(task).rpartition(":")
    return head if head and tail.isdigit() else str(task)


def is_mmlu_subject(task: str) -> bool:
    """True for an MMLU subject (``hendrycksTest-anatomy``, ``mmlu_anatomy``; any shots)."""
    name = base_task(task)
    return name.startswith(MMLU_PREFIXES) and name != MMLU_AVERAGE


def task_group(task: str) -> str:
    """The summary's task group: :data:`GROUP_MMLU` for subjects, else :data:`GROUP_REST`
    (the subject average ``mmlu_avg`` is in the rest: one task, not a subject)."""
    return GROUP_MMLU if is_mmlu_subject(task) else GROUP_REST


def _chance(task: str) -> float | None:
    name = base_task(task)
    if is_mmlu_subject(name) or name == MMLU_AVERAGE:
        return CHANCE["mmlu"]
    return CHANCE.get(name)


def _metric_names(metric: pd.Series) -> pd.Series:
    return metric.astype(str).str.split(",").str[0].str.strip()


def _drop_reruns(df: pd.DataFrame, key: list[str], source: str) -> tuple[pd.DataFrame, list[str]]:
    dup = df.duplicated(key, keep=False)
    if not dup.any():
        return df, []
    if "eval_run" not in df.columns:
        row = df[dup].iloc[0]
        raise InputError(
            f"{source}: two rows for model {row['model']!r}, task {row['task']!r}, metric {row['metric']!r}"
            + (f" at step {row['step']!r}" if "step" in df.columns else "")
            + " (add an eval_run column to tell the runs apart, or drop one)"
        )
    size = df["eval_run"].astype(str).map(df["eval_run"].astype(str).value_counts())
    ranked = df.assign(_size=-size.to_numpy(), _run=df["eval_run"].astype(str))
    ranked = ranked.sort_values(["_size", "_run"], kind="stable")
    keep = ranked.drop_duplicates(key, keep="first").drop(columns=["_size", "_run"])
    gone = df.loc[df.index.difference(keep.index), "eval_run"].astype(str).value_counts()
    text = ", ".join(f"{n} of eval_run {r!r}" for r, n in gone.items())
    return keep.sort_index(), [note(f"{source}: dropped {len(df) - len(keep)} rows repeating another eval run's "
                                    f"(model, step, shots, task, metric) ({text})")]


def _per_model(df: pd.DataFrame, column: str) -> pd.Series | None:
    """``column``'s value per model where it is constant (None when it varies)."""
    grouped = df.groupby("model", sort=True)[column]
    if (grouped.nunique(dropna=False) > 1).any():
        return None
    return grouped.first()


def _prepare(df: pd.DataFrame, source: str) -> tuple[pd.DataFrame, list[str]]:
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise InputError(f"{source}: missing column {missing[0]!r} of a suite file "
                         f"(has: {', '.join(map(str, df.columns))})")
    df = df.copy()
    for col in ("model", "task"):
        df[col] = df[col].astype(str).str.strip()
    df["metric"] = _metric_names(df["metric"])
    unknown = sorted(set(df["metric"]) - set(KNOWN_METRICS))
    if unknown:
        raise InputError(f"{source}: column 'metric' has unknown value {unknown[0]!r} "
                         f"(known: {', '.join(KNOWN_METRICS)})")
    for col in ("value", "params_total", "tokens_seen") + (("step",) if "step" in df.columns else ()):
        num = pd.to_numeric(df[col], errors="coerce")
        bad = ~np.isfinite(num.to_numpy(dtype=float))
        if col in ("params_total",):
            bad |= ~(num.to_numpy(dtype=float) > 0)
        if col in ("tokens_seen", "step"):
            bad |= ~(num.to_numpy(dtype=float) >= 0)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputError(f"{source}: column {col!r} must be a {'positive' if col == 'params_total' else 'finite'} "
                             f"number, found {df[col].iloc[i]!r} for model {df['model'].iloc[i]!r}")
        df[col] = num.astype(float)
    notes: list[str] = []
    other = df["metric"].isin(OTHER_METRICS)
    if other.any():
        tasks = sorted(set(df.loc[other, "task"]))
        notes.append(note(f"{source}: left out {int(other.sum())} rows of bias measures "
                          f"({', '.join(sorted(set(df.loc[other, 'metric'])))}) on {len(tasks)} task(s) "
                          f"({', '.join(tasks[:2])}{', ...' if len(tasks) > 2 else ''}): not an ability with a chance level"))
        df = df[~other]
    if "step" not in df.columns:
        df["step"] = np.nan
    if "shots" in df.columns:
        shots = pd.to_numeric(df["shots"], errors="coerce")
        df["task"] = [t if not np.isfinite(s) else f"{t}:{int(s)}" for t, s in zip(df["task"], shots)]
    df["family"] = df["family"].astype(str) if "family" in df.columns else DEFAULT_FAMILY
    df, more = _drop_reruns(df, ["model", "step", "task", "metric"], source)
    notes += more
    acc = df[df["metric"] == ACCURACY]
    if not ((0 <= acc["value"]) & (acc["value"] <= 1)).all():
        row = acc[~((0 <= acc["value"]) & (acc["value"] <= 1))].iloc[0]
        raise InputError(f"{source}: metric 'acc' must lie in [0, 1], found {row['value']!r} for model "
                         f"{row['model']!r}, task {row['task']!r}")
    ppl = df[df["metric"].isin(LOSS_METRICS)]
    if not (ppl["value"] > 0).all():
        row = ppl[~(ppl["value"] > 0)].iloc[0]
        raise InputError(f"{source}: a perplexity must be positive, found {row['value']!r} for model "
                         f"{row['model']!r}, task {row['task']!r}")
    return df, notes


def _wide(df: pd.DataFrame) -> pd.DataFrame:
    """One row per model, step and task: ``accuracy``, ``soft_log_prob``, ``tokens`` (and
    ``stderr`` of the accuracy, NaN where the file has none)."""
    cols = ["model", "step", "task", "value", "tokens_seen"] + (["stderr"] if "stderr" in df.columns else [])
    acc = df[df["metric"] == ACCURACY][cols]
    acc = acc.rename(columns={"value": "accuracy", "tokens_seen": "tokens"})
    acc["stderr"] = pd.to_numeric(acc["stderr"], errors="coerce") if "stderr" in acc.columns else np.nan
    ppl = df[df["metric"].isin(LOSS_METRICS)][["model", "step", "task", "value"]]
    ppl = ppl.drop_duplicates(["model", "step", "task"])
    ppl = ppl.assign(soft_log_prob=-np.log(ppl["value"].to_numpy(dtype=float))).drop(columns="value")
    return acc.merge(ppl, on=["model", "step", "task"], how="left")


def _with_mmlu_average(wide: pd.DataFrame) -> pd.DataFrame:
    """``wide`` plus the unweighted subject mean per model, step and shot count, where every
    subject of that shot count is present."""
    subj = wide[wide["task"].map(is_mmlu_subject)]
    if subj.empty:
        return wide
    shots = subj["task"].map(lambda t: t[len(base_task(t)):])  # ':5' or ''
    subj = subj.assign(shots=shots.to_numpy())
    n_subjects = subj.groupby("shots")["task"].nunique()
    g = subj.groupby(["model", "step", "shots"], dropna=False)
    # the standard error of an unweighted mean of subjects: sqrt(sum se_i^2) / k
    subj = subj.assign(var=subj["stderr"].to_numpy(dtype=float) ** 2)
    g = subj.groupby(["model", "step", "shots"], dropna=False)
    avg = g.agg(accuracy=("accuracy", "mean"), tokens=("tokens", "first"), n=("task", "nunique"),
                var=("var", "sum")).reset_index()
    avg["stderr"] = np.sqrt(avg["var"]) / avg["n"]
    avg = avg.drop(columns="var")
    avg = avg[avg["n"].to_numpy() == n_subjects.reindex(avg["shots"]).to_numpy()]
    avg = avg.assign(task=MMLU_AVERAGE + avg["shots"], soft_log_prob=np.nan).drop(columns=["n", "shots"])
    return pd.concat([wide, avg[wide.columns]], ignore_index=True)


def question_counts(final: pd.DataFrame, params: pd.Series) -> pd.Series:
    """Questions per task, read off lm-eval's standard error of the accuracy of the task's
    **smallest** model at its final checkpoint (always fitted, so no held-out model is read):
    lm-eval's ``stderr = sqrt(p (1 - p) / (n - 1))`` gives ``n = p (1 - p) / stderr^2 + 1``
    (exact on the Pythia files: ARC-Easy 2376, LAMBADA 5153, WSC 104, MMLU anatomy 135).
    For the subject average it is the effective count ``p (1 - p) / stderr^2`` of the mean.
    NaN where no model has ``0 < p < 1`` and a positive stderr."""
    rows = final.assign(params=params.reindex(final["model"]).to_numpy(dtype=float))
    p, se = rows["accuracy"].to_numpy(dtype=float), rows["stderr"].to_numpy(dtype=float)
    ok = (p > 0) & (p < 1) & np.isfinite(se) & (se > 0)
    rows = rows[ok].assign(n=(p * (1 - p) / se**2)[ok])
    average = rows["task"].map(lambda t: base_task(t) == MMLU_AVERAGE).to_numpy()
    rows.loc[~average, "n"] += 1.0
    first = rows.sort_values(["task", "params", "model"]).drop_duplicates("task")
    return first.set_index("task")["n"].round()


def _models(df: pd.DataFrame, final: pd.DataFrame) -> pd.DataFrame:
    params = _per_model(df, "params_total")
    if params is None:
        bad = df.groupby("model")["params_total"].nunique()
        raise InputError(f"model {bad.index[bad > 1][0]!r} has more than one value in column 'params_total'")
    tokens = final.groupby("model")["tokens"].max()
    out = pd.DataFrame({"model": tokens.index.astype(str)})
    out["params"] = params.reindex(out["model"]).to_numpy(dtype=float)
    out["tokens"] = tokens.to_numpy(dtype=float)
    out["flops"] = FLOPS_PER_PARAM_TOKEN * out["params"] * out["tokens"]
    out["final_step"] = final.groupby("model")["step"].max().reindex(out["model"]).to_numpy(dtype=float)
    for col in ("family", "suite", "size", "deduped", "variant", "params_nonembedding"):
        if col in df.columns:
            values = _per_model(df, col)
            if values is not None:
                out[col] = values.reindex(out["model"]).to_numpy()
    if (out["tokens"] <= 0).any():
        bad = out.loc[out["tokens"] <= 0, "model"].iloc[0]
        raise InputError(f"model {bad!r}: tokens_seen at its final checkpoint must be positive")
    return out


def _tasks(tasks: list[str], given: pd.Series | None, source: str) -> tuple[pd.DataFrame, list[str]]:
    rows, unknown = [], []
    for task in tasks:
        chance = given.get(task) if given is not None else None
        if chance is None or not np.isfinite(chance):
            chance = _chance(task)
        if chance is None:
            unknown.append(task)
            continue
        rows.append({"task": task, "format": "generative" if chance == 0 else "multiple_choice",
                     "n_choices": np.nan if chance == 0 else round(1.0 / chance), "chance": float(chance)})
    table = pd.DataFrame(rows, columns=["task", "format", "n_choices", "chance"])
    defaults, notes = default_task_info(unknown, source)
    table = pd.concat([table, defaults], ignore_index=True) if len(defaults) else table
    table["task_group"] = table["task"].map(base_task)
    table["group"] = table["task"].map(task_group)
    return table.sort_values("task").reset_index(drop=True), notes


def read_suite(data: str | Path | pd.DataFrame, name: str | None = None) -> EvalData:
    """Read a suite file (or DataFrame) in the long lm-eval format of the module docstring.

    Parameters
    ----------
    data
        File (CSV/TSV/parquet/JSON, gzip allowed) or DataFrame.
    name
        Label of the data (default: the file's path).

    Returns
    -------
    EvalData
        Task-level data: ``scores`` at each model's final checkpoint (``accuracy``,
        ``soft_log_prob`` where a perplexity exists), ``steps`` every checkpoint, ``models``
        with ``params`` (total), final ``tokens`` and ``flops = 6 N D``.
    """
    if isinstance(data, pd.DataFrame):
        raw, source = data, name or "suite data"
    else:
        raw, source = read_table(data), name or str(data)
    if raw.empty:
        raise InputError(f"{source}: has no rows (only a header, or nothing)")
    df, notes = _prepare(raw, source)
    wide = _with_mmlu_average(_wide(df))
    if wide.empty:
        raise InputError(f"{source}: no rows of metric {ACCURACY!r} (the accuracy forecast)")
    last = df.groupby("model")["step"].max()
    at_last = wide["step"].to_numpy() == last.reindex(wide["model"]).to_numpy()
    no_step = wide["step"].isna().to_numpy()
    final = wide[at_last | no_step]
    lacking = sorted(set(wide["model"]) - set(final["model"]))
    if lacking:
        raise InputError(f"{source}: model {lacking[0]!r} has no accuracy at its final checkpoint")
    n_final = final.groupby("model")["task"].nunique()
    n_all = wide.groupby("model")["task"].nunique()
    short = n_all[n_all > n_final.reindex(n_all.index)]
    if len(short):
        notes.append(note(f"{source}: {len(short)} model(s) lack some tasks at their final checkpoint "
                          f"({', '.join(short.index[:3])}); those tasks' earlier checkpoints stay in the steps"))
    models = _models(df, final)
    given = None
    if "chance" in df.columns:
        given = pd.to_numeric(df["chance"], errors="coerce").groupby(df["task"]).first()
    tasks, more = _tasks(sorted(set(wide["task"])), given, source)
    notes += more
    tasks["n_questions"] = question_counts(final, models.set_index("model")["params"]).reindex(tasks["task"]).to_numpy()
    fin = final.assign(prob_renormalized=True)
    scores = pd.concat([
        fin[["task", "model", "prob_renormalized"]].assign(metric="accuracy", value=fin["accuracy"].to_numpy()),
        fin.loc[fin["soft_log_prob"].notna(), ["task", "model", "prob_renormalized"]].assign(
            metric="soft_log_prob", value=fin.loc[fin["soft_log_prob"].notna(), "soft_log_prob"].to_numpy()),
    ], ignore_index=True)
    steps = None
    if wide["step"].notna().any():
        params = models.set_index("model")["params"]
        st = wide[wide["step"].notna()].copy()
        st["flops"] = FLOPS_PER_PARAM_TOKEN * params.reindex(st["model"]).to_numpy() * st["tokens"].to_numpy()
        steps = st[["task", "model", "step", "tokens", "flops", "accuracy", "soft_log_prob"]].reset_index(drop=True)
    data_out = EvalData.from_frames(models, tasks, scores=scores, name=name or source, notes=tuple(notes),
                                    steps=steps)
    return data_out


def load_pythia(raw: pd.DataFrame, name: str = PYTHIA) -> EvalData:
    """A shipped Pythia data set: ``pythia`` (standard Pile) or ``pythia_deduped``, from the
    shipped evaluations ``raw`` (:func:`forecast.data.shipped.pythia_frame`).

    The suite's main evaluations (:data:`MAIN_EVAL_RUNS`) of its main runs
    (:data:`MAIN_VARIANTS`: the 8 sizes; the standard 1B is ``pythia-1b-bf16``) of one
    family, read by :func:`read_suite`.  The two families are kept apart: each is one
    training recipe at 8 sizes of identical compute, so a rolling backtest of one family is
    the usual question, and the across-family question (one family's larger models known)
    is :func:`cross_family`'s.
    """
    if name not in FAMILIES:
        raise InputError(f"unknown Pythia data set {name!r} (use {', '.join(FAMILIES)})")
    keep = raw["eval_run"].isin(MAIN_EVAL_RUNS) & raw["variant"].isin(MAIN_VARIANTS) & (raw["family"] == FAMILIES[name])
    data = read_suite(raw[keep].reset_index(drop=True), name=name)
    dropped = (
        f"{name}: {FAMILIES[name]} family only, eval runs {', '.join(MAIN_EVAL_RUNS)} of the runs "
        f"{', '.join(MAIN_VARIANTS)} (left out: {int((~keep).sum())} rows of the other family, the batch-size "
        "ablations and the baseline re-runs)",
    )
    return dataclasses.replace(data, notes=tuple(data.notes) + dropped)


def load_both(raw: pd.DataFrame) -> EvalData:
    """Both Pythia families in one :class:`EvalData` (main eval runs and variants) from the
    shipped evaluations ``raw`` (:func:`forecast.data.shipped.pythia_frame`)."""
    keep = raw["eval_run"].isin(MAIN_EVAL_RUNS) & raw["variant"].isin(MAIN_VARIANTS)
    return read_suite(raw[keep].reset_index(drop=True), name="pythia_both")


def cross_family(data: EvalData, known: str, cutoff: float, name: str | None = None) -> EvalData:
    """The across-family split: every model of family ``known`` fitted, the other family's
    models fitted up to ``cutoff`` (raw FLOPs) and the rest held out.

    The held-out models get role ``target`` (scored at every cut-off, never fitted), so a
    backtest at the single cut-off ``max compute`` (:attr:`EvalData.default_cutoffs`) fits
    the known family whole and the other one below ``cutoff``: a user forecasting their own
    run from a public suite.
    """
    m = data.models.copy()
    if known not in set(m["family"]):
        raise InputError(f"{data.name}: no family {known!r} (has: {', '.join(sorted(set(m['family'])))})")
    target = (m["family"] != known) & (m["flops"] > cutoff * (1 + 1e-12))
    if not target.any():
        raise InputError(f"{data.name}: no model of another family than {known!r} above cut-off {cutoff:.4g}")
    m["role"] = np.where(target, "target", "ladder")
    top = float(m["flops"].max())
    out = dataclasses.replace(data, models=m.reset_index(drop=True), name=name or data.name,
                              default_cutoffs=repr(top))
    return out


def with_tasks(data: EvalData, tasks: list[str] | set[str], name: str | None = None) -> EvalData:
    """``data`` with only ``tasks`` (every table, so settings are learned from them alone)."""
    keep = set(tasks)
    unknown = sorted(keep - set(data.task_names))
    if unknown:
        raise InputError(f"{data.name}: unknown task {unknown[0]!r}")
    pick = {label: None if getattr(data, label) is None else
            getattr(data, label)[getattr(data, label)["task"].isin(keep)].reset_index(drop=True)
            for label in ("results", "groups", "scores", "steps")}
    tasks_t = data.tasks[data.tasks["task"].isin(keep)].reset_index(drop=True)
    return dataclasses.replace(data, tasks=tasks_t, name=name or data.name, **pick)


#: every SUBJECT_STRIDE-th MMLU subject (alphabetical) in the benchmark's task subset
SUBJECT_STRIDE = 6


def benchmark_tasks(data: EvalData, stride: int = SUBJECT_STRIDE) -> list[str]:
    """The benchmark's task subset, fixed before any result was seen: every task that is
    not an MMLU subject (the 8 others and the subject average, 0- and 5-shot), and every
    ``stride``-th subject in alphabetical order (both shot counts)."""
    subjects = sorted({base_task(t) for t in data.task_names if is_mmlu_subject(t)})
    chosen = set(subjects[::stride])
    return sorted(t for t in data.task_names if not is_mmlu_subject(t) or base_task(t) in chosen)


def cross_family_sets(both: EvalData, min_fitted: int = 4) -> list[EvalData]:
    """The across-family data sets: for each family as the known one, and each cut-off
    among the other family's sizes leaving ``min_fitted`` of them fitted and a larger one
    held out, :func:`cross_family`, named ``<other>_given_<known>_at_<size>``."""
    out = []
    m = both.models
    for known in sorted(set(m["family"])):
        other = m[m["family"] != known].sort_values("flops")
        tag = "pythia" if known == "Pythia" else "pythia_deduped"
        target = "pythia_deduped" if tag == "pythia" else "pythia"
        for i in range(min_fitted - 1, len(other) - 1):
            row = other.iloc[i]
            size = str(row["size"]) if "size" in other.columns else f"{row['params']:.3g}"
            out.append(cross_family(both, known, float(row["flops"]), name=f"{target}_given_{tag}_at_{size}"))
    return out


def pythia_subsets(tasks) -> list[tuple[str, frozenset[str], None]]:
    """``(name, tasks, None)``: the summary's task groups of a Pythia data set, the MMLU
    subjects and the rest (:func:`task_group`), at every cut-off."""
    tasks = set(tasks)
    out = []
    for group in (GROUP_MMLU, GROUP_REST):
        part = frozenset(t for t in tasks if task_group(t) == group)
        if part and part != tasks:
            out.append((group, part, None))
    return out
