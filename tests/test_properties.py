"""Property-based bad-input suite (Hypothesis).

Generated evaluation data (per-question results with a models and a task table, or
slice-level group tables with whole-task scores) are written as files, then one field of
one table is corrupted (missing, renamed, wrong type, NaN, inf, out of range, duplicated,
empty, huge) and the files are run through the Python API and the ``forecast fit`` command
line (in-process).  Properties:

* a corruption that makes the input invalid gives ``InputError`` in the API and exit 2 on the
  command line, with one line naming the file and the column (or the duplicate), no traceback
  and nothing written;
* any other outcome is a valid forecast: exit 0, forecasts in [0, 1], lower <= mean <= upper;
* valid generated data always give a valid forecast.

The default run generates over 200 cases; ``-m slow`` runs many more.  Set
``FORECAST_PROPERTY_COUNTS=FILE`` to write the tally of outcomes as JSON.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from badinput_helpers import listing, run_main
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forecast.data import load_data
from forecast.errors import InputError
from forecast.methods import make_method

TASK = "t"
FAST_METHODS = ("linear", "sigmoid", "persistence", "slice_sandwich")
KINDS = ("missing", "renamed", "wrong_type", "nan", "inf", "out_of_range", "duplicated", "empty", "huge",
         "blank")
NUMERIC = {"correct", "params", "flops", "chance", "n_choices", "n_groups", "group_index", "n_questions",
           "difficulty_flops_max_1e21", "value"}
#: columns whose absence is not an error (n_choices is optional in a task table)
OPTIONAL = {"n_choices"}
#: free-text key columns: a changed value may be a new (valid) name, so no refusal is required
KEYS = {"task", "question_id", "metric", "model", "format"}
HUGE = int("7" * 401)

TALLY: Counter = Counter()


@pytest.fixture(scope="module", autouse=True)
def _report_tally():
    yield
    path = os.environ.get("FORECAST_PROPERTY_COUNTS")
    if path:
        Path(path).write_text(json.dumps(dict(sorted(TALLY.items())), indent=1))


# ------------------------------------------------------------------------------ valid data
@dataclass
class Case:
    kind: str  # "per_question" or "groups"
    tables: dict[str, pd.DataFrame]
    cutoff: float
    method: str
    corrupted: tuple[str, str, str] | None = None  # table, column, kind
    must_refuse: bool = False
    files: dict[str, Path] = field(default_factory=dict)


@st.composite
def valid_cases(draw) -> Case:
    kind = draw(st.sampled_from(["per_question", "groups"]))
    n_models = draw(st.integers(7, 9))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    log_c = np.sort(draw(st.floats(6.5, 8.0)) + np.cumsum(rng.uniform(0.3, 0.7, n_models)))
    mid, slope = draw(st.floats(log_c[1], log_c[-1] + 1.0)), draw(st.floats(0.5, 4.0))
    chance = draw(st.sampled_from([0.0, 0.25, 0.5]))
    acc = chance + (1 - chance) / (1 + np.exp(-slope * (log_c - mid)))
    names = [f"m{i}" for i in range(n_models)]
    cutoff = float(10 ** log_c[n_models - 2])  # hold out the largest model
    method = draw(st.sampled_from(FAST_METHODS))
    if kind == "per_question":
        n_q = draw(st.integers(30, 50))
        rows = [(TASK, f"q{q}", name, int(rng.random() < a)) for name, a in zip(names, acc) for q in range(n_q)]
        tables = {
            "results": pd.DataFrame(rows, columns=["task", "question_id", "model", "correct"]),
            "models": pd.DataFrame({"model": names, "params": np.round(10 ** log_c)}),
            "tasks": pd.DataFrame({"task": [TASK], "format": ["multiple_choice" if chance else "generative"],
                                   "n_choices": [round(1 / chance) if chance else np.nan], "chance": [chance]}),
        }
        return Case(kind, tables, cutoff, method)
    flops = 10 ** (log_c + 14)  # about 1e20 to 1e23 FLOPs
    cutoff *= 1e14
    horizon = float(flops[0] / 1e21)
    group_rows, score_rows = [], []
    shift = np.array([0.3, 0.0, -0.3])
    for name, a in zip(names, acc):
        p = np.clip(a + shift + rng.normal(0, 0.02, 3), 0.01, 0.99)
        for g in range(3):
            n = int(rng.integers(20, 60))
            group_rows.append((TASK, name, True, 3, g, n, horizon, "tc_brier", float((1 - p[g]) ** 2)))
        score_rows.append((TASK, name, True, "accuracy", float(np.clip(a, 0, 1))))
        score_rows.append((TASK, name, True, "tc_brier", float((1 - np.clip(a, 0.01, 0.99)) ** 2)))
    tables = {
        "groups": pd.DataFrame(group_rows, columns=["task", "model", "prob_renormalized", "n_groups", "group_index",
                                                    "n_questions", "difficulty_flops_max_1e21", "metric", "value"]),
        "scores": pd.DataFrame(score_rows, columns=["task", "model", "prob_renormalized", "metric", "value"]),
        "models": pd.DataFrame({"model": names, "flops": flops}),
        "tasks": pd.DataFrame({"task": [TASK], "format": ["multiple_choice"], "n_choices": [4], "chance": [0.25]}),
    }
    return Case(kind, tables, cutoff, method)


# ------------------------------------------------------------------------------ corruption
BAD_VALUE = {"correct": 2, "params": -5, "flops": 0, "chance": 1.0, "n_choices": 1, "n_groups": 0,
             "n_questions": 0, "difficulty_flops_max_1e21": -1.0, "value": 5.0, "prob_renormalized": 2}


def corrupt(case: Case, table: str, column: str, kind: str, row: int) -> Case:
    """``case`` with one field of one table corrupted; ``must_refuse`` says whether the
    result is invalid input whatever the implementation."""
    df = case.tables[table].copy()
    row = row % len(df)
    required = column not in OPTIONAL
    numeric = column in NUMERIC or column == "prob_renormalized"
    must = False
    if kind == "missing":
        df = df.drop(columns=column)
        must = required
    elif kind == "renamed":
        df = df.rename(columns={column: column.upper() if column.islower() else column + "_"})
        must = required
    elif kind == "duplicated":
        df = pd.concat([df, df.iloc[[row]]], ignore_index=True)
        must = True
    elif kind == "empty":
        df = df.iloc[:0]
        must = table != "tasks"  # an empty task table may fall back to defaults
    else:
        df = df.astype({column: object})
        if kind == "wrong_type":
            df.loc[row, column] = "abc"
        elif kind in ("nan", "blank"):
            df.loc[row, column] = np.nan if kind == "nan" else ""
        elif kind == "inf":
            df.loc[row, column] = np.inf
        elif kind == "huge":
            df.loc[row, column] = HUGE
        elif kind == "out_of_range":
            bad = BAD_VALUE.get(column)
            if column == "group_index":
                bad = int(df.loc[row, "n_groups"])
            df.loc[row, column] = "zzz" if bad is None else bad
        must = numeric and column not in OPTIONAL
        if column == "n_choices" and kind not in ("nan", "blank"):
            must = True  # a given n_choices must be a whole number >= 2
        if column == "format" and kind != "huge":
            must = True
    tables = {**case.tables, table: df}
    return Case(case.kind, tables, case.cutoff, case.method, (table, column, kind), must)


@st.composite
def corrupted_cases(draw) -> Case:
    case = draw(valid_cases())
    table = draw(st.sampled_from(sorted(case.tables)))
    column = draw(st.sampled_from(list(case.tables[table].columns)))
    kind = draw(st.sampled_from(KINDS))
    return corrupt(case, table, column, kind, draw(st.integers(0, 10_000)))


# ------------------------------------------------------------------------------ running
def write(case: Case, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, df in case.tables.items():
        case.files[name] = folder / f"{name}.csv"
        df.to_csv(case.files[name], index=False)


def cli_args(case: Case) -> list:
    f = case.files
    data = f["results"] if case.kind == "per_question" else f["groups"]
    args = ["fit", data, "--models", f["models"], "--task-info", f["tasks"], "--task", TASK,
            "--cutoff", f"{case.cutoff:.6g}", "--method", case.method, "--json"]
    if "scores" in f:
        args += ["--scores", f["scores"]]
    return args


def api_fit(case: Case):
    """What ``forecast fit --json`` computes, through the Python API."""
    from forecast.report import forecast_report

    f = case.files
    data = load_data(f["results"] if case.kind == "per_question" else f["groups"], models=f["models"],
                     scores=f.get("scores"), task_info=f["tasks"])
    fitted = make_method(case.method).fit(data, float(f"{case.cutoff:.6g}"), task=TASK)
    forecast_report(fitted, case.method)
    return fitted.predict([case.cutoff * 3, case.cutoff * 30])


def assert_valid_forecasts(rows) -> None:
    for r in rows:
        assert 0.0 <= r["lower"] <= r["mean"] <= r["upper"] <= 1.0, r


def check(case: Case, tmp: Path) -> str:
    """Run ``case`` through the API and the CLI; return the outcome ("refused" or "accepted")."""
    write(case, tmp / "in")
    out = tmp / "out"
    out.mkdir()
    before = listing(tmp)
    # the API
    try:
        pred = api_fit(case)
        api = "accepted"
    except InputError as exc:
        assert "\n" not in str(exc)
        api, message = "refused", str(exc)
    # the command line (in-process, through the console-script entry point)
    r = run_main(*cli_args(case), "--plot", out / "forecast.png") if api == "refused" else run_main(*cli_args(case))
    assert "Traceback" not in r.stderr
    if api == "refused":
        assert r.code == 2, (case.corrupted, r.code, r.stderr, r.stdout[-300:])
        lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
        assert len(lines) == 1 and lines[0].startswith("forecast: error: "), r.stderr
        assert r.stdout == ""
        assert listing(tmp) == before  # nothing written (no plot, no partial file)
        if case.corrupted:
            table, column, kind = case.corrupted
            named = [str(p) for p in case.files.values()]
            if case.must_refuse:
                assert any(p in lines[0] for p in named), lines[0]
            if case.must_refuse and column not in KEYS:
                key = "duplicate" if kind == "duplicated" else "has no rows" if kind == "empty" else column
                if kind != "empty" or table in ("results", "groups", "scores"):
                    assert key in lines[0] or key.upper() in lines[0], (case.corrupted, lines[0])
        assert lines[0] == f"forecast: error: {message}"  # the API and the CLI say the same
        return "refused"
    assert r.code == 0, (case.corrupted, r.code, r.stderr)
    assert_valid_forecasts(pred.to_dict("records"))
    assert_valid_forecasts(json.loads(r.stdout)["predictions"])
    return "accepted"


SETTINGS = dict(deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def _corrupted(case: Case, tmp_path_factory) -> None:
    tmp = tmp_path_factory.mktemp("case")
    outcome = check(case, tmp)
    TALLY["generated"] += 1
    TALLY[f"corrupted_{outcome}"] += 1
    if case.must_refuse:
        assert outcome == "refused", case.corrupted
    else:
        TALLY[f"corrupted_valid_either_way_{outcome}"] += 1


def _valid(case: Case, tmp_path_factory) -> None:
    outcome = check(case, tmp_path_factory.mktemp("case"))
    TALLY["generated"] += 1
    TALLY[f"valid_{outcome}"] += 1
    assert outcome == "accepted"


@settings(max_examples=170, **SETTINGS)
@given(case=corrupted_cases())
def test_corrupted_input_is_refused_cleanly(case, tmp_path_factory):
    _corrupted(case, tmp_path_factory)


@settings(max_examples=40, **SETTINGS)
@given(case=valid_cases())
def test_valid_input_gives_valid_forecasts(case, tmp_path_factory):
    _valid(case, tmp_path_factory)


@settings(max_examples=2, **SETTINGS)
@given(case=corrupted_cases().filter(lambda c: c.must_refuse))
def test_corrupted_input_in_a_real_process(case, tmp_path_factory):
    """A few cases through the installed console entry point in its own process."""
    tmp = tmp_path_factory.mktemp("case")
    write(case, tmp / "in")
    before = listing(tmp)
    proc = subprocess.run([sys.executable, "-m", "forecast.cli", *map(str, cli_args(case)), "--plot",
                           str(tmp / "f.png")], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert proc.returncode == 2 and len(lines) == 1, (case.corrupted, proc.stderr)
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    assert listing(tmp) == before
    TALLY["generated"] += 1
    TALLY["corrupted_refused_in_a_real_process"] += 1


# the slow runs add fresh random cases each run (not derandomized) to the fixed ones above:
# 200 and 30 a run, so that CI stays near ten minutes; over many runs they cover more
@pytest.mark.slow
@settings(max_examples=200, **{**SETTINGS, "derandomize": False})
@given(case=corrupted_cases())
def test_corrupted_input_is_refused_cleanly_many(case, tmp_path_factory):
    _corrupted(case, tmp_path_factory)


@pytest.mark.slow
@settings(max_examples=30, **{**SETTINGS, "derandomize": False})
@given(case=valid_cases())
def test_valid_input_gives_valid_forecasts_many(case, tmp_path_factory):
    _valid(case, tmp_path_factory)
