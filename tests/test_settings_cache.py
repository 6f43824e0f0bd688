"""The learned-settings cache: a hit gives the cold fit's forecast, writes are atomic, the CLI
says a hit once, ``--no-cache`` and ``forecast cache clear`` work, and a renamed file gives
the same forecasts (seeds derive from content, not names)."""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import forecast
from forecast.settings_cache import SettingsCache, round_trip, settings_key

TASK, CUTOFF = "mmlu", 3.1623e22


def _forecast(fc):
    return fc.predict([1e23, 1e24]), fc.threshold(0.25, budget=1e24).to_dict()


def test_cache_hit_equals_cold_fit(sas, tmp_path):
    cache = SettingsCache(tmp_path)
    cold = forecast.SliceSandwich(seed=3).fit(sas, CUTOFF, TASK, cache=False)
    first = forecast.SliceSandwich(seed=3).fit(sas, CUTOFF, TASK, cache=cache)
    assert first.settings_source_ == "learned"
    assert len(cache.entries()) == 1
    hit = forecast.SliceSandwich(seed=3).fit(sas, CUTOFF, TASK, cache=cache)
    assert hit.settings_source_ == "cache"
    assert hit.context_ == cold.context_ == first.context_
    for a, b in [(_forecast(cold), _forecast(hit)), (_forecast(first), _forecast(hit))]:
        pd.testing.assert_frame_equal(a[0], b[0], check_exact=True)
        assert json.dumps(a[1], sort_keys=True) == json.dumps(b[1], sort_keys=True)


def test_key_holds_what_settings_depend_on(sas):
    fc = forecast.SliceSandwich(seed=0)
    base = settings_key(fc, "abc", CUTOFF, "v+1")
    assert settings_key(forecast.SliceSandwich(seed=0), "abc", CUTOFF, "v+1") == base
    assert settings_key(forecast.SliceSandwich(seed=1), "abc", CUTOFF, "v+1") != base
    assert settings_key(fc, "abd", CUTOFF, "v+1") != base
    assert settings_key(fc, "abc", 1e22, "v+1") != base
    assert settings_key(fc, "abc", CUTOFF, "v+2") != base
    assert settings_key(forecast.Sigmoid(seed=0), "abc", CUTOFF, "v+1") != base


def test_unreadable_entry_is_a_miss(sas, tmp_path):
    cache = SettingsCache(tmp_path)
    fc = forecast.SliceSandwich(seed=0).fit(sas, CUTOFF, TASK, cache=cache)
    (entry,) = cache.entries()
    entry.write_text('{"key": "truncated', encoding="utf-8")
    again = forecast.SliceSandwich(seed=0).fit(sas, CUTOFF, TASK, cache=cache)
    assert again.settings_source_ == "learned"
    assert again.context_ == fc.context_
    assert json.loads(entry.read_text(encoding="utf-8"))["settings"] == fc.context_


def _writer(folder: str, key: str, size: int, rounds: int) -> None:
    cache = SettingsCache(Path(folder))
    for i in range(rounds):
        cache.put(key, {"writer": size, "round": i, "payload": "x" * size})


def test_concurrent_writers_leave_whole_entries(tmp_path):
    ctx = mp.get_context("spawn")
    key = "k" * 32
    procs = [ctx.Process(target=_writer, args=(str(tmp_path), key, size, 60)) for size in (10, 200_000)]
    for p in procs:
        p.start()
    cache = SettingsCache(tmp_path)
    while any(p.is_alive() for p in procs):
        got = cache.get(key)
        if got is not None:  # never a half-written file: a whole entry of one writer
            assert len(got["payload"]) == got["writer"]
    for p in procs:
        p.join()
        assert p.exitcode == 0
    assert cache.get(key)["round"] == 59
    assert not list(cache.folder.glob("*.tmp"))


def test_round_trip_is_json_form():
    import numpy as np

    assert round_trip({"a": (1.0, 2.5), "b": np.float64(0.1), "c": np.arange(2)}) == {
        "a": [1.0, 2.5], "b": 0.1, "c": [0, 1]}


def _cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "forecast.cli", *args], capture_output=True, text=True,
                          env=env, timeout=300)


def test_cli_says_a_hit_once_and_no_cache_and_clear(tmp_path):
    env = {**os.environ, "FORECAST_CACHE_DIR": str(tmp_path / "cache")}
    args = ["fit", "slice_sandwich", "--task", TASK, "--cutoff", str(CUTOFF), "--json"]
    cold = _cli(*args, env=env)
    assert cold.returncode == 0, cold.stderr
    assert "cache" not in cold.stderr
    warm = _cli(*args, env=env)
    assert warm.returncode == 0, warm.stderr
    assert warm.stderr.count("read from the cache") == 1
    assert warm.stdout == cold.stdout  # the same report, byte for byte
    bypass = _cli(*args, "--no-cache", env=env)
    assert bypass.returncode == 0 and "read from the cache" not in bypass.stderr
    assert bypass.stdout == cold.stdout
    off = _cli(*args, env={**env, "FORECAST_NO_CACHE": "1"})
    assert off.returncode == 0 and "read from the cache" not in off.stderr
    info = _cli("cache", "info", env=env)
    assert info.returncode == 0 and "1 learned settings" in info.stdout
    cleared = _cli("cache", "clear", env=env)
    assert cleared.returncode == 0 and "removed 1 " in cleared.stdout
    assert not list((tmp_path / "cache" / "settings").glob("*.json"))
    again = _cli(*args, env=env)
    assert "read from the cache" not in again.stderr


def test_renamed_file_gives_identical_predictions(bigg, tmp_path):
    """The same rows under another file name: the same forecasts, byte for byte (the
    ``dataset`` column names the file, and is the only difference)."""
    from task_slices import write_task_slice

    words = write_task_slice(bigg, ["qa_wikidata", "hindu_knowledge", "physics"], tmp_path / "a")
    renamed = tmp_path / "a" / "shuffled.csv"
    renamed.write_bytes(Path(words[0]).read_bytes())
    outs = []
    for i, first in enumerate([words[0], str(renamed)]):
        out = tmp_path / f"out{i}"
        proc = _cli("backtest", first, *words[1:], "--methods", "slice_sandwich,sigmoid", "--out", str(out),
                    "--no-plots", "--no-progress")
        assert proc.returncode == 0, proc.stderr
        outs.append((out / "predictions.csv").read_text(encoding="utf-8"))
    a, b = (text.splitlines() for text in outs)
    assert len(a) == len(b) > 100
    assert a[0] == b[0] and a[0].startswith("dataset,")
    assert [ln.split(",", 1)[1] for ln in a[1:]] == [ln.split(",", 1)[1] for ln in b[1:]]
    assert {ln.split(",", 1)[0] for ln in a[1:]} == {"results"}
    assert {ln.split(",", 1)[0] for ln in b[1:]} == {"shuffled"}
