"""The ``forecast`` command line.

Exit codes: 0 success, 2 bad input or usage (one line on stderr, no traceback, nothing
written), 1 a run in which some jobs failed.
"""

from __future__ import annotations

import json
import logging
import math
import os
import sys
import warnings
from pathlib import Path

import click

from forecast.cli_options import compute_option
from forecast.errors import DataNote, FitError, InputError

# Nothing heavy (numpy, pandas, scikit-learn, PyMC) is imported at module level: each
# command imports what it needs when it runs, so `forecast --help` stays fast.

EXIT_FAILED_JOBS = 1
EXIT_BAD_INPUT = 2




def quiet_libraries(verbose: bool) -> None:
    """Silence PyMC / PyTensor / ArviZ chatter unless ``verbose``."""
    if verbose:
        os.environ["FORECAST_VERBOSE"] = "1"  # read around MCMC sampling, also in workers
    level = logging.INFO if verbose else logging.ERROR
    for name in ("pymc", "pytensor", "arviz", "distributed", "numba"):
        logging.getLogger(name).setLevel(level)
    if not verbose:
        warnings.filterwarnings("ignore", category=FutureWarning)
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", category=RuntimeWarning)


def show_notes() -> None:
    """Print each :class:`DataNote` (what the loader assumed) as one ``forecast: note:``
    line on stderr; other warnings keep Python's format."""
    shown = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, DataNote):
            click.echo(f"forecast: note: {' '.join(str(message).split())}", err=True)
        else:
            shown(message, category, filename, lineno, file, line)

    warnings.showwarning = show
    warnings.simplefilter("always", DataNote)


def fail(message: str) -> None:
    """One line on stderr, exit 2."""
    click.echo(f"forecast: error: {' '.join(str(message).split())}", err=True)
    sys.exit(EXIT_BAD_INPUT)


def parse_compute(text: str | None, what: str) -> float | None:
    """A raw compute value such as ``8e9`` or ``3.16e22``."""
    if text is None:
        return None
    try:
        value = float(text)
    except (ValueError, OverflowError):
        raise InputError(f"{what} must be raw compute such as 8e9 or 3.2e22, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise InputError(f"{what} must be a positive raw compute value, got {text!r}")
    return value


def parse_compute_list(text: str | None, what: str) -> list[float] | None:
    """Comma-separated raw compute values; an empty list or an empty item is refused."""
    if text is None:
        return None
    parts = [part.strip() for part in text.split(",")]
    if not any(parts):
        raise InputError(f"{what} is an empty list; give raw compute values such as 1e23,1e24")
    if not all(parts):
        raise InputError(f"{what} has an empty item in {text!r}")
    return [parse_compute(part, what) for part in parts]


#: commands defined in other modules, imported only when used: name -> (module, attribute,
#: the one-line help `forecast --help` shows without importing them)
LAZY_COMMANDS = {
    "backtest": ("forecast.backtest.command", "backtest",
                 "Score methods on held-out larger models at rolling cut-offs."),
    "mirage": ("forecast.mirage_cli", "mirage_command",
               "Does a task's jump survive a continuous metric?"),
}


class Group(click.Group):
    """Turns :class:`InputError` raised anywhere below into one line and exit code 2, and
    imports the commands of :data:`LAZY_COMMANDS` only when they are run."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        names = set(super().list_commands(ctx))
        if self is cli:
            names |= set(LAZY_COMMANDS)
        return sorted(names)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        command = super().get_command(ctx, name)
        if command is None and self is cli and name in LAZY_COMMANDS:
            module, attribute, _ = LAZY_COMMANDS[name]
            command = getattr(__import__(module, fromlist=[attribute]), attribute)
            self.add_command(command, name)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            if self is cli and name in LAZY_COMMANDS and name not in self.commands:
                rows.append((name, LAZY_COMMANDS[name][2]))
                continue
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(formatter.width - 6 - len(name))))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except InputError as exc:
            fail(str(exc))
        except FitError as exc:
            click.echo(f"forecast: fit failed: {' '.join(str(exc).split())}", err=True)
            sys.exit(EXIT_FAILED_JOBS)


@click.group(cls=Group)
@click.option("--verbose", is_flag=True, help="Show library log output (PyMC sampler progress).")
@click.version_option(package_name="forecast")
def cli(verbose: bool) -> None:
    """Forecast when an ability emerges in larger language models, with uncertainty.

    \b
    Fit on the models up to a cut-off, forecast the larger ones:
      forecast fit bigbench_bigg --task TASK --cutoff 8e9 --plot fit.png
      forecast fit my_results.csv --models models.csv --task TASK --cutoff 1e21

    tau (the emergence level) is a share of the way from chance to perfect accuracy:
    tau = 0.25 is a quarter of the way (accuracy 0.4375 on a 4-choice task). The
    threshold is the smallest compute where the accuracy curve reaches it.

    Compute is raw training FLOPs (or raw parameters for a family without token counts).
    """
    quiet_libraries(verbose)
    show_notes()


@cli.command("datasets")
def datasets_command() -> None:
    """List the shipped datasets: name, kind, tasks, models, rows."""
    from forecast.data.shipped import datasets

    import textwrap

    table = datasets()
    described = "description" in table.columns
    click.echo(table.drop(columns=["description"] if described else []).to_string(index=False))
    if described:
        click.echo("")
        for name, text in zip(table["name"], table["description"]):
            click.echo(textwrap.fill(f"{name}: {text}", width=100, subsequent_indent="    "))


@cli.command("metrics")
@click.argument("data")
@click.option("--models", "models_file", help="Models table (model, family, params, tokens, flops).")
@click.option("--scores", "scores_file", help="Whole-task scores for slice-level data.")
@click.option("--task-info", "task_info", help="Task table (task, format, n_choices, chance).")
@click.option("--task", "task", help="Only this task.")
@compute_option
def metrics_command(data: str, models_file, scores_file, task_info, task, compute) -> None:
    """Per-model metrics of a task and the emergence score of each metric's curve.

    The emergence score (BIG-bench's "breakthroughness") of a metric's curve over the models
    sorted by compute is its range divided by the root median squared step between
    neighbouring models, signed by direction: large when the curve rises in one or two
    jumps, small for a steady rise, negative for a falling curve."""
    from forecast.data import load_data
    from forecast.data.task_table import task_table
    from forecast.metrics import emergence_score

    if task is not None and not task.strip():
        raise InputError("--task is empty; name a task (forecast metrics DATA lists them all)")
    d = load_data(data, models=models_file, scores=scores_file, task_info=task_info, compute=compute)
    tasks = [task] if task is not None else d.task_names
    for name in tasks:
        table = task_table(d.for_task(name), name)
        if len(table) < 2:
            raise InputError(
                f"task {name!r}: {len(table)} model is too few for an emergence score; need at least 2 sizes"
            )
        cols = [c for c in ("accuracy", "tc_brier") if c in table.columns and table[c].notna().all()]
        click.echo(f"== {name} ({d.scale(name)} scale, chance {d.chance(name):.3g}, {len(table)} models)")
        click.echo(
            table[["model", "compute"] + cols + ["n_questions"]].to_string(
                index=False, float_format=lambda v: f"{v:.4g}"
            )
        )
        scores = ", ".join(
            f"{c}: {emergence_score(table['log10_compute'].to_numpy(), table[c].to_numpy()):.3g}"
            for c in cols
        )
        click.echo(f"emergence score — {scores}")
    click.echo("emergence score = range / root median squared step between neighbouring sizes;")
    click.echo("  large: the curve jumps; small: it rises steadily; below 0: it falls")


@cli.group("ingest", cls=Group)
def ingest() -> None:
    """Convert evaluation logs into the canonical per-question table."""


@ingest.command("lm-eval")
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--models", "models_file", help="Models table to check model names against.")
@click.option("--out", "out", required=True, help="Output file (.csv or .parquet).")
@click.option("--force", is_flag=True, help="Overwrite OUT if it exists.")
def ingest_lmeval(directory: str, models_file, out: str, force: bool) -> None:
    """Read an lm-evaluation-harness --log_samples folder into OUT."""
    from forecast.data.lmeval import read_lmeval
    from forecast.data.readers import check_writable_file, read_table, write_table
    from forecast.data.schema import validate_models

    out_path = Path(out)
    if out_path.exists() and not force:
        raise InputError(f"{out_path}: already exists (pass --force to overwrite)")
    if not out_path.name.lower().endswith((".csv", ".csv.gz", ".parquet", ".pq")):
        raise InputError(f"{out_path}: --out must end in .csv or .parquet")
    check_writable_file(out_path, "--out")
    table = read_lmeval(directory)
    if models_file:
        from forecast.data.reconcile import resolve_model_names

        models = validate_models(read_table(models_file), models_file)
        resolve_model_names(set(table["model"]), models["model"], str(directory), models_given=True)
    frame = table.copy()
    if "loglik" in frame.columns:
        frame["loglik"] = frame["loglik"].map(lambda v: json.dumps(list(map(float, v))) if v is not None else None)
    write_table(frame, out_path, force=force)
    click.echo(f"wrote {len(frame)} rows ({frame['model'].nunique()} models, {frame['task'].nunique()} tasks) to {out_path}")


@cli.command("fit")
@click.argument("data")
@click.option("--models", "models_file", help="Models table (model, family, params, tokens, flops).")
@click.option("--scores", "scores_file", help="Whole-task scores for slice-level data.")
@click.option("--task-info", "task_info", help="Task table (task, format, n_choices, chance).")
@click.option("--task", required=True, help="Task to forecast.")
@click.option("--cutoff", required=True, help="Largest fitted compute, raw FLOPs (or parameters), e.g. 8e9.")
@click.option("--method", default="slice_sandwich", show_default=True,
              help="Forecasting method: a registered name or an import path such as my_pkg.my_mod:MyForecaster.")
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
    f = make_method(method, seed=seed).fit(d, cut, task=task, cache=False if no_cache else None)
    if getattr(f, "settings_source_", None) == "cache":
        click.echo(f"forecast: settings learned earlier read from the cache "
                   f"({f.settings_cache_path_}); --no-cache learns them again", err=True)
    report = forecast_report(f, method, level=level, tau=tau, budget=bud, at=points)
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


@cli.group("cache")
def cache_group() -> None:
    """The cache of learned settings (what slice_sandwich and others learn from every task at
    a cut-off, kept so that the next fit of the same data and cut-off is fast).

    \b
    Its folder: $FORECAST_CACHE_DIR, else the user's cache folder; FORECAST_NO_CACHE=1 or
    `forecast fit --no-cache` bypasses it."""


@cache_group.command("info")
def cache_info() -> None:
    """Where the cache is, and how many entries it holds."""
    from forecast.settings_cache import SettingsCache

    cache = SettingsCache.default()
    entries = cache.entries()
    size = sum(p.stat().st_size for p in entries if p.exists())
    click.echo(f"{cache.folder}: {len(entries)} learned settings, {size / 1024:.1f} KiB")


@cache_group.command("clear")
def cache_clear() -> None:
    """Remove every learned-settings entry from the cache."""
    from forecast.settings_cache import SettingsCache

    cache = SettingsCache.default()
    try:
        removed = cache.clear()
    except OSError as exc:
        raise InputError(f"{cache.folder}: cannot clear the cache ({exc.strerror or exc})") from None
    click.echo(f"removed {removed} learned settings from {cache.folder}")


def main() -> None:
    """Console-script entry point: usage errors too are one line and exit 2."""
    try:
        code = cli.main(prog_name="forecast", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("forecast: interrupted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        fail(exc.format_message())
    except InputError as exc:
        fail(str(exc))
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
