"""The method contract (forecast.testing.check_forecaster) for every registered method on
every data kind, and a user's method in its own module (tests/toy_method.py) registered with
one call and run in a backtest on every backend."""

from __future__ import annotations

import json

import pytest

from forecast.errors import InputError, NotApplicable
from forecast.methods import METHODS, ForecasterTags, make_method, method_path, method_tags, register
from forecast.testing import FIXTURES, check_on_fixture, make_fixture, quick_params

@pytest.fixture(scope="session")
def contract_fixtures(tmp_path_factory):
    root = tmp_path_factory.mktemp("contract")
    return {name: make_fixture(name, root) for name in FIXTURES}


@pytest.fixture(scope="session")
def dask_client():
    distributed = pytest.importorskip("dask.distributed")
    import logging

    cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                       dashboard_address=None, silence_logs=logging.ERROR)
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


def _cases():
    for name in METHODS:
        for fixture in FIXTURES:
            yield pytest.param(name, fixture, id=f"{name}-{fixture}")


@pytest.mark.slow
@pytest.mark.parametrize("method, fixture", list(_cases()))
def test_check_forecaster(method, fixture, contract_fixtures, dask_client):
    result = check_on_fixture(method, quick_params(method), fixture, contract_fixtures[fixture],
                              scheduler=dask_client)
    assert result.outcome in ("pass", "refuses")
    if result.outcome == "refuses":
        assert "\n" not in result.detail and method in result.detail


def test_testing_keeps_its_public_names():
    """forecast.testing is two modules (fixtures, the check); its names stay importable from it."""
    import forecast.testing as testing
    from forecast.testing import check, fixtures

    assert testing.check_forecaster is check.check_forecaster
    assert testing.make_fixture is fixtures.make_fixture and testing.FIXTURES is fixtures.FIXTURES
    for name in ("FIXTURES", "BACKENDS", "CheckResult", "check_forecaster", "check_on_fixture", "make_fixture",
                 "write_lmeval_folder", "perturb", "held_out_rows", "quick_params", "results_table", "subset"):
        assert name in testing.__all__ and hasattr(testing, name)


def test_tags_refuse_with_one_line(contract_fixtures):
    """A data kind a method does not declare: one NotApplicable line naming it."""
    data = contract_fixtures["per_question"]
    with pytest.raises(NotApplicable) as info:
        make_method("two_step").fit(data, 8e9, task="hindu_knowledge")
    text = str(info.value)
    assert "\n" not in text and "'two_step'" in text and "ladder" in text and "per_question" in text


def test_tags_drive_default_lists():
    from forecast.backtest.results import BASELINES
    from forecast.backtest.runner import DEFAULT_METHODS, LADDER_METHODS, MULTI_FAMILY_METHODS

    assert DEFAULT_METHODS == ("slice_sandwich", "sigmoid", "persistence", "persistence_drift", "linear", "family",
                               "log_power")
    assert LADDER_METHODS == ("two_step", "two_step_slp")
    assert MULTI_FAMILY_METHODS == ("obsscaling", "obsscaling_given_scores")
    assert BASELINES == ("sigmoid", "persistence", "persistence_drift", "linear", "family", "log_power")
    for name in BASELINES:
        assert METHODS[name].tags.is_baseline


def test_param_constraints_are_per_class():
    from forecast.methods.base import Forecaster

    assert "degree" not in Forecaster.all_param_constraints()
    assert "degree" in METHODS["slice_sandwich"].all_param_constraints()
    with pytest.raises(InputError, match="degree must be an integer of at least 1"):
        make_method("slice_sandwich", degree=0).fit("slice_sandwich", 3e22, task="mmlu")
    with pytest.raises(InputError, match="clip must be True or False"):
        make_method("paper_sigmoid", clip="yes").fit("slice_sandwich", 3e22, task="mmlu")
    with pytest.raises(ValueError, match="unknown data kind"):
        ForecasterTags(handles=frozenset({"tabular"}))


def test_register_and_import_paths():
    import toy_method

    assert METHODS["toy_logit"] is toy_method.ToyLogit
    assert method_path("toy_logit") == "toy_method:ToyLogit"
    assert type(make_method("toy_method:ToyLogit")) is toy_method.ToyLogit
    register(toy_method.ToyLogit)  # again: a no-op
    with pytest.raises(InputError, match="already"):
        register(METHODS["linear"], name="toy_logit")
    with pytest.raises(InputError, match="cannot import module"):
        make_method("no_such_module_xyz:Thing")
    with pytest.raises(InputError, match="not a Forecaster"):
        make_method("json:JSONDecoder")


def test_toy_method_passes_the_contract(contract_fixtures, dask_client):
    import toy_method  # noqa: F401  (its one register() call)

    for fixture in ("per_question", "group", "ladder"):
        result = check_on_fixture("toy_logit", {"n_draws": 50}, fixture, contract_fixtures[fixture],
                                  scheduler=dask_client)
        assert result.outcome == "pass", result


@pytest.mark.parametrize("backend", ["processes", "dask"])
def test_toy_method_by_import_path_in_a_backtest(backend, contract_fixtures, dask_client):
    """A method named only by its import path: the workers import it (nothing registered there)."""
    from forecast.backtest import backtest

    data = contract_fixtures["per_question"]
    runs = {}
    for b in ("local", backend):
        bt = backtest(data, methods=[("toy_method:ToyLogit", {"n_draws": 50})], tasks=["hindu_knowledge"],
                      cutoffs="largest:3", backend=b, n_jobs=2,
                      scheduler=dask_client if b == "dask" else None)
        assert [r["status"] for r in bt.results] == ["ok"]
        runs[b] = json.dumps([{k: v for k, v in r.items() if k != "seconds"} for r in bt.results], sort_keys=True)
    assert runs["local"] == runs[backend]


def test_cli_methods_by_import_path(tmp_path, monkeypatch):
    import subprocess
    import sys
    from pathlib import Path

    here = Path(__file__).resolve().parent
    monkeypatch.setenv("PYTHONPATH", str(here))
    out = tmp_path / "bt"
    proc = subprocess.run(
        [sys.executable, "-m", "forecast.cli", "backtest", "bigbench_bigg", "--tasks", "hindu_knowledge",
         "--methods", "toy_method:ToyLogit,linear", "--cutoffs", "largest:3", "--backend", "processes",
         "--n-jobs", "2", "--no-plots", "--no-progress", "--out", str(out)],
        capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    jobs = (out / "jobs.csv").read_text()
    assert "toy_method:ToyLogit" in jobs and "failed" not in jobs
