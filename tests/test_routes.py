"""The same rows by every route: an lm-eval folder, the ingested CSV, parquet, JSON Lines, a
DataFrame given to the API.  One stored form per column (forecast.data.schema), one data
fingerprint, byte-identical forecasts and backtests; a data fingerprint that cannot fail."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import forecast
from forecast.cli import cli
from forecast.data.fingerprint import canonical_text, data_fingerprint
from forecast.data.lmeval import read_lmeval
from forecast.data.readers import read_table, write_table
from forecast.data.schema import loglik_text, validate_results
from forecast.errors import InputError

FOLDER = Path(__file__).parent / "fixtures" / "lmeval" / "pythia8"
NAME = FOLDER.name  # every route's file is named like the folder: a backtest labels rows by it
CUTOFF = "2.5e21"  # 4 fitted Pythia sizes (70m-1b), 4 held out
TASKS = ("sciq_mc", "arith_gen")


def invoke(*args: str) -> str:
    """The CLI in this process; the exit code must be 0; returns what it printed on stdout."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = CliRunner().invoke(cli, list(args))
    assert res.exit_code == 0, (res.output, res.exception)
    return res.stdout


@pytest.fixture(scope="module")
def routes(tmp_path_factory) -> dict[str, Path | pd.DataFrame]:
    """The folder's rows by every route, each file named after the folder."""
    tmp = tmp_path_factory.mktemp("routes")
    out: dict[str, Path | pd.DataFrame] = {"folder": FOLDER}
    for label, suffix in (("csv", ".csv"), ("parquet", ".parquet")):
        (tmp / label).mkdir()
        path = tmp / label / f"{NAME}{suffix}"
        invoke("ingest", "lm-eval", str(FOLDER), "--out", str(path))
        out[label] = path
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = read_lmeval(FOLDER)
    out["frame"] = table
    # a user's own files of the reader's table: loglik as JSON arrays / parquet lists
    (tmp / "jsonl").mkdir()
    out["jsonl"] = tmp / "jsonl" / f"{NAME}.jsonl"
    # json.dumps writes every float exactly (pandas' to_json keeps only 10 digits by default)
    records = table.astype(object).where(table.notna(), None).to_dict("records")
    out["jsonl"].write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    (tmp / "lists").mkdir()
    out["parquet_lists"] = tmp / "lists" / f"{NAME}.parquet"
    table.to_parquet(out["parquet_lists"], index=False)
    return out


def load(route):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return forecast.load_data(route)


def test_the_routes_really_differ(routes):
    # the test means something: the raw tables of the routes hold loglik in different forms
    def first(table):
        return table.loc[table["task"] == "sciq_mc", "loglik"].iloc[0]

    assert isinstance(first(routes["frame"]), list)
    assert isinstance(first(read_table(routes["csv"])), str)
    assert isinstance(first(read_table(routes["parquet_lists"])), np.ndarray)
    assert isinstance(first(read_table(routes["jsonl"])), list)


def test_every_route_stores_the_same_tables(routes):
    base = load(routes["folder"])
    mc = (base.results["task"] == "sciq_mc").to_numpy()
    lists = routes["frame"].loc[routes["frame"]["task"] == "sciq_mc", "loglik"]
    assert base.results.loc[mc, "loglik"].tolist() == [loglik_text(v) for v in lists]
    assert base.results["loglik"][mc].str.startswith("[").all() and base.results["loglik"][~mc].isna().all()
    assert base.results["target"].dtype == float  # whole numbers, NaN for the generated task
    for label, route in routes.items():
        data = load(route)
        for table in ("results", "models", "tasks"):
            pd.testing.assert_frame_equal(getattr(data, table), getattr(base, table), check_exact=True,
                                          obj=f"{label}: {table}")
        assert data_fingerprint(data) == data_fingerprint(base), label


def test_fit_by_the_api_is_byte_identical(routes):
    grid = np.logspace(20, 23, 7)
    got = {}
    for label, route in routes.items():
        data = load(route)
        parts = []
        for task in TASKS:
            fc = forecast.SliceSandwich(seed=3, n_draws=300).fit(data, float(CUTOFF), task=task)
            parts.append(fc.predict(grid).to_csv(index=False))
            parts.append(repr(fc.threshold(budget=1e22)))
        got[label] = "".join(parts)
    assert len(set(got.values())) == 1, {k: v[:200] for k, v in got.items()}


def test_fit_command_on_the_folder_equals_every_other_route(routes, tmp_path):
    renamed = tmp_path / "another_name.csv"  # a forecast does not depend on the file's name
    renamed.write_bytes(routes["csv"].read_bytes())
    outs = {}
    for label, route in [*routes.items(), ("renamed", renamed)]:
        if isinstance(route, pd.DataFrame):
            continue
        text = invoke("fit", str(route), "--task", "sciq_mc", "--cutoff", CUTOFF, "--json")
        outs[label] = text
    assert json.loads(outs["folder"])["n_fitted_models"] == 4
    assert len(set(outs.values())) == 1, list(outs)


def test_backtest_command_on_the_folder_equals_every_other_route(routes, tmp_path):
    files = {}
    for label in ("folder", "csv", "parquet", "jsonl"):  # parquet of lists: same stored tables (above)
        route = routes[label]
        out = tmp_path / label
        invoke("backtest", str(route), "--tasks", ",".join(TASKS), "--methods", "slice_sandwich,persistence",
               "--cutoffs", CUTOFF, "--out", str(out), "--no-plots", "--no-progress")
        files[label] = {name: (out / name).read_bytes() for name in ("predictions.csv", "metrics.csv",
                                                                     "thresholds.csv", "curves.csv")}
        jobs = pd.read_csv(out / "jobs.csv")
        assert (jobs["status"] == "ok").all(), jobs
        files[label]["jobs.csv"] = jobs.drop(columns="seconds").to_csv(index=False).encode()  # all but time
    pred = pd.read_csv(tmp_path / "folder" / "predictions.csv")
    assert set(pred["task"]) == set(TASKS) and len(pred) > 0
    for label, got in files.items():
        assert got == files["folder"], label


def test_backtest_api_on_the_folder():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = forecast.backtest(str(FOLDER), tasks=["sciq_mc"], methods=["persistence"], cutoffs=CUTOFF,
                                progress=False)
    assert (res.jobs["status"] == "ok").all()


# ---------------------------------------------------------------------------- bad input
def one_line_error(*args: str) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = CliRunner().invoke(cli, list(args))
    assert res.exit_code == 2, (res.output, res.exception)
    assert "Traceback" not in res.output
    lines = [ln for ln in res.stderr.splitlines() if ln.strip() and not ln.startswith("forecast: note")]
    assert len(lines) == 1, res.stderr
    return lines[0]


@pytest.mark.parametrize(
    ("cell", "fragment"),
    [("[-1.0, oops]", "not a JSON list"), ('["a", "b"]', "not a list of numbers"),
     ("[-1.0]", "at least two"), ("[NaN, -1.0]", "NaN")],
)
def test_a_bad_loglik_cell_is_one_line_naming_file_column_value(routes, tmp_path, cell, fragment):
    table = read_table(routes["csv"])
    table.loc[5, "loglik"] = cell
    path = tmp_path / f"{NAME}.csv"
    table.to_csv(path, index=False)
    line = one_line_error("fit", str(path), "--task", "sciq_mc", "--cutoff", CUTOFF)
    assert str(path) in line and "'loglik'" in line and fragment in line
    assert "row 6" in line and "question_id='5'" in line


def test_a_target_outside_the_choices_is_one_line(routes, tmp_path):
    table = read_table(routes["csv"])
    i = int(np.flatnonzero(table["task"] == "sciq_mc")[2])
    table.loc[i, "target"] = 4
    path = tmp_path / f"{NAME}.csv"
    table.to_csv(path, index=False)
    line = one_line_error("backtest", str(path), "--tasks", "sciq_mc", "--cutoffs", CUTOFF)
    assert str(path) in line and "'target'" in line and "is 4" in line and f"row {i + 1}" in line


def test_text_columns_keep_their_text_through_csv(tmp_path):
    df = pd.DataFrame({"task": ["t"] * 4, "question_id": ["007", "7", "8", "9"], "model": ["m"] * 4,
                       "correct": [1, 0, 0, 1], "metric": ["exact_match", "exact_match", "exact_match", None],
                       "value": [1.0, 0.0, 0.0, np.nan], "output": ["None", "12", "", None],
                       "target_text": ["None", "", "3", None]})
    path = write_table(df, tmp_path / "x.csv")
    back = validate_results(read_table(path))
    assert back["question_id"].tolist() == ["007", "7", "8", "9"]
    assert back["output"].tolist()[:3] == ["None", "12", ""] and pd.isna(back["output"].iloc[3])
    pd.testing.assert_frame_equal(back, validate_results(df), check_exact=True)


# ---------------------------------------------------------------------------- fingerprint
floats = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e6, max_value=1e6)
loglik_lists = st.lists(st.one_of(floats, st.just(-np.inf)), min_size=2, max_size=5)


@st.composite
def loglik_cells(draw):
    values = draw(loglik_lists)
    form = draw(st.sampled_from(["list", "tuple", "array", "text", "absent"]))
    if form == "absent":
        return draw(st.sampled_from([None, np.nan, ""])), None
    cell = {"list": values, "tuple": tuple(values), "array": np.asarray(values),
            "text": json.dumps(values)}[form]
    return cell, len(values)


@st.composite
def results_frames(draw):
    n = draw(st.integers(1, 6))
    rows = []
    for i in range(n):
        cell, n_choices = draw(loglik_cells())
        target = draw(st.integers(0, n_choices - 1)) if n_choices else None
        rows.append({
            "task": draw(st.sampled_from(["t1", "t2"])), "question_id": str(i),
            "model": draw(st.sampled_from(["m1", "m2"])), "correct": draw(st.integers(0, 1)),
            "p_correct": draw(st.one_of(st.none(), st.floats(0, 1))),
            "loglik": cell, "target": target,
            "extra": draw(st.one_of(st.none(), st.text(max_size=3), st.dictionaries(st.text(max_size=2), floats,
                                                                                   max_size=2),
                                    st.lists(st.integers(), max_size=3))),
        })
    return pd.DataFrame(rows)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(results_frames())
def test_data_fingerprint_never_fails_and_follows_the_stored_form(frame):
    checked = validate_results(frame)  # every generated frame is one the schema accepts
    raw = SimpleNamespace(models=None, tasks=None, results=frame, groups=None, scores=None)
    stored = SimpleNamespace(models=None, tasks=None, results=checked, groups=None, scores=None)
    assert len(data_fingerprint(raw)) == 16 and len(data_fingerprint(stored)) == 16
    assert validate_results(checked).equals(checked)  # the stored form is a fixed point
    assert data_fingerprint(SimpleNamespace(**{**vars(stored), "results": validate_results(checked)})) == \
        data_fingerprint(stored)
    # a loglik list hashes like its stored text
    assert all(isinstance(t, str) or pd.isna(t) for t in checked["loglik"])


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.none(), st.integers(), floats, st.text(), loglik_lists,
                 st.dictionaries(st.one_of(st.text(), st.integers()), st.one_of(floats, st.text())),
                 st.sets(st.integers()), st.lists(st.lists(st.integers())), st.tuples(st.text(), floats)))
def test_canonical_text_never_fails(value):
    text = canonical_text(value)
    assert isinstance(text, str) and canonical_text(value) == text
    frame = pd.DataFrame({"x": pd.Series([value, value], dtype=object)})
    assert len(data_fingerprint(SimpleNamespace(models=frame, tasks=None, results=None, groups=None,
                                                scores=None))) == 16


def test_fingerprints_of_hashable_tables_are_unchanged():
    # today's hash (pandas' row hashes of each table, as forecast.backtest.jobs computed it)
    import hashlib

    df = pd.DataFrame({"task": ["a", "b"], "question_id": ["1", "2"], "model": ["m", "n"], "correct": [1, 0]})
    h = hashlib.sha256()
    for label, table in (("models", None), ("tasks", None), ("results", df), ("groups", None), ("scores", None)):
        h.update(label.encode())
        if table is None:
            h.update(b"-")
            continue
        h.update(",".join(table.columns).encode())
        h.update(pd.util.hash_pandas_object(table, index=False).to_numpy().tobytes())
    data = SimpleNamespace(models=None, tasks=None, results=df, groups=None, scores=None, multi_family=False,
                           steps=None)
    assert data_fingerprint(data) == h.hexdigest()[:16]


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.none(), st.text(max_size=12), st.integers(), floats, st.booleans(),
                 st.lists(st.one_of(st.integers(), st.floats(), st.text(max_size=2), st.none(), st.booleans()),
                          max_size=4),
                 st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
                 st.just("[" * 5000), st.just("[1e999, -1]"), st.just([10**400, -1.0]),
                 st.just(np.zeros((2, 2)))))
def test_any_loglik_cell_is_stored_or_refused_in_one_line(cell):
    frame = pd.DataFrame({"task": ["t"], "question_id": ["1"], "model": ["m"], "correct": [1],
                          "loglik": pd.Series([cell], dtype=object)})
    try:
        out = validate_results(frame, "f.csv")
    except InputError as exc:
        assert str(exc).startswith("f.csv: column 'loglik'") and "\n" not in str(exc)
    else:
        text = out["loglik"].iloc[0]
        assert pd.isna(text) or (isinstance(text, str) and json.loads(text) == [float(x) for x in json.loads(text)])


def test_a_loglik_list_holding_text_is_refused():
    with pytest.raises(InputError, match="column 'loglik'"):
        validate_results(pd.DataFrame({"task": ["t"], "question_id": ["1"], "model": ["m"], "correct": [1],
                                       "loglik": [[-1.0, "x"]]}))


def test_a_real_lm_eval_folder_stores_the_same_rows_by_every_route(tmp_path):
    # lm-evaluation-harness 0.4.9.2's own output (generated math answers: LaTeX, new lines)
    real = Path(__file__).parent / "fixtures" / "lmeval_real"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = read_lmeval(real)
    assert table["output"].str.contains("\n").any()
    want = validate_results(table)
    for name in ("r.csv", "r.parquet"):
        invoke("ingest", "lm-eval", str(real), "--out", str(tmp_path / name))
        got = validate_results(read_table(tmp_path / name))
        pd.testing.assert_frame_equal(got, want, check_exact=True, obj=name)
