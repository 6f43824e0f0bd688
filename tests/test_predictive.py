"""The interval bounds read off the draws' noise kernels (forecast.curves.predictive)."""

import numpy as np
from scipy.special import bdtr

from forecast.curves.predictive import KernelBlock, KernelRecord, kernel_record, solve_quantiles


def lattice_quantile(p, n, q):
    """Brute force: the kernels' average CDF at 0, at every half-count and just below 1 (count
    0's and count n's half steps kept in [0, 1]: atoms at 0 and 1), inverted by interpolation."""
    F = bdtr(np.arange(n)[:, None], n, p[None, :]).mean(axis=1)
    xs = np.r_[0.0, (np.arange(n) + 0.5) / n, 1.0]
    Fs = np.r_[F[0] / 2, F, (1.0 + F[-1]) / 2]
    return 0.0 if q <= Fs[0] else 1.0 if q > Fs[-1] else float(np.interp(q, Fs, xs))


def test_binomial_quantiles_match_the_lattice_inversion():
    rng = np.random.default_rng(3)
    for n in (7, 60, 400):
        p = np.clip(rng.beta(2, 5, size=(300, 3)), 0, 1)
        block = KernelBlock("binomial", p, np.zeros_like(p), n=n)
        start = np.full((2, 3), 0.5)
        got = solve_quantiles([block], np.array([0.05, 0.95]), start)
        for j in range(3):
            want = [lattice_quantile(p[:, j], n, q) for q in (0.05, 0.95)]
            np.testing.assert_allclose(got[:, j], want, atol=1e-8)


def test_edges_normal_and_mixed_blocks():
    # every rate 0: count 0 spread over [-1/40, 1/40] and kept in [0, 1] (half its mass at 0);
    # every rate 1: the mirror image
    zero = KernelBlock("binomial", np.zeros((50, 1)), np.zeros((50, 1)), n=20)
    one = KernelBlock("binomial", np.ones((50, 1)), np.ones((50, 1)), n=20)
    q = np.array([0.05, 0.95])
    np.testing.assert_allclose(solve_quantiles([zero], q, np.full((2, 1), 0.3))[:, 0], [0.0, 0.0225], atol=1e-9)
    np.testing.assert_allclose(solve_quantiles([one], q, np.full((2, 1), 0.3))[:, 0], [0.9775, 1.0], atol=1e-9)
    # a normal kernel of one centre: its own quantiles
    normal = KernelBlock("normal", np.full((10, 1), 0.5), np.zeros((10, 1)), scale=0.1)
    np.testing.assert_allclose(solve_quantiles([normal], q, np.full((2, 1), 0.5))[:, 0],
                               [0.5 - 0.1 * 1.6448536, 0.5 + 0.1 * 1.6448536], atol=1e-7)
    # half the rows at rate 0, half at 1 (two blocks): the median's bracket closes inside [0, 1]
    got = solve_quantiles([zero, one], np.array([0.1, 0.9]), np.full((2, 1), 0.5))[:, 0]
    assert got[0] < 0.05 and got[1] > 0.95


def test_record_falls_back_when_it_does_not_cover_the_draws():
    draws = np.linspace(0, 1, 101)[:, None]
    with kernel_record() as rec:
        pass
    np.testing.assert_allclose(rec.quantiles([0.05, 0.95], draws)[:, 0], [0.05, 0.95])
    other = KernelRecord()
    other.add(KernelBlock("binomial", draws, draws + 1.0, n=10))  # not the draws asked about
    np.testing.assert_allclose(other.quantiles([0.05, 0.95], draws)[:, 0], [0.05, 0.95])


def test_bounds_move_less_with_the_seed_than_the_draws_quantiles(bigg_four):
    """The kernels remove the binomial sampling's noise: a linear fit's bounds at two seeds
    differ less than the quantiles of the sampled draws."""
    from forecast.methods.registry import make_method

    comp = 8e9 * 10.0 ** np.array([0.0, 0.3, 0.6, 1.0])
    new, old = [], []
    for seed in (0, 1):
        fc = make_method("linear", seed=seed).fit(bigg_four, 8e9, "hindu_knowledge")
        pred = fc.predict(comp, level=0.9)
        new.append(pred[["lower", "upper"]].to_numpy())
        draws = fc.sample(comp, "observed")
        old.append(np.quantile(draws, [0.05, 0.95], axis=0).T)
        assert np.all(pred["lower"] <= pred["upper"])
    assert np.abs(new[0] - new[1]).max() < np.abs(old[0] - old[1]).max()
