"""The ``forecast backtest`` command (registered, lazily, on the ``forecast`` CLI group).

Exit codes: 0 every job succeeded; 1 some jobs failed (recorded in ``jobs.csv``, the rest
is written); 2 bad input (one line on stderr, nothing written); 130 interrupted (finished
jobs are kept: rerun with ``--resume``).
"""

from __future__ import annotations

import contextlib
import os
import sys
import time

import click

from forecast.backtest.parallel import BACKENDS
from forecast.backtest.runner import DEFAULT_METHODS
from forecast.backtest.runner import backtest as run_backtest
from forecast.backtest.store import lock_output
from forecast.cli.options import EXIT_FAILED_JOBS, EXIT_INTERRUPTED, compute_option, fail, split_list
from forecast.data.readers import check_writable_folder
from forecast.errors import InputError

HELP = f"""Backtest forecasting methods on DATA: fit each method on the models at or below
a cut-off, forecast the larger (held-out) models, and score the forecasts.

DATA is a shipped dataset (see `forecast datasets`), a results file or lm-eval folder, or
`all` (every shipped dataset); several may be given. Each job (dataset x task x method x
cut-off) is independent; finished jobs are saved in DIR/jobs/ as they finish. Settings a
method learns (prior scales, extrapolation spread, drift) are learned once per dataset and
cut-off from every task's models at or below it, never from a held-out model.

\b
--cutoffs SPEC: comma-separated items, raw compute (FLOPs or parameters, as the task's
models are measured), each one of:
  default        (default) the data set's own rule, else rolling; obsscaling:
                 grid:20.5:24.5:0.5:10; a model ladder: every 0.25 decade where a
                 task keeps >= 6 fitted runs, plus its largest ladder run
  rolling        every model size leaving >= 4 fitted sizes and a larger model
  grid:LO:HI:STEP[:N]  cut-offs 10^LO, 10^(LO+STEP), ..., 10^HI, each where a task
                 keeps >= N (10) fitted models, >= 4 fitted sizes and a larger model
  paper          the Slice-and-Sandwich paper's cut-offs (chosen knowing the jumps)
  3.16e22        a raw cut-off
  largest:K      hold out the K largest models
  expanding:N    N cut-offs from the median model to the second-largest
An item may be scoped with NAME= to one task or dataset, e.g.
`mmlu=3.16e22,bigbench_bigg=largest:2`.

\b
tau: the emergence level, a share of the way from chance to perfect accuracy
(0.25 = a quarter of the way). Thresholds are scored at --tau; "will it emerge by
budget B?" probabilities at tau = 0.1, 0.25 and 0.5 (emergence.csv).

\b
Writes into DIR: predictions.csv (held-out models and their scores), metrics.csv (per
task x method x cut-off x distance window), summary.csv (per method: means over tasks,
ratios to the best baseline with 90% bootstrap intervals), thresholds.csv, emergence.csv,
emergence_summary.csv, calibration.csv, pit.csv, learned.csv (settings learned per
cut-off), curves.csv, jobs.csv (status of every job: ok, skipped or failed), run.json,
and the plots. A DIR holding results is refused unless --resume or --force.

Default methods: {", ".join(DEFAULT_METHODS)} (on a model ladder: two_step and two_step_slp
added, family left out when the ladder is one family; on data of many families: obsscaling
and obsscaling_given_scores added).  A method of your own: --methods my_pkg.my_mod:MyForecaster
(imported in every worker; see docs/CONTRIBUTING.md).
Exit codes: 0 ok, 1 some jobs failed, 2 bad input, 130 interrupted.
"""


@click.command("backtest", help=HELP)
@click.argument("data", nargs=-1, required=True)
@click.option("--models", "models_file", type=click.Path(dir_okay=False),
              help="Models table (model, family, params, tokens, flops).")
@click.option("--scores", "scores_file", type=click.Path(dir_okay=False),
              help="Whole-task scores to go with slice-level groups.")
@click.option("--task-info", "task_info_file", type=click.Path(dir_okay=False),
              help="Task table (task, format, n_choices, chance).")
@click.option("--steps", "steps_file", type=click.Path(dir_okay=False),
              help="A model ladder's checkpoints (run, step, tokens, task, metrics), with a task-level DATA file.")
@click.option("--tasks", help="Comma-separated tasks to backtest (default: all).")
@click.option("--cutoffs", help="Cut-off specification (see above; default: default).")
@click.option("--methods", help=f"Comma-separated methods: registered names or import paths such as "
              f"my_pkg.my_mod:MyForecaster (default: {','.join(DEFAULT_METHODS)}).")
@click.option("--level", type=float, default=0.9, show_default=True,
              help="Level of the observed-score intervals.")
@click.option("--tau", type=float, default=0.25, show_default=True,
              help="Emergence level: share of the way from chance to perfect accuracy.")
@click.option("--paper-exclusions", is_flag=True,
              help="Drop the six models the Slice-and-Sandwich paper leaves out (kept by default).")
@compute_option
@click.option("--wide", is_flag=True, help="Print every summary column and window (wider than 100 columns).")
@click.option("--json", "as_json", is_flag=True,
              help="Print the summary and emergence summary as one strict-JSON object.")
@click.option("--backend", type=click.Choice(BACKENDS), default="local", show_default=True, help="Where the jobs run.")
@click.option("--scheduler", help="Dask scheduler address (with --backend dask; default: a local cluster).")
@click.option("--n-jobs", type=int, help="Worker processes for processes/dask (default: all CPUs).")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Base seed (each job's seed derives from it).")
@click.option("--out", "out", type=click.Path(file_okay=False),
              help="Folder for the results (default: print the summary only).")
@click.option("--resume", is_flag=True, help="Continue the run saved in --out (skip finished jobs).")
@click.option("--force", is_flag=True, help="Overwrite the results already in --out.")
@click.option("--no-plots", is_flag=True, help="Do not draw the plots.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@click.option("--no-cache", is_flag=True,
              help="Learn every cut-off's settings again instead of reading them from the cache.")
def backtest(no_cache: bool = False, **options) -> None:
    start = time.perf_counter()
    if no_cache:  # an environment variable, so that worker processes see it too
        from forecast.settings_cache import NO_CACHE_ENV

        os.environ[NO_CACHE_ENV] = "1"
    with contextlib.ExitStack() as stack:  # badinput: holds the --out lock until the files are written
        _backtest(stack, start, **options)


def _backtest(stack, start, data, models_file, scores_file, task_info_file, steps_file, tasks, cutoffs, methods,
              level, tau, paper_exclusions, compute, wide, as_json, backend, scheduler, n_jobs, seed, out, resume, force,
              no_plots, no_progress) -> None:
    try:
        if (resume or force) and out is None:
            raise InputError("--resume and --force need --out DIR")
        if resume and force:
            raise InputError("--resume and --force exclude each other")
        if n_jobs is not None and n_jobs < 1:
            raise InputError(f"--n-jobs must be at least 1, got {n_jobs}")
        if seed < 0:
            raise InputError(f"--seed must be 0 or more, got {seed}")
        method_list, task_list = split_list(methods, "--methods"), split_list(tasks, "--tasks")
        if out is not None:  # badinput: refuse an unwritable --out before any work, lock it for the run
            check_writable_folder(out, "--out")
            stack.enter_context(lock_output(out))
        data = list(data)
        if compute is not None:  # the axis is chosen at load time (forecast.data.reconcile)
            from forecast.data import dataset_names, load_data

            items = [name for item in data for name in (dataset_names() if item == "all" else [item])]
            data = [load_data(item, models=models_file, scores=scores_file, task_info=task_info_file,
                              steps=steps_file, compute=compute) for item in items]
            models_file = scores_file = task_info_file = steps_file = None
        bt = run_backtest(
            data,
            methods=method_list,
            tasks=task_list,
            cutoffs=cutoffs,
            level=level,
            backend=backend,
            tau=tau,
            paper_exclusions=paper_exclusions,
            n_jobs=n_jobs,
            scheduler=scheduler,
            seed=seed,
            checkpoint=out,
            resume=resume,
            overwrite=force,
            progress=not no_progress,
            models=models_file,
            scores=scores_file,
            task_info=task_info_file,
            steps=steps_file,
        )
    except InputError as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        where = f"; finished jobs are saved in {out}/jobs, rerun with --resume" if out else ""
        click.echo(f"forecast: interrupted{where}", err=True)
        sys.exit(EXIT_INTERRUPTED)
    if bt.resumed or bt.recomputed:
        again = "".join(f", recomputed {n} ({why})" for why, n in bt.recomputed.items())
        click.echo(f"resumed: {bt.resumed} finished job(s) read from {out}/jobs{again}", err=True)
    written = []
    if out is not None:
        written = bt.save(out)
        if not no_plots:
            from forecast.backtest.plots import plot_all

            written += plot_all(bt, out)
    failed = bt.failed
    seconds = time.perf_counter() - start
    if as_json:
        click.echo(summary_json(bt, seconds))
    else:
        click.echo(bt.format_summary(wide=wide))
        click.echo(f"{len(bt.jobs)} jobs ({len(failed)} failed, {len(bt.skipped)} skipped) in {seconds:.1f} s "
                   f"on backend {backend}")
    for line in skipped_notes(bt.skipped):
        click.echo(line, err=True)
    if written and not as_json:
        click.echo(f"wrote {len(written)} files to {out}")
    for row in failed.head(5).itertuples(index=False):
        click.echo(f"failed: {row.key}: {row.error}", err=True)
    if len(failed) > 5:
        click.echo(f"... and {len(failed) - 5} more failed jobs (see jobs.csv)", err=True)
    if len(failed):
        sys.exit(EXIT_FAILED_JOBS)


def skipped_notes(skipped) -> list[str]:
    """One stderr line per method with skipped jobs: how many, and the first reason."""
    lines = []
    for method, rows in skipped.groupby("method", sort=True):
        lines.append(f"forecast: note: skipped {method} at {len(rows)} split(s), e.g. {rows['error'].iloc[0]}")
    return lines


def summary_json(bt, seconds: float) -> str:
    """The run's summary tables and job counts as one strict-JSON object (NaN as null)."""
    import json

    def records(frame):
        if frame is None:
            return []
        return json.loads(frame.to_json(orient="records"))

    return json.dumps({
        "summary": records(bt.summary()),
        "emergence_summary": records(bt.emergence_summary()),
        "jobs": {"total": len(bt.jobs), "failed": len(bt.failed), "skipped": len(bt.skipped)},
        "seconds": round(seconds, 1),
    }, allow_nan=False)


def main() -> None:
    """``python -m forecast.cli.backtest`` (the same as ``forecast backtest``)."""
    backtest(prog_name="forecast backtest")


if __name__ == "__main__":
    main()
