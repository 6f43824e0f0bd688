"""``check_forecaster``: the method contract, checked on the fixtures of
:mod:`forecast.testing.fixtures` (what it checks: :mod:`forecast.testing`)."""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from forecast.data.dataset import EvalData
from forecast.errors import InputError, NotApplicable
from forecast.methods.base import Forecaster
from forecast.methods.contract import data_kinds
from forecast.methods.registry import METHODS, class_path, make_job_method, method_tags, resolve
from forecast.testing.fixtures import CHECK_TASK, FIXTURES, held_out_rows, make_fixture, perturb

BACKENDS = ("local", "processes", "dask")

#: what :meth:`Forecaster.fit` says when a split has fewer fitted models than a method needs
TOO_FEW_MODELS = "fitted models at cutoff"


# ---------------------------------------------------------------------------- the method


def _method_spec(method: Any, params: Mapping[str, Any] | None) -> tuple[str, dict[str, Any]]:
    """``(name, params)``: a registered name, alias or import path; a class (by its
    registered name, else its import path); an instance (its class and parameters)."""
    extra = dict(params or {})
    if isinstance(method, Forecaster):
        extra = {**{k: v for k, v in method.get_params().items() if k != "seed"}, **extra}
        method = type(method)
    if isinstance(method, type):
        names = [n for n, c in METHODS.items() if c is method]
        return (names[0] if names else class_path(method)), extra
    if isinstance(method, str):
        resolve(method)
        return method, extra
    raise InputError(f"check_forecaster: a method is a name, import path, class or instance, got {method!r}")


def quick_params(name: str) -> dict[str, Any]:
    """Parameters that keep the check fast (few draws), where the method has them."""
    cls, _ = resolve(name)
    constraints = cls.all_param_constraints()
    import inspect

    accepted = set(inspect.signature(cls.__init__).parameters)
    out: dict[str, Any] = {}
    if "n_draws" in accepted:
        low = getattr(constraints.get("n_draws"), "low", 10)
        out["n_draws"] = max(int(low), 40)
    if "n_boot" in accepted:
        out["n_boot"] = 20
    if "n_pseudo" in accepted:  # settings learned on two pseudo-cut-offs per task
        out["n_pseudo"] = 2
    return out


def _make(name: str, params: Mapping[str, Any], seed: int = 0) -> Forecaster:
    return make_job_method(name, None, {**params, "seed": seed})


def _cutoff_of(data: EvalData, name: str, params: Mapping[str, Any], task: str) -> float:
    """The cut-off the backtest plans for the task with its three largest models held out
    (``largest:3``, raised to a group task's difficulty horizon)."""
    from forecast.backtest.runner import plan_jobs

    jobs, _, _ = plan_jobs([data], [(name, dict(params))], [task], "largest:3")
    cutoffs = sorted({j.cutoff for j in jobs})
    if not cutoffs:
        raise AssertionError(f"{data.name}: the backtest plans no cut-off for task {task!r}")
    return cutoffs[0]


def _forecast_bytes(fc: Forecaster, cutoff: float) -> dict[str, Any]:
    """What must be identical between two fits: predictions, threshold, draws."""
    grid = [cutoff * 2.0, cutoff * 10.0, cutoff * 30.0]
    obs = fc.predict(grid, level=0.8, kind="observed")
    mean = fc.predict(grid, level=0.8, kind="mean")
    return {
        "observed": obs[["mean", "lower", "upper"]].to_numpy().tobytes().hex(),
        "mean": mean[["mean", "lower", "upper"]].to_numpy().tobytes().hex(),
        "threshold": json.dumps(fc.threshold(0.25, level=0.8).to_dict(), sort_keys=True, default=str),
        "sample": np.asarray(fc.sample(grid)).tobytes().hex(),
    }


def _fit_in_worker(payload: tuple) -> dict[str, Any]:
    """In a worker process: fit with the JSON context and return the forecast."""
    from threadpoolctl import threadpool_limits

    data, name, path, params, cutoff, task, context_json = payload
    with threadpool_limits(limits=1):
        fc = make_job_method(name, path, {**params, "seed": 0})
        fc.fit(data, cutoff, task, context=json.loads(context_json))
        return {"pid": os.getpid(), "forecast": _forecast_bytes(fc, cutoff)}


# ---------------------------------------------------------------------------- the check


@dataclasses.dataclass
class CheckResult:
    """One method on one fixture: ``outcome`` is ``"pass"`` or ``"refuses"`` (with the
    one-line ``detail``); ``steps`` lists the checks that ran."""

    method: str
    fixture: str
    outcome: str
    detail: str = ""
    steps: list[str] = dataclasses.field(default_factory=list)


def _fail(name: str, fixture: str, step: str, message: str) -> AssertionError:
    return AssertionError(f"check_forecaster({name!r}) on {fixture!r}, {step}: {message}")


def _one_line(text: str) -> bool:
    return "\n" not in text.strip() and len(text.strip()) > 0


def _expected_refusal(name: str, data: EvalData, cutoff: float | None, task: str) -> str | None:
    tags = method_tags(name)
    reason = tags.refusal(data_kinds(data))
    if reason is None and tags.needs_families > 1 and cutoff is not None:
        from forecast.methods.families import fitted_family_labels

        fitted = data.for_task(task).restrict(cutoff, task)
        labels = fitted_family_labels(fitted.models, fitted.models["model"].to_numpy())
        if labels is None or len(set(labels)) < tags.needs_families:
            reason = f"needs {tags.needs_families} fitted model families"
    return reason


def check_forecaster(
    method: Any,
    fixtures: Mapping[str, EvalData] | Sequence[str] | None = None,
    params: Mapping[str, Any] | None = None,
    backends: Sequence[str] = BACKENDS,
    scheduler: Any = None,
    n_jobs: int = 2,
) -> list[CheckResult]:
    """Check a method against the contract on every fixture; raise ``AssertionError`` on
    the first failure.

    Parameters
    ----------
    method
        A registered name or alias, an import path (``"my_pkg.my_mod:MyForecaster"``), a
        Forecaster subclass or an instance.
    fixtures
        Fixture names of :data:`FIXTURES`, or built fixtures by name (default: all).
    params
        Constructor parameters (default: :func:`quick_params`, few draws).
    backends
        Backends the backtest job must give identical results on.
    scheduler
        A Dask scheduler address or ``Client`` for the ``dask`` backend (default: a
        LocalCluster started for each fixture's check).
    n_jobs
        Workers of the ``processes`` and ``dask`` backends.

    Returns
    -------
    list of CheckResult
    """
    name, extra = _method_spec(method, params)
    method_params = {**quick_params(name), **extra} if params is None else extra
    if fixtures is None:
        fixtures = FIXTURES
    built: dict[str, EvalData]
    if isinstance(fixtures, Mapping):
        built = dict(fixtures)
    else:
        with tempfile.TemporaryDirectory(prefix="forecast-check-") as tmp:
            built = {f: make_fixture(f, tmp) for f in fixtures}
    return [check_on_fixture(name, method_params, f, data, backends, scheduler, n_jobs)
            for f, data in built.items()]


def check_on_fixture(name: str, params: Mapping[str, Any], fixture: str, data: EvalData,
                     backends: Sequence[str] = BACKENDS, scheduler: Any = None,
                     n_jobs: int = 2) -> CheckResult:
    """:func:`check_forecaster` on one fixture."""
    from forecast.backtest.parallel import imap_unordered
    from forecast.backtest.runner import backtest
    from forecast.methods.registry import method_path

    params = dict(params)
    task = CHECK_TASK.get(fixture) or data.task_names[0]
    result = CheckResult(name, fixture, "pass")
    fc = _make(name, params)
    if not isinstance(fc, Forecaster):
        raise _fail(name, fixture, "construct", f"{type(fc).__name__} is not a Forecaster")
    for p, v in fc.get_params().items():  # parameters stored as given
        if p in params and getattr(fc, p) is not params[p]:
            raise _fail(name, fixture, "construct", f"parameter {p} not stored as given")

    # -- refusal: by the tags (a data kind not declared) ------------------------------
    reason = _expected_refusal(name, data, None, task)
    if reason is None:
        try:
            cutoff = _cutoff_of(data, name, params, task)
        except NotApplicable as exc:
            raise _fail(name, fixture, "plan", str(exc)) from None
        reason = _expected_refusal(name, data, cutoff, task)
    else:
        cutoff = float(data.compute_table(task)["compute"].median())
    if reason is not None:
        try:
            fc.fit(data, cutoff, task)
        except NotApplicable as exc:
            if not _one_line(str(exc)):
                raise _fail(name, fixture, "refusal", f"not one line: {exc!s}") from None
            result.outcome, result.detail = "refuses", " ".join(str(exc).split())
            result.steps.append("refusal")
            return result
        raise _fail(name, fixture, "refusal", f"the tags say it {reason}, but fit() accepted the data")

    # -- fit, predict, threshold, sample ----------------------------------------------
    try:
        out = fc.fit(data, cutoff, task)
    except NotApplicable as exc:
        if TOO_FEW_MODELS in str(exc) and _one_line(str(exc)):
            # a data kind it handles, but fewer fitted models than the method needs at the
            # fixture's cut-off: a backtest skips it there, with this one line
            result.outcome, result.detail = "refuses", " ".join(str(exc).split())
            result.steps.append("refusal (too few fitted models)")
            return result
        raise _fail(name, fixture, "fit", f"refused data its tags declare: {exc}") from None
    if out is not fc:
        raise _fail(name, fixture, "fit", "fit() does not return self")
    for attr in ("task_", "cutoff_", "fit_table_", "spread_"):
        if not hasattr(fc, attr):
            raise _fail(name, fixture, "fit", f"no fitted attribute {attr}")
    result.steps.append("fit")
    grid = np.array([cutoff * 2.0, cutoff * 10.0])
    bounded = method_tags(name).bounded
    for kind in ("observed", "mean"):
        p = fc.predict(grid, level=0.8, kind=kind)
        if list(p.columns) != ["compute", "log10_compute", "mean", "lower", "upper", "level", "kind"]:
            raise _fail(name, fixture, f"predict({kind})", f"columns {list(p.columns)}")
        v = p[["mean", "lower", "upper"]].to_numpy(dtype=float)
        if not np.isfinite(v).all():
            raise _fail(name, fixture, f"predict({kind})", f"values not finite: {v.tolist()}")
        if bounded and ((v < 0).any() or (v > 1).any()):
            raise _fail(name, fixture, f"predict({kind})", f"values outside [0, 1]: {v.tolist()}")
        if not ((p["lower"] <= p["mean"] + 1e-12) & (p["mean"] <= p["upper"] + 1e-12)).all():
            raise _fail(name, fixture, f"predict({kind})", "mean outside [lower, upper]")
        draws = fc.sample(grid, kind)
        if draws.shape != (fc.n_draws, grid.size) or not np.isfinite(draws).all():
            raise _fail(name, fixture, f"sample({kind})", f"shape {draws.shape}, want {(fc.n_draws, grid.size)}")
        if kind == "observed" and ((draws < 0).any() or (draws > 1).any()):
            raise _fail(name, fixture, "sample(observed)", "an observed score outside [0, 1]")
    result.steps += ["predict", "sample"]
    th = fc.threshold(0.25, level=0.8)
    json.dumps(th.to_dict(), default=str)
    curve = fc.curve_draws(np.log10(grid))
    if curve.shape != (fc.n_draws, grid.size):
        raise _fail(name, fixture, "curve_draws", f"shape {curve.shape}")
    result.steps.append("threshold")
    reference = _forecast_bytes(fc, cutoff)
    again = _forecast_bytes(_make(name, params).fit(data, cutoff, task), cutoff)
    if again != reference:
        raise _fail(name, fixture, "same seed", "two fits with the same seed differ")
    result.steps.append("same seed")

    # -- leak check: held-out rows perturbed, then deleted -----------------------------
    held = held_out_rows(data, cutoff, task)
    if not held:
        raise _fail(name, fixture, "leak check", "no held-out model at the cut-off")
    for label, changed in (("perturbed", perturb(data, held)), ("deleted", data.drop_models(held))):
        got = _forecast_bytes(_make(name, params).fit(changed, cutoff, task), cutoff)
        if got != reference:
            diff = sorted(k for k in got if got[k] != reference[k])
            raise _fail(name, fixture, "leak check", f"held-out rows {label}: the forecast changed ({diff})")
    result.steps.append("leak check")

    # -- settings round trip: learned here, JSON, used in a worker process ----------------
    # the settings the first fit learned here (``learn_context`` on every task at the cut-off)
    text = json.dumps(fc.context_, sort_keys=True)
    path = method_path(name)
    payload = (data, name, path, params, cutoff, task, text)
    (_, remote), = list(imap_unordered(_fit_in_worker, [payload], backend="processes", n_jobs=2))
    if remote["pid"] == os.getpid():
        raise _fail(name, fixture, "settings round trip", "the worker ran in this process")
    if remote["forecast"] != reference:
        raise _fail(name, fixture, "settings round trip", "the forecast with the JSON settings differs")
    result.steps.append("settings round trip")

    # -- a backtest job on every backend: identical results --------------------------------
    runs = {}
    for backend in backends:
        try:
            bt = backtest(data, methods=[(name, params)], tasks=[task], cutoffs=repr(float(cutoff)),
                          backend=backend, n_jobs=n_jobs, scheduler=scheduler if backend == "dask" else None)
        except InputError as exc:
            raise _fail(name, fixture, f"backtest ({backend})", str(exc)) from None
        rows = [{k: v for k, v in r.items() if k != "seconds"} for r in bt.results]
        bad = [r for r in rows if r["status"] != "ok"]
        if bad:
            raise _fail(name, fixture, f"backtest ({backend})", f"job {bad[0]['status']}: {bad[0].get('error')}")
        runs[backend] = json.dumps(rows, sort_keys=True)
    first = next(iter(runs.values()), None)
    for backend, text in runs.items():
        if text != first:
            raise _fail(name, fixture, f"backtest ({backend})", f"results differ from {next(iter(runs))}")
    result.steps.append("backtest: " + ", ".join(runs))
    return result


def results_table(results: Sequence[CheckResult]) -> pd.DataFrame:
    """Fixtures x methods: ``pass`` / ``refuses``."""
    rows = [{"method": r.method, "fixture": r.fixture, "outcome": r.outcome} for r in results]
    return pd.DataFrame(rows).pivot(index="method", columns="fixture", values="outcome")


__all__ = ["BACKENDS", "CheckResult", "check_forecaster", "check_on_fixture", "quick_params", "results_table"]
