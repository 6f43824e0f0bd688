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


def _dask_client(n_jobs, scheduler):
    """A connected client (and the LocalCluster started for it, if any); raises InputError."""
    import logging

    from dask.distributed import Client, LocalCluster

    if scheduler is None:
        cluster = LocalCluster(
            n_workers=n_jobs, threads_per_worker=1, processes=True,
            dashboard_address=None, silence_logs=logging.ERROR,
        )
        return Client(cluster), cluster, True
    if isinstance(scheduler, Client):
        return scheduler, None, False
    try:
        return Client(str(scheduler), timeout="20s"), None, True
    except (OSError, ValueError, TypeError) as exc:
        message = " ".join(str(exc).split())
        raise InputError(f"cannot reach the Dask scheduler at {scheduler}: {message}") from None


class _DaskRun:
    """Iterator over finished Dask futures that owns (and always releases) its client."""

    def __init__(self, fun, items, client, cluster, own_client) -> None:
        self.fun, self.items = fun, items
        self.client, self.cluster, self.own_client = client, cluster, own_client
        self._gen: Iterator[tuple[int, Any]] | None = None
        self._released = False

    def __iter__(self) -> _DaskRun:
        return self

    def __next__(self) -> tuple[int, Any]:
        if self._gen is None:
            self._gen = self._run()
        return next(self._gen)

    def _run(self) -> Iterator[tuple[int, Any]]:
        from dask.distributed import as_completed

        futures = []
        try:
            futures = [self.client.submit(_call, self.fun, i, item, pure=False)
                       for i, item in enumerate(self.items)]
            for future in as_completed(futures):
                yield future.result()
        finally:
            for future in futures:
                future.cancel()
            self._release()

    def _release(self) -> None:
        if self._released:
            return
        self._released = True
        if self.own_client:
            self.client.close()
        if self.cluster is not None:
            self.cluster.close()

    def close(self) -> None:
        if self._gen is not None:
            self._gen.close()
        self._release()


def imap_unordered(
    fun: Callable[[Any], Any],
    items: Sequence[Any],
    backend: str = "local",
    n_jobs: int | None = None,
    scheduler: Any = None,
) -> Iterator[tuple[int, Any]]:
    """Run ``fun`` on every item; yield ``(index, result)`` as each finishes.

    A Dask client is connected (or a LocalCluster started) when this is called, and closed
    when the iterator is exhausted or closed.
    """
    check_backend(backend, scheduler)
    items = list(items)
    if not items:
        return iter(())
    n = n_jobs or default_n_jobs()
    if backend == "local":
        return _local(fun, items)
    if backend == "processes":
        return _processes(fun, items, n)
    # connect now, so an unreachable scheduler is reported before anything runs
    return _DaskRun(fun, items, *_dask_client(n, scheduler))


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
