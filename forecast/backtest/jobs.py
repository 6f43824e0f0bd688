"""Backtest jobs: one (dataset, task, method, cut-off), a pure function of its inputs.

:func:`run_job` fits the method on the models at or below the cut-off (the base class
applies the cut-off), predicts every held-out model, and returns a plain JSON-ready dict:
predictions with their CRPS, calibration flags, the forecast and observed thresholds, and
a forecast curve for plots.  It never raises: a failure is returned with
``status="failed"`` and a one-line ``error``.  The seed of a job depends only on the
run's seed and the job's key (:func:`job_seed`), so any backend gives the same output.
"""

from __future__ import annotations

import hashlib
import json
import time
import warnings
import zlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from forecast.backtest.emergence import (
    MIN_QUESTIONS,
    reached,
    emergence_budgets,
    event_probability,
    observed_event,
)
from forecast.backtest.scoring import (
    CALIBRATION_LEVELS,
    bracket_inside,
    cover_scores,
    crossing_bracket,
    crps_sample,
    randomized_pit,
    threshold_crps,
)
from forecast.data.dataset import EvalData
from forecast.provenance import code_label, code_version, source_hash  # noqa: F401  (re-exported)
from forecast.data.fingerprint import data_fingerprint  # noqa: F401 - re-exported (old import path)
from forecast.data.task_table import task_table
from forecast.errors import FitError, InputError, NotApplicable
from forecast.methods.base import GRID_POINTS
from forecast.threshold import first_crossing, normalised, observed_threshold

#: points of the forecast curve kept per job (for the plots)
CURVE_POINTS = 41
#: held-out models within this many decades of the cut-off form the "0.5dec" window
NEAR_DECADES = 0.5
#: normalised-accuracy levels of the emergence events (``emergence.csv``)
EMERGENCE_TAUS = (0.1, 0.25, 0.5)


def format_cutoff(cutoff: float) -> str:
    """The cut-off as it appears in job keys (stable, 10 significant digits)."""
    return f"{float(cutoff):.10g}"


def job_key(dataset: str, task: str, method: str, cutoff: float) -> str:
    """Unique, stable name of a job."""
    return f"{dataset}|{task}|{method}|{format_cutoff(cutoff)}"


def seed_key(task: str | None, method: str, cutoff: float) -> str:
    """What a job's seed derives from: the task, the method and the cut-off; never the data
    set's name (a file's name or path), so that the same rows under another name give the
    same forecasts.  ``task=None``: a context learned from every task of a data set."""
    return f"{'*' if task is None else task}|{method}|{format_cutoff(cutoff)}"


def job_seed(seed: int, key: str) -> int:
    """Seed of one job: ``SeedSequence([seed, crc32(key)])`` -> a 32-bit int (never ``hash()``)."""
    ss = np.random.SeedSequence([int(seed), zlib.crc32(key.encode("utf-8"))])
    return int(ss.generate_state(1, dtype=np.uint32)[0])


def method_label(name: str, params: dict[str, Any] | None) -> str:
    """Display name of a configured method: ``name`` or ``name(k=v,...)``."""
    if not params:
        return name
    return f"{name}({','.join(f'{k}={params[k]!r}' for k in sorted(params))})"




@dataclass(frozen=True, eq=False)
class Job:
    """Everything one job needs; ``data`` holds only the job's task, or every task of a
    data set of many families (``EvalData.multi_family``: held-out models' own scores on
    the other tasks go to the method as ``score:<task>`` columns)."""

    dataset: str
    task: str
    method: str
    method_name: str
    params: tuple[tuple[str, Any], ...]
    cutoff: float
    order: int
    seed: int
    level: float
    tau: float
    data: EvalData = field(repr=False)
    data_hash: str = ""
    #: the code that runs the job (:func:`code_label`): a change of it invalidates saved results
    code: str = ""
    #: settings the method learned from every task at this cut-off (``learn_context``)
    context: dict[str, Any] | None = field(default=None, repr=False)
    #: import path of the method's class (``module:Class``): a worker where ``method_name``
    #: is not registered (a method registered at run time) imports it from there
    method_path: str = ""

    @property
    def key(self) -> str:
        return job_key(self.dataset, self.task, self.method, self.cutoff)

    @property
    def fingerprint(self) -> str:
        """Hash of every input that decides the job's output."""
        payload = {
            "key": self.key, "method_name": self.method_name,
            "params": [[k, repr(v)] for k, v in self.params], "seed": self.seed,
            "level": self.level, "tau": self.tau,
            "data": self.data_hash, "code": self.code,
            "context": self.context,
        }
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


#: the pseudo-method of the context jobs that flag each task predictable or not at a cut-off
PREDICTABILITY = "predictability"


@dataclass(frozen=True, eq=False)
class ContextJob:
    """Learn one method's settings at one cut-off from every task of a data set.

    ``pool`` holds every task of the data set restricted to the models at or below
    ``cutoff`` (:meth:`~forecast.data.dataset.EvalData.restrict`): nothing above the
    cut-off reaches :meth:`~forecast.methods.base.Forecaster.learn_context`.
    """

    dataset: str
    method: str
    method_name: str
    params: tuple[tuple[str, Any], ...]
    cutoff: float
    seed: int
    pool: EvalData = field(repr=False)
    pool_hash: str = ""
    code: str = ""
    #: set when the data set's tasks do not share one compute scale: the pool is this task's
    task: str | None = None
    #: import path of the method's class (see :attr:`Job.method_path`)
    method_path: str = ""

    @property
    def key(self) -> str:
        scope = self.dataset if self.task is None else f"{self.dataset}/{self.task}"
        return f"context|{scope}|{self.method}|{format_cutoff(self.cutoff)}"

    @property
    def fingerprint(self) -> str:
        payload = {"key": self.key, "method_name": self.method_name,
                   "params": [[k, repr(v)] for k, v in self.params], "seed": self.seed,
                   "data": self.pool_hash, "code": self.code}
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def run_context_job(job: ContextJob) -> dict[str, Any]:
    """Learn a context; never raises (a failure comes back with ``status="failed"``)."""
    from threadpoolctl import threadpool_limits

    start = time.perf_counter()
    out: dict[str, Any] = {"key": job.key, "fingerprint": job.fingerprint, "dataset": job.dataset,
                           "method": job.method, "cutoff": float(job.cutoff), "code": job.code}
    try:
        with threadpool_limits(limits=1), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if job.method_name == PREDICTABILITY:
                from forecast.predictability import predictability_table

                table = predictability_table(job.pool, job.cutoff)
                context = {"predictable": {t: (None if pd.isna(v) else bool(v))
                                           for t, v in zip(table["task"], table["predictable"])},
                           "score": {t: (None if pd.isna(v) else float(v))
                                     for t, v in zip(table["task"], table["score"])}}
            else:
                from forecast.settings_cache import learned_settings, resolve_cache

                fc = job_method(job)
                found = learned_settings(fc, job.pool, job.cutoff, job.pool_hash or data_fingerprint(job.pool),
                                         resolve_cache(None))
                context = found.settings
                out["settings"] = found.source
        out.update(status="ok", error=None, context=json.loads(json.dumps(context, sort_keys=True)))
    except Exception as exc:  # recorded; the jobs that need it fail with this error
        out.update(status="failed", error=_one_line(exc), context=None)
    out["seconds"] = round(time.perf_counter() - start, 4)
    return out


def job_method(job: Job | ContextJob):
    """The job's method, built by ``forecast.methods.make_method`` when its name is
    registered in this process, else from the import path the job carries (a method
    registered at run time in the main process, unknown to this worker)."""
    from forecast.methods import ALIASES, METHODS, make_method
    from forecast.methods.registry import make_job_method

    params = {**dict(job.params), "seed": job.seed}
    if job.method_name in METHODS or job.method_name in ALIASES or not job.method_path:
        return make_method(job.method_name, **params)
    return make_job_method(job.method_name, job.method_path, params)


def _floats(values) -> list[float]:
    return [float(v) for v in np.asarray(values, dtype=float)]


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    if isinstance(exc, (InputError, FitError)):
        return text
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _threshold_row(fc, tau: float, level: float, full: pd.DataFrame, held: pd.DataFrame,
                   chance: float) -> dict:
    """The forecast threshold at ``tau`` and what the data show, with the censoring-aware scores
    (threshold CRPS capped at the largest held-out model, crossing bracket)."""
    th = fc.threshold(tau, level=level).to_dict()
    fit = fc.fit_table_
    x_all = full["log10_compute"].to_numpy(float)
    y_all = full["accuracy"].to_numpy(float)
    obs_fit = observed_threshold(fit["log10_compute"].to_numpy(float), fit["accuracy"].to_numpy(float), chance, tau)
    obs_all = observed_threshold(x_all, y_all, chance, tau)
    cap = float(held["log10_compute"].max())
    lo, hi = fc.search_range_
    grid = np.linspace(lo, max(hi, cap), GRID_POINTS)
    crossings = first_crossing(grid, normalised(fc.curve_draws(grid), chance), tau)
    crossings = np.where(crossings > hi + 1e-12, np.nan, crossings)  # beyond the search range
    bracket = crossing_bracket(x_all, y_all, chance, tau)
    return {
        "tau": float(tau),
        "estimate": th["estimate"],
        "lower": th["lower"],
        "upper": th["upper"],
        "upper_censored": bool(th["upper_censored"]),
        "p_reached": float(th["p_reached"]),
        "search_max": float(th["search_max"]),
        "observed_fitted": obs_fit,
        "observed": obs_all,
        "max_compute": float(full["compute"].max()),
        "thr_crps": threshold_crps(crossings, None if obs_all is None else np.log10(obs_all), cap),
        "bracket_lo": float(10.0 ** bracket[0]) if np.isfinite(bracket[0]) else None,
        "bracket_hi": float(10.0 ** bracket[1]) if np.isfinite(bracket[1]) else None,
        "inside_bracket": bracket_inside(None if th["lower"] is None else np.log10(th["lower"]),
                                         None if th["upper"] is None else np.log10(th["upper"]),
                                         bracket, bool(th["upper_censored"])),
    }


def _emergence_rows(fc, full: pd.DataFrame, held: pd.DataFrame, held_draws: np.ndarray,
                    chance: float, cutoff: float, n_questions: float | None) -> list[dict]:
    """``p_emerged`` and ``observed`` of the event "the task reaches tau by budget B", for
    each tau of :data:`EMERGENCE_TAUS` not yet reached at the cut-off (see
    :mod:`forecast.backtest.emergence`)."""
    fit = fc.fit_table_
    fit_x, fit_y = fit["log10_compute"].to_numpy(float), fit["accuracy"].to_numpy(float)
    x_all, y_all = full["log10_compute"].to_numpy(float), full["accuracy"].to_numpy(float)
    held_x = held["log10_compute"].to_numpy(float)
    cut = float(np.log10(cutoff))
    budgets = emergence_budgets(x_all, cut, held_x)
    if budgets.empty:
        return []
    beyond = budgets.loc[budgets["beyond"], "budget_log10"].to_numpy(float)
    ext_x, ext_draws = held_x, held_draws
    if beyond.size:  # budgets past the largest model: the curve there, a model of that size
        ext_x = np.concatenate([held_x, beyond])
        ext_draws = np.concatenate([held_draws, fc.sample(10.0**beyond, "observed")], axis=1)
    small = n_questions is not None and np.isfinite(n_questions) and n_questions < MIN_QUESTIONS
    rows = []
    for tau in EMERGENCE_TAUS:
        if observed_event(fit_x, fit_y, chance, tau, cut):
            continue  # already reached at the cut-off: nothing to forecast
        p = event_probability(fit_x, fit_y, ext_x, ext_draws, chance, tau, budgets["budget_log10"])
        obs = observed_event(x_all, y_all, chance, tau, budgets["budget_log10"].to_numpy(float))
        for i, b in enumerate(budgets.itertuples(index=False)):
            scored = not (b.beyond or small)
            rows.append({"tau": float(tau), "budget": float(10.0**b.budget_log10),
                         "distance_dec": float(b.distance_dec), "beyond": bool(b.beyond),
                         "p_emerged": float(p[i]), "observed": (float(obs[i]) if scored else None)})
    return rows


#: prefix of the columns that hand a method a held-out model's own scores on other tasks
SCORE_PREFIX = "score:"


def own_scores(data: EvalData, models: pd.DataFrame, task: str) -> pd.DataFrame:
    """``models`` with one column ``score:<t>`` per other task ``t`` of ``data``: each
    model's own ``accuracy`` on ``t`` (NaN where it has none).

    Never the forecast ``task`` nor a task of its ``task_group`` (its variants), and only
    the row's own model's scores: a row reads nothing of any other model.
    """
    if data.scores is None:
        return models
    groups = data.task_groups()
    own_group = groups.get(task, task)
    others = [t for t in data.task_names if t != task and groups.get(t, t) != own_group]
    if not others:
        return models
    acc = data.scores[(data.scores["metric"] == "accuracy") & data.scores["task"].isin(others)
                      & data.scores["model"].isin(set(models["model"]))]
    acc = acc.sort_values("prob_renormalized", ascending=False).drop_duplicates(["task", "model"])
    wide = acc.pivot(index="model", columns="task", values="value")
    wide = wide.reindex(columns=others)
    wide.columns = [f"{SCORE_PREFIX}{t}" for t in others]
    return models.merge(wide, left_on="model", right_index=True, how="left")


def _family_emergence_rows(fit: pd.DataFrame, held: pd.DataFrame, held_draws: np.ndarray,
                           chance: float, cutoff: float) -> list[dict]:
    """Emergence per held-out model, for data of many families (a pooled crossing of many
    families is ill-defined).

    At each tau of :data:`EMERGENCE_TAUS`: one row per held-out model whose family has no
    fitted model (of this task, at or below the cut-off) with normalised score ``>= tau``;
    ``observed`` = 1 iff the model's own normalised score is ``>= tau``; ``p_emerged`` = the
    share of its observed-score draws whose normalised score is ``>= tau``.  ``budget`` is
    the model's compute.
    """
    fit_norm = normalised(fit["accuracy"].to_numpy(float), chance)
    fit_family = fit["family"].astype(str).to_numpy()
    held_norm = normalised(held["accuracy"].to_numpy(float), chance)
    draw_norm = normalised(held_draws, chance)
    cut = float(np.log10(cutoff))
    rows = []
    for tau in EMERGENCE_TAUS:
        emerged = set(fit_family[reached(fit_norm, tau)])
        for i, (model, family, log_c) in enumerate(zip(held["model"], held["family"].astype(str),
                                                       held["log10_compute"].to_numpy(float))):
            if family in emerged:
                continue  # its family already reached tau at the cut-off: nothing to forecast
            rows.append({"tau": float(tau), "budget": float(10.0**log_c), "distance_dec": float(log_c - cut),
                         "beyond": False, "model": str(model), "family": family,
                         "family_seen": bool(family in set(fit_family)),
                         "p_emerged": float(np.mean(reached(draw_norm[:, i], tau))),
                         "observed": float(reached(held_norm[i], tau))})
    return rows


def _evaluate(job: Job) -> dict[str, Any]:
    data = job.data
    fc = job_method(job)
    fc.fit(data, job.cutoff, job.task, context=job.context)
    full = task_table(data, job.task)
    full = full[np.isfinite(full["accuracy"].to_numpy(dtype=float))]
    chance = data.chance(job.task)
    # every model above the cut-off, and a ladder's targets (never fitted at any cut-off)
    held_names = set(data.held_out_models(job.cutoff, job.task))
    held = full[full["model"].isin(held_names)].sort_values(["log10_compute", "model"])
    if held.empty:
        raise InputError(f"task {job.task!r}: no held-out model above cut-off {job.cutoff:.4g}")
    compute = held["compute"].to_numpy(dtype=float)
    y = held["accuracy"].to_numpy(dtype=float)
    # what is known of a held-out model before it is evaluated: its name, family, size
    known = data.models[[c for c in ("model", "family", "params", "tokens") if c in data.models.columns]]
    held_models = held[["model", "compute"]].merge(known, on="model", how="left")
    if data.multi_family:  # form (b) of observational scaling reads the model's other scores
        held_models = own_scores(data, held_models, job.task)
    pred = fc.predict_models(held_models, level=job.level, kind="observed")
    draws = fc.sample_models(held_models, kind="observed")
    crps = crps_sample(draws, y)
    pit = randomized_pit(draws, y, np.random.default_rng([job.seed, 7]))
    alpha = (1.0 - np.asarray(CALIBRATION_LEVELS)) / 2.0
    qs = np.quantile(draws, np.concatenate([alpha, 1.0 - alpha]), axis=0)
    covered = [cover_scores(y, qs[i], qs[len(alpha) + i])[0] for i in range(len(alpha))]
    horizon = np.log10(compute) - np.log10(job.cutoff)
    n_q = held["n_questions"].to_numpy(dtype=float) if "n_questions" in held.columns else np.full(len(held), np.nan)
    thresholds = [_threshold_row(fc, job.tau, job.level, full, held, chance)]
    families = data.models.set_index("model")["family"].astype(str)
    fit = fc.fit_table_.assign(family=lambda t: t["model"].map(families).fillna(t["model"]))
    held_family = held["model"].map(families).fillna(held["model"]).astype(str)
    # seen family: a model of its family is among the task's fitted models
    family_seen = held_family.isin(set(fit["family"])).to_numpy()
    if data.multi_family:
        emergence = ([] if not data.emergence_scored(job.task) else _family_emergence_rows(
            fit, held.assign(family=held_family.to_numpy()), draws, chance, job.cutoff))
    else:
        emergence = _emergence_rows(fc, full, held, draws, chance, job.cutoff, fc.n_questions_)
    lo = float(full["log10_compute"].min())
    hi = max(float(full["log10_compute"].max()), np.log10(job.cutoff) + 0.5)
    grid = 10.0 ** np.linspace(lo, hi, CURVE_POINTS)
    curve = fc.predict(grid, level=job.level, kind="observed")
    return {
        "scale": str(fc.scale_),
        "n_fitted": int(len(fc.fit_table_)),
        "n_heldout": int(len(held)),
        "context": {k: v for k, v in fc.context_.items() if not isinstance(v, dict)},
        "predictions": {
            "model": [str(m) for m in held["model"]],
            "compute": _floats(compute),
            "log10_compute": _floats(np.log10(compute)),
            "horizon_dec": _floats(horizon),
            "n_questions": _floats(n_q),
            "y_true": _floats(y),
            "mean": _floats(pred["mean"]),
            "lower": _floats(pred["lower"]),
            "upper": _floats(pred["upper"]),
            "crps": _floats(crps),
            "pit": _floats(pit),
            "family": [str(f) for f in held_family],
            "family_seen": [bool(f) for f in family_seen],
        },
        "calibration": {
            "levels": list(CALIBRATION_LEVELS),
            "covered": [_floats(row) for row in covered],
        },
        "thresholds": thresholds,
        "emergence": emergence,
        "curve": {
            "compute": _floats(grid),
            "mean": _floats(curve["mean"]),
            "lower": _floats(curve["lower"]),
            "upper": _floats(curve["upper"]),
        },
    }


def run_job(job: Job) -> dict[str, Any]:
    """Run one job; never raises (a failure comes back with ``status="failed"``).

    BLAS/OpenMP use one thread inside the job: parallelism is across jobs.
    """
    from threadpoolctl import threadpool_limits

    start = time.perf_counter()
    out: dict[str, Any] = {
        "key": job.key,
        "fingerprint": job.fingerprint,
        "dataset": job.dataset,
        "task": job.task,
        "method": job.method,
        "cutoff": float(job.cutoff),
        "order": int(job.order),
        "seed": int(job.seed),
        "level": float(job.level),
        "code": job.code,
    }
    try:
        with threadpool_limits(limits=1), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            body = _evaluate(job)
        out.update(status="ok", error=None, **body)
    except NotApplicable as exc:  # the method does not apply here: skipped, not failed
        out.update(status="skipped", error=_one_line(exc))
    except Exception as exc:  # recorded, the run goes on
        out.update(status="failed", error=_one_line(exc))
    out["seconds"] = round(time.perf_counter() - start, 4)
    return out
