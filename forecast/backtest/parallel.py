"""The one seam that runs independent jobs: sequentially, in local processes, or on Dask.

``imap_unordered(fun, items, backend=...)`` yields ``(index, result)`` as each job finishes
(so the caller can save it at once); :func:`parallelize` collects them in input order.
``fun`` must be a module-level function (it is pickled to the workers) and should catch
its own errors: an exception escaping ``fun`` stops the run.

Backends
--------
``local``
    in this process, one after another, in input order;
``processes``
    ``n_jobs`` local worker processes through joblib (loky);
``dask``
    ``dask.distributed``: the scheduler at ``scheduler`` (an address such as
    ``tcp://host:8786``, or a ``Client``), else a ``LocalCluster`` of ``n_jobs``
    single-threaded worker processes started for the run and closed after it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from forecast.errors import InputError

BACKENDS = ("local", "processes", "dask")


def default_n_jobs() -> int:
    """Workers to use when none is given: the CPUs this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


def check_backend(backend: str, scheduler: Any = None) -> str:
    """Validate a backend name (and that ``scheduler`` goes with ``dask``)."""
    if backend not in BACKENDS:
        raise InputError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if scheduler is not None and backend != "dask":
        raise InputError("--scheduler needs --backend dask")
    if backend == "dask":
        try:
            import dask.distributed  # noqa: F401
        except ImportError:
            raise InputError("backend 'dask' needs dask[distributed]: pip install 'forecast[dask]'") from None
    return backend


def _call(fun: Callable, index: int, item: Any) -> tuple[int, Any]:
    return index, fun(item)


def _local(fun, items) -> Iterator[tuple[int, Any]]:
    for i, item in enumerate(items):
        yield i, fun(item)


def _processes(fun, items, n_jobs) -> Iterator[tuple[int, Any]]:
    from joblib import Parallel, delayed

    # loky workers; inner BLAS threads are limited inside each job
    runner = Parallel(n_jobs=n_jobs, backend="loky", return_as="generator_unordered", batch_size=1)
    yield from runner(delayed(_call)(fun, i, item) for i, item in enumerate(items))


def _dask(fun, items, n_jobs, scheduler) -> Iterator[tuple[int, Any]]:
    import logging

    from dask.distributed import Client, LocalCluster, as_completed

    cluster = None
    own_client = True
    if scheduler is None:
        cluster = LocalCluster(
            n_workers=n_jobs, threads_per_worker=1, processes=True,
            dashboard_address=None, silence_logs=logging.ERROR,
        )
        client = Client(cluster)
    elif isinstance(scheduler, Client):
        client, own_client = scheduler, False
    else:
        try:
            client = Client(str(scheduler), timeout="20s")
        except OSError as exc:
            raise InputError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
    try:
        futures = [
            client.submit(_call, fun, i, item, pure=False)
            for i, item in enumerate(items)
        ]
        try:
            for future in as_completed(futures):
                yield future.result()
        finally:
            for future in futures:
                future.cancel()
    finally:
        if own_client:
            client.close()
        if cluster is not None:
            cluster.close()


def imap_unordered(
    fun: Callable[[Any], Any],
    items: Sequence[Any],
    backend: str = "local",
    n_jobs: int | None = None,
    scheduler: Any = None,
) -> Iterator[tuple[int, Any]]:
    """Run ``fun`` on every item; yield ``(index, result)`` as each finishes."""
    check_backend(backend, scheduler)
    items = list(items)
    if not items:
        return iter(())
    n = n_jobs or default_n_jobs()
    if backend == "local":
        return _local(fun, items)
    if backend == "processes":
        return _processes(fun, items, n)
    return _dask(fun, items, n, scheduler)


def parallelize(
    fun: Callable[[Any], Any],
    items: Sequence[Any],
    backend: str = "local",
    n_jobs: int | None = None,
    scheduler: Any = None,
    on_result: Callable[[int, Any], None] | None = None,
) -> list[Any]:
    """``[fun(item) for item in items]`` on the chosen backend, in input order.

    ``on_result(index, result)`` is called in this process as each job finishes.
    """
    items = list(items)
    out: list[Any] = [None] * len(items)
    for i, result in imap_unordered(fun, items, backend, n_jobs, scheduler):
        out[i] = result
        if on_result is not None:
            on_result(i, result)
    return out
