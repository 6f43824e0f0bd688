"""Issue 12, case by case: every bad input of the issue gives exit 2 (or InputError in the
API), one line naming the file, column, option or value, no traceback and nothing written;
output places are checked before the work starts; a backtest folder is locked for the
length of a run; same seed, same bytes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from badinput_helpers import assert_refused, listing, run_main
from task_slices import BIGG_FEW, write_task_slice

import forecast
from forecast.backtest.store import LOCK_FILE, lock_output
from forecast.data import load_data
from forecast.errors import InputError
from forecast.methods import make_method

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures" / "lmeval"
BIGG_TASK = "qa_wikidata"
SAS_TASK = "arithmetic"


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """Clean and corrupted copies of real data (one BIG-G task, one Slice-and-Sandwich task)."""
    root = tmp_path_factory.mktemp("files")
    bigg = forecast.load_dataset("bigbench_bigg").for_task(BIGG_TASK)
    sas = forecast.load_dataset("slice_sandwich").for_task(SAS_TASK)
    res, groups, scores = bigg.results, sas.groups.copy(), sas.scores.copy()
    # the shipped tables are stored higher-is-better; write the Brier values as the loss users have
    for t in (groups, scores):
        brier = t["metric"] == "tc_brier"
        t.loc[brier, "value"] = -t.loc[brier, "value"]
    out: dict[str, Path] = {}

    def put(name: str, df: pd.DataFrame) -> None:
        out[name] = root / f"{name}.csv"
        df.to_csv(out[name], index=False)

    put("results", res)
    put("bigg_models", bigg.models)
    put("groups", groups)
    put("scores", scores)
    put("sas_models", sas.models)
    for old, new in (("task", "task_name"), ("task", "benchmark"), ("task", " task"),
                     ("correct", "Correct"), ("correct", "correct ")):
        put(f"results_{new.strip() or 'x'}_{'sp' if new != new.strip() else 'ok'}", res.rename(columns={old: new}))
    huge = res.astype({"correct": object})
    huge.loc[5, "correct"] = int("9" * 401)
    put("results_huge", huge)
    put("results_all_right", res.assign(correct=1))

    def corrupt(name: str, table: pd.DataFrame, column: str, value, row: int = 0) -> None:
        t = table.astype({column: object})
        t.loc[row, column] = value
        put(name, t)

    corrupt("groups_nq0", groups, "n_questions", 0)
    corrupt("groups_nq_neg", groups, "n_questions", -4)
    corrupt("groups_ng0", groups, "n_groups", 0)
    corrupt("groups_frac_index", groups, "group_index", 1.5)
    corrupt("groups_index_beyond", groups, "group_index", 12)
    corrupt("groups_neg_difficulty", groups, "difficulty_flops_max_1e21", -3.0)
    corrupt("groups_maybe", groups, "prob_renormalized", "maybe")
    brier_row = int(np.flatnonzero(groups["metric"].to_numpy() == "tc_brier")[0])
    corrupt("groups_brier5", groups, "value", 5.0, brier_row)
    acc_row = int(np.flatnonzero(scores["metric"].to_numpy() == "accuracy")[0])
    corrupt("scores_acc17", scores, "value", 1.7, acc_row)
    put("groups_no_index", groups.drop(columns="group_index"))
    tasks = pd.DataFrame({"task": [BIGG_TASK], "format": ["generative"], "n_choices": [np.nan], "chance": [0.0]})
    put("tasks", tasks)
    put("tasks_chance1", tasks.assign(chance=1.0))
    put("tasks_blank_chance", tasks.assign(chance=np.nan))
    put("tasks_no_chance", tasks.drop(columns="chance"))
    put("tasks_bad_format", tasks.assign(format="free text"))
    one = res[res["model"] == res["model"].iloc[0]]
    put("results_one_model", one)
    return out


@pytest.fixture(scope="module")
def bigg_few(tmp_path_factory) -> list[str]:
    """Two BIG-G tasks as a user's files: the command-line words that load them."""
    return write_task_slice(forecast.load_dataset("bigbench_bigg"), BIGG_FEW, tmp_path_factory.mktemp("few"))


def _fit_args(f, data="results", *extra):
    if data.startswith(("groups", "scores")) or data in ("groups",):
        return ["fit", f[data], "--scores", f["scores"], "--models", f["sas_models"], "--task", SAS_TASK,
                "--cutoff", "6.3e22", *extra]
    return ["fit", f[data], "--models", f["bigg_models"], "--task", BIGG_TASK, "--cutoff", "8e9", *extra]


# ------------------------------------------------------------------------------ tracebacks
@pytest.mark.parametrize("name, fragment", [
    ("results_task_name_ok", "missing column 'task' (has: task_name"),
    ("results_benchmark_ok", "missing column 'task' (has: benchmark"),
    ("results_task_sp", "missing column 'task'; found ' task': column names must match exactly"),
    ("results_Correct_ok", "missing column 'correct'; found 'Correct': column names must match exactly"),
    ("results_correct_sp", "missing column 'correct'; found 'correct ': column names must match exactly"),
    ("results_huge", "column 'correct'"),
])
@pytest.mark.parametrize("command", ["fit", "metrics", "backtest"])
def test_bad_results_file_every_command(files, tmp_path, name, fragment, command):
    out = tmp_path / "out"
    if command == "fit":
        args = _fit_args(files, name, "--plot", tmp_path / "f.png")
    elif command == "metrics":
        args = ["metrics", files[name], "--models", files["bigg_models"]]
    else:
        args = ["backtest", files[name], "--models", files["bigg_models"], "--out", out, "--no-progress"]
    line = assert_refused(run_main(*args), fragment, str(files[name]))
    assert len(line) < 300  # a 401-digit number is cut in the message
    assert listing(tmp_path) == set()


def test_bad_results_in_the_api(files):
    for name in ("results_task_name_ok", "results_huge", "results_correct_sp"):
        with pytest.raises(InputError) as err:
            make_method("linear").fit(load_data(files[name], models=files["bigg_models"]), 8e9, task=BIGG_TASK)
        assert "\n" not in str(err.value) and "column" in str(err.value)


def test_published_on_a_task_every_answer_right(files):
    r = run_main(*_fit_args(files, "results_all_right", "--method", "published", "--json"))
    assert r.code == 0, r.stderr
    report = json.loads(r.stdout)
    assert all(p["mean"] == pytest.approx(1.0) for p in report["predictions"])


def test_negative_seed(files, tmp_path):
    assert_refused(run_main(*_fit_args(files, "results", "--seed", "-1")), "--seed", "-1")
    assert_refused(run_main("backtest", "bigbench_bigg", "--seed", "-1", "--out", tmp_path / "o"), "--seed")
    assert not (tmp_path / "o").exists()
    with pytest.raises(InputError, match="seed must be an integer of at least 0"):
        make_method("linear", seed=-1).fit("bigbench_bigg", 8e9, task=BIGG_TASK)


# ------------------------------------------------------------------------------ output places
def test_unwritable_plot_place(files, tmp_path):
    under_file = tmp_path / "a_file"
    under_file.write_text("x")
    for plot, why in ((Path("/proc/forecast.png"), "is not writable"),
                      (under_file / "f.png", "is a file, not a folder"),
                      (tmp_path / "missing" / "f.png", "does not exist")):
        before = listing(tmp_path)
        assert_refused(run_main(*_fit_args(files, "results", "--plot", plot)), str(plot), why)
        assert listing(tmp_path) == before


def test_unwritable_ingest_output(tmp_path):
    good = FIXTURES / "good"
    under_file = tmp_path / "a_file"
    under_file.write_text("x")
    for out, why in ((Path("/proc/forecast.csv"), "is not writable"),
                     (tmp_path / "missing" / "r.csv", "does not exist"),
                     (under_file / "r.csv", "is a file, not a folder"),
                     (Path("/dev/full/r.csv"), "is a file, not a folder")):
        before = listing(tmp_path)
        assert_refused(run_main("ingest", "lm-eval", good, "--out", out), str(out), why)
        assert listing(tmp_path) == before


def test_disk_full_write_leaves_no_partial_file(tmp_path, monkeypatch):
    from forecast.data import readers

    def full(self, *a, **k):
        Path(a[0]).write_text("half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_csv", full)
    with pytest.raises(InputError, match="cannot be written .No space left on device"):
        readers.write_table(pd.DataFrame({"a": [1]}), tmp_path / "x.csv")
    assert listing(tmp_path) == set()


@pytest.mark.parametrize("where, why", [
    ("under_file", "is a file, not a folder"),
    ("/dev/full/run", "/dev/full is a file, not a folder"),
    ("/proc/forecast-run", "is not writable"),
    ("is_file", "is a file"),
])
def test_unwritable_backtest_out(tmp_path, where, why):
    (tmp_path / "a_file").write_text("x")
    out = {"under_file": tmp_path / "a_file" / "run", "is_file": tmp_path / "a_file"}.get(where, Path(where))
    before = listing(tmp_path)
    assert_refused(run_main("backtest", "bigbench_bigg", "--tasks", BIGG_TASK, "--methods", "linear",
                            "--out", out, "--no-progress"), str(out), why)
    assert listing(tmp_path) == before


# ------------------------------------------------------------------------------ accepted although wrong
@pytest.mark.parametrize("name, fragment", [
    ("groups_nq0", "column 'n_questions' must be a whole number of at least 1, found 0"),
    ("groups_nq_neg", "column 'n_questions' must be a whole number of at least 1, found -4"),
    ("groups_ng0", "column 'n_groups' must be a whole number of at least 1, found 0"),
    ("groups_frac_index", "column 'group_index' must be a whole number of at least 0 and at most"),
    ("groups_index_beyond", "column 'group_index' must be a whole number of at least 0 and at most 9, found 12"),
    ("groups_neg_difficulty", "column 'difficulty_flops_max_1e21' must be positive"),
    ("groups_brier5", "column 'value' for metric 'tc_brier' must be a loss in [0, 1]"),
    ("groups_maybe", "column 'prob_renormalized' must be true or false, found 'maybe'"),
    ("groups_no_index", "missing column 'group_index' (has: task,"),
])
def test_bad_group_files(files, name, fragment):
    line = assert_refused(run_main(*_fit_args(files, name)), str(files[name]), fragment)
    assert name == "groups_no_index" or " at row " in line


def test_bad_whole_task_accuracy(files):
    args = ["fit", files["groups"], "--scores", files["scores_acc17"], "--models", files["sas_models"],
            "--task", SAS_TASK, "--cutoff", "6.3e22"]
    assert_refused(run_main(*args), str(files["scores_acc17"]), "metric 'accuracy'", "1.7")


def test_clean_group_files_still_fit(files):
    r = run_main(*_fit_args(files, "groups", "--json"))
    assert r.code == 0, r.stderr
    for p in json.loads(r.stdout)["predictions"]:
        assert 0 <= p["lower"] <= p["mean"] <= p["upper"] <= 1


@pytest.mark.parametrize("name, fragment", [
    ("tasks_chance1", "column 'chance' must lie in [0, 1)"),
    ("tasks_blank_chance", "task 'qa_wikidata' has no chance accuracy"),
    ("tasks_no_chance", "missing column 'chance'"),
    ("tasks_bad_format", "has format 'free text'"),
])
def test_bad_task_info(files, name, fragment):
    assert_refused(run_main(*_fit_args(files, "results", "--task-info", files[name])), str(files[name]), fragment)


def test_task_info_with_chance_zero_is_used(files):
    r = run_main(*_fit_args(files, "results", "--task-info", files["tasks"], "--json"))
    assert r.code == 0, r.stderr
    assert json.loads(r.stdout)["chance"] == 0.0


@pytest.mark.parametrize("option, value, fragment", [
    ("--budget", "21.5", "--budget 21.5 is 4 decades below the smallest model (2e+06)"),
    ("--budget", "24", "did you mean 1e+24 (10^24)?"),
    ("--at", "9.9", "--at 9.9 is 5 decades below the smallest model"),
    ("--at", "1e10,9.9", "did you mean 7.94e+09 (10^9.9)?"),
    ("--at", ",", "--at is an empty list"),
    ("--at", "1e10,,1e11", "--at has an empty item"),
    ("--budget", "abc", "--budget must be raw compute"),
])
def test_compute_options_in_the_wrong_units(files, option, value, fragment):
    assert_refused(run_main(*_fit_args(files, "results", option, value)), fragment)


def test_compute_in_the_wrong_units_in_the_api(files):
    f = make_method("linear").fit(load_data(files["results"], models=files["bigg_models"]), 8e9, task=BIGG_TASK)
    with pytest.raises(InputError, match=r"budget 21.5 is 4 decades below .* did you mean 3.16e\+21"):
        f.threshold(budget=21.5)
    with pytest.raises(InputError, match="compute 9.9 is 5 decades below"):
        f.predict([9.9])
    with pytest.raises(InputError, match="compute is empty"):
        f.predict([])
    # a compute value inside three decades of the smallest model is a forecast, not a slip
    assert len(f.predict([1e4, 1e12])) == 2
    with pytest.raises(InputError, match="cutoff 9.9 is 5 decades below"):
        make_method("linear").fit(f.pool_, 9.9, task=BIGG_TASK)


def test_metrics_task_options(files):
    assert_refused(run_main("metrics", "bigbench_bigg", "--task", ""), "--task is empty")
    assert_refused(run_main("metrics", files["results_one_model"], "--models", files["bigg_models"]),
                   f"task {BIGG_TASK!r}: 1 model is too few")


# ------------------------------------------------------------------------------ unclear errors
@pytest.mark.parametrize("option, value, fragment", [
    ("--tasks", ",", "--tasks is an empty list"),
    ("--methods", "a,,b", "--methods has an empty item in 'a,,b'"),
    ("--methods", " , ", "--methods is an empty list"),
])
def test_backtest_list_options_name_the_option(tmp_path, option, value, fragment):
    assert_refused(run_main("backtest", "bigbench_bigg", option, value, "--out", tmp_path / "o"), fragment)
    assert not (tmp_path / "o").exists()


def test_duplicate_row_names_the_key_that_repeats(files, tmp_path):
    g = pd.read_csv(files["groups"])
    path = tmp_path / "dup.csv"
    pd.concat([g, g.iloc[[7]]]).to_csv(path, index=False)
    line = assert_refused(run_main(*_fit_args({**files, "groups_dup": path}, "groups_dup")), "duplicate row")
    assert f"at row {len(g) + 1} (same task, model, prob_renormalized" in line
    assert "as row 8" in line


def test_api_parameter_checks():
    data = forecast.load_dataset("bigbench_bigg")
    for method, params, fragment in (
        ("slice_sandwich", {"prior_sd": (1.0, -1.0, 1.0)}, "prior_sd must be positive finite"),
        ("slice_sandwich", {"extrapolation_sd": float("nan")}, "extrapolation_sd must be non-negative"),
        ("slice_sandwich", {"chains": 0}, "chains must be an integer of at least 1"),
        ("persistence", {"k": 0}, "unexpected keyword argument 'k'"),  # one persistence, no k
        ("linear", {"n_draws": 5.5}, "n_draws must be an integer of at least 10"),
        ("paper_sigmoid", {"clip": "yes"}, "clip must be True or False"),
    ):
        with pytest.raises(InputError, match=fragment):
            make_method(method, **params).fit(data, 8e9, task=BIGG_TASK)
    for cutoff, fragment in (("abc", "cutoff must be raw FLOPs or parameters such as 8e9, got 'abc'"),
                             (float("nan"), "cutoff must be positive"), (-1, "cutoff must be positive"),
                             (True, "cutoff must be raw FLOPs")):
        with pytest.raises(InputError, match=fragment):
            make_method("linear").fit(data, cutoff, task=BIGG_TASK)
    with pytest.raises(InputError, match="task must be a task name"):
        make_method("linear").fit(data, 8e9, task="")
    with pytest.raises(InputError, match="data must be a dataset name"):
        make_method("linear").fit(42, 8e9)


# ------------------------------------------------------------------------------ locking
def _hold_lock(folder: Path) -> subprocess.Popen:
    code = ("import sys, time\nfrom forecast.backtest.store import lock_output\n"
            f"with lock_output({str(folder)!r}):\n    print('locked', flush=True)\n    time.sleep(60)\n")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_a_locked_folder_refuses_a_second_writer(tmp_path):
    out = tmp_path / "run"
    holder = _hold_lock(out)
    try:
        args = ("backtest", "bigbench_bigg", "--tasks", BIGG_TASK, "--methods", "linear", "--cutoffs", "4e9",
                "--out", out, "--no-progress", "--no-plots")
        for extra in ((), ("--resume",), ("--force",)):
            assert_refused(run_main(*args, *extra), f"{out}: another backtest is writing into this folder")
        assert listing(out) == {LOCK_FILE}
        with pytest.raises(InputError, match="another backtest is writing"):
            with lock_output(out):
                pass
    finally:
        holder.kill()
        holder.wait()
    # the holder died without cleaning up: its lock is gone with it (never stale)
    r = run_main(*args)
    assert r.code == 0, r.stderr
    assert (out / "predictions.csv").is_file()


def test_lock_is_reentrant_in_one_process_and_leaves_no_folder(tmp_path):
    out = tmp_path / "run"
    with lock_output(out):
        with lock_output(out):  # the CLI and the runner it calls may both take it
            assert (out / LOCK_FILE).is_file()
    assert not out.exists()  # nothing but the lock was written: the folder goes too
    keep = tmp_path / "keep"
    keep.mkdir()
    (keep / "notes.txt").write_text("mine")
    with lock_output(keep):
        pass
    assert listing(keep) == {"notes.txt", LOCK_FILE}


#: ``forecast ARGS`` in a child process whose jobs wait until the file GO exists (having
#: written GO.waiting): the run is mid-job, holding its lock, for as long as the test needs,
#: however fast or loaded the machine is
_GATED_CLI = (
    "import sys, time\n"
    "from pathlib import Path\n"
    "import forecast.backtest.jobs as jobs\n"
    "go, evaluate = Path(sys.argv.pop(1)), jobs._evaluate\n"
    "def gated(job):\n"
    "    go.with_suffix('.waiting').touch()\n"
    "    deadline = time.time() + 120\n"
    "    while not go.exists() and time.time() < deadline:\n"
    "        time.sleep(0.05)\n"
    "    return evaluate(job)\n"
    "jobs._evaluate = gated\n"
    "from forecast.cli import main\n"
    "main()\n"
)


@pytest.mark.slow
def test_two_backtests_at_once_into_one_folder(tmp_path, bigg_few):
    out, go = tmp_path / "run", tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    args = ["backtest", *bigg_few, "--out", str(out), "--no-progress", "--no-plots", "--resume",
            "--cutoffs", "8e9"]
    first = subprocess.Popen([sys.executable, "-c", _GATED_CLI, str(go), *args, "--methods", "sigmoid,linear"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.time() + 120
        while not go.with_suffix(".waiting").exists() and time.time() < deadline:
            assert first.poll() is None, first.stderr.read()
            time.sleep(0.05)
        assert (out / LOCK_FILE).exists(), "the first run reached its jobs without the lock"
        second = subprocess.run([sys.executable, "-m", "forecast.cli", *args, "--methods", "persistence",
                                 "--tasks", "qa_wikidata"], capture_output=True, text=True, env=env)
        assert first.poll() is None, "the first run ended before the second started"
        assert second.returncode == 2 and "another backtest is writing" in second.stderr
    finally:
        go.touch()
        first.wait(timeout=600)
    assert first.returncode == 0, first.stderr.read()
    run = json.loads((out / "run.json").read_text())
    summary = pd.read_csv(out / "summary.csv")
    assert set(summary["method"]) == {"sigmoid", "linear"}  # the first run's own work, all of it
    assert len(pd.read_csv(out / "jobs.csv").query("status == 'ok'")) >= 2 * 2
    assert "persistence" not in json.dumps(run)


# ------------------------------------------------------------------------------ same seed, same bytes
def test_fit_json_is_byte_identical_across_runs(bigg_few):
    args = ("fit", *bigg_few, "--task", BIGG_TASK, "--cutoff", "8e9", "--budget", "1e11",
            "--at", "1e10,1e11", "--json")
    a, b, c = run_main(*args), run_main(*args), run_main(*args, "--seed", "1")
    assert a.code == b.code == c.code == 0
    assert a.stdout == b.stdout
    assert a.stdout != c.stdout


def test_backtest_files_byte_identical_across_runs(tmp_path, bigg_few):
    args = ("backtest", *bigg_few, "--methods",
            "persistence_drift,linear", "--cutoffs", "8e9", "--no-progress", "--no-plots")
    for name in ("a", "b"):
        r = run_main(*args, "--out", tmp_path / name)
        assert r.code == 0, r.stderr
    csvs = sorted(p.name for p in (tmp_path / "a").glob("*.csv"))
    assert {"predictions.csv", "metrics.csv", "summary.csv", "jobs.csv"} <= set(csvs)
    timing = []
    for name in csvs:
        a, b = (tmp_path / "a" / name).read_bytes(), (tmp_path / "b" / name).read_bytes()
        if a == b:
            continue
        # only timing columns may differ
        ta, tb = pd.read_csv(tmp_path / "a" / name), pd.read_csv(tmp_path / "b" / name)
        differ = [c for c in ta.columns if not ta[c].equals(tb[c])]
        assert set(differ) <= {"seconds"}, (name, differ)
        timing.append(name)
    assert set(timing) <= {"jobs.csv"}


def test_a_data_file_with_only_a_header_is_refused(files, tmp_path):
    empty = tmp_path / "groups_empty.csv"
    pd.read_csv(files["groups"]).iloc[:0].to_csv(empty, index=False)
    assert_refused(run_main(*_fit_args({**files, "groups_empty": empty}, "groups_empty")), str(empty), "has no rows")
    scores = tmp_path / "scores_empty.csv"
    pd.read_csv(files["scores"]).iloc[:0].to_csv(scores, index=False)
    args = ["fit", files["groups"], "--scores", scores, "--models", files["sas_models"], "--task", SAS_TASK,
            "--cutoff", "6.3e22"]
    assert_refused(run_main(*args), str(scores), "has no rows")
