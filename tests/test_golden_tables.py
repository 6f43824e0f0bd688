"""Golden tables: the tables a backtest derives from fixed job results are unchanged, byte for
byte (guards the split of ``backtest/results.py`` and any later move of that code)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pandas as pd
import pytest

from forecast.backtest.results import BacktestResult

GOLDEN = Path(__file__).parent / "fixtures" / "golden"
EXPECTED = sorted(p.name for p in (GOLDEN / "expected").iterdir())


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    raw = json.loads(gzip.open(GOLDEN / "backtest_jobs.json.gz", "rt", encoding="utf-8").read())
    bt = BacktestResult(raw["results"], pd.DataFrame(raw["task_info"]), pd.DataFrame(raw["actuals"]),
                        raw["settings"], contexts=raw["contexts"])
    out = tmp_path_factory.mktemp("golden")
    bt.save(out)
    (out / "summary.txt").write_text(bt.format_summary() + "\n" + bt.format_summary(wide=True) + "\n")
    return out


def test_golden_fixture_is_whole():
    assert len(EXPECTED) >= 12 and "summary.csv" in EXPECTED and "summary.txt" in EXPECTED


@pytest.mark.parametrize("name", EXPECTED)
def test_table_unchanged(written, name):
    got = (written / name).read_bytes()
    want = (GOLDEN / "expected" / name).read_bytes()
    assert got == want, f"{name} differs from the golden table"
