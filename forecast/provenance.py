"""Which code produced a result: the package version and a hash of its source.

A saved job result, a learned-settings cache entry and a backtest's ``run.json`` record
:func:`code_label`; a change of any source file changes it, so stale results are never
reused by a newer code.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parent


def _hash_tree(root: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        h.update(path.relative_to(root).as_posix().encode("utf-8") + b"\0")
        h.update(path.read_bytes() + b"\0")
    return h.hexdigest()[:12]


def source_hash() -> str:
    """Short hash of the package's source (every ``forecast/**/*.py``: relative path and bytes)."""
    return _hash_tree(PACKAGE_ROOT)


def code_version() -> dict[str, str]:
    """``{"version": forecast.__version__, "source_hash": source_hash()}`` of the running code."""
    import forecast

    return {"version": str(forecast.__version__), "source_hash": source_hash()}


def code_label(code: dict[str, str] | None) -> str:
    """``version+source_hash``, as job results and fingerprints record it."""
    if not code:
        return ""
    return f"{code.get('version', '')}+{code.get('source_hash', '')}"
