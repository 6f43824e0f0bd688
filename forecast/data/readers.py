"""Readers for user files: CSV, TSV, parquet, JSON and JSON Lines (gzip allowed).

Only data formats are read: nothing a user hands in is unpickled or evaluated.
"""

from __future__ import annotations

import gzip
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from forecast.data.fingerprint import hashable_table
from forecast.data.schema import ANSWER_TEXT, TEXT_COLUMNS
from forecast.errors import InputError

SUFFIXES = (".csv", ".tsv", ".parquet", ".pq", ".json", ".jsonl", ".ndjson")


def _suffix(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    return suffixes[-1] if suffixes else ""


def _open_text(path: Path):
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8")
    return open(path, encoding="utf-8")


def iter_jsonl(path: str | Path) -> Iterator[tuple[int, dict]]:
    """``(line number, object)`` for each non-blank line of a JSON Lines file (gzip allowed).

    Raises :class:`InputError` naming the file and line that is not UTF-8, not JSON, or not
    a JSON object.
    """
    path = Path(path)
    try:
        fh = _open_text(path)
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    with fh:
        lineno = 0
        while True:
            try:
                line = fh.readline()
            except UnicodeDecodeError:
                raise InputError(f"{path}:{lineno + 1}: not valid UTF-8 text") from None
            except (OSError, EOFError) as exc:
                raise InputError(f"{path}:{lineno + 1}: cannot be read ({exc})") from None
            if not line:
                return
            lineno += 1
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(f"{path}:{lineno}: not valid JSON ({exc.msg})") from None
            if not isinstance(record, dict):
                raise InputError(f"{path}:{lineno}: expected a JSON object per line")
            yield lineno, record


def read_jsonl(path: str | Path) -> pd.DataFrame:
    """Read a JSON Lines file, naming the line that does not parse."""
    return pd.DataFrame.from_records([record for _, record in iter_jsonl(path)])


#: what a CSV cell reads as missing in a number column (pandas' default list); in a text
#: column (:data:`~forecast.data.schema.TEXT_COLUMNS`) only an empty cell is missing, so an
#: answer ``"None"`` or ``"NA"`` stays text, and in an answer column
#: (:data:`~forecast.data.schema.ANSWER_TEXT`) nothing is: an empty cell is ``""``
NA_TEXTS = ("", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
            "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null")


def _read_delimited(path: Path, sep: str) -> pd.DataFrame:
    """A CSV/TSV file with the text columns read as text (``"007"`` stays ``"007"``); pandas
    (3.0 on) reads every float back exactly as ``to_csv`` wrote it."""
    columns = list(pd.read_csv(path, sep=sep, nrows=0).columns)
    text = [c for c in columns if c in TEXT_COLUMNS]
    # an empty answer text is a value (an empty generation): nothing is missing there
    na = {c: ([""] if c in text else list(NA_TEXTS)) for c in columns if c not in ANSWER_TEXT}
    return pd.read_csv(path, sep=sep, dtype={c: str for c in text}, keep_default_na=False,
                       na_values=na)


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a table from CSV/TSV/parquet/JSON/JSONL (optionally gzipped).

    Raises
    ------
    InputError
        When the file is missing, has an unknown extension or cannot be parsed.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a directory, expected a table file")
    suffix = _suffix(path)
    try:
        if suffix == ".csv":
            return _read_delimited(path, ",")
        if suffix == ".tsv":
            return _read_delimited(path, "\t")
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(path)
        if suffix in (".jsonl", ".ndjson"):
            return read_jsonl(path)
        if suffix == ".json":
            with _open_text(path) as fh:
                payload = json.load(fh)
            if isinstance(payload, dict):
                payload = payload.get("data", payload.get("records", payload))
            return pd.DataFrame(payload)
    except InputError:
        raise
    except (ValueError, OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"{path}: cannot be read as {suffix[1:]} ({first})") from None
    except Exception as exc:  # parquet engines raise their own types
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"{path}: cannot be read as {suffix[1:]} ({first})") from None
    raise InputError(f"{path}: unknown file type {suffix or '(none)'}; use one of {', '.join(SUFFIXES)}")


def write_table(df: pd.DataFrame, path: str | Path, force: bool = False) -> Path:
    """Write ``df`` to CSV or parquet (by extension), refusing to overwrite unless ``force``.

    The file is written to a temporary name beside the target and renamed, so an
    interrupted write never leaves a half-written file under the user's name.  A cell that
    holds a list, array or dict (an lm-eval ``loglik``) is written as its canonical JSON
    text, the form :func:`~forecast.data.schema.validate_results` stores.
    """
    path = Path(path)
    suffix = _suffix(path)
    if suffix not in (".csv", ".parquet", ".pq"):
        raise InputError(f"{path}: output must end in .csv or .parquet")
    if path.exists() and not force:
        raise InputError(f"{path}: already exists (pass --force to overwrite)")
    if not path.parent.exists():
        raise InputError(f"{path}: folder {path.parent} does not exist")
    check_writable_file(path, "output")
    tmp = path.with_name(f".{path.name}.partial")
    df = hashable_table(df)
    try:
        if suffix == ".csv":
            df.to_csv(tmp, index=False, compression="gzip" if path.name.endswith(".gz") else None)
        else:
            df.to_parquet(tmp, index=False)
        tmp.replace(path)
    except OSError as exc:
        raise InputError(f"{path}: cannot be written ({_why(exc)})") from None
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def _why(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def _probe(folder: Path) -> None:
    """Create and remove a small file in ``folder``: the one check that works for every
    cause (permissions, a read-only mount, a full disk, root's exemption from modes)."""
    fd, name = tempfile.mkstemp(prefix=".forecast-probe-", dir=folder)
    try:
        os.write(fd, b"x")
        os.fsync(fd)
    finally:
        os.close(fd)
        os.unlink(name)


def check_writable_file(path: str | Path, what: str = "output") -> Path:
    """Refuse, before any work, an output file that cannot be written: its folder missing,
    not a folder, or not writable; the file itself a folder.  Nothing is left behind."""
    path = Path(path)
    parent = path.parent
    if path.is_dir():
        raise InputError(f"{path}: {what} is a folder, expected a file name")
    if not parent.exists():
        raise InputError(f"{path}: {what} folder {parent} does not exist")
    if not parent.is_dir():
        raise InputError(f"{path}: {what} cannot be written: {parent} is a file, not a folder")
    try:
        _probe(parent)
    except OSError as exc:
        raise InputError(f"{path}: {what} cannot be written: folder {parent} is not writable ({_why(exc)})") from None
    return path


def check_writable_folder(path: str | Path, what: str = "output") -> Path:
    """Refuse, before any work, an output folder that cannot be created or written: a path
    under a file, a read-only place, a full disk.  A folder that does not exist yet is
    checked at its nearest existing parent and not created."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise InputError(f"{path}: {what} folder is a file")
    probe = path
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if not probe.is_dir():
        raise InputError(f"{path}: {what} folder cannot be created: {probe} is a file, not a folder")
    try:
        _probe(probe)
    except OSError as exc:
        raise InputError(f"{path}: {what} cannot be written: folder {probe} is not writable ({_why(exc)})") from None
    return path


#: columns only a slice-level group table has: a table with any of them is read as groups
#: (and then checked for all of them), never silently as whole-task scores
GROUP_ONLY = ("group_index", "n_groups", "n_questions", "difficulty_flops_max_1e21")


def classify_table(df: pd.DataFrame) -> str:
    """Guess what a user table holds: ``results``, ``groups`` or ``scores``."""
    cols = set(df.columns)
    if "question_id" in cols or "correct" in cols:
        return "results"
    if cols & set(GROUP_ONLY):
        return "groups"
    if {"metric", "value", "model", "task"} <= cols:
        return "scores"
    return "unknown"
