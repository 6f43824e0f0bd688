"""The results folder of a backtest: one file per finished job, written atomically.

Layout of ``DIR``::

    DIR/jobs/<job>.json    one per finished job (ok or failed), written as it finishes
    DIR/run.json           the run's settings
    DIR/predictions.csv, metrics.csv, summary.csv, ...    the tables (:data:`TABLES`), at the end
    DIR/forecast_vs_actual_<dataset>.png, calibration.png, error_by_horizon.png    the plots

``--force`` (:func:`clear_results`) removes only these files (and ``jobs/``), never other
files the folder holds.

A job file is written to a temporary name in the same folder and renamed, so a run
killed at any moment leaves only whole files; ``resume`` reuses every job file whose
fingerprint matches the job's inputs and code (``forecast.__version__`` and a hash of the
package's source, also in ``run.json``); failed jobs, and jobs saved by other code or from
other inputs, are run again.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import fnmatch
import json
import os
import re
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from forecast.errors import InputError

JOBS = "jobs"
RUN_FILE = "run.json"
#: the lock file of a running backtest (see :func:`lock_output`); never removed by ``--force``
LOCK_FILE = ".lock"
#: files a backtest writes into its folder (besides ``jobs/``)
TABLES = ("predictions.csv", "metrics.csv", "summary.csv", "thresholds.csv", "emergence.csv",
          "emergence_summary.csv", "calibration.csv", "pit.csv", "learned.csv", "predictability.csv",
          "curves.csv", "jobs.csv", "controls.csv")
#: the plots a backtest writes (names or fnmatch patterns; see :mod:`forecast.backtest.plots`),
#: and the temporary files they are written through
PLOTS = ("forecast_vs_actual_*.png", "calibration.png", "error_by_horizon.png", "emergence_reliability.png")
PLOT_TEMPS = tuple(f".{p}.partial.png" for p in PLOTS)


def job_filename(key: str) -> str:
    """A safe, unique file name for a job key."""
    slug = re.sub(r"[^A-Za-z0-9._=-]+", "_", key)[:150]
    return f"{slug}-{zlib.crc32(key.encode('utf-8')):08x}.json"


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def holds_results(out: Path) -> bool:
    """Whether ``out`` already holds (part of) a backtest."""
    out = Path(out)
    if not out.is_dir():
        return False
    if (out / RUN_FILE).exists() or any(out.glob(f"{JOBS}/*.json")):
        return True
    return any((out / name).exists() for name in TABLES)


def is_plot(name: str) -> bool:
    """Whether a file name is one of the backtest's plots (or their temporary files)."""
    return any(fnmatch.fnmatchcase(name, p) for p in (*PLOTS, *PLOT_TEMPS))


def clear_results(out: Path) -> None:
    """Remove the backtest files of ``out``: its tables, plots, ``run.json`` and ``jobs/``.

    Any other file in ``out`` (a user's own notes or pictures) is left alone.
    """
    out = Path(out)
    for path in out.glob(f"{JOBS}/*.json"):
        path.unlink()
    for path in out.glob(f"{JOBS}/.*.tmp"):
        path.unlink()
    for name in (*TABLES, RUN_FILE):
        if (out / name).is_file():
            (out / name).unlink()
    if out.is_dir():
        for path in out.iterdir():
            if path.is_file() and is_plot(path.name):
                path.unlink()


class JobStore:
    """Job files under ``root/jobs``."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.dir = self.root / JOBS

    def prepare(self) -> None:
        if self.root.exists() and not self.root.is_dir():
            raise InputError(f"{self.root}: exists and is not a folder")
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"{self.root}: output folder cannot be written ({exc.strerror or exc})") from None

    def path(self, key: str) -> Path:
        return self.dir / job_filename(key)

    def write(self, result: dict[str, Any]) -> None:
        atomic_write_text(self.path(result["key"]), json.dumps(result, sort_keys=True))

    def read(self, key: str) -> dict[str, Any] | None:
        """The saved result of ``key``, or None (missing or unreadable file)."""
        path = self.path(key)
        if not path.is_file():
            return None
        try:
            with open(path, encoding="utf-8") as fh:
                result = json.load(fh)
        except (OSError, ValueError):
            return None
        return result if isinstance(result, dict) and result.get("key") == key else None

    def write_run(self, settings: dict[str, Any]) -> None:
        atomic_write_text(self.root / RUN_FILE, json.dumps(settings, sort_keys=True, indent=1))


#: folders this process holds the lock of (resolved path -> nesting depth), so that the
#: CLI and the runner it calls can both take the lock without refusing each other
_HELD: dict[Path, int] = {}


@contextlib.contextmanager
def lock_output(out: str | Path) -> Iterator[Path]:
    """Hold ``out/.lock`` for the length of a run: a second writer is refused.

    The folder is created if needed (its nearest existing parent must be writable: check
    first with :func:`forecast.data.readers.check_writable_folder`).  The lock is an
    ``fcntl.flock`` on the (empty) lock file, held by this process and released when the
    block ends or the process dies (a lock left by a killed run is never stale).  Nested use in
    the same process is allowed.  If the folder was created here and the run leaves nothing
    in it but the lock file, the folder is removed again.

    Raises
    ------
    InputError
        When another process holds the lock, or the folder cannot be created.

    Examples
    --------
    >>> with lock_output("runs/main"):  # doctest: +SKIP
    ...     run_the_backtest_into("runs/main")
    """
    out = Path(out)
    key = out.resolve()
    if _HELD.get(key):
        _HELD[key] += 1
        try:
            yield out
        finally:
            _HELD[key] -= 1
        return
    created = not out.exists()
    try:
        out.mkdir(parents=True, exist_ok=True)
        fd = os.open(out / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise InputError(f"{out}: output folder cannot be written ({exc.strerror or exc})") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise InputError(
                    f"{out}: another backtest is writing into this folder (locked by {out / LOCK_FILE}); "
                    "wait for it to finish or choose another --out"
                ) from None
            raise InputError(f"{out}: cannot lock the output folder ({exc.strerror or exc})") from None
        _HELD[key] = 1
        try:
            yield out
        finally:
            del _HELD[key]
            if created and {p.name for p in out.iterdir()} <= {LOCK_FILE, JOBS} and not any(out.glob(f"{JOBS}/*")):
                # nothing was written (bad input found after the lock was taken): leave no folder
                with contextlib.suppress(OSError):
                    (out / LOCK_FILE).unlink()
                    if (out / JOBS).is_dir():
                        (out / JOBS).rmdir()
                    out.rmdir()
    finally:
        os.close(fd)  # closing the descriptor releases the flock
