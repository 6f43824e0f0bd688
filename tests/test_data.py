"""Loaders, validation errors and the canonical shape of the shipped data."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import forecast
from forecast.data import load_data
from forecast.data.readers import read_table, write_table
from forecast.data.task_table import task_table
from forecast.errors import InputError

FIXTURES = str(Path(__file__).parent / "fixtures" / "lmeval")


def test_datasets_listing(sas, bigg):
    table = forecast.datasets()
    assert list(table["name"])[:2] == ["bigbench_bigg", "slice_sandwich"]
    assert {"digits", "olmo_ladder"} <= set(table["name"])
    row = table.set_index("name").loc["bigbench_bigg"]
    assert row["tasks"] == 66 and row["models"] == 12 and row["rows"] == 75900
    assert sas.kind == "groups" and bigg.kind == "per_question"


def test_bigg_canonical_shape(bigg):
    assert list(bigg.results.columns) == ["task", "question_id", "model", "correct"]
    assert set(bigg.results["correct"].unique()) == {0, 1}
    assert bigg.scale("qa_wikidata") == "params"
    t = task_table(bigg.for_task("qa_wikidata"), "qa_wikidata")
    assert len(t) == 12 and t["compute"].iloc[-1] == 128e9
    # 0.13 / 0.17 at 128B for the emergent examples named in the data README
    m = task_table(bigg.for_task("modified_arithmetic"), "modified_arithmetic")
    assert (m["accuracy"].iloc[:-1] == 0).all() and m["accuracy"].iloc[-1] > 0.1


def test_task_info_is_leak_free(bigg):
    assert list(bigg.tasks.columns) == ["task", "format", "n_choices", "chance"]
    assert (bigg.tasks["format"] == "multiple_choice").sum() == 46


def test_slice_sandwich_orientation_and_models(sas):
    # TC Brier is stored (1-p)^2 in the shipped files, turned higher-is-better on load
    assert (sas.groups.loc[sas.groups["metric"] == "tc_brier", "value"] <= 0).all()
    assert (sas.scores.loc[sas.scores["metric"] == "tc_brier", "value"] <= 0).all()
    assert sas.scale("mmlu") == "flops"
    names = set(sas.models["model"])
    # the six models the paper dropped after seeing them are kept; --paper-exclusions drops them
    assert "microsoft/phi-2" in names and "facebook/xglm-564M" in names
    import forecast.data.shipped as shipped
    from forecast.data.slice_sandwich import PUBLISHED_EXCLUDED, with_paper_exclusions

    assert not set(PUBLISHED_EXCLUDED) & set(with_paper_exclusions(sas).models["model"])
    # declared beside the data set; the old names stay importable from shipped.py
    assert shipped.PUBLISHED_EXCLUDED is PUBLISHED_EXCLUDED and shipped.with_paper_exclusions is with_paper_exclusions
    assert "openai-community/gpt2" not in names  # no FLOPs
    t = task_table(sas.for_task("mmlu"), "mmlu")
    assert t["n_questions"].iloc[0] == 14042


def test_restrict_drops_every_table(sas):
    cut = 10**1.5 * 1e21
    r = sas.restrict(cut, "mmlu")
    comp = sas.compute_table().set_index("model")["compute"]
    for table in (r.groups, r.scores, r.models):
        assert (comp.loc[table["model"].unique()] <= cut).all()


def _models_csv(tmp_path, names):
    path = tmp_path / "models.csv"
    pd.DataFrame({"model": names, "params": [1e8 * (i + 1) for i in range(len(names))],
                  "tokens": 3e11}).to_csv(path, index=False)
    return path


def test_lmeval_folder_loads_with_models(tmp_path):
    names = ["EleutherAI/pythia-160m", "EleutherAI/pythia-410m", "EleutherAI/pythia-1b"]
    d = load_data(FIXTURES + "/good", models=_models_csv(tmp_path, names))
    assert set(d.task_names) == {"arc_easy", "gsm8k"}
    assert d.chance("arc_easy") == pytest.approx(0.25)
    assert d.chance("gsm8k") == 0.0
    m = d.models.set_index("model")
    assert m.loc["EleutherAI/pythia-160m", "flops"] == pytest.approx(6 * 1e8 * 3e11)


def test_generic_long_csv_and_parquet(tmp_path):
    rng = np.random.default_rng(0)
    rows = [
        {"task": "t", "question_id": q, "model": m, "correct": int(rng.random() < 0.5),
         "p_correct": float(rng.random())}
        for q in range(30) for m in ["a", "b", "c"]
    ]
    df = pd.DataFrame(rows)
    models = pd.DataFrame({"model": ["a", "b", "c"], "flops": [1e20, 1e21, 1e22]})
    tasks = pd.DataFrame({"task": ["t"], "format": ["multiple_choice"], "n_choices": [4], "chance": [0.25]})
    for name in ("r.csv", "r.parquet", "r.jsonl"):
        path = tmp_path / name
        if name.endswith(".jsonl"):
            path.write_text("\n".join(json.dumps(r) for r in rows))
        else:
            write_table(df, path)
        d = load_data(path, models=models, task_info=tasks)
        t = task_table(d, "t")
        assert list(t["model"]) == ["a", "b", "c"]
        assert t["tc_brier"].to_numpy() == pytest.approx(
            df.assign(b=-(1 - df.p_correct) ** 2).groupby("model")["b"].mean().to_numpy()
        )


def test_write_table_refuses_overwrite(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("keep me")
    with pytest.raises(InputError, match="already exists"):
        write_table(pd.DataFrame({"a": [1]}), path)
    assert path.read_text() == "keep me"
    write_table(pd.DataFrame({"a": [1]}), path, force=True)
    assert path.read_text().startswith("a")


BASE = "task,question_id,model,correct\nt,1,a,1\nt,2,a,0\n"


@pytest.mark.parametrize(
    "text, models, message",
    [
        ("task,model,correct\nt,a,1\n", "model,flops\na,1e20\n", "missing column 'question_id'"),
        ("task,question_id,model,correct\nt,1,a,\n", "model,flops\na,1e20\n", "column 'correct' has a missing"),
        ("task,question_id,model,correct\nt,1,a,2\n", "model,flops\na,1e20\n", "must be 0 or 1"),
        (BASE + "t,1,a,1\n", "model,flops\na,1e20\n", "duplicate row for question_id='1' at row 3 (same task, question_id, model as row 1)"),
        (BASE, "model,flops\nb,1e20\n", "model 'a' is not in the models table"),
        (BASE, "model,flops\na,inf\n", "column 'flops' is not a number"),
        (BASE, "model,flops\na,-3\n", "must be positive"),
        ("task,question_id,model,correct,p_correct\nt,1,a,1,1.5\n", "model,flops\na,1e20\n", "must lie in [0.0, 1.0]"),
    ],
)
def test_validation_errors_are_one_line(tmp_path, text, models, message):
    res, mod = tmp_path / "r.csv", tmp_path / "m.csv"
    res.write_text(text)
    mod.write_text(models)
    tasks = pd.DataFrame({"task": ["t"], "format": ["multiple_choice"], "n_choices": [4], "chance": [0.25]})
    with pytest.raises(InputError) as err:
        load_data(res, models=mod, task_info=tasks)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_unknown_chance_is_an_error(tmp_path):
    res = tmp_path / "r.csv"
    res.write_text(BASE)
    tasks = tmp_path / "tasks.csv"
    tasks.write_text("task,format,n_choices,chance\nt,multiple_choice,4,\n")
    with pytest.raises(InputError, match="multiple-choice task 't' has no chance"):
        load_data(res, models=pd.DataFrame({"model": ["a"], "flops": [1e20]}), task_info=tasks)


def test_unknown_task_gets_chance_zero_and_a_note(tmp_path):
    from forecast.errors import DataNote

    res = tmp_path / "r.csv"
    res.write_text(BASE)
    with pytest.warns(DataNote, match="assumed chance 0 for task 't'.*--task-info"):
        d = load_data(res, models=pd.DataFrame({"model": ["a"], "flops": [1e20]}))
    assert d.chance("t") == 0.0


def test_bad_jsonl_line_is_named(tmp_path):
    path = tmp_path / "r.jsonl.gz"
    with gzip.open(path, "wt") as fh:
        fh.write(json.dumps({"task": "t", "question_id": 1, "model": "a", "correct": 1}) + "\n{oops\n")
    with pytest.raises(InputError, match=r"r.jsonl.gz:2: not valid JSON"):
        read_table(path)


def test_mixed_scales_refused():
    """EvalData itself refuses a mixture; load_data puts the models on one axis first."""
    from forecast.data.dataset import EvalData
    from forecast.errors import DataNote

    models = pd.DataFrame({"model": ["a", "b"], "params": [1e8, 1e9], "tokens": [1e10, None]})
    res = pd.DataFrame({"task": "t", "question_id": ["1", "1"], "model": ["a", "b"], "correct": [0, 1]})
    tasks = pd.DataFrame({"task": ["t"], "format": ["generative"], "n_choices": [None], "chance": [0.0]})
    d = EvalData.from_frames(models, tasks, results=res)
    with pytest.raises(InputError, match="mix training FLOPs and parameter counts"):
        d.compute_table("t")
    with pytest.warns(DataNote, match="left out 1 model.*'b'"):
        assert load_data(res, models=models, task_info=tasks).models_of("t") == ["a"]


def test_brier_orientation_of_user_scores():
    from forecast.data.schema import validate_scores

    loss = pd.DataFrame({"task": "t", "model": ["a", "b"], "prob_renormalized": True,
                         "metric": "tc_brier", "value": [0.25, 0.04]})
    assert list(validate_scores(loss)["value"]) == [-0.25, -0.04]
    assert list(validate_scores(loss.assign(value=[-0.25, -0.04]))["value"]) == [-0.25, -0.04]
    with pytest.raises(InputError, match="mixes positive and negative"):
        validate_scores(loss.assign(value=[0.25, -0.04]))


def _data_imports() -> dict[str, set[str]]:
    """``forecast.data`` module -> the ``forecast`` modules it imports (also inside functions)."""
    import ast

    root = Path(forecast.__file__).parent / "data"
    graph: dict[str, set[str]] = {}
    for path in sorted(root.rglob("*.py")):  # forecast/data/lmeval/ too
        name = ".".join(("forecast", *path.relative_to(root.parent).with_suffix("").parts)).removesuffix(".__init__")
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("forecast"):
                found.add(node.module)
            elif isinstance(node, ast.Import):
                found |= {a.name for a in node.names if a.name.startswith("forecast")}
        graph[name] = found
    return graph


def test_the_data_layer_imports_only_itself_and_has_no_circle():
    graph = _data_imports()
    for module, found in graph.items():
        outside = {m for m in found if not (m.startswith(("forecast.data", "forecast.metrics")) or m == "forecast.errors")}
        assert not outside, f"{module} imports {sorted(outside)} from a higher layer"
    # the fingerprint is the bottom: it imports nothing of the package
    assert graph["forecast.data.fingerprint"] == set()
    state: dict[str, int] = {}

    def visit(module: str, path: tuple[str, ...]) -> None:
        state[module] = 1
        for dep in sorted(graph.get(module, ())):
            if dep == "forecast.data" or dep not in graph:
                continue
            assert state.get(dep) != 1, f"import circle: {' -> '.join((*path, dep))}"
            if dep not in state:
                visit(dep, (*path, dep))
        state[module] = 2

    for module in graph:
        if module not in state:
            visit(module, (module,))


def test_obsscaling_name_is_defined_once():
    from forecast.data import obsscaling, shipped

    assert shipped.OBSSCALING is obsscaling.OBSSCALING
    text = (Path(forecast.__file__).parent / "data" / "shipped.py").read_text(encoding="utf-8")
    assert 'OBSSCALING = "' not in text


def test_the_old_fingerprint_path_is_the_same_function():
    from forecast.backtest.jobs import data_fingerprint as old
    from forecast.data.fingerprint import data_fingerprint

    assert old is data_fingerprint


def test_every_table_route_gives_the_same_stored_results(tmp_path):
    df = pd.DataFrame({
        "task": ["t"] * 3, "question_id": [1, 2, 3], "model": ["m"] * 3, "correct": [1, 0, 1],
        "loglik": [[-0.1, -2.0], np.array([-3.0, -0.5]), "[-0.25, -1]"], "target": [0, 0, 1],
    })
    write_table(df, tmp_path / "r.csv")
    write_table(df, tmp_path / "r.parquet")
    df.assign(loglik=df["loglik"].map(lambda v: json.loads(v) if isinstance(v, str) else list(v))).to_json(
        tmp_path / "r.jsonl", orient="records", lines=True)
    from forecast.data.schema import validate_results

    want = validate_results(df)
    assert want["loglik"].tolist() == ["[-0.1, -2.0]", "[-3.0, -0.5]", "[-0.25, -1.0]"]
    assert want["target"].dtype == np.int64 and want["question_id"].tolist() == ["1", "2", "3"]
    for name in ("r.csv", "r.parquet", "r.jsonl"):
        got = validate_results(read_table(tmp_path / name))
        pd.testing.assert_frame_equal(got, want, check_exact=True, obj=name)
