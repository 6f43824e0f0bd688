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

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy.special import expit

from forecast.curves.draws import QuasiDraws
from forecast.data.dataset import EvalData
from forecast.errors import InputError, NotApplicable
from forecast.learned_settings import LearnedSettings
from forecast.methods.base import Forecaster, as_compute, check_compute_scale, check_level
from forecast.methods.contract import ForecasterTags, Integer, Spread
from forecast.methods.families import fitted_family_labels
from forecast.methods.item_grid import (A_POINTS, B_POINTS, FALLBACK_PRIOR, SB_RANGE, TaskItems, item_arrays,
                                        learn_priors, shared_priors, task_items, task_mode)
from forecast.tuning import MAX_PSEUDO_CUTOFFS
#: the curve table: from this many decades below the smallest fitted model to this many past
#: the cut-off (beyond it a curve is read at its last point), in steps of TABLE_STEP decades
TABLE_BELOW = 2.0
TABLE_ABOVE = 6.0
TABLE_STEP = 0.04
#: distinct draws of a task's (mu_b, log s_b); curve draw s uses draw s % HYPER_DRAWS
HYPER_DRAWS = 256
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



@dataclass
class ItemLevelSettings(LearnedSettings):
    """What :class:`ItemLevel` learns (the keys :meth:`ItemLevel.learn_context` writes, in
    its order): the cross-task hyperprior of :func:`learn_priors` (``prior_learned``: whether
    one was learned; the others then None and left out of the JSON), and the ability's
    growth bias and error past the cut-off with the pseudo-cut-offs and pooled CRPS they
    were chosen on (None when given as parameters)."""

    prior_learned: bool = False
    n_tasks: int = 0
    n_items: int | None = None
    mu_a: float | None = None
    s_a: float | None = None
    guess: float | None = None
    flat: float | None = None
    m_mu: float | None = None
    t_mu: float | None = None
    m_ls: float | None = None
    t_ls: float | None = None
    m_mu_offset: float | None = None
    growth_bias: float | None = None
    extrapolation_sd: float | None = None
    extrapolation_pseudo_splits: int | None = None
    extrapolation_crps: dict[str, float] | None = None

    optional: ClassVar[frozenset[str]] = frozenset({
        "n_items", "mu_a", "s_a", "guess", "flat", "m_mu", "t_mu", "m_ls", "t_ls", "m_mu_offset", "growth_bias",
        "extrapolation_sd", "extrapolation_pseudo_splits", "extrapolation_crps"})


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
    settings_class = ItemLevelSettings
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
        ctx: ItemLevelSettings = self.settings_
        learned = bool(ctx.prior_learned)
        fb = FALLBACK_PRIOR

        def pick(value: float | None, fallback: float) -> float:
            return float(value) if learned and value is not None else float(fallback)

        mu_a, s_a = pick(ctx.mu_a, fb["mu_a"]), pick(ctx.s_a, fb["s_a"])
        guess, flat = pick(ctx.guess, fb["guess"]), pick(ctx.flat, fb["flat"])
        m_mu, t_mu = pick(ctx.m_mu, x_cut + fb["mu_b_offset"]), pick(ctx.t_mu, fb["t_mu"])
        m_ls, t_ls = pick(ctx.m_ls, fb["m_ls"]), pick(ctx.t_ls, fb["t_ls"])
        if not learned:
            self.diagnostics_["warnings"].append("item_level: no hyperprior learned; a-priori fallback priors")
        mode, cov = task_mode(items, mu_a, s_a, guess, flat, m_mu, t_mu, m_ls, t_ls)
        flat = float(expit(mode[2]))  # the task's own share of questions that do not scale
        self.hyper_ = {"mu_b": float(mode[0]), "s_b": float(np.exp(mode[1])), "mu_a": mu_a, "s_a": s_a,
                       "guess": guess, "flat": flat}
        self.hyper_cov_ = cov
        extrap = self.extrapolation_sd if self.extrapolation_sd is not None else ctx.extrapolation_sd
        self.extrapolation_sd_ = float(FALLBACK_EXTRAPOLATION if extrap is None else extrap)
        bias = self.growth_bias if self.growth_bias is not None else ctx.growth_bias
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
        return self._observed_at(mean, np.broadcast_to(z, mean.shape), np.broadcast_to(u, mean.shape), keep=False)

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


__all__ = ["ItemLevel", "ItemLevelSettings", "TaskItems", "item_arrays", "task_items", "learn_priors", "EXTRAPOLATION_GRID"]
