"""Moved to :mod:`forecast.cli.options`; this path re-exports it for one release."""

from forecast.cli.options import compute_option

__all__ = ["compute_option"]
