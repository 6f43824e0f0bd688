"""The fixtures of :func:`forecast.testing.check_forecaster`: small data of every kind, and
the changes the leak check makes to them.

:data:`FIXTURES` names them (the table of :mod:`forecast.testing`); :func:`make_fixture`
builds one fresh on each call (no module-level cache); :func:`write_lmeval_folder` writes
the lm-evaluation-harness folder the ``lmeval`` fixture loads; :func:`held_out_rows` and
:func:`perturb` are the leak check's: the models a fit at a cut-off must never read, and
their rows changed.
"""

from __future__ import annotations

import dataclasses
import json
import math
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from forecast.data.dataset import EvalData
from forecast.errors import InputError

#: the fixture names, in table order
FIXTURES = ("per_question", "per_question_probs", "lmeval", "group", "task_level", "ladder", "sampled",
            "digits")

#: the tasks each fixture keeps (small: the whole check of every method runs in CI)
BIGG_TASKS = ("hindu_knowledge", "qa_wikidata", "modified_arithmetic")
GROUP_TASKS = ("arithmetic", "mmlu")
LADDER_TASKS = ("arc_easy:test:rc:5", "hellaswag:val:rc:5")
#: GSM8K and five standard benchmarks (the inputs of observational scaling's components)
FAMILY_TASKS = ("GSM8K", "MMLU", "ARC-C", "HellaSwag", "Winograd", "TruthfulQA")
#: the model families of the task-level fixture (the six with the most models)
FAMILIES = ("Pythia", "OPT", "Qwen1.5", "Cerebras-GPT", "BLOOM", "GPT-Neo/J")
PYTHIA = (("70m", 7e7), ("160m", 1.6e8), ("410m", 4.1e8), ("1b", 1e9), ("1.4b", 1.4e9), ("2.8b", 2.8e9),
          ("6.9b", 6.9e9), ("12b", 1.2e10))


def subset(data: EvalData, tasks: Sequence[str]) -> EvalData:
    """``data`` with only ``tasks`` (every table; the models with any row left)."""
    keep = set(tasks)
    missing = sorted(keep - set(data.task_names))
    if missing:
        raise InputError(f"{data.name}: unknown task {missing[0]!r}")
    pick = {}
    for label in ("results", "groups", "scores", "steps"):
        table = getattr(data, label)
        pick[label] = None if table is None else table[table["task"].isin(keep)].reset_index(drop=True)
    used = set().union(*(set(t["model"]) for t in pick.values() if t is not None))
    models = data.models[data.models["model"].isin(used)].reset_index(drop=True)
    return dataclasses.replace(data, models=models, tasks=data.tasks[data.tasks["task"].isin(keep)]
                               .reset_index(drop=True), **pick)


def _with_results(data: EvalData, results: pd.DataFrame, name: str) -> EvalData:
    """``data`` with a new results table, validated as a user's would be."""
    return EvalData.from_frames(data.models, data.tasks, results=results, name=name, axis=data.axis)


def _probs_fixture() -> EvalData:
    from forecast.data.shipped import load_dataset

    bigg = subset(load_dataset("bigbench_bigg"), BIGG_TASKS)
    r = bigg.results.copy()
    rng = np.random.default_rng(0)
    # a probability of the correct answer that agrees with the 0/1 grade, and its 4 choices'
    # log-likelihoods (JSON text, the stored form of an ingested CSV)
    p = np.clip(np.where(r["correct"] > 0, 0.55, 0.15) + rng.uniform(-0.1, 0.1, len(r)), 0.01, 0.99)
    r["p_correct"] = p
    r["loglik"] = [json.dumps([round(math.log(q), 6)] + [round(math.log((1 - q) / 3), 6)] * 3) for q in p]
    return _with_results(bigg, r, "per_question_probs")


def _sampled_fixture() -> EvalData:
    from forecast.data.shipped import load_dataset

    bigg = subset(load_dataset("bigbench_bigg"), BIGG_TASKS)
    r = bigg.results[["task", "question_id", "model", "correct"]].copy()
    rng = np.random.default_rng(1)
    r["n_samples"] = 5
    r["n_correct"] = rng.binomial(5, np.where(r["correct"] > 0, 0.8, 0.2))
    return _with_results(bigg, r.drop(columns="correct"), "sampled")


def write_lmeval_folder(path: str | Path, n_mc: int = 24, n_gen: int = 12, seed: int = 0) -> Path:
    """Write an lm-evaluation-harness ``--log_samples`` folder of the eight Pythia models of
    :data:`PYTHIA`: one multiple-choice task (``arc_easy``, 4 choices, per-choice
    log-likelihoods) and one generated task (``gsm8k``, ``exact_match``), accuracy rising
    with size.  Returns ``path``."""
    root = Path(path)
    rng = np.random.default_rng(seed)
    ts = "2024-05-01T10-00-00.000001"
    difficulty_mc = rng.uniform(-2.0, 2.0, n_mc)
    difficulty_gen = rng.uniform(-1.0, 3.0, n_gen)
    for size, params in PYTHIA:
        name = f"EleutherAI/pythia-{size}"
        folder = root / name.replace("/", "__")
        folder.mkdir(parents=True, exist_ok=True)
        skill = 1.2 * (math.log10(params) - 9.0)
        mc, gen = [], []
        for doc in range(n_mc):
            gold = int(doc % 4)
            p = 1.0 / (1.0 + math.exp(-(skill - difficulty_mc[doc])))
            right = bool(rng.uniform() < 0.25 + 0.75 * p)
            ll = [float(round(-1.0 - rng.uniform(0.0, 2.0), 4)) for _ in range(4)]
            best = max(ll) + 0.5
            if right:
                ll[gold] = best
            else:
                ll[(gold + 1) % 4] = best
            mc.append({
                "doc_id": doc, "doc": {"question": f"q{doc}?", "choices": list("ABCD")},
                "target": str(gold),
                "arguments": [[f"Question: q{doc}?\nAnswer:", f" {c}"] for c in "ABCD"],
                "resps": [[[str(x), "False"]] for x in ll],
                "filtered_resps": [[str(x), "False"] for x in ll],
                "filter": "none", "metrics": ["acc"], "acc": float(right),
            })
        for doc in range(n_gen):
            p = 1.0 / (1.0 + math.exp(-(skill - difficulty_gen[doc])))
            right = bool(rng.uniform() < p)
            answer = str(doc + 10)
            said = answer if right else str(doc + 11)
            gen.append({
                "doc_id": doc, "doc": {"question": f"sum {doc}?", "answer": f"#### {answer}"},
                "target": f"#### {answer}",
                "arguments": [[f"Question: sum {doc}?\nAnswer:", {"until": ["Question:"]}]],
                "resps": [[f"#### {said}"]], "filtered_resps": [said],
                "filter": "strict-match", "metrics": ["exact_match"], "exact_match": float(right),
            })
        for task, recs in (("arc_easy", mc), ("gsm8k", gen)):
            with open(folder / f"samples_{task}_{ts}.jsonl", "w", encoding="utf-8") as fh:
                for rec in recs:
                    fh.write(json.dumps(rec) + "\n")
        results = {
            "results": {"arc_easy": {"alias": "arc_easy", "acc,none": float(np.mean([r["acc"] for r in mc]))},
                        "gsm8k": {"alias": "gsm8k",
                                  "exact_match,strict-match": float(np.mean([r["exact_match"] for r in gen]))}},
            "configs": {"arc_easy": {"task": "arc_easy", "output_type": "multiple_choice"},
                        "gsm8k": {"task": "gsm8k", "output_type": "generate_until"}},
            "config": {"model": "hf", "model_args": f"pretrained={name}"},
            "model_name": name,
        }
        (folder / f"results_{ts}.json").write_text(json.dumps(results), encoding="utf-8")
    return root


def make_fixture(name: str, workdir: str | Path | None = None) -> EvalData:
    """The fixture ``name`` of :data:`FIXTURES` (``workdir``: where the lm-eval folder is
    written; default a temporary folder)."""
    from forecast.data.loading import load_data
    from forecast.data.shipped import load_dataset

    if name == "per_question":
        return dataclasses.replace(subset(load_dataset("bigbench_bigg"), BIGG_TASKS), name="per_question")
    if name == "per_question_probs":
        return _probs_fixture()
    if name == "lmeval":
        root = Path(workdir) if workdir is not None else Path(tempfile.mkdtemp(prefix="forecast-lmeval-"))
        folder = write_lmeval_folder(root / "lmeval")
        return load_data(str(folder))
    if name == "group":
        return subset(load_dataset("slice_sandwich"), GROUP_TASKS)
    if name == "task_level":
        data = subset(load_dataset("obsscaling"), FAMILY_TASKS)
        return data.drop_models(set(data.models.loc[~data.models["family"].isin(FAMILIES), "model"]))
    if name == "ladder":
        return subset(load_dataset("olmo_ladder"), LADDER_TASKS)
    if name == "sampled":
        return _sampled_fixture()
    if name == "digits":
        return load_dataset("digits")
    raise InputError(f"unknown fixture {name!r} (known: {', '.join(FIXTURES)})")


#: the task each fixture's checks forecast (None: its first task)
CHECK_TASK = {"per_question": "hindu_knowledge", "per_question_probs": "hindu_knowledge",
              "sampled": "hindu_knowledge", "group": "arithmetic", "task_level": "GSM8K",
              "ladder": "arc_easy:test:rc:5", "lmeval": None, "digits": None}


# ---------------------------------------------------------------------------- the leak check's changes


def held_out_rows(data: EvalData, cutoff: float, task: str | None) -> set[str]:
    """The models whose rows a fit at ``cutoff`` must never read (what ``restrict`` drops)."""
    try:
        kept = data.restrict(cutoff)
    except InputError:  # the tasks mix compute scales: the task's own
        kept = data.restrict(cutoff, task)
    return set(data.models["model"]) - set(kept.models["model"])


def perturb(data: EvalData, models: set[str], seed: int = 0) -> EvalData:
    """``data`` with every row of ``models`` changed: 0/1 grades flipped, probabilities and
    scores moved, sampled counts reversed, checkpoints' scores moved."""
    rng = np.random.default_rng(seed)
    pick = {}
    for label in ("results", "groups", "scores", "steps"):
        table = getattr(data, label)
        if table is None:
            pick[label] = None
            continue
        t = table.copy()
        rows = t["model"].isin(models).to_numpy()
        if rows.any():
            if "correct" in t.columns:
                t.loc[rows, "correct"] = 1 - t.loc[rows, "correct"]
            if "p_correct" in t.columns:
                t.loc[rows, "p_correct"] = 1.0 - t.loc[rows, "p_correct"]
            if "n_correct" in t.columns:
                t.loc[rows, "n_correct"] = t.loc[rows, "n_samples"] - t.loc[rows, "n_correct"]
            for col in ("value", "accuracy", "bpb", "soft_prob", "soft_log_prob"):
                if col in t.columns:
                    v = pd.to_numeric(t.loc[rows, col], errors="coerce").to_numpy(dtype=float)
                    t.loc[rows, col] = v * rng.uniform(0.3, 0.7, v.size) + 0.1
        pick[label] = t
    return dataclasses.replace(data, **pick)


__all__ = ["FIXTURES", "CHECK_TASK", "make_fixture", "write_lmeval_folder", "perturb", "held_out_rows", "subset"]
