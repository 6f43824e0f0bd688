"""Item-level scaling: a 2PL item-response model per question, abilities = log compute.

Per question ``j`` of a task and model ``i`` at ``x_i = log10`` compute (the task's compute
axis), a question either *scales*::

    P(correct_ij) = f_j + (1 - f_j) * sigmoid(a_j * (x_i - b_j))

with ``a_j > 0`` its discrimination (per decade of compute), ``b_j`` its crossing point in
log10 compute (the ability ``theta = alpha + beta x`` of a one-family ladder, ``alpha`` and
``beta`` absorbed into ``a_j`` and ``b_j``) and ``f_j`` its floor: the question's chance
``c_j`` (``1 / n_choices`` where the results carry ``n_choices``, else the task's chance) for a
share ``guess`` of the questions, 0 for the others (a question the models answer wrong more
often than chance: a biased distractor); or it does *not scale*: a constant rate ``r_j``
whatever the compute (uniform prior), for a share ``flat`` of the task's questions.  The
task's accuracy at compute ``x`` is the mean over its questions of ``P(correct)`` there:
emergence comes from the tail of hard questions no fitted model answers, not from a hand-set
slice.

Priors (hierarchical, learned at fit time, empirical Bayes on every task of the data at or
below the cut-off, :meth:`ItemLevel.learn_context`)::

    b_j ~ N(mu_b[task], s_b[task]),     log a_j ~ N(mu_a, s_a)     (mu_a, s_a, guess pooled)
    mu_b[task] ~ N(M_mu, T_mu),         log s_b[task] ~ N(M_ls, T_ls),
    logit flat[task] ~ N(logit flat, FLAT_LOGIT_SD)

Everything is computed on a fixed grid (:data:`B_POINTS` crossing points x :data:`A_POINTS`
discriminations x the two floors, and :data:`FLAT_POINTS` constant rates), the prior being the
normal densities' weights on the grid: the per-question likelihood of every grid point is two
matrix products (one per outcome), each question's posterior is exact on the grid (no Laplace
approximation of a question that no model answered, whose posterior is a prior tail), and so
is the marginal likelihood that empirical Bayes maximises.  ``(mu_a, s_a, guess, flat, M_mu,
T_mu, M_ls, T_ls)`` are learned across tasks; each task's ``(mu_b, log s_b, flat[task])`` is its
posterior mode under that hyperprior at fit time, with a Laplace approximation (Hessian) for
the uncertainty of ``(mu_b, log s_b)``.  Curve draws: quasi-random
(:class:`~forecast.curves.draws.QuasiDraws`) draws of the task's ``(mu_b, log s_b)``, each
giving the question-averaged posterior predictive accuracy.

The questions are independent given compute, which understates how wrong a task-level
extrapolation can be.  An extrapolation term makes up for it: each curve draw reads the
curve at ``x_cut + max(1 + m + s z, 0) (x - x_cut)`` past the cut-off (``z`` standard
normal: the ability's growth per decade past the cut-off is off by ``m`` on average and
uncertain by ``s``; ``m = -1`` freezes the curve at the cut-off).  ``(m, s)`` are learned at
fit time on pseudo-cut-offs inside the fitted range of every task
(:func:`forecast.tuning.choose_by_pseudo_crps`, the pair of :data:`GROWTH_BIAS_GRID` x
:data:`EXTRAPOLATION_GRID` whose observed-score draws of the larger fitted models have the
smallest pooled CRPS, one-standard-error rule, simplest first; each pseudo-cut-off's priors
learned from the models at or below it only).  The bias corrects what the item model gets
wrong systematically past its data: a question one fitted model answered by luck reads as
solved from then on.

Settings fixed a priori (not tuned on any result): the grid, the weak regularisers of the
per-task estimates while the hyperprior is learned (:data:`LEARN_MU_SD`,
:data:`LEARN_LOG_SB`), the floors of the cross-task spreads, :data:`FLAT_LOGIT_SD`,
:data:`EXTRAPOLATION_GRID` and :data:`GROWTH_BIAS_GRID`, the fallback priors used when nothing
can be learned.  Where a data set has too few sizes for the usual pseudo-cut-offs
(:data:`~forecast.tuning.MIN_FITTED_SIZES`), those of :data:`PSEUDO_MIN_SIZES` sizes are used.
The model's form (the two floors, the questions that do not scale, the growth bias, the
3-size pseudo-cut-offs) was revised after looking at the BIG-G tuning half at cut-offs <= 1B
(the selection set of ``benchmarks/rule.py``, 2026-12-07): the plain 2PL with the chance
floor over-extrapolated there (MAE 1.95 x the best baseline); no number above was tuned.

One model family: per-question data whose fitted models come from two or more families are
refused (one line); so are data of many families, difficulty groups, task-level scores and
ladders (by the tags).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import expit

from forecast.curves.draws import QuasiDraws
from forecast.data.dataset import EvalData
from forecast.data.task_table import one_row_per_answer
from forecast.errors import InputError, NotApplicable
from forecast.methods.base import Forecaster, as_compute, check_compute_scale, check_level
from forecast.methods.contract import ForecasterTags, Integer, Spread
from forecast.methods.families import fitted_family_labels
from forecast.tuning import MAX_PSEUDO_CUTOFFS

#: grid of question crossing points: from this many decades below the smallest fitted model ...
B_BELOW = 3.0
#: ... to this many decades above the cut-off
B_ABOVE = 7.0
B_POINTS = 141
#: grid of discriminations (per decade of compute), log-spaced
A_RANGE = (0.25, 16.0)
A_POINTS = 13
#: the curve table: from this many decades below the smallest fitted model to this many past
#: the cut-off (beyond it a curve is read at its last point), in steps of TABLE_STEP decades
TABLE_BELOW = 2.0
TABLE_ABOVE = 6.0
TABLE_STEP = 0.04
#: distinct draws of a task's (mu_b, log s_b); curve draw s uses draw s % HYPER_DRAWS
HYPER_DRAWS = 256
#: weak regularisers of each task's (mu_b, log s_b) while the cross-task hyperprior is learned:
#: mu_b ~ N(x_cut + 1, LEARN_MU_SD), log s_b ~ N(LEARN_LOG_SB)
LEARN_MU_SD = 4.0
LEARN_LOG_SB = (0.0, 1.5)
#: floors of the cross-task spreads of mu_b (decades) and of log s_b
FLOOR_T_MU = 0.5
FLOOR_T_LS = 0.2
#: bounds of a task's s_b (decades) and of s_a
SB_RANGE = (0.1, 6.0)
SA_RANGE = (0.1, 2.0)
#: alternations of the per-task and pooled steps when learning the hyperprior
LEARN_ROUNDS = 3
#: the a-priori hyperprior used when none was learned (no task to learn from)
#: constant rates of the questions that do not scale
FLAT_POINTS = 40
#: prior sd of a task's share of questions that do not scale around the pooled share (logit)
FLAT_LOGIT_SD = 1.5
FALLBACK_PRIOR = {"mu_a": float(np.log(1.5)), "s_a": 0.75, "guess": 0.5, "flat": 0.3, "mu_b_offset": 1.0,
                  "t_mu": 2.0,
                  "m_ls": 0.0, "t_ls": 0.75}
#: bounds of the share of questions with the chance floor
GUESS_RANGE = (0.02, 0.98)
#: candidate growth errors of the ability past the cut-off (decades per decade), simplest first
EXTRAPOLATION_GRID = (0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5)
#: candidate growth biases of the ability past the cut-off (decades per decade: -1 is a curve
#: frozen at the cut-off), simplest first
GROWTH_BIAS_GRID = (0.0, -0.25, 0.25, -0.5, 0.5, -0.75, -1.0)
#: fallback growth error where no pseudo-cut-off exists
FALLBACK_EXTRAPOLATION = 0.3
#: draws of the pseudo-forecasts the growth error is learned on
PSEUDO_DRAWS = 128
#: fewest fitted sizes of a pseudo-cut-off where the usual ones (MIN_FITTED_SIZES) leave none
PSEUDO_MIN_SIZES = 3


# ----------------------------------------------------------------------------- data
def item_arrays(data: EvalData, task: str) -> tuple[np.ndarray, list[str], np.ndarray, np.ndarray, np.ndarray]:
    """One task's per-question results as arrays.

    Returns
    -------
    question_ids : ndarray of str (J,)
        Questions answered by at least one model, sorted.
    models : list of str (M,)
        Models, sorted.
    k, n : ndarray (J, M)
        Correct answers and answers of each model to each question (0/1 grades: ``n = 1``;
        sampled answers: ``n_correct`` of ``n_samples``; a fractional grade counts as a
        fractional success of one trial; ``n = 0`` where a model did not answer).
    chance : ndarray (J,)
        Chance of each question: ``1 / n_choices`` where the results carry ``n_choices``, else
        the task's chance.
    """

    origin = data.derived.get("origin")
    if origin is not None:  # a subset of another data's models: its arrays' columns
        parent = origin[0]

        def subset():
            questions, models, k, n, chance = item_arrays(parent, task)
            kept = set(data.models_of(task))
            cols = [i for i, m in enumerate(models) if m in kept]
            k, n = k[:, cols], n[:, cols]
            answered = n.sum(axis=1) > 0
            if not answered.any():
                raise NotApplicable(f"task {task!r}: no per-question results")
            return questions[answered], [models[i] for i in cols], k[answered], n[answered], chance[answered]

        return data.memo(("item_level_arrays", task), subset)

    def build():
        rows = one_row_per_answer(data.rows_of("results", task))
        if rows.empty:
            raise NotApplicable(f"task {task!r}: no per-question results")
        if "n_samples" in rows.columns and "n_correct" in rows.columns:
            kk = rows["n_correct"].to_numpy(dtype=float)
            nn = rows["n_samples"].to_numpy(dtype=float)
        elif "correct" in rows.columns:
            kk = rows["correct"].to_numpy(dtype=float)
            nn = np.ones_like(kk)
        else:
            raise NotApplicable(f"{data.name}: task {task!r} has no column 'correct' (item_level fits 0/1 grades)")
        ok = np.isfinite(kk) & np.isfinite(nn) & (nn > 0)
        qid = rows["question_id"].astype(str).to_numpy()[ok]
        mod = rows["model"].astype(str).to_numpy()[ok]
        questions, qi = np.unique(qid, return_inverse=True)
        models, mi = np.unique(mod, return_inverse=True)
        k = np.zeros((questions.size, models.size))
        n = np.zeros_like(k)
        k[qi, mi] = kk[ok]
        n[qi, mi] = nn[ok]
        base = data.chance(task)
        chance = np.full(questions.size, base)
        if "n_choices" in rows.columns:
            choices = rows["n_choices"].to_numpy(dtype=float)[ok]
            has = np.isfinite(choices) & (choices >= 2)
            if has.any():
                per_q = np.full(questions.size, np.nan)
                per_q[qi[has]] = 1.0 / choices[has]
                chance = np.where(np.isfinite(per_q), per_q, chance)
        return questions, [str(m) for m in models], k, n, chance

    return data.memo(("item_level_arrays", task), build)


def _log_probs(eta: np.ndarray, floor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``log p`` and ``log(1 - p)`` of ``p = floor + (1 - floor) sigmoid(eta)``, stably
    (``floor`` broadcast against ``eta``; 0 allowed)."""
    floor = np.asarray(floor, dtype=float)
    log_sig = -np.logaddexp(0.0, -eta)
    log_rest = np.log1p(-floor) - np.logaddexp(0.0, eta)
    with np.errstate(divide="ignore"):
        log_floor = np.log(floor)
    return np.logaddexp(log_floor, np.log1p(-floor) + log_sig), log_rest


def _normal_weights(grid: np.ndarray, mu: float, sd: float) -> np.ndarray:
    """Weights of ``N(mu, sd)`` on a grid (normalised to sum 1 on it)."""
    z = -0.5 * ((grid - mu) / sd) ** 2
    w = np.exp(z - z.max())
    return w / w.sum()


class TaskItems:
    """One task's questions on the ``(b, log a)`` grid: the likelihood of every grid point.

    Parameters
    ----------
    k, n : ndarray (J, M)
        Correct answers and answers (see :func:`item_arrays`).
    x : ndarray (M,)
        log10 compute of the models.
    chance : ndarray (J,)
    x_cut : float
        log10 of the cut-off.
    """

    def __init__(self, k: np.ndarray, n: np.ndarray, x: np.ndarray, chance: np.ndarray, x_cut: float) -> None:
        keep = n.sum(axis=1) > 0
        self.keep = keep
        self.k, self.n, self.chance = k[keep], n[keep], chance[keep]
        self.x = np.asarray(x, dtype=float)
        self.x_cut = float(x_cut)
        self.b_grid = np.linspace(self.x.min() - B_BELOW, self.x_cut + B_ABOVE, B_POINTS)
        self.la_grid = np.linspace(np.log(A_RANGE[0]), np.log(A_RANGE[1]), A_POINTS)
        per = B_POINTS * A_POINTS
        # grid points: (guesses at chance?, b, log a), the first half with no floor
        self.grid_f = np.repeat([0.0, 1.0], per)
        self.grid_b = np.tile(np.repeat(self.b_grid, A_POINTS), 2)
        self.grid_a = np.tile(np.exp(np.tile(self.la_grid, B_POINTS)), 2)
        eta = self.grid_a[None, :] * (self.x[:, None] - self.grid_b[None, :])  # (M, G)
        ll = np.empty((self.k.shape[0], self.grid_b.size + FLAT_POINTS))
        self.chances = np.unique(self.chance)
        for c in self.chances:
            rows = self.chance == c
            log_p, log_q = _log_probs(eta, self.grid_f[None, :] * float(c))
            ll[rows, :self.grid_b.size] = self.k[rows] @ log_p + (self.n[rows] - self.k[rows]) @ log_q
        # questions that do not scale: a constant rate r on a grid of its own (uniform prior)
        self.r_grid = (np.arange(FLAT_POINTS) + 0.5) / FLAT_POINTS
        kj, nj = self.k.sum(axis=1), self.n.sum(axis=1)
        ll[:, self.grid_b.size:] = (kj[:, None] * np.log(self.r_grid)[None, :]
                                    + (nj - kj)[:, None] * np.log1p(-self.r_grid)[None, :])
        self.ll_max = ll.max(axis=1)
        ll -= self.ll_max[:, None]
        #: every grid point (scaling ones, then constant rates), the likelihood scaled per
        #: question by its largest value: (J, G + R)
        self.lik_all = np.exp(ll, out=ll)
        #: the scaling grid points' likelihood, a view of :attr:`lik_all`: (J, 2, Nb, Na)
        self.lik = self.lik_all[:, :self.grid_b.size].reshape(-1, 2, B_POINTS, A_POINTS)
        #: the constant rates' likelihood, a view of :attr:`lik_all`: (J, R)
        self.lik_flat = self.lik_all[:, self.grid_b.size:]
        self.flat_mean = self.lik_flat.mean(axis=1)
        self.n_scale = self.grid_b.size
        nan = np.full(FLAT_POINTS, np.nan)
        self.all_b = np.concatenate([self.grid_b, nan])
        self.all_a = np.concatenate([self.grid_a, nan])
        self.all_f = np.concatenate([self.grid_f, np.zeros(FLAT_POINTS)])
        self.all_r = np.concatenate([np.full(self.n_scale, np.nan), self.r_grid])

    @property
    def n_items(self) -> int:
        return int(self.k.shape[0])

    def log_marginal(self, mu_b: float, s_b: float, mu_a: float, s_a: float, guess: float, flat: float) -> float:
        """Log marginal likelihood of the task's answers under the grid prior (up to the
        constant per-question scale)."""
        m = (1.0 - flat) * self.prior_b_marginal(mu_a, s_a, guess) @ _normal_weights(self.b_grid, mu_b, s_b)
        return float(np.sum(np.log(np.maximum(m + flat * self.flat_mean, 1e-300))))

    def prior_b_marginal(self, mu_a: float, s_a: float, guess: float) -> np.ndarray:
        """Each question's likelihood per crossing point, discrimination and floor summed out
        under their prior: (J, Nb)."""
        la = self.lik @ _normal_weights(self.la_grid, mu_a, s_a)  # (J, 2, Nb)
        return (1.0 - guess) * la[:, 0] + guess * la[:, 1]

    def prior(self, mu_b: float, s_b: float, mu_a: float, s_a: float, guess: float, flat: float) -> np.ndarray:
        """Prior weights of every grid point (G + R,): the scaling ones, then the constant rates."""
        wb = _normal_weights(self.b_grid, mu_b, s_b)
        wa = _normal_weights(self.la_grid, mu_a, s_a)
        scale = (np.array([1.0 - guess, guess])[:, None, None] * wb[None, :, None] * wa[None, None, :]).ravel()
        return np.concatenate([(1.0 - flat) * scale, np.full(FLAT_POINTS, flat / FLAT_POINTS)])

    def posterior(self, weights: np.ndarray) -> np.ndarray:
        """Every question's posterior on the grid under prior ``weights``: (J, G + R)."""
        post = self.lik_all * weights[None, :]
        return post / np.maximum(post.sum(axis=1, keepdims=True), 1e-300)

    def rising(self, x: np.ndarray) -> np.ndarray:
        """``sigmoid(a (x - b))`` of every ``(b, a)`` grid point at log10 compute ``x``:
        ``(Nb * Na, len(x))`` (a scaling question's ``P(correct)`` is its floor plus the rest of
        the way to 1 times this)."""
        x = np.asarray(x, dtype=float)
        per = B_POINTS * A_POINTS
        return expit(self.grid_a[:per, None] * (x[None, :] - self.grid_b[:per, None]))

    def prior_weights(self, mu_b: np.ndarray, log_s_b: np.ndarray, mu_a: float, s_a: float, guess: float,
                      flat: float) -> np.ndarray:
        """:meth:`prior` of several task-level draws ``(mu_b[k], exp(log_s_b[k]))`` at once:
        ``(K, G + R)``."""
        grid = self.b_grid[None, :]
        z = -0.5 * ((grid - np.asarray(mu_b, dtype=float)[:, None]) / np.exp(np.asarray(log_s_b))[:, None]) ** 2
        wb = np.exp(z - z.max(axis=1, keepdims=True))
        wb /= wb.sum(axis=1, keepdims=True)
        wa = _normal_weights(self.la_grid, mu_a, s_a)
        fw = np.array([1.0 - guess, guess])
        scale = (1.0 - flat) * fw[None, :, None, None] * wb[:, None, :, None] * wa[None, None, None, :]
        flats = np.full((wb.shape[0], FLAT_POINTS), flat / FLAT_POINTS)
        return np.concatenate([scale.reshape(wb.shape[0], -1), flats], axis=1)


# ----------------------------------------------------------------------------- hyperpriors
def _task_mode(items: TaskItems, mu_a: float, s_a: float, guess: float, flat: float, m_mu: float, t_mu: float,
               m_ls: float, t_ls: float) -> tuple[np.ndarray, np.ndarray]:
    """The task's posterior mode of ``(mu_b, log s_b, logit flat_task)`` under the normal
    hyperprior (the task's share of questions that do not scale centred on the pooled ``flat``,
    :data:`FLAT_LOGIT_SD`), and the Laplace covariance of ``(mu_b, log s_b)`` (the 2x2 block of
    the inverse Hessian, by differences of the exact gradient)."""
    lo, hi = items.b_grid[0], items.b_grid[-1]
    la = items.prior_b_marginal(mu_a, s_a, guess)  # (J, Nb)
    fm = items.flat_mean
    grid = items.b_grid
    m_lf = float(np.log(flat / (1.0 - flat)))

    def neg(v: np.ndarray) -> tuple[float, np.ndarray]:
        mu_b, ls_b, lf = float(v[0]), float(v[1]), float(v[2])
        s_b = float(np.exp(ls_b))
        phi = float(expit(lf))
        wb = _normal_weights(grid, mu_b, s_b)
        z = (grid - mu_b) / s_b
        # derivatives of the normalised weights: d w / d mu = w (z - E z) / s,
        # d w / d log s = w (z^2 - E z^2)
        d_mu = wb * (z - wb @ z) / s_b
        d_ls = wb * (z**2 - wb @ z**2)
        scale = la @ wb
        m = np.maximum((1.0 - phi) * scale + phi * fm, 1e-300)
        value = float(np.sum(np.log(m)))
        g_mu = (1.0 - phi) * float(np.sum((la @ d_mu) / m))
        g_ls = (1.0 - phi) * float(np.sum((la @ d_ls) / m))
        g_lf = phi * (1.0 - phi) * float(np.sum((fm - scale) / m))
        value -= (0.5 * ((mu_b - m_mu) / t_mu) ** 2 + 0.5 * ((ls_b - m_ls) / t_ls) ** 2
                  + 0.5 * ((lf - m_lf) / FLAT_LOGIT_SD) ** 2)
        g_mu -= (mu_b - m_mu) / t_mu**2
        g_ls -= (ls_b - m_ls) / t_ls**2
        g_lf -= (lf - m_lf) / FLAT_LOGIT_SD**2
        return -value, -np.array([g_mu, g_ls, g_lf])

    bounds = [(lo, hi), (np.log(SB_RANGE[0]), np.log(SB_RANGE[1])), (-8.0, 8.0)]
    start = np.array([min(max(m_mu, lo), hi), min(max(m_ls, bounds[1][0]), bounds[1][1]), m_lf])
    res = minimize(neg, start, jac=True, method="L-BFGS-B", bounds=bounds, options={"maxiter": 300})
    mode = np.asarray(res.x, dtype=float)
    eps = 1e-4
    hess = np.empty((3, 3))
    for i in range(3):
        step = np.zeros(3)
        step[i] = eps
        hess[i] = (neg(mode + step)[1] - neg(mode - step)[1]) / (2 * eps)
    hess = (hess + hess.T) / 2.0
    # keep the Laplace covariance proper: at a bound, or where the marginal is flat, the
    # hyperprior's curvature is what is left
    vals, vecs = np.linalg.eigh(hess)
    vals = np.maximum(vals, min(1.0 / t_mu**2, 1.0 / t_ls**2, 1.0 / FLAT_LOGIT_SD**2))
    cov = (vecs / vals) @ vecs.T
    return mode, cov[:2, :2]


def _pooled(tasks: list[TaskItems], per_task: list[tuple[float, float, float]],
            start: tuple[float, float, float]) -> tuple[float, float, float]:
    """The pooled ``(mu_a, s_a, guess)`` maximising the summed marginal likelihood, given each
    task's ``(mu_b, s_b)`` (``guess``: the share of scaling questions with the chance floor; the
    others have none, e.g. a question models answer wrong more often than chance; ``flat``: the
    share of questions that do not scale, a constant rate whatever the compute, per task)."""
    lb = [np.einsum("jfba,b->jfa", t.lik, _normal_weights(t.b_grid, mu, sb)) for t, (mu, sb, _) in zip(tasks, per_task)]
    flats = [phi for _, _, phi in per_task]
    # tasks without chance cannot tell the floors apart
    informative = [t.chance.max() > 0 for t in tasks]

    def neg(v: np.ndarray) -> float:
        wa = _normal_weights(tasks[0].la_grid, float(v[0]), float(np.exp(v[1])))
        g = float(expit(v[2]))
        total = 0.0
        for t, m, info, phi in zip(tasks, lb, informative, flats):
            ma = m @ wa  # (J, 2)
            mix = (1.0 - g) * ma[:, 0] + g * ma[:, 1] if info else ma[:, 0]
            total += float(np.sum(np.log(np.maximum((1.0 - phi) * mix + phi * t.flat_mean, 1e-300))))
        return -total

    la = tasks[0].la_grid
    g0 = min(max(start[2], GUESS_RANGE[0]), GUESS_RANGE[1])
    share = tuple(np.log(np.array(GUESS_RANGE) / (1 - np.array(GUESS_RANGE))))
    res = minimize(neg, np.array([start[0], np.log(start[1]), np.log(g0 / (1 - g0))]),
                   method="L-BFGS-B", bounds=[(la[0], la[-1]), (np.log(SA_RANGE[0]), np.log(SA_RANGE[1])), share])
    return float(res.x[0]), float(np.exp(res.x[1])), float(expit(res.x[2]))


def _spread(values: np.ndarray, se2: np.ndarray, floor: float) -> float:
    """Method-of-moments spread of true values behind noisy estimates (floored)."""
    if values.size < 2:
        return float("nan")
    return float(np.sqrt(max(np.var(values, ddof=1) - np.mean(se2), floor**2)))


def task_items(data: EvalData, task: str, x_cut: float) -> TaskItems:
    """:class:`TaskItems` of ``task`` in ``data`` (the models' compute from its compute table)."""
    questions, models, k, n, chance = item_arrays(data, task)

    def log10_compute() -> dict[str, float]:
        table = data.compute_table(task)
        return dict(zip(table["model"].astype(str), table["log10_compute"].to_numpy(dtype=float)))

    x_of = data.memo(("item_level_log10_compute", task), log10_compute)
    x = np.array([x_of.get(m, np.nan) for m in models], dtype=float)
    if not np.isfinite(x).all():
        raise InputError(f"task {task!r}: a model with results has no compute")
    return TaskItems(k, n, x, chance, x_cut)


def learn_priors(pool: EvalData, cutoff: float) -> dict[str, Any]:
    """:func:`learn_priors_blas` with one BLAS thread (L-BFGS-B's small steps are many times
    slower multi-threaded)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        return learn_priors_blas(pool, cutoff)


def learn_priors_blas(pool: EvalData, cutoff: float) -> dict[str, Any]:
    """The hyperprior learned from every task of ``pool`` (models at or below ``cutoff``).

    Alternates (:data:`LEARN_ROUNDS` times) each task's ``(mu_b, log s_b)`` (posterior mode
    under weak regularisers) and the pooled ``(mu_a, s_a)``; then ``M_mu, T_mu`` and ``M_ls,
    T_ls`` are the mean and the method-of-moments spread of the tasks' estimates (their
    Laplace variances taken out, floored).  A JSON-ready dict.
    """
    x_cut = float(np.log10(cutoff))
    tasks = []
    for task in pool.task_names:
        try:
            items = task_items(pool, task, x_cut)
        except InputError:
            continue
        if items.n_items and np.unique(items.x).size >= 2:
            tasks.append(items)
    if not tasks:
        return {"prior_learned": False, "n_tasks": 0}
    mu_a, s_a = FALLBACK_PRIOR["mu_a"], FALLBACK_PRIOR["s_a"]
    guess, flat = FALLBACK_PRIOR["guess"], FALLBACK_PRIOR["flat"]
    modes = covs = None
    for _ in range(LEARN_ROUNDS):
        fits = [_task_mode(t, mu_a, s_a, guess, flat, x_cut + 1.0, LEARN_MU_SD, *LEARN_LOG_SB) for t in tasks]
        modes = np.array([m for m, _ in fits])
        covs = np.array([c for _, c in fits])
        mu_a, s_a, guess = _pooled(tasks, [(float(m[0]), float(np.exp(m[1])), float(expit(m[2]))) for m in modes],
                                   (mu_a, s_a, guess))
        # the pooled share of questions that do not scale: the tasks' mean on the logit scale
        flat = float(min(max(expit(np.mean(modes[:, 2])), GUESS_RANGE[0]), GUESS_RANGE[1]))
    m_mu, m_ls = float(modes[:, 0].mean()), float(modes[:, 1].mean())
    t_mu = _spread(modes[:, 0], covs[:, 0, 0], FLOOR_T_MU)
    t_ls = _spread(modes[:, 1], covs[:, 1, 1], FLOOR_T_LS)
    if not np.isfinite(t_mu):
        t_mu, t_ls = FALLBACK_PRIOR["t_mu"], FALLBACK_PRIOR["t_ls"]
    return {"prior_learned": True, "n_tasks": len(tasks), "n_items": int(sum(t.n_items for t in tasks)),
            "mu_a": mu_a, "s_a": s_a, "guess": guess, "flat": flat, "m_mu": m_mu, "t_mu": t_mu, "m_ls": m_ls, "t_ls": t_ls,
            "m_mu_offset": m_mu - x_cut}


def shared_priors(pool: EvalData, cutoff: float) -> dict[str, Any]:
    """:func:`learn_priors` of ``pool`` at ``cutoff``, computed once per data object and kept
    on it (:meth:`~forecast.data.dataset.EvalData.memo`; read it, do not change it)."""
    return pool.memo(("item_level_priors", float(cutoff)), lambda: learn_priors(pool, cutoff))


# ----------------------------------------------------------------------------- the method
class ItemLevel(Forecaster):
    """Item-level scaling model: a 2PL item response per question, ability = log compute.

    See the module docstring for the model, its priors and the extrapolation term.

    Parameters
    ----------
    extrapolation_sd : float or None
        Growth error ``s`` of the ability past the cut-off (decades per decade): each curve
        draw reads the curve at ``x_cut + max(1 + m + s z, 0)(x - x_cut)``.  None (default):
        learned at fit time on pseudo-cut-offs inside the fitted range (:data:`EXTRAPOLATION_GRID`).
    growth_bias : float or None
        Growth bias ``m`` of the ability past the cut-off (decades per decade; -1 freezes the
        curve at the cut-off).  None (default): learned with ``s`` (:data:`GROWTH_BIAS_GRID`).
    n_pseudo : int
        Pseudo-cut-offs per task (those nearest the real cut-off) the growth error is learned on.
    n_draws : int
        Curve draws.
    seed : int
        Same seed, same output.

    Fitted attributes: ``items_`` (:class:`TaskItems`), ``question_ids_``, ``hyper_``
    (the task's ``mu_b, s_b, mu_a, s_a``), ``hyper_cov_`` (Laplace covariance of ``(mu_b,
    log s_b)``), ``extrapolation_sd_``, ``table_`` (curve draws on :attr:`table_x_`).
    """

    name = "item_level"
    tags = ForecasterTags(handles=frozenset({"per_question", "per_question_probs", "sampled"}),
                          learns_settings=True)
    param_constraints = {"extrapolation_sd": Spread(zero_ok=True), "n_pseudo": Integer(0)}

    @property
    def learns_context(self) -> bool:  # type: ignore[override]
        return True
    noise_scale = "logit"
    n_curve_params = 2

    def __init__(self, extrapolation_sd: float | None = None, growth_bias: float | None = None,
                 n_pseudo: int = MAX_PSEUDO_CUTOFFS, n_draws: int = 1000, seed: int = 0) -> None:
        self.extrapolation_sd = extrapolation_sd
        self.growth_bias = growth_bias
        self.n_pseudo = n_pseudo
        self.n_draws = n_draws
        self.seed = seed

    # ------------------------------------------------------------------ settings
    def learn_context(self, pool: EvalData, cutoff: float) -> dict[str, Any]:
        """The hyperprior (:func:`learn_priors`) and, unless ``extrapolation_sd`` is given, the
        ability's growth error past the cut-off, learned on pseudo-cut-offs of every task (each
        pseudo-cut-off's own hyperprior learned from the models at or below it)."""
        from forecast.tuning import choose_by_pseudo_crps, pseudo_forecasts, pseudo_splits

        context = dict(shared_priors(pool, cutoff))
        if self.extrapolation_sd is not None and self.growth_bias is not None:
            return context

        def fit(data: EvalData, c: float, task: str) -> ItemLevel:
            """The pseudo-forecast of ``task`` at pseudo-cut-off ``c``: a fit with no growth
            error on the models at or below ``c``, with the priors learned from every task
            there.  It depends on the data at ``c`` only, so it is kept on (and shared through)
            the data restricted to ``c``: the pseudo-cut-offs of a mixture's own pseudo-cut-offs
            are fitted once."""
            try:
                at_c = pool.restrict(c)
            except InputError:  # tasks on different compute scales: the task's own data
                at_c = None

            def build() -> ItemLevel:
                priors = shared_priors(at_c, c) if at_c is not None else learn_priors(data.restrict(c, task), c)
                probe = type(self)(extrapolation_sd=0.0, growth_bias=0.0, n_pseudo=0, n_draws=PSEUDO_DRAWS,
                                   seed=self.seed).fit(data, c, task, context=dict(priors))
                probe.items_ = None  # the curve table is all a pseudo-forecast reads; the grid goes
                return probe

            return build() if at_c is None else at_c.memo(("item_level_probe", task, self.seed), build)

        splits = list(pseudo_splits(pool, max_per_task=self.n_pseudo))
        if not splits:  # too few sizes for the usual pseudo-cut-offs: the ones of 3 sizes
            splits = list(pseudo_splits(pool, min_sizes=PSEUDO_MIN_SIZES, max_per_task=self.n_pseudo))
        fits = pseudo_forecasts(pool, fit, splits)

        biases = GROWTH_BIAS_GRID if self.growth_bias is None else (float(self.growth_bias),)
        sds = EXTRAPOLATION_GRID if self.extrapolation_sd is None else (float(self.extrapolation_sd),)
        pairs = [(m, sd) for m in biases for sd in sds]  # simplest first: no bias, no spread

        def apply(fc: ItemLevel, value: float) -> None:
            fc.growth_bias_, fc.extrapolation_sd_ = pairs[int(value)]

        def sample_all(fc: ItemLevel, compute: np.ndarray, values: tuple[float, ...]) -> list[np.ndarray]:
            chosen = [pairs[int(v)] for v in values]
            return list(fc.observed_by_growth(compute, np.array([m for m, _ in chosen]),
                                              np.array([sd for _, sd in chosen])))

        best, table = choose_by_pseudo_crps(fits, tuple(float(i) for i in range(len(pairs))), apply, sample_all)
        m, sd = (0.0, FALLBACK_EXTRAPOLATION) if best is None else pairs[int(best)]
        context["growth_bias"], context["extrapolation_sd"] = float(m), float(sd)
        context["extrapolation_pseudo_splits"] = len(fits)
        context["extrapolation_crps"] = {f"{pairs[int(v)][0]:g},{pairs[int(v)][1]:g}": float(c)
                                         for v, c in zip(table["value"], table["crps"])}
        return context

    # ------------------------------------------------------------------ fit
    def _fit(self, fitted: EvalData) -> None:
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1, user_api="blas"):
            self._fit_items(fitted)

    def _fit_items(self, fitted: EvalData) -> None:
        task = self.task_
        labels = fitted_family_labels(fitted.models, list(self.fit_table_["model"]))
        if labels is not None and len(set(labels)) > 1:
            raise NotApplicable(f"method 'item_level' fits one model family; task {task!r} has fitted models "
                                f"of {len(set(labels))} families ({', '.join(sorted(set(labels))[:3])}, ...)")
        x_cut = float(np.log10(self.cutoff_))
        self.x_cut_ = x_cut
        items = task_items(fitted, task, x_cut)
        if items.n_items == 0:
            raise NotApplicable(f"task {task!r}: no answered questions at cutoff {self.cutoff_:.4g}")
        self.items_ = items
        self.question_ids_ = item_arrays(fitted, task)[0][items.keep]
        ctx = self.context_
        learned = bool(ctx.get("prior_learned"))
        fb = FALLBACK_PRIOR
        mu_a = float(ctx["mu_a"]) if learned else fb["mu_a"]
        s_a = float(ctx["s_a"]) if learned else fb["s_a"]
        guess = float(ctx.get("guess", fb["guess"])) if learned else fb["guess"]
        flat = float(ctx.get("flat", fb["flat"])) if learned else fb["flat"]
        m_mu = float(ctx["m_mu"]) if learned else x_cut + fb["mu_b_offset"]
        t_mu = float(ctx["t_mu"]) if learned else fb["t_mu"]
        m_ls = float(ctx["m_ls"]) if learned else fb["m_ls"]
        t_ls = float(ctx["t_ls"]) if learned else fb["t_ls"]
        if not learned:
            self.diagnostics_["warnings"].append("item_level: no hyperprior learned; a-priori fallback priors")
        mode, cov = _task_mode(items, mu_a, s_a, guess, flat, m_mu, t_mu, m_ls, t_ls)
        flat = float(expit(mode[2]))  # the task's own share of questions that do not scale
        self.hyper_ = {"mu_b": float(mode[0]), "s_b": float(np.exp(mode[1])), "mu_a": mu_a, "s_a": s_a,
                       "guess": guess, "flat": flat}
        self.hyper_cov_ = cov
        extrap = self.extrapolation_sd if self.extrapolation_sd is not None else ctx.get("extrapolation_sd")
        self.extrapolation_sd_ = float(FALLBACK_EXTRAPOLATION if extrap is None else extrap)
        bias = self.growth_bias if self.growth_bias is not None else ctx.get("growth_bias")
        self.growth_bias_ = float(0.0 if bias is None else bias)
        self._rng = QuasiDraws(self.seed)
        n_hyper = min(self.n_draws, HYPER_DRAWS)
        hyper = self._rng.multivariate_normal(mode[:2], cov, size=n_hyper)
        hyper[:, 0] = np.clip(hyper[:, 0], items.b_grid[0], items.b_grid[-1])
        hyper[:, 1] = np.clip(hyper[:, 1], np.log(SB_RANGE[0]), np.log(SB_RANGE[1]))
        self.hyper_draws_ = hyper
        self.growth_z_ = self._rng.standard_normal(self.n_draws)
        self.prior_args_ = (mu_a, s_a, guess, flat)
        weights = items.prior_weights(hyper[:, 0], hyper[:, 1], mu_a, s_a, guess, flat)  # (K, G + R)
        # each question's marginal per draw: the prior is separable, so the crossing points'
        # marginal likelihood (discrimination and floor summed out) does it in (J, Nb) work
        wb = weights[:, :items.n_scale].reshape(n_hyper, 2, B_POINTS, A_POINTS).sum(axis=(1, 3))
        wb /= np.maximum(wb.sum(axis=1, keepdims=True), 1e-300)
        z = ((1.0 - flat) * items.prior_b_marginal(mu_a, s_a, guess) @ wb.T
             + flat * items.flat_mean[:, None])  # (J, K)
        inv = 1.0 / np.maximum(z, 1e-300)
        x_min = float(items.x.min())
        self.table_x_ = np.arange(x_min - TABLE_BELOW, x_cut + TABLE_ABOVE + TABLE_STEP / 2, TABLE_STEP)
        # the question-averaged posterior predictive per draw: sum over the grid points of the
        # question-averaged posterior weight times P(correct); a scaling point's P(correct) is
        # floor + (1 - floor) sigmoid, so per chance value the two floors' weights combine into
        # one weight on the sigmoid table and a constant
        per = B_POINTS * A_POINTS
        on_sigmoid = np.zeros((n_hyper, per))
        constant = np.zeros(n_hyper)
        for c in items.chances:
            rows = items.chance == c
            wbar = weights * (inv[rows].T @ items.lik_all[rows]) / items.n_items  # (K, G + R)
            on_sigmoid += wbar[:, :per] + (1.0 - c) * wbar[:, per:2 * per]
            constant += c * wbar[:, per:2 * per].sum(axis=1) + wbar[:, 2 * per:] @ items.r_grid
        self.table_ = on_sigmoid @ items.rising(self.table_x_) + constant[:, None]
        self.mode_ = mode
        self.diagnostics_.update({"n_items": items.n_items, "hyper": dict(self.hyper_),
                                  "extrapolation_sd": self.extrapolation_sd_, "growth_bias": self.growth_bias_})

    def hyper_weights(self) -> np.ndarray:
        """Prior weights of every grid point under each of the task's drawn ``(mu_b, log s_b)``
        (:attr:`hyper_draws_`): ``(K, G + R)``."""
        self._check_fitted()
        return self.items_.prior_weights(self.hyper_draws_[:, 0], self.hyper_draws_[:, 1], *self.prior_args_)

    @property
    def posterior_(self) -> np.ndarray:
        """Every question's exact grid posterior under the task's mode: ``(J, G + R)``."""
        self._check_fitted()
        w0 = self.items_.prior(self.mode_[0], float(np.exp(self.mode_[1])), *self.prior_args_)
        return self.items_.posterior(w0)

    # ------------------------------------------------------------------ curves
    def _effective_x(self, x: np.ndarray) -> np.ndarray:
        """Each draw's reading point: ``x_cut + max(1 + m + s z, 0) (x - x_cut)`` past the cut-off."""
        x = np.atleast_1d(np.asarray(x, dtype=float))
        d = np.maximum(x - self.x_cut_, 0.0)
        growth = np.maximum(1.0 + self.growth_bias_ + self.extrapolation_sd_ * self.growth_z_, 0.0)
        return np.where(d[None, :] > 0, self.x_cut_ + growth[:, None] * d[None, :], x[None, :])

    def observed_by_growth(self, compute: Any, biases: np.ndarray, sds: np.ndarray) -> np.ndarray:
        """Observed-score draws at ``compute`` (raw) under each growth bias and error
        ``(biases[p], sds[p])`` in one call: shape ``(P, n_draws, len(compute))``, the same
        numbers as setting ``growth_bias_, extrapolation_sd_`` to each pair and calling
        :meth:`sample` (the pairs share the draws' quasi-random points)."""
        self._check_fitted()
        x = np.log10(check_compute_scale(compute, self.smallest_compute_, "compute"))
        d = np.maximum(x - self.x_cut_, 0.0)
        growth = np.maximum(1.0 + np.asarray(biases, dtype=float)[:, None, None]
                            + np.asarray(sds, dtype=float)[:, None, None] * self.growth_z_[None, :, None], 0.0)
        xe = np.where(d[None, None, :] > 0, self.x_cut_ + growth * d[None, None, :], x[None, None, :])
        mean = self._read_table(xe)
        z, u = self._noise_source().noise(mean.shape[1:])
        return self._observed_at(mean, np.broadcast_to(z, mean.shape), np.broadcast_to(u, mean.shape))

    def _mean_draws(self, x: np.ndarray) -> np.ndarray:
        return self._read_table(self._effective_x(x))

    def _read_table(self, xe: np.ndarray) -> np.ndarray:
        """The curve table of draw ``s`` read at ``xe[..., s, :]`` (linear interpolation)."""
        grid = self.table_x_
        pos = np.clip((xe - grid[0]) / TABLE_STEP, 0.0, grid.size - 1.0)
        lo = np.minimum(np.floor(pos).astype(int), grid.size - 2)
        frac = pos - lo
        rows = (np.arange(self.n_draws) % self.table_.shape[0])[:, None]
        left = self.table_[rows, lo]
        right = self.table_[rows, lo + 1]
        return np.clip(left + frac * (right - left), 0.0, 1.0)

    # ------------------------------------------------------------------ per question
    def question_draws(self, compute: Any) -> np.ndarray:
        """Draws of every question's ``P(correct)`` at ``compute`` (raw): shape
        ``(n_draws, n_questions, len(compute))``.

        Draw ``s`` takes the task's ``s``-th prior draw, each question's ``(a_j, b_j)`` drawn
        from its exact posterior on the grid (inverse CDF of quasi-random points of their own,
        seeded from ``seed``), read at the draw's effective compute (the growth error)."""
        self._check_fitted()
        x = np.log10(check_compute_scale(compute, self.fit_table_["compute"].min(), "compute"))
        items = self.items_
        xe = self._effective_x(x)  # (S, n)
        n_hyper = self.table_.shape[0]
        u = QuasiDraws((self.seed, 3)).uniform(self.n_draws, items.n_items)  # (S, J)
        lik = items.lik_all
        weights = self.hyper_weights()
        out = np.empty((self.n_draws, items.n_items, x.size))
        for k in range(n_hyper):
            rows = np.flatnonzero(np.arange(self.n_draws) % n_hyper == k)
            if not rows.size:
                continue
            post = lik * weights[k][None, :]
            cum = np.cumsum(post, axis=1)
            cum /= cum[:, -1:]
            for s in rows:
                g = np.minimum((cum < u[s][:, None]).sum(axis=1), cum.shape[1] - 1)
                flat = g >= items.n_scale
                gs = np.where(flat, 0, g)
                eta = items.grid_a[gs][:, None] * (xe[s][None, :] - items.grid_b[gs][:, None])
                c = (items.chance * items.grid_f[gs])[:, None]
                out[s] = np.where(flat[:, None], items.all_r[np.where(flat, g, 0)][:, None],
                                  c + (1.0 - c) * expit(eta))
        return out

    def predict_questions(self, compute: Any, level: float = 0.9) -> pd.DataFrame:
        """Per-question forecasts: ``question_id, compute, log10_compute, p_correct, lower,
        upper`` (the mean and the equal-tailed ``level`` interval of the question's
        ``P(correct)`` over :meth:`question_draws`)."""
        level = check_level(level)
        comp = as_compute(compute)
        draws = self.question_draws(comp)
        alpha = (1.0 - level) / 2.0
        lower, upper = np.quantile(draws, [alpha, 1.0 - alpha], axis=0)
        mean = draws.mean(axis=0)
        j, c = draws.shape[1], comp.size
        return pd.DataFrame({
            "question_id": np.repeat(self.question_ids_, c),
            "compute": np.tile(comp, j),
            "log10_compute": np.tile(np.log10(comp), j),
            "p_correct": mean.ravel(),
            "lower": np.minimum(lower, mean).ravel(),
            "upper": np.maximum(upper, mean).ravel(),
        })

    def question_params(self, level: float = 0.9) -> pd.DataFrame:
        """Per-question parameters under the task's fitted prior: ``question_id, chance,
        p_flat, p_guess, n_answers, n_correct, b_mean, b_lower, b_upper, a_mean, b_map, a_map,
        crossing_compute``.

        ``p_flat``: posterior probability that the question does not scale (a constant rate);
        the rest is given that it scales: ``p_guess``, that it has the chance floor; ``b``, its
        crossing point in log10 compute (where ``P(correct)`` is half-way from its floor to 1;
        ``crossing_compute = 10 ** b_median``; ``lower, upper``: the equal-tailed ``level``
        interval of its exact grid posterior); ``a``, its discrimination per decade."""
        self._check_fitted()
        level = check_level(level)
        items = self.items_
        posterior = self.posterior_
        flat = posterior[:, items.n_scale:].sum(axis=1)
        post = posterior[:, :items.n_scale]
        post = (post / np.maximum(post.sum(axis=1, keepdims=True), 1e-300)).reshape(items.n_items, 2, B_POINTS,
                                                                                   A_POINTS)
        pb = post.sum(axis=(1, 3))  # (J, Nb)
        pa = post.sum(axis=(1, 2))
        guess = post[:, 1].sum(axis=(1, 2))
        cum = np.cumsum(pb, axis=1)
        alpha = (1.0 - level) / 2.0

        def quantile(q: float) -> np.ndarray:
            return items.b_grid[np.minimum((cum < q).sum(axis=1), B_POINTS - 1)]

        g = np.argmax(post.reshape(items.n_items, -1), axis=1)
        return pd.DataFrame({
            "question_id": self.question_ids_,
            "chance": items.chance,
            "p_flat": flat,
            "p_guess": guess,
            "n_answers": items.n.sum(axis=1),
            "n_correct": items.k.sum(axis=1),
            "b_mean": pb @ items.b_grid,
            "b_lower": quantile(alpha),
            "b_upper": quantile(1.0 - alpha),
            "a_mean": pa @ np.exp(items.la_grid),
            "b_map": items.grid_b[g],
            "a_map": items.grid_a[g],
            "crossing_compute": 10.0 ** quantile(0.5),
        })


__all__ = ["ItemLevel", "TaskItems", "item_arrays", "task_items", "learn_priors", "EXTRAPOLATION_GRID"]
