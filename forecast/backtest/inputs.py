"""The data sets of a backtest: shipped names, files and folders, each named once.

:func:`load_datasets` turns what ``backtest(data=...)`` and ``forecast backtest`` are given
into one :class:`~forecast.data.dataset.EvalData` each; a file or folder dataset is named by
its stem (:func:`file_dataset_name`), so job keys do not depend on how its path was written.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from forecast.data.dataset import EvalData
from forecast.data.loading import load_data
from forecast.data.shipped import dataset_names
from forecast.errors import InputError

#: ``data="all"`` means every shipped dataset
ALL = "all"



#: file suffixes dropped from a file's name to name its dataset
_SUFFIXES = {".gz", ".bz2", ".xz", ".zst", ".zip", ".csv", ".tsv", ".txt", ".parquet", ".pq", ".json",
             ".jsonl", ".ndjson"}


def file_dataset_name(path: str | Path) -> str:
    """The name of a file (or folder) dataset: its stem, without table/compression suffixes.

    ``runs/results.csv.gz`` -> ``results``.  Relative and absolute paths to one file give the
    same name, so job keys and seeds do not depend on how the file was named (its content
    is in every job's fingerprint through the data hash).
    """
    p = Path(path)
    name = p.name
    while Path(name).suffix.lower() in _SUFFIXES and Path(name).stem:
        name = Path(name).stem
    return name or str(path)


def _is_file_name(name: str) -> bool:
    if not name or name in dataset_names():
        return False
    try:
        return Path(name).exists()
    except OSError:
        return False


def load_datasets(data: Any, models: Any = None, scores: Any = None, task_info: Any = None,
                  steps: Any = None) -> list[EvalData]:
    """One :class:`EvalData` per item of ``data`` (``"all"`` = every shipped dataset).

    A dataset read from a file or folder is named by the file's stem (:func:`file_dataset_name`).
    """
    items = list(data) if isinstance(data, (list, tuple)) else [data]
    expanded: list[Any] = []
    for item in items:
        expanded.extend(dataset_names() if isinstance(item, str) and item == ALL else [item])
    if not expanded:
        raise InputError("no data to backtest")
    out = []
    sources: dict[str, str] = {}
    for item in expanded:
        if isinstance(item, EvalData) and models is None and scores is None and task_info is None and steps is None:
            d = item
        else:
            d = load_data(item, models=models, scores=scores, task_info=task_info, steps=steps)
        if _is_file_name(d.name):
            source = d.name
            d = dataclasses.replace(d, name=file_dataset_name(source))
            if d.name in sources:
                raise InputError(
                    f"datasets {sources[d.name]} and {source} have the same name {d.name!r} "
                    "(a file dataset is named by its file name): rename one of them"
                )
            sources[d.name] = source
        out.append(d)
    names = [d.name for d in out]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InputError(f"dataset {dupes[0]!r} is given twice")
    return out
