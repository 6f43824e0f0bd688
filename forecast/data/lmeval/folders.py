"""Finding the runs of an lm-evaluation-harness output folder: its ``samples_*.jsonl`` files,
the model each belongs to (from ``results_*.json``, ``model_args`` or the folder name), the
task's output type, and which run of a task is the newest (the one read).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from forecast.errors import InputError

_TIMESTAMP = r"\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}(?:\.\d+)?"
_SAMPLES_RE = re.compile(rf"^samples_(?P<task>.+?)(?:_(?P<ts>{_TIMESTAMP}))?\.jsonl$")
_RESULTS_RE = re.compile(rf"^results(?:_(?P<ts>{_TIMESTAMP}))?\.json$")
_MODEL_ARG_KEYS = ("pretrained", "model")


@dataclass(frozen=True)
class Run:
    """One ``samples_*.jsonl`` file and what its folder says about it."""

    file: Path
    model_dir: str
    model: str
    task: str
    timestamp: str  # "" when the file name carries none
    output_type: str | None  # from results_*.json configs, when known


def digits(text: str | None) -> tuple[int, ...]:
    """The runs of digits in ``text`` as integers (``""``/None gives ``()``)."""
    return tuple(int(x) for x in re.findall(r"\d+", text or ""))


def _timestamp_key(ts: str | None) -> tuple[float, ...]:
    """Sortable key of an lm-eval timestamp (a missing one sorts oldest)."""
    if not ts:
        return ()
    whole, _, frac = ts.partition(".")
    return (*digits(whole), float(f"0.{frac}") if frac.isdigit() else 0.0)


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


def discover(path: str | Path) -> tuple[list[Run], list[Run]]:
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
    runs: list[Run] = []
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
            Run(
                file=file,
                model_dir=folder.name,
                model=_model_name(results, folder.name),
                task=task,
                timestamp=ts,
                output_type=_output_type(results, task),
            )
        )
    newest: dict[tuple[str, str], Run] = {}
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
    used, superseded = discover(path)
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
