"""The ``forecast`` command line: one module per command or command group.

:mod:`~forecast.cli.options` (exit codes, the one-line error, shared options and parsers),
:mod:`~forecast.cli.group` (the group class), :mod:`~forecast.cli.fit`,
:mod:`~forecast.cli.metrics`, :mod:`~forecast.cli.datasets`, :mod:`~forecast.cli.ingest`,
:mod:`~forecast.cli.cache`, and, imported only when run, :mod:`~forecast.cli.backtest` and
:mod:`~forecast.cli.mirage`.  A new command is a module here with a ``click`` command, added
below (or to :data:`LAZY_COMMANDS` when its module imports heavy libraries at its top).

Exit codes: 0 success, 2 bad input or usage (one line on stderr, no traceback, nothing
written), 1 a run in which some jobs failed.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings

import click

from forecast.cli.cache import cache_group
from forecast.cli.datasets import datasets_command
from forecast.cli.fit import fit_command
from forecast.cli.group import Group
from forecast.cli.ingest import ingest
from forecast.cli.metrics import metrics_command
from forecast.cli.options import EXIT_BAD_INPUT, EXIT_FAILED_JOBS, fail, parse_compute, parse_compute_list
from forecast.errors import DataNote, InputError

# Nothing heavy (numpy, pandas, scikit-learn, PyMC) is imported at module level: each
# command imports what it needs when it runs, so `forecast --help` stays fast.

__all__ = ["EXIT_BAD_INPUT", "EXIT_FAILED_JOBS", "LAZY_COMMANDS", "Group", "cli", "fail", "main",
           "parse_compute", "parse_compute_list", "quiet_libraries", "show_notes"]


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


#: commands whose modules import heavy libraries, imported only when used: name -> (module,
#: attribute, the one-line help `forecast --help` shows without importing them)
LAZY_COMMANDS = {
    "backtest": ("forecast.cli.backtest", "backtest",
                 "Score methods on held-out larger models at rolling cut-offs."),
    "mirage": ("forecast.cli.mirage", "mirage_command",
               "Does a task's jump survive a continuous metric?"),
}


@click.group(cls=Group, lazy_commands=LAZY_COMMANDS)
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


for command in (datasets_command, metrics_command, ingest, fit_command, cache_group):
    cli.add_command(command)
del command


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
