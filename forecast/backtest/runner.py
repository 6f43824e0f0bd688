"""`backtest()`: plan the jobs, run them on a backend, save each as it finishes, collect.

Every method, baselines included, runs through the same jobs in the same run, on the
same splits, so their scores compare like for like.  The data sets are read by
:mod:`forecast.backtest.inputs` (:func:`load_datasets`, re-exported here).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from forecast.backtest.inputs import ALL, file_dataset_name, load_datasets
from forecast.backtest.jobs import (
    PREDICTABILITY,
    ContextJob,
    Job,
    code_label,
    code_version,
    data_fingerprint,
    job_key,
    job_seed,
    seed_key,
    method_label,
    run_context_job,
    run_job,
)
from forecast.backtest.parallel import check_backend, imap_unordered
from forecast.backtest.results import BacktestResult
from forecast.backtest.splits import plan_splits
from forecast.backtest.store import JobStore, clear_results, holds_results, lock_output
from forecast.data.dataset import EvalData
from forecast.data.readers import check_writable_folder
from forecast.data.shipped import with_paper_exclusions
from forecast.data.task_table import task_table
from forecast.errors import InputError
from forecast.methods.base import check_level
from forecast.methods.registry import METHODS, method_path, method_tags, names_where
from forecast.threshold import check_tau

#: methods backtested when none are named (the fast, non-MCMC path): ours and the honest
#: baselines; the paper's own two (``paper_sigmoid``, ``published``) on request.  Derived
#: from the methods' tags (``in_default_run``, no data kind needed: ``default_kinds``)
DEFAULT_METHODS = tuple(names_where(in_default_run=True, default_kinds=()))
#: the Slice-and-Sandwich paper's recipe and baseline, for comparisons with its figures
PAPER_METHODS = ("published", "paper_sigmoid")
#: added to the defaults when a data set is a model ladder (task-level, with checkpoints)
LADDER_METHODS = tuple(names_where(in_default_run=True, default_kinds=("ladder",)))
#: added to the defaults on data of many families (``EvalData.multi_family``), when registered:
#: observational scaling from compute and family (a) and given the model's other scores (b)
MULTI_FAMILY_METHODS = tuple(names_where(in_default_run=True, default_kinds=("multi_family",)))
#: the names registered when this module was imported (the built-in methods and variants)
_BUILT_IN = frozenset(METHODS) | frozenset(names_where())
#: the package's default forecasting method (recorded in run.json)
DEFAULT_METHOD = "slice_sandwich"


def default_methods(datasets: Sequence[EvalData]) -> list[str]:
    """The methods a backtest runs when none are named, from the registered methods' tags:
    those with ``in_default_run`` that need no data kind (:data:`DEFAULT_METHODS`), those
    needing a ladder (``two_step``, ``two_step_slp``) when a data set carries a ladder's
    checkpoints, and those needing data of many families (:data:`MULTI_FAMILY_METHODS`,
    when registered) when a data set is of many families.  When every data set is a ladder
    of one model family, a method needing two families (``family``) is left out: it could
    not fit a single job."""
    from forecast.methods.families import fitted_family_labels

    def names(**tags) -> list[str]:
        return [n for n in names_where(in_default_run=True, **tags)]

    # the built-in lists, then methods registered later (their tags decide where they join)
    methods = list(DEFAULT_METHODS) + [n for n in names(default_kinds=()) if n not in _BUILT_IN]
    ladders = [d for d in datasets if getattr(d, "steps", None) is not None]
    if ladders:
        methods += list(LADDER_METHODS) + [n for n in names(default_kinds=("ladder",)) if n not in _BUILT_IN]

    def one_family(d: EvalData) -> bool:
        labels = fitted_family_labels(d.models, d.models["model"].to_numpy())
        return labels is None or len(set(labels)) < 2

    if datasets and len(ladders) == len(datasets) and all(one_family(d) for d in datasets):
        methods = [m for m in methods if method_tags(m).needs_families < 2]
    if any(d.multi_family for d in datasets):
        extra = [m for m in MULTI_FAMILY_METHODS if m in METHODS] + [
            n for n in names(default_kinds=("multi_family",)) if n not in _BUILT_IN]
        methods += [m for m in dict.fromkeys(extra) if m not in methods]
    return methods


def default_picks(datasets: Sequence[EvalData]) -> dict[str, str]:
    """The default method of each data set (:func:`forecast.methods.defaults.default_method`),
    by data set name: what ``forecast fit`` uses without ``--method``, recorded in run.json.
    A backtest without named methods runs :data:`DEFAULT_METHODS` (and the ladder and
    multi-family lists); name the pick to add it (its settings learning is costly on large
    per-question data sets, so it is not added by default)."""
    from forecast.methods.defaults import default_method

    out = {}
    for d in datasets:
        name, params, _ = default_method(d)
        out[d.name] = method_label(name, params or None)
    return out


MethodSpec = str | tuple[str, Mapping[str, Any]]


def group_slice_counts(specs: Sequence[tuple[str, str, dict[str, Any]]]) -> list[int]:
    """The ``n_slices`` of every method that slices group data with pre-computed groups."""
    from forecast.methods import make_method

    counts = set()
    for _, name, params in specs:
        n = getattr(make_method(name, **params, seed=0), "n_slices", None)
        if isinstance(n, (int, np.integer)):
            counts.add(int(n))
    return sorted(counts)


def parse_methods(methods: Sequence[MethodSpec] | str | None) -> list[tuple[str, str, dict[str, Any]]]:
    """``(label, name, params)`` per method; each must be accepted by ``make_method``."""
    from forecast.methods import make_method

    if methods is None:
        methods = DEFAULT_METHODS
    if isinstance(methods, str):
        methods = [m.strip() for m in methods.split(",") if m.strip()]
    specs = []
    for m in methods:
        if isinstance(m, str):
            name, params = m, {}
        else:
            try:
                name, params = m
                params = dict(params)
            except (TypeError, ValueError):
                raise InputError(f"a method is a name or (name, params), got {m!r}") from None
        make_method(name, **params, seed=0)  # validates name and parameters
        specs.append((method_label(name, params), name, params))
    if not specs:
        raise InputError("no methods to backtest")
    labels = [s[0] for s in specs]
    dupes = sorted({x for x in labels if labels.count(x) > 1})
    if dupes:
        raise InputError(f"method {dupes[0]!r} is named twice")
    return specs


def plan_jobs(
    datasets: Sequence[EvalData],
    methods: Sequence[MethodSpec] | str | None = None,
    tasks: Sequence[str] | None = None,
    cutoffs: Any = None,
    level: float = 0.9,
    tau: float = 0.25,
    seed: int = 0,
    code: str = "",
) -> tuple[list[Job], pd.DataFrame, pd.DataFrame]:
    """The jobs of a backtest (sorted by key), the task info and every model's accuracy.

    ``code`` (:func:`~forecast.backtest.jobs.code_label`) goes into every job's fingerprint.
    On group data, cut-offs are kept at or above the smallest difficulty horizon the
    group-slicing methods can use (see :func:`~forecast.backtest.splits.plan_splits`).
    """
    level = check_level(level)
    tau = check_tau(tau)
    specs = parse_methods(methods)
    if isinstance(tasks, str):
        tasks = [t.strip() for t in tasks.split(",") if t.strip()]
    tables: dict[tuple[str, str], pd.DataFrame] = {}
    for d in datasets:
        for t in d.task_names:
            if tasks is None or t in tasks:
                tables[(d.name, t)] = task_table(d, t)
    splits = plan_splits(datasets, tasks, cutoffs, tables=tables, n_groups=group_slice_counts(specs))
    by_name = {d.name: d for d in datasets}
    per_task: dict[tuple[str, str], tuple[EvalData, str]] = {}
    info_rows, actual_rows = [], []
    for s in splits:
        if (s.dataset, s.task) in per_task:
            continue
        whole = by_name[s.dataset]
        sub = whole.for_task(s.task)
        # data of many families: the job sees every task (the held-out models' own scores on
        # the other tasks, every task's fitted models as pool_); the fit still sees only
        # models at or below the cut-off (Forecaster.fit applies it)
        job_data = whole if whole.multi_family else sub
        if whole.multi_family and (s.dataset, None) in per_task:
            per_task[(s.dataset, s.task)] = per_task[(s.dataset, None)]
        else:
            per_task[(s.dataset, s.task)] = (job_data, data_fingerprint(job_data))
            if whole.multi_family:
                per_task[(s.dataset, None)] = per_task[(s.dataset, s.task)]
        row = sub.tasks.iloc[0]
        info_rows.append({"dataset": s.dataset, "task": s.task, "format": str(row["format"]),
                          "chance": float(row["chance"]), "scale": sub.scale(s.task),
                          "task_group": str(whole.task_groups().get(s.task, s.task)),
                          "emergence_scored": whole.emergence_scored(s.task),
                          "multi_family": bool(whole.multi_family)})
        a = tables[(s.dataset, s.task)][["model", "compute", "log10_compute", "accuracy"]].copy()
        a.insert(0, "dataset", s.dataset)
        a.insert(1, "task", s.task)
        actual_rows.append(a)
    jobs = []
    paths = {name: method_path(name) for _, name, _ in specs}
    for s in splits:
        sub, fingerprint = per_task[(s.dataset, s.task)]
        for label, name, params in specs:
            key_seed = job_seed(seed, seed_key(s.task, label, s.cutoff))
            jobs.append(Job(
                dataset=s.dataset, task=s.task, method=label, method_name=name, method_path=paths[name],
                params=tuple(sorted(params.items())), cutoff=s.cutoff, order=s.order, seed=key_seed,
                level=level, tau=tau,
                data=sub, data_hash=fingerprint, code=code,
            ))
    jobs.sort(key=lambda j: j.key)
    info = pd.DataFrame(info_rows).sort_values(["dataset", "task"]).reset_index(drop=True)
    actuals = pd.concat(actual_rows, ignore_index=True)
    return jobs, info, actuals


def plan_contexts(jobs: Sequence[Job], datasets: Sequence[EvalData], seed: int = 0,
                  code: str = "") -> list[ContextJob]:
    """One :class:`ContextJob` per (dataset, method, cut-off) whose method learns a context.

    Its pool is the whole data set restricted to the cut-off; when the data set's tasks do
    not share one compute scale, one context per task (its own data at the cut-off).
    """
    from forecast.methods.registry import make_job_method

    by_name = {d.name: d for d in datasets}
    learns: dict[tuple[str, tuple], bool] = {(PREDICTABILITY, ()): True}
    pools: dict[tuple[str, float, str | None], tuple[EvalData, str] | None] = {}
    out: dict[str, ContextJob] = {}
    # one predictability flag per task and cut-off, from the fitted models alone
    split_jobs = {(j.dataset, j.task, j.cutoff): j for j in jobs}
    flags = [dataclasses.replace(j, method=PREDICTABILITY, method_name=PREDICTABILITY, params=())
             for j in split_jobs.values()]
    for job in [*jobs, *flags]:
        spec = (job.method_name, job.params)
        if spec not in learns:
            learns[spec] = bool(make_job_method(job.method_name, job.method_path,
                                                {**dict(job.params), "seed": 0}).learns_context)
        if not learns[spec]:
            continue
        data = by_name[job.dataset]
        whole = (job.dataset, job.cutoff, None)
        if whole not in pools:
            try:
                pool = data.restrict(job.cutoff)
                pools[whole] = (pool, data_fingerprint(pool))
            except InputError:  # the tasks mix compute scales: pool each task on its own
                pools[whole] = None
        scope = None if pools[whole] is not None else job.task
        if (job.dataset, job.cutoff, scope) not in pools:
            pool = data.for_task(job.task).restrict(job.cutoff, job.task)
            pools[(job.dataset, job.cutoff, scope)] = (pool, data_fingerprint(pool))
        pool, pool_hash = pools[(job.dataset, job.cutoff, scope)]
        ctx = ContextJob(dataset=job.dataset, method=job.method, method_name=job.method_name,
                         params=job.params, cutoff=job.cutoff, seed=0, pool=pool, pool_hash=pool_hash,
                         code=code, task=scope, method_path=job.method_path)
        if ctx.key not in out:
            out[ctx.key] = dataclasses.replace(
                ctx, seed=job_seed(seed, "context|" + seed_key(scope, job.method, job.cutoff)))
    return sorted(out.values(), key=lambda c: c.key)


@contextlib.contextmanager
def _closing(get_bar):
    """Close the progress bar (made inside the block, if at all) however the block ends."""
    try:
        yield
    finally:
        bar = get_bar()
        if bar is not None:
            bar.close()


def _blocked_result(job: Job) -> dict[str, Any]:
    """The result of a job that could not run because its context failed."""
    return {"key": job.key, "fingerprint": job.fingerprint, "dataset": job.dataset, "task": job.task,
            "method": job.method, "cutoff": float(job.cutoff), "order": int(job.order),
            "seed": int(job.seed), "level": float(job.level), "code": job.code, "status": "failed",
            "seconds": 0.0}


def _context_key_of(job: Job, contexts: Mapping[str, dict[str, Any]]) -> str | None:
    for scope in (job.dataset, f"{job.dataset}/{job.task}"):
        key = f"context|{scope}|{job.method}|{job.key.rsplit('|', 1)[1]}"
        if key in contexts:
            return key
    return None


def backtest(
    data: Any,
    methods: Sequence[MethodSpec] | str | None = None,
    tasks: Sequence[str] | str | None = None,
    cutoffs: Any = None,
    level: float = 0.9,
    backend: str = "local",
    *,
    tau: float = 0.25,
    paper_exclusions: bool = False,
    n_jobs: int | None = None,
    scheduler: Any = None,
    seed: int = 0,
    checkpoint: str | Path | None = None,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool = False,
    models: Any = None,
    scores: Any = None,
    task_info: Any = None,
    steps: Any = None,
) -> BacktestResult:
    """Backtest forecasting methods: fit below cut-offs, score the held-out larger models.

    Parameters
    ----------
    data
        An ``EvalData``, a shipped dataset name, a file/folder ``load_data`` reads, ``"all"``
        (every shipped dataset), or a list of these.
    methods
        Method names (``make_method``: registered names or import paths such as
        ``"my_pkg.my_mod:MyForecaster"``) or ``(name, params)`` pairs; default
        :func:`default_methods` (from the methods' tags).
    tasks
        Task names to backtest (default: all).
    cutoffs
        Cut-off specification, see :mod:`forecast.backtest.splits` (default: ``default``).
    level
        Level of the observed-score intervals (coverage is scored against it).
    backend : {"local", "processes", "dask"}
        Where the jobs run (see :mod:`forecast.backtest.parallel`); the output is the same.
    tau
        Normalised accuracy level defining the emergence threshold.
    paper_exclusions
        Drop the six models the Slice-and-Sandwich paper leaves out (kept by default: the paper
        dropped them after seeing them); for comparisons with its figures.
    n_jobs
        Worker processes (``processes``, or a Dask ``LocalCluster``); default: all CPUs.
    scheduler
        Dask scheduler address or ``Client`` (backend ``dask``); default: a LocalCluster.
    seed
        Base seed; each job's seed derives from it and the job's key.
    checkpoint
        Folder to save every job into as it finishes (``checkpoint/jobs/``).
    resume
        Reuse the finished jobs saved in ``checkpoint`` (failed ones are run again); without
        it (or ``overwrite``) a ``checkpoint`` that already holds results is refused.
    overwrite
        Delete the results already in ``checkpoint`` (after the run is planned) and start over.
    progress
        Show a progress bar on stderr.
    models, scores, task_info, steps
        Passed to ``load_data`` for every dataset (``steps``: a model ladder's checkpoints).

    Returns
    -------
    BacktestResult
    """
    check_backend(backend, scheduler)
    if n_jobs is not None and (not isinstance(n_jobs, (int, np.integer)) or isinstance(n_jobs, bool) or n_jobs < 1):
        raise InputError(f"n_jobs must be a whole number of at least 1, got {n_jobs!r}")
    datasets = load_datasets(data, models, scores, task_info, steps)
    if methods is None:
        methods = default_methods(datasets)
    code = code_version()  # once per run
    if paper_exclusions:
        datasets = [with_paper_exclusions(d) for d in datasets]
    jobs, info, actuals = plan_jobs(datasets, methods, tasks, cutoffs, level, tau, seed,
                                    code=code_label(code))
    settings = {
        "datasets": [d.name for d in datasets],
        "code": code,
        "methods": [label for label, _, _ in parse_methods(methods)],
        "level": jobs[0].level, "tau": jobs[0].tau,
        "seed": seed, "paper_exclusions": bool(paper_exclusions),
        "default_method": DEFAULT_METHOD,
        "default_method_by_dataset": default_picks(datasets),
        "n_jobs": len(jobs),
    }
    store = None
    if checkpoint is not None:
        store = JobStore(checkpoint)
        if resume and overwrite:
            raise InputError("resume and overwrite (--resume, --force) exclude each other")
        if store.root.exists() and not store.root.is_dir():
            raise InputError(f"{store.root}: exists and is not a folder")
        if holds_results(store.root) and not (resume or overwrite):
            raise InputError(
                f"{store.root}: already holds backtest results; pass --resume to continue them "
                "or --force to overwrite them"
            )
    contexts = plan_contexts(jobs, datasets, seed, code=code_label(code))
    settings["n_contexts"] = len(contexts)
    recomputed = {"code changed": 0, "inputs changed": 0, "failed before": 0}
    bar = None
    prepared = False

    def reuse(items) -> dict[str, dict[str, Any]]:
        done: dict[str, dict[str, Any]] = {}
        if store is None or not resume:
            return done
        for item in items:
            saved = store.read(item.key)
            if not saved:
                continue
            if saved.get("status") == "failed":
                recomputed["failed before"] += 1
            elif saved.get("fingerprint") == item.fingerprint:
                done[item.key] = saved
            elif saved.get("code") != item.code:
                recomputed["code changed"] += 1
            else:
                recomputed["inputs changed"] += 1
        return done

    def run(fun, items, done) -> dict[str, dict[str, Any]]:
        nonlocal bar, prepared
        todo = [i for i in items if i.key not in done]
        # start the backend (connect to Dask) before anything is written
        finished = imap_unordered(fun, todo, backend=backend, n_jobs=n_jobs, scheduler=scheduler)
        results = dict(done)
        n_failed = 0
        try:
            if store is not None and not prepared:
                store.prepare()
                if overwrite:
                    clear_results(store.root)
                store.write_run(settings)
                prepared = True
            if progress and bar is None:
                from tqdm import tqdm

                bar = tqdm(total=len(contexts) + len(jobs), file=sys.stderr, unit="job",
                           desc="backtest", dynamic_ncols=True, mininterval=0.5)
            if bar is not None:
                bar.update(len(done))
            for _, result in finished:
                # through JSON and back, so a fresh result is exactly what a resumed run reads
                result = json.loads(json.dumps(result, sort_keys=True))
                if store is not None:
                    store.write(result)
                results[result["key"]] = result
                if bar is not None:
                    bar.update(1)
                    if result["status"] == "failed":
                        n_failed += 1
                        bar.set_postfix_str(f"failed: {n_failed}")
        finally:
            close = getattr(finished, "close", None)
            if close is not None:
                close()
        return results

    if checkpoint is not None:  # a folder that cannot be written is refused before any work
        check_writable_folder(checkpoint, "checkpoint")
    lock = lock_output(checkpoint) if checkpoint is not None else contextlib.nullcontext()
    with lock, _closing(lambda: bar):
        # phase 1: settings learned at each cut-off from every task (models <= cut-off only)
        ctx_done = reuse(contexts)
        learned = run(run_context_job, contexts, ctx_done) if contexts else {}
        attached, blocked = [], {}
        for job in jobs:
            key = _context_key_of(job, learned)
            if key is None:
                attached.append(job)
            elif learned[key]["status"] == "ok":
                attached.append(dataclasses.replace(job, context=learned[key]["context"]))
            else:
                blocked[job.key] = {**_blocked_result(job), "error": f"learning its settings failed: "
                                    f"{learned[key]['error']}"}
        jobs_to_run = [j for j in attached]
        done = reuse(jobs_to_run)
        results = run(run_job, jobs_to_run, done)
        results.update(blocked)
    ordered = [results[j.key] for j in jobs]
    if ordered and all(r["status"] == "skipped" for r in ordered):
        raise InputError(f"no job can run: {ordered[0]['error']}")
    return BacktestResult(ordered, info, actuals, settings, resumed=len(done) + len(ctx_done),
                          recomputed={k: v for k, v in recomputed.items() if v},
                          contexts=[learned[c.key] for c in contexts])
