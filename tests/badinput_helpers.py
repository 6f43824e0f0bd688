"""Shared by the bad-input tests: the real ``forecast`` entry point run in-process, and
checks of what a refusal must look like (exit 2, one line, no traceback, nothing written)."""

from __future__ import annotations

import contextlib
import io
import sys
from dataclasses import dataclass
from pathlib import Path

from forecast.cli import main


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str


def run_main(*args: str) -> Run:
    """``forecast ARGS`` through :func:`forecast.cli.main` (the console script) in this
    process; any exception other than ``SystemExit`` escapes, i.e. fails the test."""
    out, err = io.StringIO(), io.StringIO()
    old = sys.argv
    sys.argv = ["forecast", *map(str, args)]
    code = 0
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.argv = old
    return Run(code, out.getvalue(), err.getvalue())


def listing(folder: Path) -> set[str]:
    """Every path under ``folder`` (relative), to check that nothing was written."""
    return {str(p.relative_to(folder)) for p in Path(folder).rglob("*")}


def assert_refused(run: Run, *fragments: str) -> str:
    """Exit 2 and exactly one stderr line, naming every fragment; returns that line."""
    assert run.code == 2, (run.code, run.stderr, run.stdout[-500:])
    lines = [ln for ln in run.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, run.stderr
    assert "Traceback" not in run.stderr
    assert lines[0].startswith("forecast: error: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]
