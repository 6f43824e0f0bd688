"""Moved to :mod:`forecast.cli.mirage`; this path re-exports it for one release."""

from forecast.cli.mirage import mirage_command

__all__ = ["mirage_command"]
