"""Facts of the shipped BIG-G data set (``bigbench_bigg``) that its backtests report by.

Its 66 tasks are split in two fixed halves by a hash of the task name: a *tuning* half (the
only place a setting could be chosen by hand, with models up to 1B parameters) and an
*evaluation* half, reported at cut-offs of 1B and more (the headline).  Both were fixed
before any forecast was scored.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable

#: the shipped data set these facts are about
BIGG_DATASET = "bigbench_bigg"
#: the cut-off (parameters) separating the tuning cut-offs from the headline ones
HEADLINE_CUTOFF = 1e9


def bigg_half(task: str) -> str:
    """``"tuning"`` or ``"evaluation"``: the fixed half of the BIG-G tasks a task is in
    (crc32 of its name, even = tuning)."""
    return "tuning" if zlib.crc32(task.encode("utf-8")) % 2 == 0 else "evaluation"


def _at_least_headline(cutoff: float) -> bool:
    return cutoff >= HEADLINE_CUTOFF * (1 - 1e-9)


def _at_most_headline(cutoff: float) -> bool:
    return cutoff <= HEADLINE_CUTOFF * (1 + 1e-9)


def bigg_subsets(tasks: Iterable[str]) -> list[tuple[str, frozenset[str], Callable[[float], bool]]]:
    """``(name, tasks, cut-offs kept)``: the evaluation half at cut-offs >= 1B (the headline)
    and the tuning half at <= 1B."""
    tasks = set(tasks)
    out = []
    for half, name, keep in (("evaluation", "eval_half_1B+", _at_least_headline),
                             ("tuning", "tune_half_<=1B", _at_most_headline)):
        part = frozenset(t for t in tasks if bigg_half(t) == half)
        if part and part != tasks:
            out.append((name, part, keep))
    return out
