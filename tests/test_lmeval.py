"""Tests for forecast.data.lmeval: lm-evaluation-harness --log_samples folders."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest

from forecast.data.lmeval import COLUMNS, list_lmeval_runs, read_lmeval
from forecast.errors import InputError

FIX = Path(__file__).parent / "fixtures" / "lmeval"
GOOD = FIX / "good"
M160, M410, M1B = "EleutherAI/pythia-160m", "EleutherAI/pythia-410m", "EleutherAI/pythia-1b"
TS = "2024-05-01T10-00-00.123456"


@pytest.fixture(scope="module")
def good():
    return read_lmeval(GOOD)


def mc_record(doc_id, lls, target, **extra):
    rec = {
        "doc_id": doc_id,
        "doc": {"q": "?"},
        "target": str(target),
        "arguments": [["Q:", f" c{k}"] for k in range(len(lls))],
        "resps": [[[str(x), "False"]] for x in lls],
        "filtered_resps": [[str(x), "False"] for x in lls],
        "filter": "none",
        "metrics": ["acc"],
    }
    rec.update(extra)
    return rec


def write_samples(folder: Path, task: str, records, ts: str = TS) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"samples_{task}_{ts}.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def raises_one_line(path, *parts, **kwargs) -> str:
    with pytest.raises(InputError) as info:
        read_lmeval(path, **kwargs)
    msg = str(info.value)
    assert "\n" not in msg
    for part in parts:
        assert part in msg, (part, msg)
    return msg


# ------------------------------------------------------------------ good run
def test_columns_and_row_counts(good):
    assert list(good.columns) == list(COLUMNS)
    assert len(good) == 3 * 6 + (2 * 3 + 3 + 3)
    counts = good.groupby(["task", "model"]).size().to_dict()
    assert counts == {
        ("arc_easy", M160): 6, ("arc_easy", M410): 6, ("arc_easy", M1B): 6,
        ("gsm8k", M160): 6, ("gsm8k", M410): 3, ("gsm8k", M1B): 3,
    }
    assert good["question_id"].map(type).eq(str).all()
    assert sorted(good.loc[good.task == "arc_easy", "question_id"].unique()) == list("012345")


def test_model_names_resolved(good):
    assert set(good["model"]) == {M160, M410, M1B}


def test_model_name_rules_on_renamed_folders(tmp_path):
    # folder names no longer carry the model: results_*.json must supply it
    shutil.copytree(GOOD / "EleutherAI__pythia-160m", tmp_path / "run_a")  # model_name
    shutil.copytree(GOOD / "EleutherAI__pythia-410m", tmp_path / "run_b")  # model_args only
    shutil.copytree(GOOD / "EleutherAI__pythia-1b", tmp_path / "org__sub__x")  # neither
    df = read_lmeval(tmp_path)
    assert set(df["model"]) == {M160, M410, "org/sub/x"}
    runs = list_lmeval_runs(tmp_path)
    assert dict(zip(runs.model_dir, runs.model)) == {
        "run_a": M160, "run_b": M410, "org__sub__x": "org/sub/x"
    }


def test_model_name_precedence_and_dict_model_args(tmp_path):
    folder = tmp_path / "some__dir"
    write_samples(folder, "t", [mc_record(0, [-1, -2], 0)])
    results = folder / f"results_{TS}.json"
    results.write_text(json.dumps(
        {"model_name": "a/named", "config": {"model_args": "pretrained=b/args,dtype=float16"}}
    ))
    assert set(read_lmeval(tmp_path)["model"]) == {"a/named"}
    results.write_text(json.dumps(
        {"model_name": "", "config": {"model_args": {"pretrained": "c/dict", "dtype": "auto"}}}
    ))
    assert set(read_lmeval(tmp_path)["model"]) == {"c/dict"}
    results.write_text(json.dumps({"config": {"model": "hf", "model_args": "dtype=auto"}}))
    assert set(read_lmeval(tmp_path)["model"]) == {"some/dir"}


def test_p_correct_hand_computed(good):
    row = good[(good.model == M160) & (good.task == "arc_easy") & (good.question_id == "0")]
    assert len(row) == 1
    row = row.iloc[0]
    assert row["loglik"] == [-1.0, -2.0, -0.5, -3.0]
    assert row["target"] == 2 and row["n_choices"] == 4 and row["correct"] == 1
    expected = math.exp(-0.5) / (math.exp(-1.0) + math.exp(-2.0) + math.exp(-0.5) + math.exp(-3.0))
    assert row["p_correct"] == pytest.approx(expected, rel=1e-12)
    assert row["p_correct"] == pytest.approx(0.5230820, abs=1e-7)


def test_correct_is_argmax_and_agrees_with_logged_acc(good):
    mc = good[good.task == "arc_easy"]
    for _, row in mc.iterrows():
        assert row["correct"] == int(int(np.argmax(row["loglik"])) == row["target"])
        assert 0.0 < row["p_correct"] <= 1.0
    assert mc.groupby("model")["correct"].sum().to_dict() == {M160: 4, M410: 5, M1B: 6}
    # same as the acc lm-eval logged in the newest samples file of each model
    logged = {}
    for path in GOOD.glob("*/samples_arc_easy_2024-05-*.jsonl"):
        recs = [json.loads(line) for line in path.read_text().splitlines()]
        logged[path.parent.name] = sum(float(r["acc"]) for r in recs)
    assert logged == {"EleutherAI__pythia-160m": 4, "EleutherAI__pythia-410m": 5,
                      "EleutherAI__pythia-1b": 6}
    assert "notes" in good.attrs and not any("disagree" in n for n in good.attrs["notes"])


def test_string_leaves_are_parsed(good):
    # pythia-410m logs loglik, target and metric values all as strings
    rows = good[good.model == M410]
    mc = rows[rows.task == "arc_easy"]
    assert all(isinstance(x, float) for ll in mc["loglik"] for x in ll)
    assert mc["loglik"].iloc[0] == [-2.0, -2.5, -0.25, -3.0]
    assert mc["target"].tolist() == [2, 0, 1, 2, 3, 0]
    gen = rows[rows.task == "gsm8k"]
    assert gen["value"].tolist() == [1.0, 1.0, 1.0] and gen["correct"].tolist() == [1, 1, 1]
    assert good["correct"].dtype == np.int64 and good["p_correct"].dtype == np.float64


def test_generative_rows_per_filter(good):
    gen = good[good.task == "gsm8k"]
    assert set(gen["metric"]) == {"exact_match"}
    assert gen["p_correct"].isna().all() and gen["loglik"].isna().all()
    assert gen["target"].isna().all() and gen["n_choices"].isna().all()
    assert (gen["correct"] == gen["value"]).all()
    m = gen[gen.model == M160]
    assert m.groupby("filter").size().to_dict() == {"strict-match": 3, "flexible-extract": 3}
    by = m.set_index(["filter", "question_id"])["correct"]
    assert by[("strict-match", "1")] == 0 and by[("flexible-extract", "1")] == 1
    assert set(gen.loc[gen.model != M160, "filter"]) == {"strict-match"}
    assert set(good.loc[good.task == "arc_easy", "filter"]) == {"none"}
    assert good.loc[good.task == "arc_easy", "metric"].isna().all()


def test_newest_timestamp_is_read(good):
    old = "samples_arc_easy_2024-04-01T09-00-00.000001.jsonl"
    # the older run has 3 documents, all wrong; the newer has 6 with 4 right
    mine = good[(good.model == M160) & (good.task == "arc_easy")]
    assert len(mine) == 6 and mine["correct"].sum() == 4
    assert any(old in note and "superseded" in note for note in good.attrs["notes"])
    runs = list_lmeval_runs(GOOD)
    assert list(runs.columns[:4]) == ["model_dir", "model", "task", "file"]
    assert len(runs) == 7 and runs["used"].sum() == 6
    stale = runs[~runs.used]
    assert len(stale) == 1 and stale.iloc[0]["file"].endswith(old)
    assert stale.iloc[0]["model"] == M160 and stale.iloc[0]["task"] == "arc_easy"


def test_newest_uses_fractional_seconds(tmp_path):
    folder = tmp_path / "org__m"
    write_samples(folder, "t", [mc_record(0, [-1, -2], 1)], ts="2024-05-01T10-00-00.9")
    write_samples(folder, "t", [mc_record(0, [-1, -2], 0)], ts="2024-05-01T10-00-00.123456")
    df = read_lmeval(tmp_path)
    assert df["target"].tolist() == [1]


def test_tasks_selection(tmp_path):
    df = read_lmeval(GOOD, tasks=["gsm8k"])
    assert set(df["task"]) == {"gsm8k"} and len(df) == 12
    assert set(read_lmeval(GOOD, tasks="arc_easy")["task"]) == {"arc_easy"}
    raises_one_line(GOOD, "'mmlu'", "arc_easy, gsm8k", tasks=["mmlu"])


def test_single_samples_file_and_model_folder():
    folder = GOOD / "EleutherAI__pythia-410m"
    df = read_lmeval(folder)
    assert set(df["model"]) == {M410} and len(df) == 9
    one = read_lmeval(next(folder.glob("samples_gsm8k_*.jsonl")))
    assert set(one["task"]) == {"gsm8k"} and set(one["model"]) == {M410}


# ------------------------------------------------------------------ numerics and edge cases
def test_p_correct_is_stable_for_large_logliks(tmp_path):
    write_samples(tmp_path / "org__m", "t", [
        mc_record(0, [-1000.0, -1001.0, -1e6], 0),
        mc_record(1, [-5e4, -5e4 - math.log(3)], 1),
        mc_record(2, [-2.0, "-inf"], 0),
    ])
    df = read_lmeval(tmp_path)
    p = df["p_correct"].tolist()
    assert p[0] == pytest.approx(1 / (1 + math.exp(-1)))
    assert p[1] == pytest.approx(0.25)
    assert p[2] == 1.0
    assert df["correct"].tolist() == [1, 0, 1]


def test_target_given_as_choice_text(tmp_path):
    rec = mc_record(0, [-3.0, -1.0, -2.0], 0)
    rec["target"] = "c2"  # matches the continuation " c2" of choice 2
    write_samples(tmp_path / "org__m", "t", [rec])
    df = read_lmeval(tmp_path)
    assert df["target"].tolist() == [2] and df["correct"].tolist() == [0]


def test_acc_disagreement_trusts_logliks(tmp_path):
    write_samples(tmp_path / "org__m", "t", [
        mc_record(0, [-1.0, -2.0], 0, acc=0.0),  # disagrees: argmax 0 == target
        mc_record(1, [-1.0, -2.0], 1, acc="0.0"),
    ])
    with pytest.warns(UserWarning, match="disagrees"):
        df = read_lmeval(tmp_path)
    assert df["correct"].tolist() == [1, 0]
    assert any("1 of 2 records" in n for n in df.attrs["notes"])


def test_missing_filter_key_means_none(tmp_path):
    rec = mc_record(0, [-1.0, -2.0], 0)
    del rec["filter"], rec["filtered_resps"]
    write_samples(tmp_path / "org__m", "t", [rec])
    df = read_lmeval(tmp_path)
    assert df["filter"].tolist() == ["none"] and df["loglik"].iloc[0] == [-1.0, -2.0]


# ------------------------------------------------------------------ errors
def test_missing_path(tmp_path):
    raises_one_line(tmp_path / "nope", "nope", "no such file or folder")


def test_no_samples_files():
    raises_one_line(FIX / "no_samples", "no_samples", "no lm-eval samples files", "--log_samples")


def test_malformed_json_line():
    msg = raises_one_line(FIX / "bad_json", f"samples_arc_easy_{TS}.jsonl:2:", "not valid JSON")
    assert "bad_json" in msg


def test_target_out_of_range():
    raises_one_line(
        FIX / "bad_target", f"samples_arc_easy_{TS}.jsonl:3:", "doc_id 2", "target 7",
        "4 choices",
    )


@pytest.mark.parametrize("key", ["doc_id", "target", "resps"])
def test_missing_key(tmp_path, key):
    recs = [mc_record(0, [-1, -2], 0), mc_record(1, [-1, -2], 0)]
    del recs[1][key]
    write_samples(tmp_path / "org__m", "t", recs)
    raises_one_line(tmp_path, f"samples_t_{TS}.jsonl:2:", f"no '{key}' key")


@pytest.mark.parametrize("bad", ["abc", "nan", None, True])
def test_loglik_not_a_number(tmp_path, bad):
    rec = mc_record(4, [-1.0, -2.0, -3.0], 0)
    rec["filtered_resps"][1][0] = bad
    rec["resps"][1][0][0] = bad
    write_samples(tmp_path / "org__m", "t", [mc_record(3, [-1, -2, -3], 0), rec])
    raises_one_line(tmp_path, f"samples_t_{TS}.jsonl:2:", "doc_id 4", "choice 1", "not a number")


def test_duplicate_doc_and_filter(tmp_path):
    write_samples(tmp_path / "org__m", "t", [mc_record(0, [-1, -2], 0)] * 2)
    raises_one_line(tmp_path, f"samples_t_{TS}.jsonl:2:", "appears again", "line 1")


def test_generative_without_binary_metric(tmp_path):
    rec = {"doc_id": 0, "doc": {}, "target": "x", "arguments": [["Q", {}]], "resps": [["y"]],
           "filtered_resps": ["y"], "filter": "none", "metrics": ["bleu"], "bleu": 0.4}
    write_samples(tmp_path / "org__m", "gen", [rec])
    raises_one_line(tmp_path, "samples_gen_", "no per-question 0/1 metric", "bleu")


def test_bad_results_json(tmp_path):
    write_samples(tmp_path / "org__m", "t", [mc_record(0, [-1, -2], 0)])
    (tmp_path / "org__m" / f"results_{TS}.json").write_text("{not json")
    raises_one_line(tmp_path, f"results_{TS}.json:1:", "not valid JSON")


def test_empty_samples_file(tmp_path):
    write_samples(tmp_path / "org__m", "t", [])
    raises_one_line(tmp_path, f"samples_t_{TS}.jsonl", "no records")
