"""Exceptions raised for bad user input.

Every problem a user can fix (a missing column, an unknown model, a cut-off outside the
data) is raised as :class:`InputError` with a single-line message naming the file, column,
model or value at fault.  The CLI turns it into one line on stderr and exit code 2.
"""

from __future__ import annotations


class InputError(ValueError):
    """Bad input: the message is one line naming what is wrong and where."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))


class FitError(RuntimeError):
    """A fit could not be carried out on otherwise valid input."""


class NotApplicable(InputError):
    """A method cannot be used on this task at this cut-off (too few fitted models, a data
    kind it does not handle).  A backtest records such a job as ``skipped``, not ``failed``,
    and leaves the method out of the comparisons on that split."""


class SamplerWarning(UserWarning):
    """MCMC diagnostics are off: divergences, R-hat above 1.01 or a low effective sample size."""


class DataNote(UserWarning):
    """The loader assumed or changed something about the user's data (a default chance for
    an unknown task, a model name matched to the models table, models dropped for lacking a
    compute value).  The command line prints it as one ``forecast: note:`` line on stderr."""
