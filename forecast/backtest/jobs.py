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
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from forecast.backtest.scoring import CALIBRATION_LEVELS, coverage_flags, crps_sample
from forecast.data.dataset import EvalData
from forecast.data.task_table import task_table
from forecast.errors import FitError, InputError, NotApplicable
from forecast.threshold import observed_threshold

#: points of the forecast curve kept per job (for the plots)
CURVE_POINTS = 41
#: held-out models within this many decades of the cut-off form the "0.5dec" window
NEAR_DECADES = 0.5


def format_cutoff(cutoff: float) -> str:
    """The cut-off as it appears in job keys (stable, 10 significant digits)."""
    return f"{float(cutoff):.10g}"


def job_key(dataset: str, task: str, method: str, cutoff: float) -> str:
    """Unique, stable name of a job."""
    return f"{dataset}|{task}|{method}|{format_cutoff(cutoff)}"


def job_seed(seed: int, key: str) -> int:
    """Seed of one job: ``SeedSequence([seed, crc32(key)])`` -> a 32-bit int (never ``hash()``)."""
    ss = np.random.SeedSequence([int(seed), zlib.crc32(key.encode("utf-8"))])
    return int(ss.generate_state(1, dtype=np.uint32)[0])


def method_label(name: str, params: dict[str, Any] | None) -> str:
    """Display name of a configured method: ``name`` or ``name(k=v,...)``."""
    if not params:
        return name
    return f"{name}({','.join(f'{k}={params[k]!r}' for k in sorted(params))})"


def source_hash() -> str:
    """Short hash of the package's source (every ``forecast/**/*.py``: relative path and bytes)."""
    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        h.update(path.relative_to(root).as_posix().encode("utf-8") + b"\0")
        h.update(path.read_bytes() + b"\0")
    return h.hexdigest()[:12]


def code_version() -> dict[str, str]:
    """``{"version": forecast.__version__, "source_hash": source_hash()}`` of the running code."""
    import forecast

    return {"version": str(forecast.__version__), "source_hash": source_hash()}


def code_label(code: dict[str, str] | None) -> str:
    """``version+source_hash``, as job results and fingerprints record it."""
    if not code:
        return ""
    return f"{code.get('version', '')}+{code.get('source_hash', '')}"


def data_fingerprint(data: EvalData) -> str:
    """A hash of every table of ``data`` (to tell whether a saved job used the same data)."""
    h = hashlib.sha256()
    for label in ("models", "tasks", "results", "groups", "scores"):
        table = getattr(data, label)
        h.update(label.encode())
        if table is None:
            h.update(b"-")
            continue
        h.update(",".join(map(str, table.columns)).encode())
        h.update(pd.util.hash_pandas_object(table, index=False).to_numpy().tobytes())
    return h.hexdigest()[:16]


@dataclass(frozen=True, eq=False)
class Job:
    """Everything one job needs; ``data`` holds only the job's task."""

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
    control_tau: float | None
    data: EvalData = field(repr=False)
    data_hash: str = ""
    #: the code that runs the job (:func:`code_label`): a change of it invalidates saved results
    code: str = ""
    #: settings the method learned from every task at this cut-off (``learn_context``)
    context: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def key(self) -> str:
        return job_key(self.dataset, self.task, self.method, self.cutoff)

    @property
    def fingerprint(self) -> str:
        """Hash of every input that decides the job's output."""
        payload = {
            "key": self.key, "method_name": self.method_name,
            "params": [[k, repr(v)] for k, v in self.params], "seed": self.seed,
            "level": self.level, "tau": self.tau, "control_tau": self.control_tau,
            "data": self.data_hash, "code": self.code,
            "context": self.context,
        }
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


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

    from forecast.methods import make_method

    start = time.perf_counter()
    out: dict[str, Any] = {"key": job.key, "fingerprint": job.fingerprint, "dataset": job.dataset,
                           "method": job.method, "cutoff": float(job.cutoff), "code": job.code}
    try:
        with threadpool_limits(limits=1), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fc = make_method(job.method_name, **dict(job.params), seed=job.seed)
            context = fc.learn_context(job.pool, job.cutoff)
        out.update(status="ok", error=None, context=json.loads(json.dumps(context, sort_keys=True)))
    except Exception as exc:  # recorded; the jobs that need it fail with this error
        out.update(status="failed", error=_one_line(exc), context=None)
    out["seconds"] = round(time.perf_counter() - start, 4)
    return out


def _floats(values) -> list[float]:
    return [float(v) for v in np.asarray(values, dtype=float)]


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    if isinstance(exc, (InputError, FitError)):
        return text
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _threshold_row(fc, role: str, tau: float, level: float, full: pd.DataFrame, chance: float) -> dict:
    th = fc.threshold(tau, level=level).to_dict()
    fit = fc.fit_table_
    obs_fit = observed_threshold(fit["log10_compute"].to_numpy(float), fit["accuracy"].to_numpy(float), chance, tau)
    obs_all = observed_threshold(full["log10_compute"].to_numpy(float), full["accuracy"].to_numpy(float), chance, tau)
    return {
        "role": role,
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
    }


def _evaluate(job: Job) -> dict[str, Any]:
    from forecast.methods import make_method

    data = job.data
    fc = make_method(job.method_name, **dict(job.params), seed=job.seed)
    fc.fit(data, job.cutoff, job.task, context=job.context)
    full = task_table(data, job.task)
    full = full[np.isfinite(full["accuracy"].to_numpy(dtype=float))]
    chance = data.chance(job.task)
    fitted = set(fc.fit_table_["model"])
    held = full[~full["model"].isin(fitted)].sort_values(["log10_compute", "model"])
    if held.empty:
        raise InputError(f"task {job.task!r}: no held-out model above cut-off {job.cutoff:.4g}")
    compute = held["compute"].to_numpy(dtype=float)
    y = held["accuracy"].to_numpy(dtype=float)
    # what is known of a held-out model before it is evaluated: its name, family, size
    known = data.models[[c for c in ("model", "family", "params", "tokens") if c in data.models.columns]]
    held_models = held[["model", "compute"]].merge(known, on="model", how="left")
    pred = fc.predict_models(held_models, level=job.level, kind="observed")
    draws = fc.sample_models(held_models, kind="observed")
    crps = crps_sample(draws, y)
    covered = coverage_flags(draws, y, CALIBRATION_LEVELS)
    horizon = np.log10(compute) - np.log10(job.cutoff)
    thresholds = [_threshold_row(fc, "main", job.tau, job.level, full, chance)]
    if job.control_tau is not None:
        thresholds.append(_threshold_row(fc, "control", job.control_tau, job.level, full, chance))
    lo = float(full["log10_compute"].min())
    hi = max(float(full["log10_compute"].max()), np.log10(job.cutoff) + 0.5)
    grid = 10.0 ** np.linspace(lo, hi, CURVE_POINTS)
    curve = fc.predict(grid, level=job.level, kind="observed")
    return {
        "scale": str(fc.scale_),
        "n_fitted": int(len(fc.fit_table_)),
        "n_heldout": int(len(held)),
        "predictions": {
            "model": [str(m) for m in held["model"]],
            "compute": _floats(compute),
            "log10_compute": _floats(np.log10(compute)),
            "horizon_dec": _floats(horizon),
            "y_true": _floats(y),
            "mean": _floats(pred["mean"]),
            "lower": _floats(pred["lower"]),
            "upper": _floats(pred["upper"]),
            "crps": _floats(crps),
        },
        "calibration": {
            "levels": list(CALIBRATION_LEVELS),
            "covered": [[bool(v) for v in row] for row in covered],
        },
        "thresholds": thresholds,
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
