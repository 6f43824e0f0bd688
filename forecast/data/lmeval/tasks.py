"""The two kinds of lm-eval task a samples file holds, each read into rows of the long table:
multiple-choice (per-choice log-likelihoods, target, ``p_correct``) and free-form
(generated answers scored by per-question metrics)."""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pandas as pd

from forecast.data.lmeval.folders import Run
from forecast.data.lmeval.records import (
    choice_entries,
    claim_doc,
    first_record,
    generated_text,
    iter_records,
    looks_multiple_choice,
    number,
    target_index,
)
from forecast.errors import InputError

#: preferred metrics for ``correct`` of a free-form task, in order
_CORRECT_METRICS = ("exact_match", "acc", "em")


def read_multiple_choice(run: Run, notes: list[str]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    seen: dict[tuple[str, str], int] = {}
    disagree = checked = 0
    for lineno, rec in iter_records(run.file):
        where = f"{run.file}:{lineno}"
        entries = choice_entries(rec)
        if len(entries) < 2:
            raise InputError(
                f"{where}: doc_id {rec['doc_id']!r} has {len(entries)} response(s); a "
                "multiple-choice record needs one [loglik, is_greedy] pair per choice"
            )
        lls = []
        for k, e in enumerate(entries):
            ll = number(e[0]) if isinstance(e, list) and e else None
            if ll is None or math.isnan(ll) or ll == math.inf:
                shown = e[0] if isinstance(e, list) and e else e
                raise InputError(
                    f"{where}: doc_id {rec['doc_id']!r} choice {k}: log-likelihood {shown!r} "
                    "is not a number"
                )
            lls.append(ll)
        n = len(lls)
        target = target_index(rec["target"], rec, n, where)
        arr = np.asarray(lls, dtype=float)
        top = float(arr.max())
        if top == -math.inf:
            raise InputError(f"{where}: doc_id {rec['doc_id']!r}: every log-likelihood is -inf")
        weights = np.exp(arr - top)
        p = float(weights[target] / weights.sum())
        correct = int(int(np.argmax(arr)) == target)
        acc = number(rec.get("acc")) if "acc" in rec else None
        if acc is not None:
            checked += 1
            disagree += int((acc >= 0.5) != bool(correct))
        qid, filt = claim_doc(seen, rec, lineno, where)
        rows.append(
            {
                "task": run.task,
                "question_id": qid,
                "model": run.model,
                "filter": filt,
                "correct": correct,
                "p_correct": p,
                "target": target,
                "n_choices": n,
                "loglik": lls,
                "metric": None,
                "value": np.nan,
                "output": None,
                "target_text": None,
            }
        )
    if disagree:
        note = (
            f"{run.file}: {disagree} of {checked} records have an 'acc' that disagrees with the "
            "arg-max of their log-likelihoods; 'correct' follows the log-likelihoods"
        )
        notes.append(note)
        warnings.warn(note, stacklevel=3)
    return rows


def read_free_form(run: Run, notes: list[str]) -> list[dict[str, Any]]:
    """Generative (and other non-multiple-choice) tasks: one row per metric."""
    records: list[tuple[int, str, str, dict[str, float]]] = []
    texts: dict[tuple[str, str], tuple[str | None, str | None]] = {}
    seen: dict[tuple[str, str], int] = {}
    skipped: set[str] = set()
    for lineno, rec in iter_records(run.file):
        where = f"{run.file}:{lineno}"
        names = rec.get("metrics")
        if not isinstance(names, list):
            names = [k for k in _CORRECT_METRICS if k in rec]
        values: dict[str, float] = {}
        for name in names:
            name = str(name)
            if name not in rec:
                raise InputError(f"{where}: record lists metric {name!r} but has no {name!r} key")
            v = number(rec[name]) if not isinstance(rec[name], bool) else float(rec[name])
            if v is None or not math.isfinite(v):
                skipped.add(name)  # a corpus-level metric (e.g. bleu) logs its inputs
                continue
            values[name] = v
        qid, filt = claim_doc(seen, rec, lineno, where)
        target = rec["target"]
        texts[(qid, filt)] = (generated_text(rec), None if target is None else str(target))
        records.append((lineno, qid, filt, values))
    rows: list[dict[str, Any]] = []
    by_filter: dict[str, list[tuple[int, str, str, dict[str, float]]]] = {}
    for r in records:
        by_filter.setdefault(r[2], []).append(r)
    for filt, recs in by_filter.items():
        order: list[str] = []
        for _, _, _, values in recs:
            order.extend(k for k in values if k not in order)
        binary = [
            k for k in order
            if all(k in v and v[k] in (0.0, 1.0) for _, _, _, v in recs)
        ]
        preferred = [k for k in _CORRECT_METRICS if k in binary]
        pick = preferred[0] if preferred else (binary[0] if binary else None)
        if pick is None:
            raise InputError(
                f"{run.file}: task {run.task!r} (filter {filt!r}) has no per-question 0/1 metric "
                f"such as exact_match to use as 'correct' (metrics: {', '.join(order) or 'none'}); "
                "leave it out with tasks=[...]"
            )
        for _, qid, _, values in recs:
            for metric, value in values.items():
                rows.append(
                    {
                        "task": run.task,
                        "question_id": qid,
                        "model": run.model,
                        "filter": filt,
                        "correct": int(values[pick]),
                        "p_correct": np.nan,
                        "target": pd.NA,
                        "n_choices": pd.NA,
                        "loglik": None,
                        "metric": metric,
                        "value": value,
                        "output": texts[(qid, filt)][0],
                        "target_text": texts[(qid, filt)][1],
                    }
                )
    if skipped:
        notes.append(
            f"{run.file}: non-numeric per-question metric(s) {', '.join(sorted(skipped))} "
            "left out (corpus-level metrics)"
        )
    return rows


def is_multiple_choice(run: Run) -> bool:
    if run.output_type is not None:
        return run.output_type == "multiple_choice"
    first = first_record(run.file)
    return first is not None and looks_multiple_choice(first)
