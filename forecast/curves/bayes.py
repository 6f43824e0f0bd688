"""All slices of a task in one PyMC model, with a between-model spread term.

For slice ``g`` and fitted model ``m`` with ``x_m = log10 compute``::

    z[g, m] ~ Normal(poly_g(x_m) + u_m, sigma_g)          # z: logit of the bounded slice score
    u_m     ~ Normal(0, between_model_sd)                 # a model is better or worse on every slice
    poly_g  = sum_k coef[g, k] (x - center)^k,  coef[g, k] ~ Normal(m0, prior_sd[k])

The shrinking priors on higher powers stop extrapolation from diverging; the logit link
keeps every slice score inside its range.  For TC Brier slices the map to accuracy is in
the same model: ``acc_m ~ Normal(1 + b * brier_m, map_sd)``, the line through the perfect
model of :mod:`forecast.sandwich`.  Chance
enters as a soft prior (a potential) on the mean accuracy curve over the fitted range —
never a clip: real accuracies often sit below chance.

MCMC runs with ``cores=1`` (parallelism is across backtest jobs); R-hat, ESS and
divergences are read with ArviZ and returned as diagnostics.
"""

from __future__ import annotations

import contextlib
import logging
import os
import warnings
from typing import Any

import numpy as np

from forecast.curves.basis import design, from_unit
from forecast.curves.draws import CurveDraws
from forecast.sandwich import MAP_SLOPE_PRIOR_REL_SD, anchored_slope

#: soft chance prior: sd (in accuracy) of how far the mean curve may sit below chance
CHANCE_SOFTNESS = 0.05
#: smallest residual sd of a slice on the logit scale
SIGMA_FLOOR = 0.05


#: effective draws wanted per chain (bulk and tail) before a fit is called well mixed
ESS_PER_CHAIN = 100


def _diagnostics(idata, var_names: list[str], n_samples: int) -> dict[str, Any]:
    import arviz as az

    summary = az.summary(idata, var_names=var_names, kind="diagnostics", round_to="none")
    divergences = int(idata.sample_stats["diverging"].sum())
    n_chains = int(idata.posterior.sizes["chain"])
    rhat = float(summary["r_hat"].max())
    ess_bulk = float(summary["ess_bulk"].min())
    ess_tail = float(summary["ess_tail"].min())
    wanted = ESS_PER_CHAIN * n_chains
    warnings = []
    if divergences:
        warnings.append(f"{divergences} divergent transitions after tuning")
    if not np.isfinite(rhat) or rhat > 1.01:
        warnings.append(f"max R-hat {rhat:.3f} > 1.01: chains have not mixed")
    if ess_bulk < wanted:
        warnings.append(f"min bulk ESS {ess_bulk:.0f} < {wanted}")
    if ess_tail < wanted:
        warnings.append(f"min tail ESS {ess_tail:.0f} < {wanted}: interval ends are unreliable")
    return {
        "engine": "pymc",
        "divergences": divergences,
        "max_r_hat": rhat,
        "min_ess_bulk": ess_bulk,
        "min_ess_tail": ess_tail,
        "n_samples": n_samples,
        "warnings": warnings,
    }


@contextlib.contextmanager
def quiet_sampler():
    """Silence PyMC / PyTensor chatter unless ``FORECAST_VERBOSE`` is set (``--verbose``).

    PyMC resets its logger when imported, so this is applied around sampling, not at start-up.
    """
    if os.environ.get("FORECAST_VERBOSE"):
        yield
        return
    loggers = [logging.getLogger(n) for n in ("pymc", "pytensor", "pytensor.tensor.blas")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            warnings.simplefilter("ignore", FutureWarning)
            yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


def fit_pymc_slices(
    x: np.ndarray,
    z: np.ndarray,
    weights: np.ndarray,
    accuracy: np.ndarray,
    task_score: np.ndarray | None,
    n_questions: float | None,
    chance: float,
    degree: int,
    center: float,
    metric: str,
    prior_sd: tuple[float, ...],
    draws: int = 500,
    tune: int = 500,
    chains: int = 2,
    seed: int = 0,
) -> tuple[CurveDraws, Any, dict[str, Any]]:
    """Sample the joint slice model; return curve draws, the InferenceData and diagnostics."""
    import pymc as pm
    import pytensor.tensor as pt

    n_slices, n_models = z.shape
    p = degree + 1
    # sample in a scaled basis (x - center) / scale, which decorrelates the coefficients
    scale = max(float(np.std(x)), 1e-3)
    X = design((x - center) / scale, 0.0, degree)
    powers = scale ** np.arange(p)
    observed = np.isfinite(z)
    g_idx, m_idx = np.nonzero(observed)
    m0 = np.zeros((n_slices, p))
    m0[:, 0] = np.nanmean(z, axis=1)
    sd = np.broadcast_to(np.asarray(prior_sd[:p], dtype=float) * powers, (n_slices, p))
    w = np.asarray(weights, dtype=float) / np.sum(weights)
    use_map = metric == "tc_brier" and task_score is not None and np.isfinite(task_score).all()
    with pm.Model() as model:
        coef = pm.Normal("coef", mu=m0, sigma=sd, shape=(n_slices, p))
        # zero-avoiding priors (gamma, shape 2): scale terms near 0 make funnels
        between = pm.Gamma("between_model_sd", alpha=2.0, beta=10.0)
        # a floor keeps a slice whose scores are constant (all 0 or all 1) from collapsing
        sigma = pm.Deterministic("sigma", SIGMA_FLOOR + pm.Gamma("sigma_excess", alpha=2.0, beta=10.0,
                                                                 shape=n_slices))
        curve = pt.dot(coef, X.T)  # (G, M)
        if observed.all():
            # the model effect u_m, shared by a model's slices, integrated out: each model's
            # slice scores are jointly normal with covariance diag(sigma^2) + between^2
            cov = pt.diag(sigma**2) + between**2 * pt.ones((n_slices, n_slices))
            pm.MvNormal("z", mu=curve.T, cov=cov, observed=z.T)
        else:
            u_raw = pm.Normal("model_effect_raw", 0.0, 1.0, shape=n_models)
            u = pm.Deterministic("model_effect", u_raw * between)
            pm.Normal("z", mu=curve[g_idx, m_idx] + u[m_idx], sigma=sigma[g_idx], observed=z[observed])
        slice_score = pm.math.sigmoid(curve)
        task_unit = pt.dot(w, slice_score)  # unit-scaled task score per fitted model
        if use_map:
            # the anchored linear map of forecast.sandwich: slope prior 1 / (1 - chance)
            slope0 = anchored_slope(chance)
            b = pm.Normal("map_b", slope0, MAP_SLOPE_PRIOR_REL_SD * slope0)
            map_sd = pm.Gamma("map_sd", alpha=2.0, beta=40.0)
            pm.Normal("acc", 1.0 + b * task_score, map_sd, observed=accuracy)
            mean_acc = pt.clip(1.0 + b * from_unit(task_unit, metric), 0.0, 1.0)
        else:
            mean_acc = task_unit
        if metric == "tc_brier" and not use_map:
            mean_acc = None
        if mean_acc is not None and chance > 0:
            below = pt.maximum(chance - mean_acc, 0.0)
            pm.Potential("chance_soft_prior", -0.5 * pt.sum((below / CHANCE_SOFTNESS) ** 2))
        with quiet_sampler():
            idata = pm.sample(
                draws=draws, tune=tune, chains=chains, cores=1, random_seed=seed,
                progressbar=False, compute_convergence_checks=False, target_accept=0.9,
            )
    post = idata.posterior
    coef_scaled = post["coef"].stack(sample=("chain", "draw")).transpose("sample", ...).to_numpy()
    coef_draws = coef_scaled / powers  # back to powers of (x - center) in decades
    extra: dict[str, Any] = {}
    names = ["coef", "between_model_sd", "sigma"]
    if use_map:
        b = post["map_b"].stack(sample=("chain", "draw")).to_numpy()
        extra["map_coef"] = np.column_stack([np.ones_like(b), b])
        extra["map_center"] = 0.0
        names += ["map_b", "map_sd"]
    diag = _diagnostics(idata, names, int(coef_draws.shape[0]))
    diag["between_model_sd_median"] = float(np.median(post["between_model_sd"].to_numpy()))
    del model
    return CurveDraws(coef_draws, center, metric, extra), idata, diag
