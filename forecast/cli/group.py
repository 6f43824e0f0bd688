"""The command-line group class: one line and exit 2 for bad input anywhere below it, and
commands imported only when they are run (so ``forecast --help`` stays fast)."""

from __future__ import annotations

import sys
from collections.abc import Mapping

import click

from forecast.cli.options import EXIT_FAILED_JOBS, fail
from forecast.errors import FitError, InputError


class Group(click.Group):
    """Turns :class:`InputError` raised anywhere below into one line and exit code 2, and
    imports the commands of ``lazy_commands`` (name -> (module, attribute, the one-line help
    shown without importing them)) only when they are run."""

    def __init__(self, *args, lazy_commands: Mapping[str, tuple[str, str, str]] | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_commands = dict(lazy_commands or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self.lazy_commands))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        command = super().get_command(ctx, name)
        if command is None and name in self.lazy_commands:
            module, attribute, _ = self.lazy_commands[name]
            command = getattr(__import__(module, fromlist=[attribute]), attribute)
            self.add_command(command, name)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            if name in self.lazy_commands and name not in self.commands:
                rows.append((name, self.lazy_commands[name][2]))
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
