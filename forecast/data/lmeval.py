"""Read lm-evaluation-harness (0.4.x) output folders written with ``--log_samples``.

lm-eval writes, for every model, a folder ``{output_path}/{model_dir}`` (``model_dir`` is the
model name with ``/`` turned into ``__``) holding::

    results_{timestamp}.json                 aggregated scores and the run's configuration
    samples_{task}_{timestamp}.jsonl         one JSON record per (document, filter)

with ``timestamp`` like ``2024-05-01T10-00-00.123456``. A samples record carries ``doc_id``,
``doc``, ``target``, ``arguments``, ``resps``, ``filtered_resps``, ``filter``, ``metrics``
(the metric names) and one key per metric. lm-eval turns every leaf of ``resps`` and
``filtered_resps`` (and ``target``) into a string, so a multiple-choice record looks like
``"resps": [[["-1.23", "False"]], [["-0.50", "True"]], ...]`` (one entry per choice) and a
generative one like ``"resps": [["The answer is 18."]]``.

:func:`read_lmeval` turns such a folder into the package's per-question long table:

* multiple-choice tasks: one row per (task, model, document, filter) with the per-choice
  log-likelihoods ``loglik``, the ``target`` index, ``n_choices``, ``correct`` (1 when the
  arg-max log-likelihood is the target, as lm-eval's ``acc``) and the target-conditioned
  probability ``p_correct = exp(l_t) / sum_k exp(l_k)`` (computed stably);
* generative tasks (and any task that is not multiple-choice): one row per
  (task, model, document, filter, metric) with ``metric``/``value`` and ``correct`` taken
  from ``exact_match`` (else the first metric whose values are all 0 or 1); ``p_correct``
  is NaN; ``output`` holds the generated answer (after the record's filter) and
  ``target_text`` the target string, so exact match and token edit distance can be
  recomputed from the same outputs (:mod:`forecast.mirage`).

Rules
-----
* Model name: ``model_name`` of the run's ``results_*.json`` (the one with the same
  timestamp as the samples file, else the newest in the folder) when present and non-empty;
  else the ``pretrained=`` (or ``model=``) entry of ``config.model_args`` (a ``"k=v,k=v"``
  string or a dict); else the folder name with ``__`` turned back into ``/``.
* Several runs of the same task for the same model (several timestamps): only the newest
  ``samples_*.jsonl`` file (by the timestamp in its name) is read; the older ones are listed
  in ``df.attrs["notes"]`` and by :func:`list_lmeval_runs` (column ``used``).
* Multiple- versus free-form: the task's ``output_type`` in ``results_*.json`` when known,
  else the shape of the responses (pairs ``[loglik, is_greedy]`` for two or more choices).
* A record's ``acc`` is cross-checked against the arg-max of the log-likelihoods; when they
  disagree the log-likelihoods win and a note is added to ``df.attrs["notes"]``.

Nothing read is evaluated or unpickled: files are parsed with :mod:`json` only.
"""

from __future__ import annotations

import json
import math
import re
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from forecast.data.readers import iter_jsonl
from forecast.data.schema import validate_results
from forecast.errors import InputError

#: column order of the table :func:`read_lmeval` returns
COLUMNS = (
    "task",
    "question_id",
    "model",
    "filter",
    "correct",
    "p_correct",
    "target",
    "n_choices",
    "loglik",
    "metric",
    "value",
    "output",
    "target_text",
)

_TIMESTAMP = r"\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}(?:\.\d+)?"
_SAMPLES_RE = re.compile(rf"^samples_(?P<task>.+?)(?:_(?P<ts>{_TIMESTAMP}))?\.jsonl$")
_RESULTS_RE = re.compile(rf"^results(?:_(?P<ts>{_TIMESTAMP}))?\.json$")
_INT_RE = re.compile(r"^[+-]?\d+$")
_TRUE_FALSE = {"true", "false"}
#: preferred metrics for ``correct`` of a free-form task, in order
_CORRECT_METRICS = ("exact_match", "acc", "em")
_MODEL_ARG_KEYS = ("pretrained", "model")


@dataclass(frozen=True)
class _Run:
    """One ``samples_*.jsonl`` file and what its folder says about it."""

    file: Path
    model_dir: str
    model: str
    task: str
    timestamp: str  # "" when the file name carries none
    output_type: str | None  # from results_*.json configs, when known


# ---------------------------------------------------------------------------- discovery
def _digits(text: str | None) -> tuple[int, ...]:
    """The runs of digits in ``text`` as integers (``""``/None gives ``()``)."""
    return tuple(int(x) for x in re.findall(r"\d+", text or ""))


def _timestamp_key(ts: str | None) -> tuple[float, ...]:
    """Sortable key of an lm-eval timestamp (a missing one sorts oldest)."""
    if not ts:
        return ()
    whole, _, frac = ts.partition(".")
    return (*_digits(whole), float(f"0.{frac}") if frac.isdigit() else 0.0)


def _load_results_json(path: Path) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as fh:
            payload = json.load(fh)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot be read ({exc})") from None
    if not isinstance(payload, dict):
        raise InputError(f"{path}: expected a JSON object (an lm-eval results file)")
    return payload


def _model_from_args(model_args: Any) -> str | None:
    """``pretrained=`` (or ``model=``) of lm-eval's ``model_args`` (string or dict)."""
    if isinstance(model_args, dict):
        for key in _MODEL_ARG_KEYS:
            value = model_args.get(key)
            if isinstance(value, str) and value.strip():
                return value.strip()
        return None
    if isinstance(model_args, str):
        pairs = {}
        for part in model_args.split(","):
            key, sep, value = part.partition("=")
            if sep:
                pairs.setdefault(key.strip(), value.strip())
        for key in _MODEL_ARG_KEYS:
            if pairs.get(key):
                return pairs[key]
    return None


def _model_name(results: dict[str, Any] | None, model_dir: str) -> str:
    if results:
        name = results.get("model_name")
        if isinstance(name, str) and name.strip():
            return name.strip()
        config = results.get("config")
        if isinstance(config, dict):
            name = _model_from_args(config.get("model_args"))
            if name:
                return name
    return model_dir.replace("__", "/")


def _output_type(results: dict[str, Any] | None, task: str) -> str | None:
    if not results:
        return None
    configs = results.get("configs")
    if isinstance(configs, dict) and isinstance(configs.get(task), dict):
        value = configs[task].get("output_type")
        if isinstance(value, str):
            return value
    return None


def _samples_files(path: Path) -> list[Path]:
    if path.is_file():
        if not _SAMPLES_RE.match(path.name):
            raise InputError(
                f"{path}: not an lm-eval samples file (expected samples_<task>_<timestamp>.jsonl)"
            )
        return [path]
    return sorted(p for p in path.rglob("samples_*.jsonl") if _SAMPLES_RE.match(p.name))


def _discover(path: str | Path) -> tuple[list[_Run], list[_Run]]:
    """All runs under ``path`` as ``(used, superseded)``."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file or folder (expected an lm-eval output folder)")
    files = _samples_files(path)
    if not files:
        raise InputError(
            f"{path}: no lm-eval samples files (samples_<task>_<timestamp>.jsonl) found; "
            "run lm_eval with --log_samples"
        )
    results_cache: dict[Path, dict[str, Any]] = {}
    runs: list[_Run] = []
    for file in files:
        m = _SAMPLES_RE.match(file.name)
        assert m is not None
        task, ts = m.group("task"), m.group("ts") or ""
        folder = file.parent
        candidates = []
        for rfile in folder.glob("results*.json"):
            rm = _RESULTS_RE.match(rfile.name)
            if rm:
                candidates.append((rm.group("ts") or "", rfile))
        results = None
        if candidates:
            same = [f for t, f in candidates if t == ts]
            chosen = same[0] if same else max(candidates, key=lambda c: _timestamp_key(c[0]))[1]
            if chosen not in results_cache:
                results_cache[chosen] = _load_results_json(chosen)
            results = results_cache[chosen]
        runs.append(
            _Run(
                file=file,
                model_dir=folder.name,
                model=_model_name(results, folder.name),
                task=task,
                timestamp=ts,
                output_type=_output_type(results, task),
            )
        )
    newest: dict[tuple[str, str], _Run] = {}
    for run in runs:
        key = (run.model, run.task)
        best = newest.get(key)
        if best is None or (_timestamp_key(run.timestamp), str(run.file)) > (
            _timestamp_key(best.timestamp),
            str(best.file),
        ):
            newest[key] = run
    used = sorted(newest.values(), key=lambda r: (r.task, r.model, str(r.file)))
    kept = {r.file for r in used}
    superseded = [r for r in runs if r.file not in kept]
    return used, superseded


def list_lmeval_runs(path: str | Path) -> pd.DataFrame:
    """The samples files found under ``path``, one row per file.

    Columns ``model_dir, model, task, file, timestamp, used``; ``used`` is False for a file
    superseded by a newer run of the same task and model (only the newest is read).
    """
    used, superseded = _discover(path)
    rows = [
        {
            "model_dir": r.model_dir,
            "model": r.model,
            "task": r.task,
            "file": str(r.file),
            "timestamp": r.timestamp,
            "used": r.file in {u.file for u in used},
        }
        for r in used + superseded
    ]
    out = pd.DataFrame(rows, columns=["model_dir", "model", "task", "file", "timestamp", "used"])
    return out.sort_values(["task", "model", "timestamp"]).reset_index(drop=True)


# ---------------------------------------------------------------------------- parsing
def _is_bool_like(x: Any) -> bool:
    return isinstance(x, bool) or (isinstance(x, str) and x.strip().lower() in _TRUE_FALSE)


def _choice_entries(record: dict[str, Any]) -> list[Any]:
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


def _looks_multiple_choice(record: dict[str, Any]) -> bool:
    entries = _choice_entries(record)
    return len(entries) >= 2 and all(
        isinstance(e, list) and len(e) == 2 and _is_bool_like(e[1]) for e in entries
    )


def _number(x: Any) -> float | None:
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
            [v for _, v in sorted(a.items(), key=lambda kv: _digits(kv[0]))]
            if isinstance(a, dict)
            else a
            for _, a in sorted(args.items(), key=lambda kv: _digits(kv[0]))
        ]
    out = []
    if isinstance(args, list):
        for a in args:
            if isinstance(a, list) and len(a) >= 2 and isinstance(a[1], str):
                out.append(a[1].strip())
            else:
                return []
    return out


def _target_index(raw: Any, record: dict[str, Any], n: int, where: str) -> int:
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


def _claim_doc(seen: dict[tuple[str, str], int], rec: dict, lineno: int, where: str) -> tuple[str, str]:
    """``(question_id, filter)`` of a record, refusing a (doc, filter) seen on an earlier line."""
    qid, filt = _question_id(rec["doc_id"]), _filter_name(rec)
    if (qid, filt) in seen:
        raise InputError(
            f"{where}: doc_id {rec['doc_id']!r} with filter {filt!r} appears again "
            f"(first at line {seen[(qid, filt)]})"
        )
    seen[(qid, filt)] = lineno
    return qid, filt


def _iter_records(file: Path):
    """``(lineno, record)`` for each non-blank line, with one-line errors."""
    for lineno, record in iter_jsonl(file):
        for key in ("doc_id", "target", "resps"):
            if key not in record:
                raise InputError(f"{file}:{lineno}: record has no {key!r} key")
        yield lineno, record


def _filter_name(record: dict[str, Any]) -> str:
    value = record.get("filter", "none")
    return "none" if value is None else str(value)


def _read_multiple_choice(run: _Run, notes: list[str]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    seen: dict[tuple[str, str], int] = {}
    disagree = checked = 0
    for lineno, rec in _iter_records(run.file):
        where = f"{run.file}:{lineno}"
        entries = _choice_entries(rec)
        if len(entries) < 2:
            raise InputError(
                f"{where}: doc_id {rec['doc_id']!r} has {len(entries)} response(s); a "
                "multiple-choice record needs one [loglik, is_greedy] pair per choice"
            )
        lls = []
        for k, e in enumerate(entries):
            ll = _number(e[0]) if isinstance(e, list) and e else None
            if ll is None or math.isnan(ll) or ll == math.inf:
                shown = e[0] if isinstance(e, list) and e else e
                raise InputError(
                    f"{where}: doc_id {rec['doc_id']!r} choice {k}: log-likelihood {shown!r} "
                    "is not a number"
                )
            lls.append(ll)
        n = len(lls)
        target = _target_index(rec["target"], rec, n, where)
        arr = np.asarray(lls, dtype=float)
        top = float(arr.max())
        if top == -math.inf:
            raise InputError(f"{where}: doc_id {rec['doc_id']!r}: every log-likelihood is -inf")
        weights = np.exp(arr - top)
        p = float(weights[target] / weights.sum())
        correct = int(int(np.argmax(arr)) == target)
        acc = _number(rec.get("acc")) if "acc" in rec else None
        if acc is not None:
            checked += 1
            disagree += int((acc >= 0.5) != bool(correct))
        qid, filt = _claim_doc(seen, rec, lineno, where)
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


def _generated_text(record: dict[str, Any]) -> str | None:
    """The generated answer after the record's filter (``filtered_resps``, else ``resps``)."""
    for key in ("filtered_resps", "resps"):
        value = record.get(key)
        while isinstance(value, list) and len(value) == 1:
            value = value[0]
        if isinstance(value, str):
            return value
    return None


def _read_free_form(run: _Run, notes: list[str]) -> list[dict[str, Any]]:
    """Generative (and other non-multiple-choice) tasks: one row per metric."""
    records: list[tuple[int, str, str, dict[str, float]]] = []
    texts: dict[tuple[str, str], tuple[str | None, str | None]] = {}
    seen: dict[tuple[str, str], int] = {}
    skipped: set[str] = set()
    for lineno, rec in _iter_records(run.file):
        where = f"{run.file}:{lineno}"
        names = rec.get("metrics")
        if not isinstance(names, list):
            names = [k for k in _CORRECT_METRICS if k in rec]
        values: dict[str, float] = {}
        for name in names:
            name = str(name)
            if name not in rec:
                raise InputError(f"{where}: record lists metric {name!r} but has no {name!r} key")
            v = _number(rec[name]) if not isinstance(rec[name], bool) else float(rec[name])
            if v is None or not math.isfinite(v):
                skipped.add(name)  # a corpus-level metric (e.g. bleu) logs its inputs
                continue
            values[name] = v
        qid, filt = _claim_doc(seen, rec, lineno, where)
        target = rec["target"]
        texts[(qid, filt)] = (_generated_text(rec), None if target is None else str(target))
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


def _first_record(file: Path) -> dict[str, Any] | None:
    for _, rec in _iter_records(file):
        return rec
    return None


def _is_multiple_choice(run: _Run) -> bool:
    if run.output_type is not None:
        return run.output_type == "multiple_choice"
    first = _first_record(run.file)
    return first is not None and _looks_multiple_choice(first)


def read_lmeval(path: str | Path, tasks: str | Iterable[str] | None = None) -> pd.DataFrame:
    """Read an lm-evaluation-harness ``--log_samples`` output folder into a long table.

    Parameters
    ----------
    path
        The ``--output_path`` folder (model sub-folders are searched recursively), one model's
        folder, or a single ``samples_<task>_<timestamp>.jsonl`` file.
    tasks
        Task names to read (default: all found). An unknown name is an error.

    Returns
    -------
    DataFrame
        Columns ``task, question_id, model, filter, correct, p_correct, target, n_choices,
        loglik, metric, value, output, target_text`` (see the module docstring). Multiple-choice rows have
        ``metric``/``value`` missing; free-form rows have ``p_correct``, ``target``,
        ``n_choices`` and ``loglik`` missing. ``loglik`` holds lists of floats here; loading
        the table (:func:`forecast.load_data`, ``EvalData.from_frames``) stores it as JSON
        text like every other route does (:mod:`forecast.data.schema`), and
        :func:`~forecast.data.readers.write_table` writes it in that form.
        ``df.attrs["notes"]`` names the older runs left
        out (only the newest run of a task per model is read) and any disagreement with the
        logged ``acc``. Rows are checked with :func:`~forecast.data.schema.validate_results`
        one (task, filter) block at a time: a multiple-choice block has finite ``p_correct``,
        a free-form block none, and a document appears once per filter (and metric).

    Raises
    ------
    InputError
        One line naming the file (and line) at fault: missing folder, no samples files, an empty
        samples file, a line that is not JSON, a record without ``doc_id``/``target``/``resps``,
        a target outside the choices, a log-likelihood that is not a number, a document repeated
        for the same filter, a free-form task without a 0/1 metric to use as ``correct``.
    """
    used, superseded = _discover(path)
    if tasks is not None:
        wanted = [tasks] if isinstance(tasks, str) else list(tasks)
        known = sorted({r.task for r in used})
        unknown = [t for t in wanted if t not in known]
        if unknown:
            raise InputError(
                f"{path}: task {unknown[0]!r} not found (found: {', '.join(known)})"
            )
        used = [r for r in used if r.task in set(wanted)]
        superseded = [r for r in superseded if r.task in set(wanted)]
    notes: list[str] = [
        f"{r.file}: superseded by a newer run of task {r.task!r} for model {r.model!r}; not read"
        for r in superseded
    ]
    blocks: list[pd.DataFrame] = []
    for run in used:
        rows = (
            _read_multiple_choice(run, notes)
            if _is_multiple_choice(run)
            else _read_free_form(run, notes)
        )
        if not rows:
            raise InputError(f"{run.file}: no records (an interrupted lm-eval run?)")
        blocks.append(pd.DataFrame(rows, columns=list(COLUMNS)))
    df = pd.concat(blocks, ignore_index=True)
    dup = df.duplicated(["task", "question_id", "model", "filter", "metric"], keep="first")
    if dup.any():  # two folders resolving to the same model (different names for one run)
        row = df[dup].iloc[0]
        raise InputError(
            f"{path}: model {row['model']!r} has two rows for task {row['task']!r}, doc_id "
            f"{row['question_id']!r}, filter {row['filter']!r}"
        )
    # validate per (task, filter): a task is either multiple-choice (p_correct known) or
    # free-form (p_correct NaN), and (task, question_id, model[, metric]) is unique per filter
    df["_order"] = np.arange(len(df))
    parts = []
    for (task, filt), part in df.groupby(["task", "filter"], sort=False):
        checked = validate_results(part, source=f"{path}: task {task!r}, filter {filt!r}")
        parts.append(checked.reindex(columns=[*COLUMNS, "_order"]))
    out = pd.concat(parts, ignore_index=True).sort_values("_order", kind="stable")
    out = out.drop(columns="_order").reset_index(drop=True)
    # the per-choice log-likelihoods as lists of floats (every row kept, in the same order);
    # validate_results stores them as JSON text when the table is loaded
    out["loglik"] = pd.Series(df["loglik"].to_numpy(dtype=object), dtype=object)
    out["question_id"] = out["question_id"].astype(str)
    out["filter"] = out["filter"].astype(str)
    out["correct"] = out["correct"].astype(int)
    out["p_correct"] = pd.to_numeric(out["p_correct"], errors="coerce").astype(float)
    out["target"] = pd.array(out["target"], dtype="Int64")
    out["n_choices"] = pd.array(out["n_choices"], dtype="Int64")
    out["value"] = pd.to_numeric(out["value"], errors="coerce").astype(float)
    out["metric"] = out["metric"].astype(object).where(out["metric"].notna(), None)
    out.attrs["notes"] = tuple(notes)
    return out
