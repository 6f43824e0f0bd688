"""The observed score's predictive distribution as a mixture over draws, and its quantiles.

A forecaster's observed-score draw is a curve draw (with the between-model spread) passed
through a noise model: most often the binomial count of correct answers on the task's
questions.  The interval bounds of :meth:`Forecaster.predict
<forecast.methods.base.Forecaster.predict>` are quantiles of the predictive distribution,
the average over draws of each draw's *conditional* distribution of the observed score
(its kernel): ``F(y) = mean_i K_i(y)``.  Reading the quantiles off this average instead of
off one sampled score per draw (Rao-Blackwellisation) removes the noise of the binomial
sampling, most of a bound's Monte Carlo error on a task of a few hundred questions; the
average is over the draws' quasi-random curve points, a smooth function of them.

Kernels (:class:`KernelBlock`, one block of rows per call of a noise model):

* ``"binomial"``: ``Binomial(n, p)`` counts, each count's probability spread evenly over its
  lattice step (``k / n +- 1 / (2 n)``, kept in ``[0, 1]``; the spread draws of
  :class:`~forecast.curves.draws.BinomialCounts`), so ``K`` is the binomial CDF
  interpolated linearly between half-counts; above
  :data:`~forecast.curves.draws.STEPPED_QUANTILE_MAX_N` trials its normal approximation;
* ``"normal"``: ``clip(m + s z, 0, 1)``;
* ``"point"``: the draw itself (no noise model).

While a :func:`kernel_record` block is open, noise models add their kernels
(:func:`add_kernels`); :meth:`KernelRecord.quantiles` then solves ``F(y) = q`` per column by
a safeguarded Newton search (``F`` is piecewise linear between half-counts, so the search
ends in a few steps), and gives the draws' own quantiles when the record does not account
for every draw (a method whose noise model adds no kernel, draws moved after they were
made).
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from forecast.curves.draws import STEPPED_QUANTILE_MAX_N, binomial_mass

#: a row's kernel is taken as 0 or 1 where the score lies this many binomial sds (at least one
#: count) from its rate: the neglected tail mass is below 1e-16
_TAIL_SDS = 10.0
#: the search stops once ``|F(y) - q|`` or the bracket is this small
_TOL = 1e-10
_MAX_STEPS = 60

_RECORD: contextvars.ContextVar[KernelRecord | None] = contextvars.ContextVar("forecast_kernels", default=None)


def _normal_density(z: np.ndarray) -> np.ndarray:
    return np.exp(-0.5 * z * z) / np.sqrt(2.0 * np.pi)


@dataclass(frozen=True)
class KernelBlock:
    """Rows of draws with one kind of kernel.

    Attributes
    ----------
    kind : {"binomial", "normal", "point"}
    centre : ndarray, shape (rows, cols)
        The binomial rate, the normal mean, or the point.
    draws : ndarray, shape (rows, cols)
        The draws the noise model gave for these rows (to check that the record covers the
        draws the quantiles are asked for).
    n : int
        Binomial trials.
    scale : float
        Normal sd.
    """

    kind: str
    centre: np.ndarray
    draws: np.ndarray
    n: int = 0
    scale: float = 0.0

    @property
    def rows(self) -> int:
        return int(self.centre.shape[0])

    def head(self, rows: int) -> KernelBlock:
        """The block's first ``rows`` rows."""
        return KernelBlock(self.kind, self.centre[:rows], self.draws[:rows], self.n, self.scale)

    def cdf(self, y: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Sums over rows of ``K_i(y_j)`` and of its density at the points ``y`` of the
        columns ``cols`` (``y[j]`` in column ``cols[j]``)."""
        c = self.centre[:, cols]
        if self.kind == "point":
            return np.sum(c <= y, axis=0, dtype=float), np.zeros(y.shape)
        below_one = y < 1.0
        if self.kind == "normal":
            from scipy.special import ndtr

            if self.scale <= 0.0:
                return np.sum(np.clip(c, 0.0, 1.0) <= y, axis=0, dtype=float), np.zeros(y.shape)
            zs = (y - c) / self.scale
            k = np.where(below_one, ndtr(zs), 1.0) * (y >= 0.0)
            dens = np.where(below_one & (y >= 0.0), _normal_density(zs) / self.scale, 0.0)
            return k.sum(axis=0), dens.sum(axis=0)
        return self._binomial(c, y, below_one)

    def _binomial(self, p: np.ndarray, y: np.ndarray, below_one: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n = self.n
        s = np.broadcast_to(y * n + 0.5, p.shape)  # the count scale, shifted by half a count
        mean = n * p
        sd = np.sqrt(mean * (1.0 - p))
        reach = _TAIL_SDS * np.maximum(sd, 1.0) + 1.0
        k_val = (s - mean > reach).astype(float)  # rows far below y: 1, far above: 0
        dens = np.zeros(p.shape)
        active = np.abs(s - mean) <= reach
        if n > STEPPED_QUANTILE_MAX_N:
            from scipy.special import ndtr

            sa, ma, sda = s[active] - 0.5, mean[active], np.maximum(sd[active], 1e-6)
            zs = (sa - ma) / sda
            k_val[active] = ndtr(zs)
            dens[active] = n * _normal_density(zs) / sda
        elif active.any():
            from scipy.special import bdtr

            sa, pa = s[active], p[active]
            k = np.minimum(np.floor(sa), n)
            t = sa - k
            below = np.where(k >= 1.0, bdtr(np.maximum(k - 1.0, 0.0), n, pa), 0.0)
            mass = binomial_mass(k, n, pa)
            k_val[active] = below + t * mass
            dens[active] = n * mass
        out_k = np.where(below_one, k_val.sum(axis=0), p.shape[0]) * (y >= 0.0)
        out_d = np.where(below_one & (y >= 0.0), dens.sum(axis=0), 0.0)
        return out_k, out_d


class KernelRecord:
    """The kernels noise models add while a :func:`kernel_record` block is open."""

    def __init__(self) -> None:
        self.blocks: list[KernelBlock] = []

    def add(self, block: KernelBlock) -> None:
        self.blocks.append(block)

    def mark(self) -> int:
        """A mark to :meth:`keep_rows` from."""
        return len(self.blocks)

    def keep_rows(self, mark: int, rows: int) -> None:
        """Keep the first ``rows`` rows of the blocks added since ``mark`` (the draws a caller
        kept of a longer set it drew)."""
        kept, left = [], int(rows)
        for block in self.blocks[mark:]:
            if left <= 0:
                break
            kept.append(block if block.rows <= left else block.head(left))
            left -= kept[-1].rows
        self.blocks[mark:] = kept

    def covers(self, draws: np.ndarray) -> bool:
        """Whether the blocks, in order, gave exactly ``draws``."""
        if not self.blocks or sum(b.rows for b in self.blocks) != draws.shape[0]:
            return False
        start = 0
        for b in self.blocks:
            if b.centre.shape[1:] != draws.shape[1:] or not np.array_equal(b.draws, draws[start:start + b.rows]):
                return False
            if not np.all(np.isfinite(b.centre)):
                return False
            start += b.rows
        return True

    def quantiles(self, probs, draws: np.ndarray) -> np.ndarray:
        """The ``probs`` quantiles per column of the predictive distribution, shape
        ``(len(probs), cols)``: of the kernels' average when they cover ``draws``, else of
        ``draws`` themselves (:func:`numpy.quantile`)."""
        probs = np.asarray(probs, dtype=float)
        start = np.quantile(draws, probs, axis=0)
        if not self.covers(draws) or all(b.kind == "point" for b in self.blocks):
            return start
        return solve_quantiles(self.blocks, probs, start)


def solve_quantiles(blocks: list[KernelBlock], probs: np.ndarray, start: np.ndarray) -> np.ndarray:
    """``F^-1(q)`` for ``F(y) = mean_i K_i(y)`` over the rows of ``blocks``: per quantile ``q``
    of ``probs`` and column, a Newton search from ``start`` (shape ``(len(probs), cols)``)
    kept inside a bracket ``lo < y <= hi`` with ``F(lo) < q <= F(hi)``; a step that would
    leave the bracket probes the edge of ``[0, 1]`` not yet tried (a quantile at 0 or 1: an
    atom there) or halves the bracket (at a jump of ``F``, the search closes on the jump)."""
    rows = sum(b.rows for b in blocks)
    n_q, n_c = start.shape
    target = np.repeat(probs, n_c)
    cols = np.tile(np.arange(n_c), n_q)
    y = np.clip(start.ravel().astype(float), 0.0, 1.0 - _TOL)
    lo, hi = np.full(y.shape, -np.inf), np.full(y.shape, np.inf)  # -inf / inf: edge not probed
    todo = np.arange(y.size)
    for _ in range(_MAX_STEPS):
        if todo.size == 0:
            break
        yt, q = y[todo], target[todo]
        big, dens = np.zeros(todo.size), np.zeros(todo.size)
        for b in blocks:
            k, d = b.cdf(yt, cols[todo])
            big += k
            dens += d
        gap = big / rows - q
        high = gap >= 0.0
        lo_t, hi_t = np.where(high, lo[todo], yt), np.where(high, yt, hi[todo])
        lo[todo], hi[todo] = lo_t, hi_t
        answer = np.full(todo.size, np.nan)
        answer = np.where(np.abs(gap) <= _TOL, yt, answer)
        answer = np.where(np.isnan(answer) & high & (yt <= 0.0), 0.0, answer)
        answer = np.where(np.isnan(answer) & ~high & (yt >= 1.0 - _TOL), 1.0, answer)
        answer = np.where(np.isnan(answer) & (hi_t - lo_t <= _TOL), hi_t, answer)
        # the next probe: Newton's step inside the bracket, else an untried edge, else halving
        step = np.divide(gap * rows, dens, out=np.full(gap.shape, np.nan), where=dens > 0)
        nxt = yt - step
        floor_, ceil_ = np.maximum(lo_t, 0.0), np.minimum(hi_t, 1.0 - _TOL)
        inside = np.isfinite(nxt) & (nxt > floor_) & (nxt < ceil_)
        nxt = np.where(inside, nxt, 0.5 * (floor_ + ceil_))
        nxt = np.where(~inside & np.isneginf(lo_t) & ~(yt - step > ceil_), 0.0, nxt)
        nxt = np.where(~inside & np.isposinf(hi_t) & (yt - step >= ceil_), 1.0 - _TOL, nxt)
        finished = np.isfinite(answer)
        y[todo[finished]] = answer[finished]
        y[todo[~finished]] = nxt[~finished]
        todo = todo[~finished]
    if todo.size:  # searches still open: the bracket's upper end (F there reaches q)
        y[todo] = np.clip(np.where(np.isfinite(hi[todo]), hi[todo], y[todo]), 0.0, 1.0)
    return y.reshape(n_q, n_c)


@contextlib.contextmanager
def kernel_record() -> Iterator[KernelRecord]:
    """Collect the kernels the noise models give inside the block (a new record; an outer
    block's record resumes when it ends)."""
    record = KernelRecord()
    token = _RECORD.set(record)
    try:
        yield record
    finally:
        _RECORD.reset(token)


def add_kernels(kind: str, centre: np.ndarray, draws: np.ndarray, n: int = 0, scale: float = 0.0) -> None:
    """Add a block of kernels to the open record (none open: nothing)."""
    record = _RECORD.get()
    if record is not None:
        record.add(KernelBlock(kind, np.asarray(centre, dtype=float), np.asarray(draws), int(n), float(scale)))


def record_mark() -> int | None:
    """A mark of the open record (None: no record open), for :func:`keep_record_rows`."""
    record = _RECORD.get()
    return None if record is None else record.mark()


def keep_record_rows(mark: int | None, rows: int) -> None:
    """:meth:`KernelRecord.keep_rows` on the open record (``mark`` None: nothing)."""
    record = _RECORD.get()
    if record is not None and mark is not None:
        record.keep_rows(mark, rows)
