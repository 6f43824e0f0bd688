"""Reports of a fitted forecast: a strict-JSON dict and a short text summary."""

from __future__ import annotations

import math
import textwrap
from typing import Any

import numpy as np
import pandas as pd

from forecast.errors import InputError
from forecast.methods.base import Forecaster
from forecast.threshold import Threshold


def jsonable(value: Any) -> Any:
    """Turn numpy / pandas values into strict JSON (NaN and inf become null)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, pd.DataFrame):
        return [jsonable(r) for r in value.to_dict(orient="records")]
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        v = float(value)
        return v if math.isfinite(v) else None
    if isinstance(value, np.ndarray):
        return [jsonable(v) for v in value.tolist()]
    return value


def default_grid(f: Forecaster, n: int = 9) -> np.ndarray:
    """Raw compute points from the smallest fitted model to two decades past the cut-off."""
    lo, hi = f.search_range_
    return 10.0 ** np.linspace(lo, hi, n)


def easy_turn_or_reason(f: Forecaster, level: float = 0.9) -> tuple[Threshold | None, str | None]:
    """The early signal of ``f``: where its easiest slice turns from falling to rising.

    Returns
    -------
    (turn, None)
        ``f.easy_turn(level)`` (its ``estimate`` is None when no turn lies in the searched range).
    (None, reason)
        The turn cannot be estimated: a secondary estimate (a cubic on the easiest slice) needs
        more fitted models than the forecast itself, so it is named as missing, not a failed fit.
    (None, None)
        ``f`` has no easy slice (a baseline, ``two_step``).
    """
    if not hasattr(f, "easy_turn"):
        return None, None
    try:
        return f.easy_turn(level=level), None
    except InputError as exc:
        return None, str(exc)


def forecast_report(
    f: Forecaster,
    method: str,
    level: float = 0.9,
    tau: float = 0.25,
    budget: float | None = None,
    at: list[float] | None = None,
) -> dict[str, Any]:
    """Everything ``forecast fit --json`` prints, as a JSON-ready dict."""
    compute = np.asarray(at, dtype=float) if at else default_grid(f)
    observed = f.predict(compute, level=level, kind="observed")
    mean = f.predict(compute, level=level, kind="mean")
    preds = observed[["compute", "log10_compute", "mean", "lower", "upper"]].copy()
    preds["curve_lower"] = mean["lower"].to_numpy()
    preds["curve_upper"] = mean["upper"].to_numpy()
    th = f.threshold(tau=tau, budget=budget, level=level)
    out: dict[str, Any] = {
        "task": f.task_,
        "method": method,
        "params": {k: (list(v) if isinstance(v, tuple) else v) for k, v in f.get_params().items()},
        "scale": f.scale_,
        "cutoff": f.cutoff_,
        "log10_cutoff": math.log10(f.cutoff_),
        "chance": f.chance_,
        "n_fitted_models": int(len(f.fit_table_)),
        "n_questions": f.n_questions_,
        "level": level,
        "tau": tau,
        "threshold": {
            k: v
            for k, v in th.to_dict().items()
            if k not in ("tau", "level", "budget", "p_below_budget", "log10_budget")
        },
        "budget": budget,
        "p_below_budget": th.p_below_budget,
        "between_model_spread": f.spread_,
        "diagnostics": f.diagnostics_,
        "predictions": preds,
        "interval_kind": "observed (a new model's score: curve + between-model spread + binomial noise)",
    }
    turn, missing = easy_turn_or_reason(f, level)
    if missing is not None:
        out["easy_slice_turn_missing"] = missing
    if turn is not None:
        turn = turn.to_dict()
        out["easy_slice_turn"] = {
            k: turn[k] for k in ("estimate", "lower", "upper", "p_reached", "upper_censored", "lower_censored")
        }
    if hasattr(f, "slices_"):
        out["slices"] = f.slices_.summary
        out["slice_source"] = f.slices_.source
        out["slices_cross_fitted"] = f.slices_.cross_fitted
        out["slice_difficulty_horizon"] = f.slices_.horizon
    return jsonable(out)


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def _wrap(text: str) -> str:
    """A free-text line of the report wrapped at 100 columns, continued with an indent."""
    return textwrap.fill(text, width=100, subsequent_indent="  ")


#: the slice table's columns as the text report prints them (fits 100 columns)
SLICE_COLUMNS = {"slice": "slice", "label": "label", "n_questions": "questions", "shape": "shape",
                 "curvature": "curv", "curvature_p": "p", "p_U_shaped": "P(U)", "p_inverted_U": "P(inv-U)",
                 "p_increasing": "P(rising)", "p_decreasing": "P(falling)"}


def text_report(report: dict[str, Any]) -> str:
    """A short human summary of :func:`forecast_report`'s dict."""
    th = report["threshold"]
    unit = "FLOPs" if report["scale"] == "flops" else "parameters"
    lines = [
        f"task {report['task']}  method {report['method']}"
        + (f" (the default for {report['default_for'].replace('_', '-')} data)" if report.get("default_for") else ""),
        f"cut-off {_fmt(report['cutoff'])} {unit}  ({report['n_fitted_models']} fitted models, "
        f"chance {_fmt(report['chance'])})",
        f"tau = {report['tau']:g}: {report['tau']:g} of the way from chance to perfect accuracy "
        f"(accuracy {report['chance'] + report['tau'] * (1 - report['chance']):.3g})",
        f"emergence threshold (compute where the curve reaches tau): {_fmt(th['estimate'])} {unit}",
        f"  {int(report['level'] * 100)}% interval [{_fmt(th['lower'])}, {_fmt(th['upper'])}"
        f"{'+' if th['upper_censored'] else ''}], P(reached in the searched range) = {_fmt(th['p_reached'])}",
    ]
    if report.get("budget") is not None:
        lines.append(f"P(threshold <= budget {_fmt(report['budget'])}) = {_fmt(report['p_below_budget'])}")
    if "easy_slice_turn_missing" in report:
        lines.append(_wrap(f"easy slice turn: not estimated ({report['easy_slice_turn_missing']})"))
    if "easy_slice_turn" in report:
        t = report["easy_slice_turn"]
        lines.append(
            f"easy slice turns from falling to rising at {_fmt(t['estimate'])} "
            f"[{_fmt(t['lower'])}, {_fmt(t['upper'])}{'+' if t['upper_censored'] else ''}]"
        )
    lines.append(f"accuracy forecast ({report['interval_kind']}):")
    table = pd.DataFrame(report["predictions"])[["compute", "mean", "lower", "upper"]]
    lines.append(table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    if "slices" in report:
        lines.append(f"slices ({report['slice_source']}, cross-fitted={report['slices_cross_fitted']}):")
        slices = pd.DataFrame(report["slices"]).rename(columns=SLICE_COLUMNS)
        slices = slices[[c for c in SLICE_COLUMNS.values() if c in slices.columns]]
        lines.append(slices.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
        lines.append("  curv: curvature of a quadratic fit (p: its p-value); P(...): share of curve draws")
    diag = report["diagnostics"]
    warn = diag.get("warnings") or []
    lines.append("diagnostics: " + ", ".join(f"{k}={_fmt(v)}" for k, v in diag.items() if k != "warnings"))
    for w in warn:
        lines.append(_wrap(f"warning: {w}"))
    return "\n".join(lines)
