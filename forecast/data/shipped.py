"""The datasets shipped inside the package (``datasets/`` in the source tree).

They are installed as package data under ``forecast.datasets`` and read with
:mod:`importlib.resources`, so they load after a plain ``pip install .``.

=================  ==============================================================
name               what it holds
=================  ==============================================================
``bigbench_bigg``  BIG-bench per-question 0/1 correctness of the 12 BIG-G sizes
                   (2M-128B parameters, 3-shot, 66 tasks). Scale: parameters.
``slice_sandwich`` The Slice-and-Sandwich paper's difficulty-group aggregates and
                   whole-task scores (MMLU, arithmetic, parsinlu_qa_mc, ARC,
                   HellaSwag) for about 65 open models. Scale: training FLOPs.
``digits``         Per-image class probabilities of 10 scikit-learn MLPs of growing
                   width trained here on sklearn's handwritten digits (accuracy
                   0.24-0.96); regenerate with ``scripts/make_digits.py``. Scale:
                   FLOPs = 6·N·D, D = training examples × epochs (same D for all).
``olmo_ladder``    AI2's OLMo-2 model ladder (task level): 190M-3B runs at
                   0.5-10x Chinchilla tokens, every checkpoint, and the 7B / 13B
                   targets; accuracy, bpb, soft_prob. Scale: AI2's training FLOPs.
``olmo_ladder_paper``  The same, with only the ladder paper's 16 runs (190M-1B at
                   1-10x Chinchilla) and the targets.
``obsscaling``     Observational scaling (Ruan et al. 2024, task level): 123 public base
                   models of many families with training FLOPs; 8 standard benchmarks,
                   BIG-bench "emergent" tasks (2-shot), Open LLM Leaderboard v2 tasks.
                   Scale: training FLOPs (:mod:`forecast.data.obsscaling`).
``pythia``         EleutherAI's lm-eval results of the Pythia v1 suite (task level):
                   8 sizes 70M-12B, 0- and 5-shot, MMLU's 57 subjects (and their
                   average), ARC, LAMBADA, PIQA, SciQ, WinoGrande, LogiQA, WSC, every
                   checkpoint as steps. Scale: FLOPs = 6 N D, N total parameters
                   (:mod:`forecast.data.pythia`).
``pythia_deduped`` The same for the Pythia family trained on the deduplicated Pile.
=================  ==============================================================
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.resources
import warnings
from dataclasses import replace
from importlib.resources.abc import Traversable
from pathlib import Path

import numpy as np
import pandas as pd

from forecast.data.bigg import BIGG_DATASET as BIGG
from forecast.data.dataset import EvalData
from forecast.data.obsscaling import OBSSCALING, SCORES_FILE, TASKS_FILE, load_obsscaling
from forecast.data.pythia import EVALS_FILE as PYTHIA_EVALS_FILE
from forecast.data.pythia import FOLDER as PYTHIA_FOLDER
from forecast.data.pythia import load_pythia
from forecast.data.slice_sandwich import PUBLISHED_EXCLUDED, with_paper_exclusions  # noqa: F401 (old names)
from forecast.data.slice_sandwich import SLICE_SANDWICH_DATASET as SLICE_SANDWICH
from forecast.errors import DataNote, InputError

#: the shipped data sets' names (BIG-G's and Slice-and-Sandwich's are declared with their facts)
DIGITS = "digits"
OLMO_LADDER = "olmo_ladder"
OLMO_LADDER_PAPER = "olmo_ladder_paper"
PYTHIA = "pythia"
PYTHIA_DEDUPED = "pythia_deduped"

DESCRIPTIONS = {
    BIGG: "BIG-bench per-question correctness, BIG-G dense family (12 sizes, params scale)",
    SLICE_SANDWICH: "Slice-and-Sandwich (Wu & Lo 2025) difficulty groups + whole-task scores (FLOPs scale)",
    DIGITS: "sklearn digits, 10 MLPs trained here, per-image class probabilities (FLOPs = 6ND scale)",
    OLMO_LADDER: "AI2 OLMo-2 model ladder, task level: 25 runs 190M-3B + 7B/13B targets, checkpoints (FLOPs scale)",
    OLMO_LADDER_PAPER: "olmo_ladder with the ladder paper's 16 runs (190M-1B x 1-10xC) + targets (FLOPs scale)",
    OBSSCALING: "Observational scaling (Ruan et al. 2024): 123 public base models, 39 families, 22 benchmarks (FLOPs scale)",
    PYTHIA: "EleutherAI Pythia v1 (Pile), lm-eval task level: 8 sizes 70M-12B, 0/5-shot, MMLU subjects + 8 tasks, checkpoints (FLOPs = 6ND)",
    PYTHIA_DEDUPED: "Pythia v1 trained on the deduplicated Pile: same sizes, tasks and checkpoints as pythia (FLOPs = 6ND)",
}


def data_dir() -> Traversable:
    """Folder of the shipped files (installed package data, or ``datasets/`` in a checkout)."""
    # files("forecast") / "datasets", not files("forecast.datasets"): importing the data
    # folder as a module would rebind ``forecast.datasets`` (the listing function) to it
    root = importlib.resources.files("forecast").joinpath("datasets")
    if root.joinpath("models.csv").is_file():
        return root
    checkout = Path(__file__).resolve().parents[2] / "datasets"
    if (checkout / "models.csv").is_file():
        return checkout
    raise InputError("the shipped datasets are missing from this installation (forecast.datasets)")


def shipped_file(name: str) -> Traversable:
    """A shipped file by name."""
    path = data_dir().joinpath(name)
    if not (path.is_file() or path.is_dir()):
        raise InputError(f"shipped file {name!r} is missing from this installation")
    return path


def read_shipped_csv(name: str) -> pd.DataFrame:
    """A shipped CSV file (plain or gzipped) by name."""
    with importlib.resources.as_file(shipped_file(name)) as path:
        return pd.read_csv(path)


@functools.cache
def shipped_models() -> pd.DataFrame:
    """The shipped models table in canonical form (raw FLOPs)."""
    raw = read_shipped_csv("models.csv")
    out = raw.rename(columns={"flops_1e21": "flops"})
    out["flops"] = out["flops"] * 1e21
    keep = ["model", "family", "params", "tokens", "flops", "company", "release_yyyymm"]
    return out[keep]


@functools.cache
def shipped_tasks() -> pd.DataFrame:
    """The shipped task info (only the leak-free columns)."""
    return read_shipped_csv("tasks.csv")[["task", "format", "n_choices", "chance"]]


def _load_bigg() -> EvalData:
    raw = read_shipped_csv("bigbench_bigg_per_item.csv.gz")
    results = pd.DataFrame(
        {
            "task": raw["task"],
            "question_id": raw["item_index"].astype(str),
            "model": raw["model"],
            "correct": raw["correct"],
        }
    )
    models = shipped_models()
    models = models[models["model"].isin(set(results["model"]))]
    tasks = shipped_tasks()
    tasks = tasks[tasks["task"].isin(set(results["task"]))]
    return EvalData.from_frames(models, tasks, results=results, name=BIGG)


def _load_slice_sandwich() -> EvalData:
    groups = read_shipped_csv("expemergence_group_scores.csv.gz")
    groups = groups.drop(columns=["source_file", "q_start", "q_end"])
    scores = read_shipped_csv("expemergence_overall_scores.csv")
    models = shipped_models()
    used = set(groups["model"]) | set(scores["model"])
    models = models[models["model"].isin(used)]
    no_flops = sorted(models.loc[models["flops"].isna(), "model"])
    notes = (
        f"dropped {len(no_flops)} models without training FLOPs ({', '.join(no_flops)}): "
        "one fit cannot mix FLOPs and parameter counts",
    )
    tasks = shipped_tasks()
    tasks = tasks[tasks["task"].isin(set(scores["task"]))]
    data = EvalData.from_frames(
        models, tasks, groups=groups, scores=scores, name=SLICE_SANDWICH, notes=notes
    )
    return data.drop_models(set(no_flops))


def _load_digits() -> EvalData:
    probs = read_shipped_csv("digits_probs.csv.gz")
    models = read_shipped_csv("digits_models.csv")
    p = probs[[f"p_{k}" for k in range(10)]].to_numpy(dtype=float)
    label = probs["label"].to_numpy(dtype=int)
    with np.errstate(divide="ignore"):
        loglik = np.log(p)
    results = pd.DataFrame(
        {
            "task": DIGITS,
            "question_id": probs["image"].astype(str),
            "model": probs["model"],
            "correct": (p.argmax(axis=1) == label).astype(int),
            "p_correct": p[np.arange(len(p)), label] / p.sum(axis=1),
            "target": label,
            "loglik": list(loglik),
        }
    )
    tasks = pd.DataFrame(
        {"task": [DIGITS], "format": ["multiple_choice"], "n_choices": [10], "chance": [0.1]}
    )
    return EvalData.from_frames(
        models[["model", "family", "params", "tokens", "flops"]], tasks, results=results, name=DIGITS,
        notes=("digits: MLPs trained by scripts/make_digits.py; FLOPs = 6·params·(n_train × epochs)",),
    )

def _load_olmo_ladder(config: str = "all") -> EvalData:
    from forecast.data.ladder import ladder_config, read_ladder

    folder = shipped_file("olmo_ladder")
    with importlib.resources.as_file(folder.joinpath("olmo_ladder_final.csv.gz")) as final, \
            importlib.resources.as_file(folder.joinpath("olmo_ladder_steps.csv.gz")) as steps:
        data = read_ladder(final, steps=steps, name=OLMO_LADDER)
    if config == "all":
        return data
    return replace(ladder_config(data, config), name=OLMO_LADDER_PAPER)


def _load_obsscaling() -> EvalData:
    return load_obsscaling(read_shipped_csv(SCORES_FILE), shipped_models(), read_shipped_csv(TASKS_FILE))


def pythia_frame() -> pd.DataFrame:
    """The shipped Pythia evaluations as they are (every eval run and variant)."""
    return read_shipped_csv(f"{PYTHIA_FOLDER}/{PYTHIA_EVALS_FILE}")


def _load_pythia(name: str) -> EvalData:
    return load_pythia(pythia_frame(), name)


_LOADERS = {
    BIGG: _load_bigg,
    SLICE_SANDWICH: _load_slice_sandwich,
    OLMO_LADDER: _load_olmo_ladder,
    OLMO_LADDER_PAPER: lambda: _load_olmo_ladder("paper"),
    DIGITS: _load_digits,
    OBSSCALING: _load_obsscaling,
    PYTHIA: lambda: _load_pythia(PYTHIA),
    PYTHIA_DEDUPED: lambda: _load_pythia(PYTHIA_DEDUPED),
}


def dataset_names() -> list[str]:
    """Names of the shipped datasets."""
    return list(_LOADERS)


@functools.cache
def load_dataset(name: str) -> EvalData:
    """Load a shipped dataset by name (cached; the tables are not to be modified).

    Raises
    ------
    InputError
        For an unknown name.
    """
    if name not in _LOADERS:
        raise InputError(f"unknown dataset {name!r} (shipped: {', '.join(_LOADERS)})")
    return _LOADERS[name]()


def datasets() -> pd.DataFrame:
    """One row per shipped dataset: name, kind, tasks, models, rows, description.

    The loaders' notes (:class:`~forecast.errors.DataNote`: rows left out, defaults
    assumed) are not said here: a listing is not a load.  They are said where one data set
    is loaded (:func:`load_dataset`, ``forecast fit NAME``) and kept in ``EvalData.notes``;
    the listing reads each data set outside :func:`load_dataset`'s cache, so that a later
    load still says them.
    """
    rows = []
    for name, loader in _LOADERS.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataNote)
            info = loader().summary()
        info["description"] = DESCRIPTIONS[name]
        rows.append(info)
    return pd.DataFrame(rows)
