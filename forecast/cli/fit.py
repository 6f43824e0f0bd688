"""``forecast fit``: one forecast on the models up to a cut-off."""

from __future__ import annotations

import json
from pathlib import Path

import click

from forecast.cli.options import compute_option, parse_compute, parse_compute_list
from forecast.errors import InputError


@click.command("fit")
@click.argument("data")
@click.option("--models", "models_file", help="Models table (model, family, params, tokens, flops).")
@click.option("--scores", "scores_file", help="Whole-task scores for slice-level data.")
@click.option("--task-info", "task_info", help="Task table (task, format, n_choices, chance).")
@click.option("--task", required=True, help="Task to forecast.")
@click.option("--cutoff", required=True, help="Largest fitted compute, raw FLOPs (or parameters), e.g. 8e9.")
@click.option("--method", default=None,
              help="Forecasting method: a registered name or an import path such as my_pkg.my_mod:MyForecaster. "
                   "Default: the one benchmarks/rule.py picked for the data's kind (forecast.methods.defaults).")
@click.option("--level", default=0.9, show_default=True, type=float, help="Interval level.")
@click.option("--tau", default=0.25, show_default=True, type=float,
              help="Emergence level: share of the way from chance to perfect accuracy.")
@click.option("--budget", help="Compute budget (raw): report P(threshold <= budget).")
@click.option("--at", "at", help="Comma-separated raw compute values to forecast at.")
@click.option("--seed", default=0, show_default=True, type=click.IntRange(min=0), help="Random seed (0 or more).")
@click.option("--json", "as_json", is_flag=True, help="Print one strict-JSON object.")
@click.option("--plot", "plot", help="Write a PNG plot of the forecast.")
@click.option("--force", is_flag=True, help="Overwrite the --plot file if it exists.")
@click.option("--no-cache", "no_cache", is_flag=True,
              help="Learn the data set's settings again instead of reading them from the cache "
                   "(forecast cache info).")
@compute_option
def fit_command(data, models_file, scores_file, task_info, task, cutoff, method, level, tau, budget, at,
                seed, as_json, plot, force, no_cache, compute) -> None:
    """Fit one forecast on the models up to --cutoff and report it.

    \b
    Example (the README's tour: the held-out 27B and 128B models cross tau):
      forecast fit bigbench_bigg --task abstract_narrative_understanding \\
          --cutoff 8e9 --budget 1.28e11 --plot tour.png

    The report gives the accuracy forecast with its interval and the emergence threshold:
    the compute where the curve reaches tau, a share of the way from chance to perfect
    accuracy (--tau 0.25: a quarter of the way)."""
    from forecast.data import load_data
    from forecast.methods import make_method
    from forecast.methods.base import check_level
    from forecast.report import forecast_report, text_report
    from forecast.threshold import check_tau

    from forecast.data.readers import check_writable_file
    from forecast.methods.base import check_compute_scale

    cut = parse_compute(cutoff, "--cutoff")
    bud = parse_compute(budget, "--budget")
    points = parse_compute_list(at, "--at")
    check_level(level)
    check_tau(tau)
    if not task.strip():
        raise InputError("--task is empty; name the task to forecast")
    if plot:
        plot_path = Path(plot)
        if not plot_path.suffix.lower() == ".png":
            raise InputError(f"{plot}: --plot must name a .png file")
        if plot_path.exists() and not force:
            raise InputError(f"{plot}: already exists (pass --force to overwrite)")
        check_writable_file(plot_path, "--plot")
    d = load_data(data, models=models_file, scores=scores_file, task_info=task_info, compute=compute)
    smallest = float(d.for_task(task).compute_table(task)["compute"].min())
    check_compute_scale(cut, smallest, "--cutoff")
    if bud is not None:
        check_compute_scale(bud, smallest, "--budget")
    if points is not None:
        check_compute_scale(points, smallest, "--at")
    default_for = None
    if method is None:
        f, method, default_for = fit_default(d, cut, task, seed, no_cache)
    else:
        f = make_method(method, seed=seed).fit(d, cut, task=task, cache=False if no_cache else None)
    if getattr(f, "settings_source_", None) == "cache":
        click.echo(f"forecast: settings learned earlier read from the cache "
                   f"({f.settings_cache_path_}); --no-cache learns them again", err=True)
    report = forecast_report(f, method, level=level, tau=tau, budget=bud, at=points)
    report["default_for"] = default_for
    if plot:
        from forecast.plots import plot_forecast

        try:
            plot_forecast(f, d, plot, level=level, tau=tau)
        except OSError as exc:
            plot_path.with_name(f".{plot_path.name}.partial.png").unlink(missing_ok=True)
            raise InputError(f"{plot}: --plot cannot be written ({exc.strerror or exc})") from None
    if as_json:
        click.echo(json.dumps(report, allow_nan=False))
    else:
        click.echo(text_report(report))
        if plot:
            click.echo(f"plot written to {plot}")


def fit_default(d, cut: float, task: str, seed: int, no_cache: bool):
    """Fit the default method of the data's kind (:func:`forecast.methods.defaults.default_chain`),
    falling back to the next kind's default when it does not apply to the task; returns the
    fitted method, its label and the kind it is the default of (the report says which; a
    fallback is said on stderr)."""
    from forecast.backtest.jobs import method_label
    from forecast.errors import NotApplicable
    from forecast.methods import make_method
    from forecast.methods.defaults import default_chain

    chain = default_chain(d)
    for i, (name, params, kind) in enumerate(chain):
        try:
            f = make_method(name, **params, seed=seed).fit(d, cut, task=task, cache=False if no_cache else None)
        except NotApplicable as exc:
            if i == len(chain) - 1:
                raise
            click.echo(f"forecast: {name}, the default for {kind.replace('_', '-')} data, does not apply "
                       f"({exc}); using the next default", err=True)
            continue
        return f, method_label(name, params or None), kind
    raise InputError("no default method applies")  # pragma: no cover - the chain is never empty
