"""What the commands of the ``forecast`` command line share: exit codes, the one-line
error, the parsers of raw compute values and lists, and the options several commands take
(``--compute``), defined once here so the command modules need not import the group that
lazily imports them.

Nothing heavy (numpy, pandas, ...) is imported here: ``forecast --help`` stays fast.
"""

from __future__ import annotations

import math
import sys

import click

from forecast.errors import InputError

EXIT_FAILED_JOBS = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130

#: ``--compute``, shared by every command that loads data
compute_option = click.option(
    "--compute", type=click.Choice(["flops", "params"]), default=None,
    help="Compute axis: flops (training FLOPs; 6*params*tokens where only those are known) or "
         "params. Default: flops if any model has them; models without are left out with a note.",
)


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


def split_list(text: str | None, option: str, hint: str = "give comma-separated names") -> list[str] | None:
    """A comma-separated option value; an empty list or an empty item names ``option``
    (``hint`` says what to give instead of an empty list)."""
    if text is None:
        return None
    items = [t.strip() for t in text.split(",")]
    if not any(items):
        raise InputError(f"{option} is an empty list; {hint}")
    if not all(items):
        raise InputError(f"{option} has an empty item in {text!r}")
    return items


def parse_compute_list(text: str | None, what: str) -> list[float] | None:
    """Comma-separated raw compute values; an empty list or an empty item is refused."""
    parts = split_list(text, what, "give raw compute values such as 1e23,1e24")
    return None if parts is None else [parse_compute(part, what) for part in parts]
