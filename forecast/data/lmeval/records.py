"""Parsing one record of an lm-eval ``samples_*.jsonl`` file: its per-choice responses,
target index, question id, filter and generated text, each refused with one line naming the
file, line and document when malformed."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from forecast.data.lmeval.folders import digits
from forecast.data.readers import iter_jsonl
from forecast.errors import InputError

_INT_RE = re.compile(r"^[+-]?\d+$")
_TRUE_FALSE = {"true", "false"}


def _is_bool_like(x: Any) -> bool:
    return isinstance(x, bool) or (isinstance(x, str) and x.strip().lower() in _TRUE_FALSE)


def choice_entries(record: dict[str, Any]) -> list[Any]:
    """Per-choice ``[loglik, is_greedy]`` (``filtered_resps``, else ``resps[i][0]``)."""
    fr = record.get("filtered_resps")
    if isinstance(fr, list) and fr and all(isinstance(e, list) and len(e) == 2 for e in fr):
        return fr
    resps = record["resps"]
    if not isinstance(resps, list):
        return []
    out = []
    for e in resps:
        if isinstance(e, list) and len(e) == 1 and isinstance(e[0], list):
            out.append(e[0])
        else:
            out.append(e)
    return out


def looks_multiple_choice(record: dict[str, Any]) -> bool:
    entries = choice_entries(record)
    return len(entries) >= 2 and all(
        isinstance(e, list) and len(e) == 2 and _is_bool_like(e[1]) for e in entries
    )


def number(x: Any) -> float | None:
    """A float from a JSON number or a numeric string; None otherwise (bools refused)."""
    if isinstance(x, bool):
        return None
    if isinstance(x, (int, float)):
        return float(x)
    if isinstance(x, str):
        try:
            return float(x.strip())
        except ValueError:
            return None
    return None


def _continuations(record: dict[str, Any]) -> list[str]:
    """The answer text of each choice (second argument of each request), if logged."""
    args = record.get("arguments")
    if isinstance(args, dict):  # newer lm-eval: {"gen_args_0": {"arg_0": ctx, "arg_1": cont}}
        args = [
            [v for _, v in sorted(a.items(), key=lambda kv: digits(kv[0]))]
            if isinstance(a, dict)
            else a
            for _, a in sorted(args.items(), key=lambda kv: digits(kv[0]))
        ]
    out = []
    if isinstance(args, list):
        for a in args:
            if isinstance(a, list) and len(a) >= 2 and isinstance(a[1], str):
                out.append(a[1].strip())
            else:
                return []
    return out


def target_index(raw: Any, record: dict[str, Any], n: int, where: str) -> int:
    doc_id = record.get("doc_id")
    if isinstance(raw, bool):
        raw = None
    index: int | None = None
    if isinstance(raw, int):
        index = raw
    elif isinstance(raw, float) and raw.is_integer():
        index = int(raw)
    elif isinstance(raw, str):
        text = raw.strip()
        if _INT_RE.match(text):
            index = int(text)
        elif text.startswith("[") and text.endswith("]"):
            raise InputError(
                f"{where}: doc_id {doc_id!r} has several correct answers (target {raw!r}); "
                "only one correct choice per question is supported"
            )
        else:
            conts = _continuations(record)
            if len(conts) == n and text in conts:
                index = conts.index(text)
    if index is None:
        raise InputError(
            f"{where}: doc_id {doc_id!r} has target {raw!r}, which is neither a choice index "
            f"nor one of its {n} choices"
        )
    if not 0 <= index < n:
        raise InputError(
            f"{where}: doc_id {doc_id!r} has target {index} out of range for "
            f"{n} choices (valid 0..{n - 1})"
        )
    return index


def _question_id(raw: Any) -> str:
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    text = str(raw).strip()
    return str(int(text)) if _INT_RE.match(text) else text


def claim_doc(seen: dict[tuple[str, str], int], rec: dict, lineno: int, where: str) -> tuple[str, str]:
    """``(question_id, filter)`` of a record, refusing a (doc, filter) seen on an earlier line."""
    qid, filt = _question_id(rec["doc_id"]), _filter_name(rec)
    if (qid, filt) in seen:
        raise InputError(
            f"{where}: doc_id {rec['doc_id']!r} with filter {filt!r} appears again "
            f"(first at line {seen[(qid, filt)]})"
        )
    seen[(qid, filt)] = lineno
    return qid, filt


def iter_records(file: Path):
    """``(lineno, record)`` for each non-blank line, with one-line errors."""
    for lineno, record in iter_jsonl(file):
        for key in ("doc_id", "target", "resps"):
            if key not in record:
                raise InputError(f"{file}:{lineno}: record has no {key!r} key")
        yield lineno, record


def _filter_name(record: dict[str, Any]) -> str:
    value = record.get("filter", "none")
    return "none" if value is None else str(value)


def generated_text(record: dict[str, Any]) -> str | None:
    """The generated answer after the record's filter (``filtered_resps``, else ``resps``)."""
    for key in ("filtered_resps", "resps"):
        value = record.get(key)
        while isinstance(value, list) and len(value) == 1:
            value = value[0]
        if isinstance(value, str):
            return value
    return None


def first_record(file: Path) -> dict[str, Any] | None:
    for _, rec in iter_records(file):
        return rec
    return None
