"""A user's own data on the first try, names on every plot, output that fits a terminal."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from forecast.data import load_data
from forecast.errors import DataNote, InputError

README = Path(__file__).resolve().parent.parent / "README.md"
SIZES = {"70m": 7e7, "160m": 1.6e8, "410m": 4.1e8, "1b": 1e9, "1.4b": 1.4e9, "2.8b": 2.8e9}


def pythia_results(names: list[str] | None = None, n_questions: int = 60, task: str = "my_task") -> pd.DataFrame:
    """Per-question correctness of a rising curve on the Pythia sizes (seeded)."""
    rng = np.random.default_rng(0)
    names = names or [f"EleutherAI/pythia-{s}" for s in SIZES]
    difficulty = rng.normal(0.0, 1.5, n_questions)
    rows = []
    for name, size in zip(names, SIZES.values()):
        p = 1.0 / (1.0 + np.exp(-(-2.0 + 1.2 * (np.log10(size) - 8.0) - difficulty)))
        correct = rng.random(n_questions) < p
        rows += [{"task": task, "question_id": q, "model": name, "correct": int(c)} for q, c in enumerate(correct)]
    return pd.DataFrame(rows)


def run(*args):
    return subprocess.run([sys.executable, "-m", "forecast.cli", *args], capture_output=True, text=True,
                          cwd=tempfile.gettempdir(), timeout=300)


# ---------------------------------------------------------------- own data
def test_unknown_task_gets_chance_zero_with_one_note():
    with pytest.warns(DataNote, match=r"assumed chance 0 for task 'my_task' .*--task-info") as said:
        d = load_data(pythia_results())
    assert len([w for w in said if issubclass(w.category, DataNote)]) == 1
    assert d.chance("my_task") == 0.0
    assert any("assumed chance 0" in n for n in d.notes)
    tasks = pd.DataFrame({"task": ["my_task"], "format": ["multiple_choice"], "n_choices": [4], "chance": [0.25]})
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataNote)  # --task-info given: nothing assumed
        assert load_data(pythia_results(), task_info=tasks).chance("my_task") == 0.25


def test_missing_model_names_closest_known_and_models_option():
    data = pythia_results([f"EleutherAI/pythia-{s}-dedup" for s in SIZES])
    with pytest.raises(InputError) as err:
        load_data(data)
    message = str(err.value)
    assert "'EleutherAI/pythia-1.4b-dedup' is not in the models table" in message
    assert "closest known: EleutherAI/pythia-1.4b-deduped" in message
    assert "--models" in message and "\n" not in message


def test_hugging_face_names_resolve_and_pythia_variants_stay_apart():
    with pytest.warns(DataNote):
        standard = load_data(pythia_results())
    assert set(standard.models_of()) == {f"EleutherAI/pythia-{s}" for s in SIZES}
    with pytest.warns(DataNote, match="read model .*'pythia-1b-deduped' as 'EleutherAI/pythia-1b-deduped'"):
        short = load_data(pythia_results([f"pythia-{s}-deduped" for s in SIZES]))
    assert set(short.models_of()) == {f"EleutherAI/pythia-{s}-deduped" for s in SIZES}
    assert not set(short.models_of()) & set(standard.models_of())
    # a name matching one model in two spellings is not merged: both spellings are in the data
    both = pd.concat([pythia_results(), pythia_results(["pythia-70m"] + [f"x{i}" for i in range(5)])])
    with pytest.raises(InputError, match="'pythia-70m' is not in the models table"):
        load_data(both)


def test_mixed_flops_and_params_drop_with_a_note_or_use_params():
    names = ["EleutherAI/pythia-70m", "EleutherAI/pythia-160m", "EleutherAI/pythia-410m", "EleutherAI/pythia-1b",
             "EleutherAI/pythia-1.4b", "mistralai/Mistral-7B-v0.1"]
    data = pythia_results(names)
    with pytest.warns(DataNote, match=r"left out 1 model\(s\) .*'mistralai/Mistral-7B-v0.1'.*--compute params"):
        d = load_data(data)
    assert "mistralai/Mistral-7B-v0.1" not in d.models_of("my_task")
    assert d.scale("my_task") == "flops"
    table = d.compute_table("my_task").set_index("model")
    assert table.loc["EleutherAI/pythia-1b", "compute"] == pytest.approx(6 * 1e9 * 3e11)  # 6·N·D
    with pytest.warns(DataNote, match="assumed chance"):
        p = load_data(data, compute="params")
    assert p.scale("my_task") == "params" and len(p.models_of("my_task")) == 6
    assert p.compute_table("my_task").set_index("model").loc["mistralai/Mistral-7B-v0.1", "compute"] == 7.3e9  # its params
    with pytest.raises(InputError, match="--compute must be one of flops, params"):
        load_data(data, compute="tokens")


def test_cli_own_csv_fits_first_try_with_notes(tmp_path):
    path = tmp_path / "mine.csv"
    pythia_results([f"pythia-{s}" for s in SIZES]).to_csv(path, index=False)
    proc = run("fit", str(path), "--task", "my_task", "--cutoff", "1.9e21", "--method", "sigmoid")
    assert proc.returncode == 0, proc.stderr
    notes = proc.stderr.strip().splitlines()
    assert all(line.startswith("forecast: note: ") for line in notes) and len(notes) == 2
    assert "Traceback" not in proc.stderr
    assert "emergence threshold" in proc.stdout and "of the way from chance to perfect" in proc.stdout
    assert max(len(line) for line in proc.stdout.splitlines()) <= 100


def test_cli_missing_model_is_one_line(tmp_path):
    path = tmp_path / "mine.csv"
    pythia_results([f"acme/thing-{s}" for s in SIZES]).to_csv(path, index=False)
    proc = run("metrics", str(path))
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "not in the models table" in lines[0] and "--models" in lines[0]
    assert "closest known: EleutherAI/pythia-1.4b" in lines[0]  # names as the models table spells them


def test_skipped_notes_name_method_and_reason():
    from forecast.backtest.command import skipped_notes

    skipped = pd.DataFrame({"method": ["published", "published"],
                            "error": ["4 fitted models; published needs at least 7", "5 fitted models"]})
    assert skipped_notes(skipped) == [
        "forecast: note: skipped published at 2 split(s), e.g. 4 fitted models; published needs at least 7"]


# ---------------------------------------------------------------- console
def test_help_is_fast_because_nothing_heavy_is_imported():
    code = ("import sys, forecast.cli, forecast; "
            "print(sorted(m for m in ('numpy', 'pandas', 'sklearn', 'pymc', 'matplotlib') if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip() == "[]", proc.stdout + proc.stderr
    help_text = run("--help").stdout
    assert "tau (the emergence level) is a share of the way from chance to perfect" in help_text
    assert "backtest" in help_text and "mirage" in help_text


def test_lazy_package_attributes_still_work():
    import forecast

    assert callable(forecast.backtest) and callable(forecast.mirage)
    assert forecast.make_method("persistence").__class__.__name__ == "Persistence"
    with pytest.raises(AttributeError):
        forecast.no_such_name  # noqa: B018


def test_datasets_listing_and_repr_are_short():
    import forecast

    proc = run("datasets")
    assert proc.returncode == 0
    assert max(len(line) for line in proc.stdout.splitlines()) <= 100
    text = repr(forecast.load_dataset("digits"))
    assert text == "EvalData(name='digits', kind='per_question', tasks=1, models=10, rows=8990)"


# ---------------------------------------------------------------- plots
def test_fit_plot_names_axes_and_legend(tmp_path, monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from forecast.methods import make_method
    from forecast.plots import plot_forecast

    with pytest.warns(DataNote):
        d = load_data(pythia_results())
    f = make_method("sigmoid").fit(d, 1.5e21, task="my_task")
    figures = []
    monkeypatch.setattr(plt, "close", figures.append)
    plot_forecast(f, d, tmp_path / "fit.png")
    ax = figures[0].axes[-1]
    assert ax.get_xlabel() == "training compute (FLOPs, log scale)" and ax.get_xscale() == "log"
    assert ax.get_ylabel().startswith("accuracy")
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    for fragment in ("τ = 0.25 of the way from chance to perfect", "cut-off 1.5e+21 FLOPs", "chance accuracy",
                     "held-out models", "fitted models", "90% interval of a new model's score",
                     "90% interval of the mean curve"):
        assert any(fragment in lab for lab in labels), (fragment, labels)
    assert "10^" not in ax.get_title() and "1.5e+21 FLOPs" in ax.get_title()
    plt.close(figures[0].number) if False else None


def test_backtest_plots_and_summary_carry_names(tmp_path, monkeypatch):
    import forecast
    import forecast.backtest.plots as bp

    with pytest.warns(DataNote):
        d = load_data(pythia_results())
    bt = forecast.backtest(d, methods=["persistence", "linear"], cutoffs="rolling")
    assert max(len(line) for line in bt.format_summary().splitlines()) <= 100
    from forecast.backtest.command import summary_json

    parsed = json.loads(summary_json(bt, 1.0))
    assert parsed["jobs"]["failed"] == 0 and {r["method"] for r in parsed["summary"]} == {"persistence", "linear"}
    figures = {}
    monkeypatch.setattr(bp, "_save", lambda fig, path: figures.setdefault(path.name, fig) and path)
    bp.plot_all(bt, tmp_path)
    panels = [ax for ax in figures["forecast_vs_actual_data.png"].axes if ax.get_visible()]
    assert panels[0].get_ylabel() == "accuracy"
    assert panels[-1].get_xlabel() == "training compute (FLOPs, log scale)"
    legend = [t.get_text() for t in figures["forecast_vs_actual_data.png"].legends[0].get_texts()]
    assert "90% interval of a new model's score (persistence)" in legend
    assert {"fitted models", "held-out models", "cut-off"} <= set(legend)
    summary = figures["forecast_vs_actual_data_summary.png"].axes[0]
    assert summary.get_xlabel() == "observed accuracy of the held-out model"
    assert summary.get_ylabel() == "forecast mean accuracy"
    horizon = figures["error_by_horizon.png"].axes[0]
    assert "decades" in horizon.get_xlabel() and "accuracy" in horizon.get_ylabel()


# ---------------------------------------------------------------- README
def test_readme_tour_task_follows_its_stated_rule(bigg):
    """The tour's task: at the cut-off 8e9, the BIG-G task with the most questions whose every
    fitted model is below tau = 0.25 and some held-out model at or above it (ties by name)."""
    from forecast.data.task_table import task_table

    text = README.read_text()
    task = re.search(r'task="([a-z_]+)"\)\s+# the tour', text).group(1)
    cutoff = 8e9
    ranked = []
    for name in bigg.task_names:
        t = task_table(bigg.for_task(name), name)
        level = bigg.chance(name) + 0.25 * (1 - bigg.chance(name))
        fitted, held = t[t["compute"] <= cutoff], t[t["compute"] > cutoff]
        if (fitted["accuracy"] < level).all() and (held["accuracy"] >= level).any():
            ranked.append((-int(t["n_questions"].max()), name))
    assert task == min(ranked)[1]
    assert f"--task {task} --cutoff 8e9" in text


def test_results_never_import_plots():
    """The backtest's plots read its results; the results module never imports the plots."""
    source = (Path(__file__).resolve().parent.parent / "forecast" / "backtest" / "results.py").read_text()
    assert "forecast.backtest.plots" not in source and "import plots" not in source


def test_every_metric_has_an_axis_label_with_what_it_measures():
    from forecast.mirage import ORDER
    from forecast.plotstyle import compute_label, metric_label

    for metric in (*ORDER, "pass@10"):
        assert len(metric_label(metric)) > len(metric) + 10, metric  # a name plus what it measures
    assert compute_label("flops") == "training compute (FLOPs, log scale)"
    assert compute_label("params") == "parameters (log scale)"


def test_text_report_fits_100_columns_with_a_long_task_name():
    from forecast.methods import make_method
    from forecast.report import forecast_report, text_report

    task = "a_rather_long_task_name_like_abstract_narrative_understanding"
    with pytest.warns(DataNote):
        d = load_data(pythia_results(task=task))
    f = make_method("slice_sandwich", seed=0).fit(d, 1.9e21, task=task)
    text = text_report(forecast_report(f, "slice_sandwich", level=0.9, tau=0.25, budget=1e22))
    assert max(len(line) for line in text.splitlines()) <= 100, text
    assert "of the way from chance to perfect accuracy" in text and "P(rising)" in text


def test_chance_read_off_the_results_is_said_once():
    data = pythia_results().assign(n_choices=4)
    with pytest.warns(DataNote, match=r"chance 0.25 for 'my_task' read off the results .*--task-info") as said:
        d = load_data(data)
    assert d.chance("my_task") == 0.25
    assert len([w for w in said if issubclass(w.category, DataNote)]) == 1


def test_loose_names_case_and_hf_suffix_but_not_another_organisation():
    from forecast.data.reconcile import resolve_model_names

    known = pd.Series(["EleutherAI/pythia-1b", "EleutherAI/pythia-1b-deduped", "meta-llama/Llama-2-7b-hf"])
    with pytest.warns(DataNote):
        renames, _ = resolve_model_names({"eleutherai/Pythia-1B", "meta-llama/Llama-2-7b", "pythia-1b-deduped"},
                                         known, "data", models_given=False)
    assert renames == {"eleutherai/Pythia-1B": "EleutherAI/pythia-1b",
                       "meta-llama/Llama-2-7b": "meta-llama/Llama-2-7b-hf",
                       "pythia-1b-deduped": "EleutherAI/pythia-1b-deduped"}
    with pytest.raises(InputError, match="'myorg/pythia-1b' is not in the models table; closest known: "
                                         "EleutherAI/pythia-1b"):
        resolve_model_names({"myorg/pythia-1b"}, known, "data", models_given=False)


def test_compute_axis_on_a_shipped_dataset_keeps_its_tables():
    d = load_data("digits", compute="params")
    assert d.axis == "params" and d.scale("digits") == "params"
    assert load_data("digits").scale("digits") == "flops"
    with pytest.raises(InputError, match="no model has flops; use --compute params"):
        load_data("bigbench_bigg", compute="flops")
