"""Speed benchmark: CPU time and peak memory of each path of the forecasting core, in one run.

Run:  python benchmarks/speed.py [--repeat 5] [--quick]

Prints one table.  Every time is CPU time (``time.process_time``: the time this process
computed, which other jobs on a shared machine disturb far less than wall time), the median
of ``--repeat`` runs for the per-task fits, one run for learning settings.  Beside each:

* ``x sigmoid``: its ratio to the same run's ``sigmoid`` fit (settings given);
* ``x floor``: its ratio to the *numpy floor*, the bare closed-form computation a
  slice-and-sandwich fit wraps, timed in the same run: a conjugate quadratic on 3 slices x
  12 models (least squares, ``n_draws`` residual-scale draws, the batched posterior and its
  Cholesky factor, coefficient draws) and the curves at the fitted models;
* ``peak MB``: the peak of memory allocated by the path (``tracemalloc``, measured in a
  separate pass so that tracing does not slow the timed runs); for the command line, the
  child process's peak resident memory (``ru_maxrss``, interpreter included).

Paths:

* ``fit <method>, settings given``: one task's fit with its data set's learned settings passed
  in (``context=``, learned once before the clock starts, as a backtest does once per cut-off);
  BIG-G per-question data (``abstract_narrative_understanding`` at 8e9 parameters) and the
  group data (``mmlu`` at 10^21.5 FLOPs);
* ``learn_context``: ``slice_sandwich``'s settings learned from every task at the cut-off
  (66 BIG-G tasks at 8e9; the 5 group-data tasks at 10^21.5 FLOPs);
* ``forecast fit ... (CLI)``: ``forecast fit bigbench_bigg --task
  abstract_narrative_understanding --cutoff 8e9`` run as a subprocess from a fresh shell
  (interpreter start, imports, loading, learning the settings or reading them from a cache,
  the fit and its output), without ``--method`` (the per-question default the rule picked,
  ``slice_sandwich_items``) and with ``--method slice_sandwich``; its CPU time is the child's
  user + system time and its peak memory the child's own maximum resident set (``os.wait4``),
  its wall time is printed too.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

BIGG = ("bigbench_bigg", "abstract_narrative_understanding", 8e9)
SHORT = {"bigbench_bigg": "BIG-G abstract_narr.", "slice_sandwich": "groups mmlu"}
GROUPS = ("slice_sandwich", "mmlu", 10**1.5 * 1e21)
METHODS = ("sigmoid", "linear", "persistence", "persistence_drift", "paper_sigmoid", "slice_sandwich",
           "slice_sandwich_ols")


def numpy_floor(rng: np.random.Generator, n_draws: int = 1000) -> np.ndarray:
    """The closed-form core of one slice-and-sandwich fit: a conjugate quadratic per slice on
    3 slices x 12 models, ``n_draws`` draws each, and the curves at the models."""
    x = np.linspace(7.0, 9.9, 12)
    z = np.vstack([0.3 * (x - 8.5) + k + 0.1 * rng.standard_normal(12) for k in (-1.0, 0.0, 1.0)])
    center, p = float(x.mean()), 3
    X = np.vander(x - center, p, increasing=True)
    prior_prec = np.diag(1.0 / np.array([10.0, 1.0, 0.1]) ** 2)
    coef = np.empty((n_draws, 3, p))
    for g in range(3):
        y = z[g]
        beta, *_ = np.linalg.lstsq(X, y, rcond=None)
        s2 = float(np.sum((y - X @ beta) ** 2)) / (12 - p)
        sigma2 = (12 - p) * s2 / rng.chisquare(12 - p, size=n_draws)
        prec = (X.T @ X)[None] / sigma2[:, None, None] + prior_prec[None]
        cov = np.linalg.inv(prec)
        mean = np.einsum("spq,sq->sp", cov, (X.T @ y)[None] / sigma2[:, None])
        coef[:, g] = mean + np.einsum("spq,sq->sp", np.linalg.cholesky(cov), rng.standard_normal((n_draws, p)))
    return np.einsum("sgp,np->sgn", coef, X)


def cpu(fun: Callable[[], object], repeat: int) -> float:
    """Median CPU seconds of ``repeat`` calls."""
    times = []
    for _ in range(repeat):
        t0 = time.process_time()
        fun()
        times.append(time.process_time() - t0)
    return statistics.median(times)


def peak_mb(fun: Callable[[], object]) -> float:
    """Peak memory allocated while ``fun()`` runs (tracemalloc), in MB."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    try:
        fun()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def run_cli(args: list[str], env: dict[str, str] | None = None) -> tuple[float, float, float, str]:
    """CPU seconds (user + system), wall seconds and peak RSS (MB) of one fresh subprocess
    (its own resource usage, read by ``os.wait4``: not the maximum over earlier children)."""
    exe = shutil.which("forecast", path=str(Path(sys.executable).parent)) or "forecast"
    t0 = time.perf_counter()
    with tempfile.TemporaryFile(mode="w+") as err:
        proc = subprocess.Popen([exe, *args], stdout=subprocess.DEVNULL, stderr=err, env=env)
        _, code, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(code)
        wall = time.perf_counter() - t0
        err.seek(0)
        stderr = err.read()
    cpu_s = usage.ru_utime + usage.ru_stime
    status = "ok" if proc.returncode == 0 else (stderr.strip().splitlines() or ["failed"])[-1][:60]
    return cpu_s, wall, usage.ru_maxrss / 1024, status


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per per-task fit (median)")
    parser.add_argument("--quick", action="store_true", help="skip learning the 66 BIG-G tasks' settings")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")

    import forecast
    from forecast.methods import make_method

    rows: list[tuple[str, float, float | None, str]] = []  # label, cpu s, peak MB, note
    floor = cpu(lambda: numpy_floor(np.random.default_rng(0)), max(args.repeat, 20))
    rows.append(("numpy floor (conjugate quadratic, 3 x 12, 1000 draws)", floor,
                 peak_mb(lambda: numpy_floor(np.random.default_rng(0))), ""))

    contexts: dict[tuple[str, str], dict] = {}
    for dataset, task, cutoff in (BIGG, GROUPS):
        data = forecast.load_dataset(dataset)
        pool = data.restrict(cutoff)
        for method in METHODS:
            maker = make_method(method)
            key = (dataset, method)
            ctx = maker.learn_context(pool, cutoff) if maker.learns_context else {}
            contexts[key] = ctx

            def fit(method=method, ctx=ctx, data=data, task=task, cutoff=cutoff):
                return make_method(method, seed=0).fit(data, cutoff, task=task, context=ctx)

            try:
                fit()  # first call: builds the data's derived tables, as the first task of a job does
                rows.append((f"fit {method}, settings given ({SHORT[dataset]})", cpu(fit, args.repeat),
                             peak_mb(fit), ""))
            except Exception as exc:  # noqa: BLE001 - a benchmark reports what failed
                rows.append((f"fit {method}, settings given ({SHORT[dataset]})", float("nan"), None,
                             f"failed: {exc}"))

    for (dataset, _, cutoff), label, skip in ((BIGG, "learn_context slice_sandwich, 66 BIG-G tasks at 8e9", args.quick),
                                               (GROUPS, "learn_context slice_sandwich, 5 group tasks at 10^21.5",
                                                False)):
        if skip:
            continue
        # a fresh load: nothing derived from an earlier path is reused
        pool = forecast.load_dataset(dataset).restrict(cutoff)
        t = cpu(lambda: make_method("slice_sandwich", seed=0).learn_context(pool, cutoff), 1)
        pool = forecast.load_dataset(dataset).restrict(cutoff)
        mem = peak_mb(lambda: make_method("slice_sandwich", seed=0).learn_context(pool, cutoff))
        rows.append((label, t, mem, ""))

    cli = ["fit", "bigbench_bigg", "--task", "abstract_narrative_understanding", "--cutoff", "8e9"]
    for extra, what in (([], "the default"), (["--method", "slice_sandwich"], "--method slice_sandwich")):
        with tempfile.TemporaryDirectory(prefix="forecast-speed-cache-") as cache:
            # an empty learned-settings cache of its own: the first call learns, the second reads
            env = {**os.environ, "FORECAST_CACHE_DIR": cache}
            env.pop("FORECAST_NO_CACHE", None)
            cpu_s, wall, rss, status = run_cli(cli + extra, env)
            rows.append((f"forecast fit bigbench_bigg --task abstract_... --cutoff 8e9, {what} (CLI, cold cache)",
                         cpu_s, rss, f"wall {wall:.1f} s, {status}"))
            cpu_s, wall, rss, status = run_cli(cli + extra, env)
            rows.append(("  the same again (warm cache: settings read back)", cpu_s, rss, f"wall {wall:.1f} s, {status}"))
    cpu_s, wall, rss, status = run_cli(["--help"], env)
    rows.append(("forecast --help (interpreter start and the CLI alone)", cpu_s, rss, f"wall {wall:.1f} s, {status}"))

    sigmoid = next(t for label, t, _, _ in rows if label.startswith("fit sigmoid"))
    print(f"{'path':90s} {'CPU ms':>10s} {'x sigmoid':>10s} {'x floor':>9s} {'peak MB':>8s}  note")
    for label, t, mem, note in rows:
        mem_s = f"{mem:8.1f}" if mem is not None else f"{'-':>8s}"
        print(f"{label:90s} {1000 * t:10.1f} {t / sigmoid:10.2f} {t / floor:9.1f} {mem_s}  {note}")
    print("CPU time (process_time; CLI: the child's user + system time); per-task fits: median of "
          f"{args.repeat} runs after a first call; learn_context: one run on freshly loaded data; peak MB: "
          "tracemalloc of the path (CLI: the child's max RSS)")


if __name__ == "__main__":
    main()
