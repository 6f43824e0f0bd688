"""The command line: outputs, exit codes, one-line errors, files never half-written."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest


FIXTURES = Path(__file__).parent / "fixtures" / "lmeval"


def run(*args, cwd=None):
    """The CLI in a subprocess, run from a scratch folder so the installed package is used."""
    return subprocess.run(
        [sys.executable, "-m", "forecast.cli", *args], capture_output=True, text=True,
        cwd=cwd or tempfile.gettempdir(), timeout=300,
    )


def assert_one_line_error(proc, fragment):
    assert proc.returncode == 2, proc.stderr
    lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert fragment in lines[0]


def test_datasets_command():
    proc = run("datasets")
    assert proc.returncode == 0
    assert "bigbench_bigg" in proc.stdout and "slice_sandwich" in proc.stdout
    assert "75900" in proc.stdout
    # a listing is not a load: no loader notes (pythia's left-out bias rows, ...)
    assert "pythia" in proc.stdout and "note:" not in proc.stderr and "left out" not in proc.stderr


def test_loading_one_data_set_says_its_notes_once():
    """``forecast fit pythia`` still says the loader's note, once (the listing only is quiet)."""
    proc = run("fit", "pythia", "--task", "lambada_openai:0", "--cutoff", "2.6e21", "--method", "persistence",
               "--no-cache")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count("forecast: note: pythia: left out 9504 rows of bias measures") == 1


def test_datasets_listing_warns_nothing_and_keeps_later_loads_saying_notes():
    import warnings

    from forecast.data.shipped import datasets, load_dataset
    from forecast.errors import DataNote

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        table = datasets()
    assert "pythia" in set(table["name"])
    assert not [w for w in caught if issubclass(w.category, DataNote)]
    assert any("left out 9504 rows" in n for n in load_dataset("pythia").notes)


def test_fit_json_is_strict(tmp_path):
    proc = run("fit", "slice_sandwich", "--task", "arithmetic", "--cutoff", "6.31e22", "--budget", "1e24",
               "--at", "1e23,1e24", "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout, parse_constant=lambda c: pytest.fail(f"non-strict JSON constant {c}"))
    for key in ("task", "method", "cutoff", "level", "tau", "threshold", "p_below_budget", "diagnostics",
                "predictions"):
        assert key in out
    assert set(out["threshold"]) >= {"estimate", "lower", "upper", "p_reached", "upper_censored"}
    assert [p["compute"] for p in out["predictions"]] == [1e23, 1e24]
    for p in out["predictions"]:
        assert 0 <= p["lower"] <= p["mean"] <= p["upper"] <= 1


def test_fit_text_and_plot(bigg, tmp_path):
    # four BIG-G tasks as a user's files, not all 66: what is checked (the text report, the
    # plot, the default method named, a second --plot refused) does not depend on the number
    # of tasks, and four are enough for the default mixture's weights (3 tasks or more), while
    # learning its settings on 66 tasks takes about a minute
    from task_slices import BIGG_FOUR, write_task_slice

    data = write_task_slice(bigg, BIGG_FOUR, tmp_path / "data")
    plot = tmp_path / "f.png"
    proc = run("fit", *data, "--task", "qa_wikidata", "--cutoff", "8e9", "--plot", str(plot))
    assert proc.returncode == 0, proc.stderr
    assert "emergence threshold" in proc.stdout and plot.stat().st_size > 10_000
    # no --method: the rule's pick for the data's kind, and the output says so
    from forecast.methods.defaults import DEFAULT_BY_KIND

    assert f"method {DEFAULT_BY_KIND['per_question'][0]} (the default for per-question data)" in proc.stdout
    again = run("fit", *data, "--task", "qa_wikidata", "--cutoff", "8e9", "--plot", str(plot))
    assert_one_line_error(again, "already exists")


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["fit", "slice_sandwich", "--task", "mmlu", "--cutoff", "31.6"], "below the smallest model"),
        (["fit", "slice_sandwich", "--task", "mmlu", "--cutoff", "abc"], "--cutoff must be raw compute"),
        (["fit", "slice_sandwich", "--task", "nope", "--cutoff", "3e22"], "unknown task 'nope'"),
        (["fit", "slice_sandwich", "--task", "mmlu", "--cutoff", "3e22", "--tau", "1.5"], "tau must lie in"),
        (["fit", "slice_sandwich", "--task", "mmlu", "--cutoff", "3e22", "--method", "magic"], "unknown method"),
        (["fit", "missing.csv", "--task", "t", "--cutoff", "1e22"], "no such file"),
    ],
)
def test_bad_input_exits_2_with_one_line(args, fragment):
    assert_one_line_error(run(*args), fragment)


def test_ingest_lmeval(tmp_path):
    out = tmp_path / "results.csv"
    proc = run("ingest", "lm-eval", str(FIXTURES / "good"), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert out.exists() and "wrote" in proc.stdout
    before = out.read_text()
    again = run("ingest", "lm-eval", str(FIXTURES / "good"), "--out", str(out))
    assert_one_line_error(again, "already exists")
    assert out.read_text() == before
    bad = tmp_path / "bad.csv"
    proc = run("ingest", "lm-eval", str(FIXTURES / "bad_json"), "--out", str(bad))
    assert_one_line_error(proc, "not valid JSON")
    assert not bad.exists()
