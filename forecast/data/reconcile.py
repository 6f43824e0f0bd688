"""Reconcile a user's results with the models and task tables, saying what was assumed.

Three things stop a first run on one's own data; each is settled here with one note
(:class:`~forecast.errors.DataNote`) instead of a refusal where a safe default exists:

* **model names** — a name that differs from the models table only by case, a missing
  Hugging Face organisation or a ``-hf`` suffix is read as the one table entry it matches
  (``pythia-1b-deduped`` → ``EleutherAI/pythia-1b-deduped``; ``EleutherAI/pythia-1b`` stays
  a different model; ``myorg/pythia-1b`` matches nothing: another organisation's model).  A name that matches nothing is refused, naming the closest known
  names and ``--models``.
* **task info** — a task in no task table gets chance 0 (its format is unknown);
  ``--task-info`` overrides it.  A task whose results give the number of choices (lm-eval
  logs, an ``n_choices`` column) gets ``1/n``, one with generated answers 0, with a note too.
* **compute axis** — a fit uses one axis: training FLOPs (``6·N·D`` where only parameters
  and tokens are known) or parameters.  When some models have FLOPs and others only
  parameters, FLOPs are used and the others are dropped with a note naming them;
  ``compute="params"`` (``--compute params``) puts every model on the parameter axis instead.
"""

from __future__ import annotations

import difflib
import re
import warnings

import numpy as np
import pandas as pd

from forecast.errors import DataNote, InputError

#: the compute axes a user may ask for (``None``: FLOPs when any model has them)
COMPUTE_AXES = ("flops", "params")


def note(message: str) -> str:
    """Emit ``message`` as a :class:`DataNote` and return it (for ``EvalData.notes``)."""
    warnings.warn(message, DataNote, stacklevel=3)
    return message


def name_key(name: str) -> str:
    """The part of a model name that identifies it: no organisation prefix, no ``-hf``
    suffix, lower case (``meta-llama/Llama-2-7b-hf`` → ``llama-2-7b``)."""
    key = str(name).strip().rsplit("/", 1)[-1].lower()
    return re.sub(r"[-_]hf$", "", key)


def organisation(name: str) -> str | None:
    """The Hugging Face organisation of a model name, lower case (``None`` without one)."""
    parts = str(name).strip().rsplit("/", 1)
    return parts[0].lower() if len(parts) == 2 else None


def _listing(names: list[str], limit: int = 3, quote: bool = True) -> str:
    shown = ", ".join(repr(n) if quote else n for n in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def resolve_model_names(
    used: set[str], known: pd.Series, source: str, models_given: bool
) -> tuple[dict[str, str], list[str]]:
    """Map each model name of the data to a models-table entry.

    Parameters
    ----------
    used
        Model names in the user's results.
    known
        The models table's ``model`` column.
    source
        The data's label, for messages.
    models_given
        Whether the user passed ``--models`` (the hint then says to add rows to it).

    Returns
    -------
    renames, notes
        ``{name in data: name in table}`` for names matched loosely, and the notes said.

    Raises
    ------
    InputError
        A name matches no entry, or more than one: the message names it, the closest known
        names and ``--models``.
    """
    known_names = [str(n) for n in known]
    exact = set(known_names)
    by_key: dict[str, list[str]] = {}
    for name in known_names:
        by_key.setdefault(name_key(name), []).append(name)
    renames: dict[str, str] = {}
    missing: list[str] = []
    for name in sorted(used - exact):
        org = organisation(name)  # another organisation's model of the same name is another model
        matches = [m for m in by_key.get(name_key(name), []) if org is None or organisation(m) == org]
        if len(matches) == 1 and matches[0] not in used:
            renames[name] = matches[0]
        else:
            missing.append(name)
    if missing:
        first = missing[0]
        close = difflib.get_close_matches(first, known_names, n=3, cutoff=0.6) or [
            name for key in difflib.get_close_matches(name_key(first), list(by_key), n=3, cutoff=0.6)
            for name in by_key[key]
        ][:3]
        close_text = f"closest known: {', '.join(close)}; " if close else ""
        where = "add it to your --models table" if models_given else "pass --models FILE"
        more = f" (and {len(missing) - 1} more: {_listing(missing[1:])})" if len(missing) > 1 else ""
        raise InputError(
            f"{source}: model {first!r} is not in the models table{more}; {close_text}{where} "
            "with columns model, params, tokens (or flops), raw counts"
        )
    notes = []
    if renames:
        pairs = [f"{a!r} as {b!r}" for a, b in renames.items()]
        notes.append(note(f"{source}: read model {_listing(pairs, quote=False)} (names in the models table)"))
    return renames, notes


def default_task_info(missing: list[str], source: str) -> tuple[pd.DataFrame, list[str]]:
    """Chance 0 for tasks no task table knows, with one note naming them and the override."""
    rows = pd.DataFrame({"task": missing, "format": "generative", "n_choices": np.nan, "chance": 0.0})
    if not missing:
        return rows, []
    message = (
        f"{source}: assumed chance 0 for task {_listing(missing)} (format unknown); "
        "pass --task-info FILE (columns task, format, n_choices, chance) to set it"
    )
    return rows, [note(message)]


def derived_task_note(derived: pd.DataFrame, source: str) -> list[str]:
    """One note for the tasks whose chance was read off the results (``1/n`` from the number
    of choices, 0 for generated answers), naming them and the override."""
    if derived.empty:
        return []
    parts = [f"{c:.3g} for {t!r}" for t, c in zip(derived["task"], derived["chance"])]
    return [note(f"{source}: chance {_listing(parts, quote=False)} read off the results "
                 "(1/number of choices; 0 for generated answers); pass --task-info FILE to change it")]


def choose_compute_axis(
    models: pd.DataFrame, compute: str | None, source: str
) -> tuple[pd.DataFrame, str, list[str], list[str]]:
    """Put every model of ``models`` on one compute axis.

    Parameters
    ----------
    models
        The validated models table of the models the data use (``flops`` already filled
        with ``6·params·tokens`` where both are known).
    compute
        ``"flops"``, ``"params"`` or ``None`` (FLOPs when any model has them, else
        parameters).
    source
        The data's label, for messages.

    Returns
    -------
    models, axis, dropped, notes
        The models with a value on the chosen axis, the axis, the models left out, and the
        notes said.
    """
    if compute is not None and compute not in COMPUTE_AXES:
        raise InputError(f"--compute must be one of {', '.join(COMPUTE_AXES)}, got {compute!r}")
    has_flops = models["flops"].notna()
    has_params = models["params"].notna()
    if compute is None:
        compute = "flops" if has_flops.any() else "params"
    keep = has_flops if compute == "flops" else has_params
    out = models
    dropped = sorted(out.loc[~keep, "model"].astype(str))
    notes = []
    if dropped:
        if keep.sum() == 0:
            raise InputError(f"{source}: no model has {compute}; use --compute "
                             f"{'params' if compute == 'flops' else 'flops'} or add {compute} to --models")
        other = "params" if compute == "flops" else "flops"
        lacking = "training FLOPs (or tokens)" if compute == "flops" else "a parameter count"
        notes.append(note(
            f"{source}: left out {len(dropped)} model(s) without {lacking}: {_listing(dropped)}; "
            f"fitting on the {compute} axis (--compute {other} to use the other axis)"
        ))
    return out[keep].reset_index(drop=True), compute, dropped, notes
