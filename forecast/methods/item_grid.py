"""The item-level model's grid: one task's per-question answers as arrays, the likelihood of
every grid point of ``(crossing point, discrimination, floor)`` and of the constant rates of
questions that do not scale (:class:`TaskItems`), and the cross-task hyperprior learned by
empirical Bayes on that grid (:func:`learn_priors`).  The model, its priors and what is
fixed a priori are described in :mod:`forecast.methods.item_level`, the forecaster built on
this grid."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit

from forecast.data.dataset import EvalData
from forecast.data.task_table import one_row_per_answer
from forecast.errors import InputError, NotApplicable

#: grid of question crossing points: from this many decades below the smallest fitted model ...
B_BELOW = 3.0
#: ... to this many decades above the cut-off
B_ABOVE = 7.0
B_POINTS = 141
#: grid of discriminations (per decade of compute), log-spaced
A_RANGE = (0.25, 16.0)
A_POINTS = 13
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
def task_mode(items: TaskItems, mu_a: float, s_a: float, guess: float, flat: float, m_mu: float, t_mu: float,
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
        fits = [task_mode(t, mu_a, s_a, guess, flat, x_cut + 1.0, LEARN_MU_SD, *LEARN_LOG_SB) for t in tasks]
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


__all__ = ["TaskItems", "item_arrays", "task_items", "task_mode", "learn_priors", "shared_priors", "FALLBACK_PRIOR",
           "B_POINTS", "A_POINTS", "SB_RANGE"]
