"""The laws of the model ladder's two-step forecast and their least-squares fits.

Step 1: the task loss as a Chinchilla-type law of parameters and tokens
(:func:`loss_law`, :func:`fit_loss_law`); step 2: accuracy as a sigmoid of the loss
(:func:`loss_to_accuracy` with the floor at chance, :func:`free_sigmoid` with AI2's free
floor); the extrapolation error's growth with the horizon (:func:`extrapolation_law`).
Used by :class:`~forecast.methods.two_step.TwoStep`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.optimize import curve_fit, least_squares
from scipy.special import expit

#: unit of N and D inside the loss law (conditioning only: the law is scale-free)
N_UNIT, D_UNIT = 1e9, 1e10
#: Huber threshold on log residuals of step 1 (AI2's ``delta = 1e-3``)
HUBER_DELTA = 1e-3
#: starting values of (alpha, beta) for step 1 (the best fit over them is kept)
STARTS = ((0.3, 0.3), (0.1, 0.5), (0.5, 0.1))
#: smallest horizon (decades) in the extrapolation law
MIN_DECADES = 0.05
#: evaluations per least-squares fit
MAX_NFEV = 100
#: fewest fitted runs a step-1 fit accepts (5 parameters + 1)
MIN_RUNS = 6


def loss_law(p: np.ndarray, n: np.ndarray, d: np.ndarray) -> np.ndarray:
    """``E + A / (N/1e9)^alpha + B / (D/1e10)^beta`` with ``p = (E, A, alpha, B, beta)``."""
    e, a, alpha, b, beta = p
    return e + a * (n / N_UNIT) ** (-alpha) + b * (d / D_UNIT) ** (-beta)


def fit_loss_law(n: np.ndarray, d: np.ndarray, loss: np.ndarray, start: np.ndarray | None = None) -> np.ndarray:
    """Step 1: bounded Huber least squares of log loss; the best of several starts."""
    lo_loss = float(np.min(loss))
    lower = np.array([0.0, 0.0, 0.0, 0.0, 0.0])
    upper = np.array([lo_loss, 100.0, 2.0, 100.0, 2.0])
    starts = [start] if start is not None else [
        np.array([0.5 * lo_loss, 0.25 * lo_loss, al, 0.25 * lo_loss, be]) for al, be in STARTS
    ]
    ln_n, ln_d = np.log(n / N_UNIT), np.log(d / D_UNIT)

    def jac(p: np.ndarray) -> np.ndarray:
        _, a, alpha, b, beta = p
        tn, td = np.exp(-alpha * ln_n), np.exp(-beta * ln_d)
        pred = np.maximum(loss_law(p, n, d), 1e-12)
        return np.column_stack([np.ones_like(tn), tn, -a * tn * ln_n, td, -b * td * ln_d]) / pred[:, None]

    best, best_cost = None, np.inf
    for p0 in starts:
        p0 = np.clip(p0, lower + 1e-9, upper - 1e-9)
        res = least_squares(
            lambda p: np.log(np.maximum(loss_law(p, n, d), 1e-12)) - np.log(loss),
            p0, jac=jac, bounds=(lower, upper), loss="huber", f_scale=HUBER_DELTA, max_nfev=MAX_NFEV,
        )
        if res.cost < best_cost:
            best, best_cost = res.x, res.cost
    return np.asarray(best)


def loss_to_accuracy(q: np.ndarray, loss: np.ndarray, chance: float) -> np.ndarray:
    """Step 2, chance floor: ``chance + (top - chance) * sigmoid(k (L0 - L))`` with ``q = (top, k, L0)``."""
    top, k, l0 = q
    return chance + (top - chance) * expit(k * (l0 - np.asarray(loss, dtype=float)))


def fit_loss_to_accuracy(loss: np.ndarray, acc: np.ndarray, chance: float, start: np.ndarray | None = None) -> np.ndarray:
    """Step 2, chance floor: bounded least squares, with the ideal point (loss 0, accuracy 1) added."""
    x = np.append(loss, 0.0)
    y = np.append(acc, 1.0)
    lower = np.array([chance + 1e-6, 1e-3, 0.0])
    upper = np.array([1.0, 100.0, 10.0])
    p0 = start if start is not None else np.array([min(1.0, max(acc.max(), chance + 0.01) + 0.05), 2.0, float(np.median(loss))])
    p0 = np.clip(p0, lower + 1e-9, upper - 1e-9)

    def jac(q: np.ndarray) -> np.ndarray:
        top, k, l0 = q
        s = expit(k * (l0 - x))
        ds = s * (1.0 - s)
        return np.column_stack([s, (top - chance) * ds * (l0 - x), (top - chance) * ds * k])

    res = least_squares(lambda q: loss_to_accuracy(q, x, chance) - y, p0, jac=jac, bounds=(lower, upper),
                        max_nfev=MAX_NFEV)
    return np.asarray(res.x)


def free_sigmoid(q: np.ndarray, loss: np.ndarray) -> np.ndarray:
    """Step 2, AI2's form: ``a / (1 + exp(-k (L - L0))) + b`` with ``q = (a, L0, k, b)``."""
    a, l0, k, b = q
    return a * expit(k * (np.asarray(loss, dtype=float) - l0)) + b


#: AI2's bounds of ``(a, L0, k, b)`` in step 2 (``scripts/scaling/step2.py``)
FREE_BOUNDS = (np.array([-1.0, 0.0, 0.0, 0.0]), np.array([0.0, np.inf, np.inf, 1.0]))


def fit_free_sigmoid(loss: np.ndarray, acc: np.ndarray, chance: float, start: np.ndarray | None = None) -> np.ndarray:
    """Step 2, AI2's form: bounded least squares (scipy ``curve_fit``) with the ideal point
    (loss 0, accuracy 1) added, from AI2's start ``(chance - 1, 0.9, 3, 1)``."""
    x = np.append(loss, 0.0)
    y = np.append(acc, 1.0)
    lower, upper = FREE_BOUNDS
    p0 = np.array([chance - 1.0, 0.9, 3.0, 1.0]) if start is None else np.asarray(start, dtype=float)
    p0 = np.clip(p0, lower + 1e-9, np.minimum(upper - 1e-9, 1e6))
    q, _ = curve_fit(lambda xx, *c: free_sigmoid(np.array(c), xx), x, y, p0=p0, bounds=(lower, upper),
                     max_nfev=20 * MAX_NFEV)
    return np.asarray(q)


#: step-2 forms: (map, fit)
STEP2_FORMS = {
    "free": (lambda q, loss, chance: free_sigmoid(q, loss), fit_free_sigmoid),
    "chance_floor": (loss_to_accuracy, fit_loss_to_accuracy),
}
#: task losses: the sign turning the metric into a loss (lower is better, 0 ideal)
LOSSES = {"bpb": 1.0, "soft_log_prob": -1.0}


def extrapolation_law(errors: np.ndarray, decades: np.ndarray) -> dict[str, Any]:
    """The extrapolation error per decade from absolute forecast errors at horizons ``h``.

    Three branches, by what the pseudo-cut-offs allow (``extrapolation_source``):

    ``learned`` (at least 3 errors at 2 or more horizons, and a positive slope)
        an extrapolated trend's error grows linearly with the distance (an error of slope),
        above a floor (noise, absorbed by the intercept): OLS (statsmodels) of ``|error|``
        on ``h`` with an intercept; the slope ``b``, turned from a mean absolute error into
        a normal sd (``* sqrt(pi / 2)``), is ``extrapolation_sd``: the sd added per decade.
        The intercept (``extrapolation_floor``, the error at no distance) is reported, not
        used: the fitted runs' residual spread stands for it.
    ``through_origin`` (1-2 errors, every error at one horizon, or a slope of 0 or less:
        no growth can be told from a floor)
        the root mean square of ``error / h``: the sd per decade of an error that grows
        from 0 (a normal sd already, no conversion).  Disclosure: that a fitted slope of
        0 or less goes here (before, it meant no extrapolation error at all, the
        intercept discarded) was decided after the rolling backtest of
        ``olmo_ladder_paper`` showed it at its 8-run cut-off (targets covered 0.58).
    ``fallback`` (no error: no pseudo-cut-off inside the fitted ladder)
        ``extrapolation_sd`` 0 in accuracy units and ``extrapolation_sd_logit`` =
        :data:`forecast.tuning.FALLBACK_EXTRAPOLATION_SD` (half a logit per decade, the
        package-wide a-priori value ``slice_sandwich`` falls back on, fixed before the
        ladder data existed), turned into accuracy units at each forecast by
        :meth:`TwoStep._observed`.  The *need* for this branch was seen on the rolling
        backtest of ``olmo_ladder_paper`` (the three smallest cut-offs had no pseudo-cut-off
        and intervals without any extrapolation error, covering 0.58-0.70); its value was not.
    """
    from forecast.tuning import FALLBACK_EXTRAPOLATION_SD

    errors = np.asarray(errors, dtype=float)
    decades = np.asarray(decades, dtype=float)
    out: dict[str, Any] = {"n_pseudo": int(errors.size), "extrapolation_sd_logit": 0.0}
    if errors.size == 0:
        return {**out, "extrapolation_sd": 0.0, "extrapolation_sd_logit": FALLBACK_EXTRAPOLATION_SD,
                "extrapolation_source": "fallback"}
    if errors.size < 3 or np.ptp(decades) <= 0:
        return {**out, "extrapolation_sd": float(np.sqrt(np.mean((errors / decades) ** 2))),
                "extrapolation_source": "through_origin"}
    import statsmodels.api as sm

    fit = sm.OLS(errors, sm.add_constant(decades)).fit()
    slope = float(fit.params[1])
    if slope <= 0:
        return {**out, "extrapolation_sd": float(np.sqrt(np.mean((errors / decades) ** 2))),
                "extrapolation_source": "through_origin", "extrapolation_floor": float(fit.params[0])}
    return {**out, "extrapolation_sd": slope * float(np.sqrt(np.pi / 2)), "extrapolation_source": "learned",
            "extrapolation_floor": float(fit.params[0])}
