"""The mirage check: does a task's jump survive a continuous metric?

METHOD.md section 2 (Schaeffer, Miranda & Koyejo 2023): the same outputs scored by a
discontinuous metric (accuracy, exact match, pass@k) can look emergent while a continuous
one (probability of the target, TC Brier, target log-likelihood, token edit distance)
improves smoothly.  :func:`mirage` scores one task's outputs under every metric the data
allow, one row per metric, with

* the curve over model size (one mean per model) and a bootstrap interval on every
  model's score, resampling **questions** (the same resampled questions for every model);
* the emergence score of each curve (:func:`forecast.metrics.emergence_score`) with a
  bootstrap interval from the same resamples;
* the resolution: per model, the number of questions needed to tell its score from the
  metric's reference (zero, or chance for multiple choice) with a two-sided 5 % test at
  80 % power (normal approximation, ``n = ((z_0.975 + z_0.8)·sd / |mean - ref|)**2``), from
  the per-question standard deviation observed;
* for sampled answers, the samples per question needed to see one success (pass@1 of a
  model that rarely succeeds: :func:`samples_needed`);
* a one-line verdict.

Metric keys (exactly these): ``accuracy``, ``p_correct``, ``tc_brier``, ``loglik`` (target
log-likelihood), ``exact_match``, ``edit_distance`` (token Levenshtein distance; lower is
better, so its emergence score is computed on the negated curve), ``pass@k`` (one key per
k, e.g. ``pass@1``, ``pass@10``).

Verdict rule (no tuned constant): the jump *is a mirage* when the largest emergence score
among the continuous metrics lies below the bootstrap interval of the largest among the
discontinuous ones; it *survives* otherwise.  Without an interval (slice-level data) the
point estimates are compared and the verdict says so.  Data with only one kind of metric get "cannot
tell".

Slice-level and task-level data (group aggregates, a model ladder, Pythia) have no
per-question rows: the curves come from the whole-task scores, those of the task table
(accuracy, TC Brier) and those of every other registered metric the score table holds for
the task (a task loss such as ``soft_log_prob``, the mean log-probability of the correct
answer: Pythia's LAMBADA ``-ln ppl``, a ladder's ``bpb`` and ``soft_prob``), each with the
kind, direction and chance level declared in :mod:`forecast.metrics.registry`.  Accuracy
intervals are binomial (Wilson) with the task's question count; the other curves have no
interval (their per-question spread is not published).
"""

from __future__ import annotations

import math
import sys
import types
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import norm
from statsmodels.stats.proportion import proportion_confint

from forecast.data.dataset import EvalData
from forecast.data.task_table import one_row_per_answer
from forecast.errors import InputError
from forecast.metrics import emergence_score, get_metric, is_metric, task_table_metrics
from forecast.metrics.registry import METRICS, correct_grade
from forecast.metrics.sampling import default_ks, pass_at_k


def scored_metrics() -> tuple[str, ...]:
    """The registered metrics scored per question, in registration order (the order of the rows)."""
    return tuple(name for name, m in METRICS.items() if m.score is not None and not m.is_family)


#: the metrics mirage scores itself, in the order of the rows (each declared in
#: :mod:`forecast.metrics.registry`; metrics registered beyond these follow them)
ORDER = ("accuracy", "p_correct", "tc_brier", "loglik", "exact_match", "edit_distance")
#: metrics read off a threshold (0/1 per question, or a max over samples)
DISCONTINUOUS = tuple(m for m in ORDER if not get_metric(m).continuous)
#: metrics that change smoothly with the model's probabilities
CONTINUOUS = tuple(m for m in ORDER if get_metric(m).continuous)
#: lower-is-better metrics (emergence score on the negated curve)
LOWER_IS_BETTER = tuple(m for m in ORDER if not get_metric(m).higher_is_better)
ALPHA, POWER = 0.05, 0.8


def is_discontinuous(metric: str) -> bool:
    """Accuracy, exact match and every pass@k (the metrics declared not continuous)."""
    return is_metric(metric) and not get_metric(metric).continuous


# ----------------------------------------------------------------------------- per question
def question_scores(rows: pd.DataFrame, ks: list[int] | None = None) -> tuple[pd.DataFrame, dict[str, str]]:
    """Per-question scores of one task under every available metric.

    Parameters
    ----------
    rows : DataFrame
        The task's per-question results (validated; one answer per question and model is
        kept, see :func:`forecast.data.task_table.one_row_per_answer`).
    ks : list of int, optional
        pass@k levels for sampled answers (default :func:`forecast.metrics.sampling.default_ks`).

    Returns
    -------
    (scores, unavailable)
        ``scores``: long table ``model, question_id, metric, value``; ``unavailable``: metric
        key -> the reason (the column it lacks).
    """
    rows = one_row_per_answer(rows).reset_index(drop=True)
    parts: dict[str, np.ndarray] = {}
    missing: dict[str, str] = {}
    sampled = "n_samples" in rows.columns
    has_ll = "loglik" in rows.columns and rows["loglik"].notna().all() and "target" in rows.columns
    if has_ll:
        parts["loglik"] = get_metric("loglik").score(rows)
    else:
        missing["loglik"] = "needs per-choice log-likelihoods (columns 'loglik', 'target')"
    if "correct" in rows.columns:  # the 0/1 grade (sampled answers: the majority; pass@1 is the rate)
        parts["accuracy"] = correct_grade(rows)
    else:
        missing["accuracy"] = "needs the argmax grade (column 'correct' or 'loglik')"
    if "p_correct" in rows.columns and rows["p_correct"].notna().all():
        parts["p_correct"] = get_metric("p_correct").score(rows)
        parts["tc_brier"] = get_metric("tc_brier").score(rows)
    else:
        for key in ("p_correct", "tc_brier"):
            missing[key] = "needs the probability of the correct answer (column 'p_correct')"
    has_text = {"output", "target_text"} <= set(rows.columns) and rows["output"].notna().all()
    if has_text:
        parts["exact_match"] = get_metric("exact_match").score(rows)
        parts["edit_distance"] = get_metric("edit_distance").score(rows)
    else:
        for key in ("exact_match", "edit_distance"):
            missing[key] = "needs generated text and targets (columns 'output', 'target_text')"
    if sampled:
        for k in ks or default_ks(rows["n_samples"]):
            parts[f"pass@{k}"] = pass_at_k(rows["n_samples"], rows["n_correct"], k)
    else:
        missing["pass@k"] = "needs sampled answers (columns 'n_samples', 'n_correct')"
    for name in scored_metrics():  # metrics registered beyond the built-in ones
        if name in ORDER:
            continue
        metric = get_metric(name)
        if metric.available(rows):
            parts[name] = np.asarray(metric.score(rows), dtype=float)
        else:
            missing[name] = f"needs columns {', '.join(map(repr, metric.needs))}"
    frames = [
        pd.DataFrame({"model": rows["model"], "question_id": rows["question_id"], "metric": m, "value": v})
        for m, v in parts.items()
    ]
    return pd.concat(frames, ignore_index=True), missing


def reference(metric: str, chance: float) -> float:
    """The score of a model with no ability (the metric's declared chance level: chance for
    multiple choice, else zero; NaN for edit distance)."""
    return get_metric(metric).reference(chance) if is_metric(metric) else 0.0


def questions_needed(mean: float, sd: float, ref: float) -> float:
    """Questions needed to tell ``mean`` from ``ref`` (two-sided 5 % test, 80 % power).

    ``inf`` when the score does not differ from the reference (a model with every answer
    wrong cannot be told from zero by more of the same); 1 when every question scored the
    same value away from it; NaN without a reference.
    """
    if not np.isfinite(ref):
        return math.nan
    diff = abs(mean - ref)
    if diff == 0 or not np.isfinite(sd):
        return math.inf
    if sd == 0:  # every question scored the same, away from the reference
        return 1.0
    z = norm.ppf(1 - ALPHA / 2) + norm.ppf(POWER)
    return float(max(1, math.ceil((z * sd / diff) ** 2)))


def samples_needed(rate: float, n_questions: int, confidence: float = 0.95) -> float:
    """Samples per question for at least one success over all questions with ``confidence``.

    With per-sample success rate ``rate`` (pass@1) on each of ``n_questions`` questions, ``s``
    samples per question all fail with probability ``(1 - rate)**(s·n_questions)``; the
    smallest ``s`` making that at most ``1 - confidence`` tells the model from zero.  ``inf``
    for a rate of 0 (no number of samples shows a success that never happens).
    """
    if rate <= 0 or n_questions <= 0:
        return math.inf
    if rate >= 1:
        return 1.0
    return float(max(1, math.ceil(math.log(1 - confidence) / (n_questions * math.log1p(-rate)))))


@dataclass
class MirageResult:
    """What :func:`mirage` returns.

    Attributes
    ----------
    task, scale : str
    metrics : DataFrame
        One row per metric: ``metric, kind, emergence_score, e_low, e_high, n_models``.
    curves : DataFrame
        One row per (metric, model): ``metric, model, compute, log10_compute, value, low,
        high, n_questions, reference, questions_needed, samples_needed`` (the last only for
        ``pass@1`` of sampled answers: samples per question to see one success, see
        :func:`samples_needed`).
    unavailable : dict
        Metric key -> what it lacks.
    verdict : str
    level : float
    """

    task: str
    scale: str
    metrics: pd.DataFrame
    curves: pd.DataFrame
    unavailable: dict[str, str]
    verdict: str
    level: float
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Strict-JSON-ready dict (non-finite numbers become None)."""

        def clean(v: Any) -> Any:
            if isinstance(v, (float, np.floating)):
                return float(v) if np.isfinite(v) else None
            if isinstance(v, np.integer):
                return int(v)
            return v

        metrics = {}
        for row in self.metrics.itertuples(index=False):
            c = self.curves[self.curves["metric"] == row.metric]
            metrics[row.metric] = {
                "kind": row.kind,
                "emergence_score": clean(row.emergence_score),
                "emergence_interval": [clean(row.e_low), clean(row.e_high)],
                "curve": [
                    {k: clean(v) for k, v in r.items() if k != "metric"}
                    for r in c.to_dict(orient="records")
                ],
            }
        return {
            "task": self.task,
            "scale": self.scale,
            "level": self.level,
            "metrics": metrics,
            "unavailable": dict(self.unavailable),
            "verdict": self.verdict,
            "notes": list(self.notes),
        }

    def plot(self, path: str) -> None:
        """Side-by-side panels, one per metric: curve over size with its intervals."""
        plot_mirage(self, path)


def plot_mirage(result: MirageResult, path: str) -> None:
    """One panel per metric, side by side: mean per model with its interval, the reference
    (chance or zero) dashed, the metric name and emergence score in the title."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from forecast.plotstyle import metric_label

    names = result.metrics["metric"].tolist()
    fig, axes = plt.subplots(1, len(names), figsize=(3.6 * len(names), 3.6), squeeze=False)
    xlabel = "log10 training FLOPs" if result.scale == "flops" else "log10 parameters"
    for ax, row in zip(axes[0], result.metrics.itertuples(index=False)):
        c = result.curves[result.curves["metric"] == row.metric]
        color = "tab:red" if row.kind == "discontinuous" else "tab:blue"
        ax.plot(c["log10_compute"], c["value"], "o-", color=color, label=f"{row.metric} (mean)")
        if c["low"].notna().any():
            ax.fill_between(c["log10_compute"], c["low"], c["high"], color=color, alpha=0.2,
                            label=f"{result.level:.0%} interval")
        ref = c["reference"].iloc[0]
        if np.isfinite(ref):
            ax.axhline(ref, color="grey", ls="--", lw=1, label="chance / zero")
        ax.set_title(f"{row.metric} ({row.kind})\nemergence score E = {row.emergence_score:.3g}", fontsize=9)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(metric_label(row.metric))
        ax.legend(fontsize=7)
    fig.suptitle(f"{result.task}: {result.verdict}", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _bootstrap(wide: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """Means of ``wide`` (questions × models, NaN = missing) over resampled questions."""
    n_q = wide.shape[0]
    idx = rng.integers(0, n_q, size=(n_boot, n_q))
    filled = np.nan_to_num(wide)
    present = (~np.isnan(wide)).astype(float)
    sums = np.stack([filled[i].sum(axis=0) for i in idx])
    counts = np.stack([present[i].sum(axis=0) for i in idx])
    with np.errstate(invalid="ignore", divide="ignore"):
        return sums / counts


def _emergence(x: np.ndarray, y: np.ndarray, metric: str) -> float:
    keep = np.isfinite(y)
    if keep.sum() < 2:
        return math.nan
    sign = 1.0 if not is_metric(metric) or get_metric(metric).higher_is_better else -1.0
    return emergence_score(x[keep], sign * y[keep])


def _verdict(table: pd.DataFrame, level: float) -> str:
    disc = table[table["metric"].map(is_discontinuous)].dropna(subset=["emergence_score"])
    cont = table[~table["metric"].map(is_discontinuous)].dropna(subset=["emergence_score"])
    if disc.empty or cont.empty:
        have = ", ".join(table["metric"]) or "none"
        return f"cannot tell: needs a discontinuous and a continuous metric (have: {have})"
    d = disc.loc[disc["emergence_score"].idxmax()]
    c = cont.loc[cont["emergence_score"].idxmax()]
    text = (
        f"{d.metric} E={d.emergence_score:.3g} [{d.e_low:.3g}, {d.e_high:.3g}] vs "
        f"{c.metric} E={c.emergence_score:.3g}"
    )
    if not np.isfinite(d.e_low):  # slice-level data: no per-question bootstrap
        text = f"{d.metric} E={d.emergence_score:.3g} vs {c.metric} E={c.emergence_score:.3g}, no interval"
        if c.emergence_score < d.emergence_score:
            return f"mirage (point estimates only): the jump shrinks under a continuous metric ({text})"
        return f"the jump survives a continuous metric (point estimates only; {text})"
    if c.emergence_score < d.e_low:
        return f"mirage: the jump shrinks under a continuous metric ({text}, below the {level:.0%} interval)"
    return f"the jump survives a continuous metric ({text})"


def _model_axis(data: EvalData, task: str) -> pd.DataFrame:
    return data.compute_table(task)[["model", "compute", "log10_compute"]]


def _per_question(data: EvalData, task: str, ks, n_boot, level, rng) -> tuple[pd.DataFrame, dict]:
    rows = data.results[data.results["task"] == task]
    scores, missing = question_scores(rows, ks)
    axis = _model_axis(data, task)
    models = axis["model"].tolist()
    chance = data.chance(task)
    records = []
    for metric, block in scores.groupby("metric", sort=False):
        wide = block.pivot(index="question_id", columns="model", values="value").reindex(columns=models)
        w = wide.to_numpy(dtype=float)
        boots = _bootstrap(w, n_boot, rng)
        lo, hi = np.nanquantile(boots, [(1 - level) / 2, (1 + level) / 2], axis=0)
        mean = np.nanmean(w, axis=0)
        sd = np.nanstd(w, axis=0, ddof=1)
        ref = reference(metric, chance)
        for j, m in enumerate(models):
            records.append(
                {"metric": metric, "model": m, "value": mean[j], "low": lo[j], "high": hi[j],
                 "n_questions": int(np.isfinite(w[:, j]).sum()), "reference": ref,
                 "questions_needed": questions_needed(mean[j], sd[j], ref), "_boot": boots[:, j],
                 "samples_needed": samples_needed(mean[j], int(np.isfinite(w[:, j]).sum()))
                 if metric == "pass@1" else math.nan}
            )
    return pd.DataFrame(records), missing


def whole_task_values(data: EvalData, task: str, metric: str, prob_renormalized: bool = True) -> pd.DataFrame:
    """Per-model whole-task values of ``metric`` on ``task`` from the score table
    (``model, value``; empty where the data hold none), preferring rows with
    ``prob_renormalized`` as the task table does."""
    if data.scores is None:
        return pd.DataFrame({"model": [], "value": []})
    s = data.scores[(data.scores["task"] == task) & (data.scores["metric"] == metric)]
    if "prob_renormalized" in s.columns:
        s = s.sort_values("prob_renormalized", ascending=not prob_renormalized, kind="stable")
    return s.drop_duplicates("model")[["model", "value"]].reset_index(drop=True)


def _slice_level(data: EvalData, task: str, level: float) -> tuple[pd.DataFrame, dict]:
    """Curves of task-level data: the task table's metrics (accuracy, TC Brier) and every
    other registered metric the score table holds for the task (a task loss such as
    ``soft_log_prob``, Pythia's LAMBADA ``-ln ppl``), each with its declared kind, direction,
    chance level and noise model (binomial: a Wilson interval; otherwise none)."""
    from forecast.data.task_table import task_table

    table = task_table(data, task)
    chance = data.chance(task)
    per_metric = {m: table[["model", m]].rename(columns={m: "value"}) for m in task_table_metrics()
                  if m in table.columns and table[m].notna().any()}
    for name, m in METRICS.items():  # whole-task values of the other registered metrics
        if name not in per_metric and not m.is_family:
            given = whole_task_values(data, task, name)
            if given["value"].notna().any():
                per_metric[name] = table[["model"]].merge(given, on="model", how="left")
    n_of = dict(zip(table["model"], table["n_questions"].to_numpy(dtype=float)))
    records = []
    for metric, values in per_metric.items():
        ref = reference(metric, chance)
        binomial = get_metric(metric).noise == "binomial"
        for model, v in zip(values["model"], values["value"].to_numpy(dtype=float)):
            n_q = n_of[model]
            lo = hi = need = math.nan
            if binomial and np.isfinite(n_q) and np.isfinite(v):
                lo, hi = proportion_confint(round(v * n_q), int(n_q), alpha=1 - level, method="wilson")
                need = questions_needed(v, math.sqrt(v * (1 - v)), ref)
            records.append({"metric": metric, "model": model, "value": v, "low": lo, "high": hi,
                            "n_questions": n_q, "reference": ref, "questions_needed": need,
                            "samples_needed": math.nan, "_boot": None})
    held = ", ".join(per_metric) or "none"
    missing = {k: f"task-level data hold only whole-task scores (here: {held})"
               for k in ("p_correct", "loglik", "exact_match", "edit_distance", "pass@k") if k not in per_metric}
    return pd.DataFrame(records), missing


def _sort_key(metric: str) -> tuple[int, int]:
    if metric.startswith("pass@"):
        return (len(METRICS), int(metric[5:]))
    return (list(METRICS).index(metric), 0)


def mirage(
    data: EvalData | str,
    task: str,
    models: Any = None,
    task_info: Any = None,
    ks: list[int] | None = None,
    n_boot: int = 1000,
    level: float = 0.9,
    seed: int = 0,
) -> MirageResult:
    """Score one task's outputs under every available metric and compare their emergence.

    Parameters
    ----------
    data : EvalData or str
        Loaded data, a shipped dataset name, a results file or an lm-eval folder
        (see :func:`forecast.load_data`).
    task : str
    models, task_info : optional
        Models table and task info, passed to :func:`forecast.load_data`.
    ks : list of int, optional
        pass@k levels for sampled answers.
    n_boot : int, default 1000
        Bootstrap resamples of the questions.
    level : float, default 0.9
        Interval level.
    seed : int, default 0

    Returns
    -------
    MirageResult
    """
    from forecast.data.loading import load_data

    if not 0 < level < 1:
        raise InputError(f"level must lie in (0, 1), got {level!r}")
    if isinstance(n_boot, bool) or int(n_boot) != n_boot or n_boot < 10:
        raise InputError(f"n_boot must be a whole number >= 10, got {n_boot!r}")
    if not isinstance(data, EvalData) or models is not None or task_info is not None:
        data = load_data(data, models=models, task_info=task_info)
    data = data.for_task(task)
    rng = np.random.default_rng(seed)
    if data.results is not None:
        curves, missing = _per_question(data, task, ks, int(n_boot), level, rng)
    else:
        curves, missing = _slice_level(data, task, level)
    if curves.empty:
        raise InputError(f"{data.name}: task {task!r} has no metric to compare")
    axis = _model_axis(data, task)
    curves = curves.merge(axis, on="model", how="left")
    rows = []
    x = axis["log10_compute"].to_numpy()
    for metric in sorted(curves["metric"].unique(), key=_sort_key):
        c = curves[curves["metric"] == metric].set_index("model").loc[axis["model"]]
        e = _emergence(x, c["value"].to_numpy(dtype=float), metric)
        e_lo = e_hi = math.nan
        if c["_boot"].iloc[0] is not None:
            boots = np.stack(c["_boot"].to_numpy(), axis=1)
            es = np.array([_emergence(x, b, metric) for b in boots])
            es = es[np.isfinite(es)]
            if es.size:
                e_lo, e_hi = np.quantile(es, [(1 - level) / 2, (1 + level) / 2])
        rows.append({"metric": metric, "kind": "discontinuous" if is_discontinuous(metric) else "continuous",
                     "emergence_score": e, "e_low": e_lo, "e_high": e_hi, "n_models": int(c["value"].notna().sum())})
    table = pd.DataFrame(rows)
    cols = ["metric", "model", "compute", "log10_compute", "value", "low", "high",
            "n_questions", "reference", "questions_needed", "samples_needed"]
    curves = curves.assign(_order=curves["metric"].map(_sort_key))
    curves = curves.sort_values(["_order", "log10_compute", "model"])[cols].reset_index(drop=True)
    return MirageResult(task, data.scale(task), table, curves, missing, _verdict(table, level), level,
                        list(data.notes))


class _CallableModule(types.ModuleType):
    """``forecast.mirage(...)`` calls :func:`mirage` (the module and the function share a name)."""

    def __call__(self, *args: Any, **kwargs: Any) -> MirageResult:
        return mirage(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
