"""`CurveDraws`: posterior (or sampling) draws of every slice's curve on the link scale."""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from forecast.curves.basis import design, from_link


@dataclass
class CurveDraws:
    """Draws of polynomial coefficients for every slice.

    Attributes
    ----------
    coef : ndarray, shape (n_draws, n_slices, degree + 1)
        Coefficients on the link (logit) scale, in powers of ``x - center``.
    center : float
        Centre of the polynomial basis (mean fitted log10 compute).
    metric : str
        Slice metric (``"tc_brier"`` or ``"accuracy"``): fixes the inverse link.
    extra : dict
        Other draws a curve model keeps (e.g. the PyMC path's accuracy map).
    n_questions : ndarray, shape (n_slices,), optional
        Question count of each slice when the link was fitted to counts with the
        half-question continuity correction (:func:`~forecast.curves.basis.to_link`);
        :meth:`scores` undoes the correction.
    """

    coef: np.ndarray
    center: float
    metric: str
    extra: dict = field(default_factory=dict)
    n_questions: np.ndarray | None = None

    @property
    def degree(self) -> int:
        return self.coef.shape[-1] - 1

    @property
    def n_draws(self) -> int:
        return self.coef.shape[0]

    def link(self, x: np.ndarray) -> np.ndarray:
        """Link-scale curves, shape (n_draws, n_slices, len(x))."""
        X = design(np.atleast_1d(x), self.center, self.degree)
        return np.einsum("sgp,np->sgn", self.coef, X)

    def scores(self, x: np.ndarray) -> np.ndarray:
        """Slice scores inside their metric's range, shape (n_draws, n_slices, len(x))."""
        return from_link(self.link(x), self.metric, self.n_questions)


#: dimensions of a fit's quasi-random points used by fit-time draws (coefficients, residual
#: scales, the map, slope changes), allocated in the order they are asked for
FIT_DIMS = 32
#: columns (forecast points) of observation noise with dimensions of their own; a column
#: past them reuses the dimensions of ``column % NOISE_COLUMNS`` with its rows rotated
NOISE_COLUMNS = 24
#: keeps the inverse CDFs finite
_EDGE = 1e-12


#: the scrambled point sets of the innermost :func:`shared_points` scope (None: none open)
_SHARED: contextvars.ContextVar[dict | None] = contextvars.ContextVar("forecast_shared_points", default=None)


@contextlib.contextmanager
def shared_points() -> Iterator[None]:
    """Inside this block, every :class:`QuasiDraws` of one seed and draw count reads one
    scrambled point set (made once, on first use) instead of scrambling its own.

    The points are a pure function of ``(seed, n)``, so the draws are the same numbers with
    or without the block; it only saves the scrambling (a few milliseconds per fit) when
    many fits share a seed, as the pseudo-cut-off fits of settings learning do.  The sets
    are dropped when the block ends (nested blocks share the outermost one's)."""
    if _SHARED.get() is not None:
        yield
        return
    token = _SHARED.set({})
    try:
        yield
    finally:
        _SHARED.reset(token)


class QuasiDraws:
    """Randomised quasi-Monte Carlo draws of one fit: scrambled Sobol points
    (:class:`scipy.stats.qmc.Sobol`, scrambled with ``seed``) turned into normal, chi-square
    and binomial draws by their inverse CDFs.

    One point set of ``FIT_DIMS + 2 * NOISE_COLUMNS`` dimensions per number of draws ``n``
    (the first ``n`` of ``2**ceil(log2 n)`` points): fit-time draws take the next free
    dimensions (:meth:`standard_normal`, :meth:`chisquare`, :meth:`multivariate_normal`,
    mirroring :class:`numpy.random.Generator`), observation noise takes dimensions of its own
    per forecast column (:meth:`noise`).  Draw ``i`` of every part is point ``i`` of the same
    set, so a curve draw and its observation noise are jointly low-discrepancy, and two
    methods (or two settings) fitted with the same seed share their base points (common
    random numbers).  Same seed, same draws.
    """

    def __init__(self, seed: int | tuple[int, ...]) -> None:
        self.seed = seed
        self._seed = [int(v) for v in np.atleast_1d(seed)]
        self._points: dict[int, np.ndarray] = {}
        self._used: dict[int, int] = {}

    def points(self, n: int) -> np.ndarray:
        """The ``(n, FIT_DIMS + 2 * NOISE_COLUMNS)`` uniform points for ``n`` draws."""
        from scipy.stats import qmc

        n = int(n)
        if n not in self._points:
            shared = _SHARED.get()
            key = (tuple(self._seed), n)
            if shared is not None and key in shared:
                self._points[n] = shared[key]
            else:
                m = max(int(np.ceil(np.log2(max(n, 2)))), 1)
                sobol = qmc.Sobol(d=FIT_DIMS + 2 * NOISE_COLUMNS, scramble=True,
                                  seed=np.random.default_rng([*self._seed, 11, n]))
                self._points[n] = np.clip(sobol.random_base2(m)[:n], _EDGE, 1.0 - _EDGE)
                self._points[n].flags.writeable = False
                if shared is not None:
                    shared[key] = self._points[n]
            self._used[n] = 0
        return self._points[n]

    def uniform(self, n: int, k: int) -> np.ndarray:
        """The next ``k`` free fit-time dimensions for ``n`` draws: shape ``(n, k)``.

        Past :data:`FIT_DIMS` (a model with very many coefficients) the extra dimensions come
        from a second scrambled set."""
        u = self.points(n)
        start = self._used[n]
        self._used[n] = start + k
        if start + k <= FIT_DIMS:
            return u[:, start:start + k]
        from scipy.stats import qmc

        extra = qmc.Sobol(d=k, scramble=True, seed=np.random.default_rng([*self._seed, 12, n, start]))
        m = max(int(np.ceil(np.log2(max(n, 2)))), 1)
        return np.clip(extra.random_base2(m)[:n], _EDGE, 1.0 - _EDGE)

    # numpy.random.Generator-like fit-time draws
    def standard_normal(self, size) -> np.ndarray:
        from scipy.special import ndtri

        n, k = (size, 1) if np.ndim(size) == 0 else (size[0], int(np.prod(size[1:])))
        return ndtri(self.uniform(n, k)).reshape(size)

    def normal(self, loc=0.0, scale=1.0, size=None) -> np.ndarray:
        return loc + scale * self.standard_normal(size)

    def chisquare(self, df: float, size) -> np.ndarray:
        from scipy.special import gammaincinv

        n = size if np.ndim(size) == 0 else size[0]
        # the chi-square quantile (scipy.stats.chi2.ppf's own formula, without its checks)
        return (2.0 * gammaincinv(df / 2.0, self.uniform(n, 1)[:, 0])).reshape(size)

    def multivariate_normal(self, mean, cov, size: int, method: str = "svd") -> np.ndarray:
        """``mean + z A'`` with ``A A' = cov`` (the symmetric square root, as numpy's ``svd``)."""
        mean = np.asarray(mean, dtype=float)
        cov = np.asarray(cov, dtype=float)
        u, s, vt = np.linalg.svd(cov)
        root = u * np.sqrt(np.clip(s, 0.0, None))
        return mean + self.standard_normal((size, mean.size)) @ root.T

    def head(self, n: int) -> _Head:
        """A view whose :meth:`noise` gives the first rows of the ``n``-point set (the noise of
        the first draws of ``n``, e.g. the draws a mixture takes of one component)."""
        return _Head(self, int(n))

    def noise(self, shape: tuple[int, int], n: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Observation noise for draws of shape ``(rows, n_columns)``: a standard-normal and a
        uniform array of that shape, each column from its own two dimensions (the first
        ``rows`` points of the ``n``-point set; ``n = rows`` by default)."""
        rows_wanted, cols = int(shape[0]), int(shape[1])
        n = rows_wanted if n is None else max(int(n), rows_wanted)
        u = self.points(n)
        j = np.arange(cols)
        dims = FIT_DIMS + 2 * (j % NOISE_COLUMNS)
        z_u, b_u = u[:, dims], u[:, dims + 1]
        turn = j // NOISE_COLUMNS
        if turn.max(initial=0) > 0:  # columns past NOISE_COLUMNS: the same dims, rows rotated
            rows = (np.arange(n)[:, None] + 7919 * turn[None, :]) % n
            z_u, b_u = np.take_along_axis(z_u, rows, 0), np.take_along_axis(b_u, rows, 0)
        from scipy.special import ndtri

        return ndtri(z_u[:rows_wanted]), b_u[:rows_wanted]


class _Head:
    """The first rows of a :class:`QuasiDraws` set's observation noise (:meth:`QuasiDraws.head`)."""

    def __init__(self, parent: QuasiDraws, n: int) -> None:
        self.parent, self.n = parent, n

    def noise(self, shape: tuple[int, int], n: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        return self.parent.noise(shape, self.n if n is None else n)


#: largest count of questions whose binomial quantiles :func:`binomial_quantile` finds exactly
STEPPED_QUANTILE_MAX_N = 10**6


def binomial_quantile(u: np.ndarray, n: int, p: np.ndarray, spread: bool = False) -> np.ndarray:
    """The binomial quantile ``min {k : P(K <= k) >= u}`` for ``K ~ Binomial(n, p)``, element
    by element (``u``, ``p`` broadcast; ``u`` in (0, 1), ``p`` in [0, 1]).

    Up to :data:`STEPPED_QUANTILE_MAX_N` trials, the same numbers as
    :func:`scipy.stats.binom.ppf` (whose inversion of the CDF is an iterative search per
    element, the slow part of every observed-score draw), found from a Cornish-Fisher guess of
    the count and exact steps from it: one CDF (:func:`scipy.special.bdtr`) at the guess, then
    the probability mass of each step (``F(k +- 1) = F(k) +- P(K = k (+ 1))``) until ``k`` is
    the smallest count whose CDF reaches ``u``.  Above it (an effective question count far
    beyond any task's, :attr:`Forecaster.n_effective_` of fitted scores that scatter far less
    than binomial noise), the Cornish-Fisher guess itself: there the count's sd is over 500,
    the guess is within a few counts of the quantile (a relative error under ``1e-5``), and
    scipy's own incomplete beta loses that accuracy (at ``n = 1e9`` its CDF is not even
    increasing in ``k``).  Returns float counts in ``[0, n]``.

    ``spread=True``: the count with its lattice step spread, ``k - 1/2 + (u - F(k - 1)) /
    P(K = k)`` (in ``[k - 1/2, k + 1/2]``: where ``u`` lies inside the mass of ``k``), a
    draw of the distribution whose CDF is the binomial CDF interpolated linearly between
    the half-counts; it moves continuously with ``p`` (the count itself jumps by one).
    Above :data:`STEPPED_QUANTILE_MAX_N`, the Cornish-Fisher value before rounding."""
    found = BinomialCounts(u, n, p)
    return found.spread() if spread else found.counts


def binomial_quantiles(u: np.ndarray, n: int, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both forms of :func:`binomial_quantile` from one search: ``(count, spread count)``
    (the CDF inversion is the costly part; the spread form adds one probability mass)."""
    found = BinomialCounts(u, n, p)
    return found.counts, found.spread()


def binomial_mass(j: np.ndarray, n: int, p: np.ndarray) -> np.ndarray:
    """``P(K = j)`` for ``K ~ Binomial(n, p)``, element by element, without
    :func:`scipy.stats.binom.pmf`'s per-call checks."""
    from scipy.special import gammaln, xlog1py, xlogy

    return np.exp(gammaln(n + 1.0) - gammaln(j + 1.0) - gammaln(n - j + 1.0) + xlogy(j, p) + xlog1py(n - j, -p))


class BinomialCounts:
    """The binomial quantiles of :func:`binomial_quantile` at ``u`` for ``Binomial(n, p)``,
    found once: :attr:`counts` (float counts of ``u``'s broadcast shape, read-only) and, when
    asked, :meth:`spread` (each count spread over its lattice step, one probability mass
    more).  The search: a Cornish-Fisher guess of the count, one CDF
    (:func:`scipy.special.bdtr`) there, then exact steps by the probability mass of each
    step (``F(k +- 1) = F(k) +- P(K = k (+ 1))``) until ``k`` is the smallest count whose CDF
    reaches ``u``; above :data:`STEPPED_QUANTILE_MAX_N` trials the guess itself."""

    def __init__(self, u: np.ndarray, n: int, p: np.ndarray) -> None:
        from scipy.special import bdtr, ndtri

        u, p = np.broadcast_arrays(np.asarray(u, dtype=float), np.asarray(p, dtype=float))
        self.shape, self.n = u.shape, int(n)
        self._u, self._p = u.ravel(), p.ravel()
        u, p = self._u, self._p
        mean = n * p
        sd = np.sqrt(mean * (1.0 - p))
        z = ndtri(u)
        skew = np.divide(1.0 - 2.0 * p, sd, out=np.zeros_like(sd), where=sd > 0)
        guess = mean + sd * (z + skew * (z * z - 1.0) / 6.0)
        k = np.clip(np.ceil(guess - 0.5), 0.0, n)
        self._spread: np.ndarray | None = None
        if n > STEPPED_QUANTILE_MAX_N:
            self._spread = np.clip(guess, -0.5, n + 0.5).reshape(self.shape)
            self._cdf = None
        else:
            cdf = bdtr(k, n, p)
            # too low: step up while F(k) < u
            idx = np.flatnonzero(cdf < u)
            while idx.size:
                k[idx] += 1.0
                cdf[idx] += self._mass(k[idx], idx)
                idx = idx[(cdf[idx] < u[idx]) & (k[idx] < n)]
            # too high: step down while F(k - 1) >= u
            idx = np.flatnonzero((k > 0) & (cdf >= u))
            while idx.size:
                below = cdf[idx] - self._mass(k[idx], idx)
                move = below >= u[idx]
                idx = idx[move]
                k[idx] -= 1.0
                cdf[idx] = below[move]
                idx = idx[k[idx] > 0]
            self._cdf = cdf
        self._k = k
        self.counts = k.reshape(self.shape)
        self.counts.flags.writeable = False

    def _mass(self, j: np.ndarray, idx: np.ndarray | None) -> np.ndarray:
        """``P(K = j)`` at the rows ``idx`` (every row: None)."""
        return binomial_mass(j, self.n, self._p if idx is None else self._p[idx])

    def spread(self) -> np.ndarray:
        """The counts spread over their lattice steps, ``k - 1/2 + (u - F(k - 1)) / P(K = k)``
        (read-only; computed on the first call)."""
        if self._spread is None:
            k, cdf = self._k, self._cdf
            pmf = self._mass(k, None)
            inside = np.divide(self._u - (cdf - pmf), pmf, out=np.full_like(pmf, 0.5), where=pmf > 0)
            self._spread = (k - 0.5 + np.clip(inside, 0.0, 1.0)).reshape(self.shape)
        self._spread.flags.writeable = False
        return self._spread
