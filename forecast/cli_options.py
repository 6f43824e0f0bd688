"""Options shared by the commands of the ``forecast`` command line (:mod:`forecast.cli`,
:mod:`forecast.backtest.command`, :mod:`forecast.mirage_cli`), defined once here so the
command modules need not import the command-line group that lazily imports them."""

from __future__ import annotations

import click

#: ``--compute``, shared by every command that loads data
compute_option = click.option(
    "--compute", type=click.Choice(["flops", "params"]), default=None,
    help="Compute axis: flops (training FLOPs; 6*params*tokens where only those are known) or "
         "params. Default: flops if any model has them; models without are left out with a note.",
)
