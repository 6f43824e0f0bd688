"""Facts of the shipped Slice-and-Sandwich data set (``slice_sandwich``: Wu & Lo 2025's
difficulty-group aggregates and whole-task scores) that its files do not hold.

The paper backtests each task at one cut-off placed where it knew the task jumps, plus two
earlier ones; ``--cutoffs paper`` uses them (:data:`PAPER_CUTOFFS`) to compare with its
figures, not for honest headline numbers (the default is the rolling origin).

The paper's code also leaves six models out of fit and test (:data:`PUBLISHED_EXCLUDED`);
:func:`with_paper_exclusions` restores its model set (``--paper-exclusions``).  Both are
importable from :mod:`forecast.data.shipped` too, as before.
"""

from __future__ import annotations

import dataclasses

from forecast.data.dataset import EvalData

#: the shipped data set these facts are about
SLICE_SANDWICH_DATASET = "slice_sandwich"


def flops_1e21(*log10_values: float) -> tuple[float, ...]:
    """Raw FLOPs ``10**v * 1e21`` of log10 values on the paper's FLOPs / 1e21 axis, computed
    like the shipped group horizons (``difficulty_flops_max_1e21``), so that a cut-off at a
    horizon uses that horizon's difficulty groups."""
    return tuple(10.0**v * 1e21 for v in log10_values)


#: the paper's cut-offs per task, raw FLOPs: its headline cut-off and two earlier ones
PAPER_CUTOFFS: dict[str, tuple[float, ...]] = {
    "mmlu": flops_1e21(1.5, 1.1, 1.3),
    "arithmetic": flops_1e21(1.8, 1.4, 1.6),
    "parsinlu_qa_mc": flops_1e21(2.3, 1.9, 2.1),
    # no-emergence controls: their difficulty groups exist only at 10^2.3 (x 1e21 FLOPs)
    "arc": flops_1e21(2.3),
    "hellaswag": flops_1e21(2.3),
}

#: models the Slice-and-Sandwich code leaves out of fit and test (xglm-564M is kept)
PUBLISHED_EXCLUDED = (
    "microsoft/phi-1_5",
    "microsoft/phi-2",
    "Qwen/Qwen1.5-0.5B",
    "Qwen/Qwen1.5-1.8B",
    "Qwen/Qwen1.5-4B",
    "stabilityai/stablelm-2-1_6b",
)


def with_paper_exclusions(data: EvalData) -> EvalData:
    """``data`` without the six models the Slice-and-Sandwich paper leaves out of fit and test.

    The paper dropped them after seeing them (five sit below MMLU's 10^1.5 cut-off with MMLU
    accuracy 0.38-0.57), so they are kept by default; this restores the paper's model set,
    to reproduce its figures (``--paper-exclusions``).
    """
    present = sorted(set(PUBLISHED_EXCLUDED) & set(data.models["model"]))
    if not present:
        return data
    note = f"dropped {', '.join(present)} from fit and test, as the Slice-and-Sandwich paper does"
    return dataclasses.replace(data.drop_models(present), notes=tuple(data.notes) + (note,))
