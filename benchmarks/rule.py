"""The rule that picks the default method of each data kind (issue 22), written before any candidate ran.

The rule, fixed in this file before the first run of any candidate (the commit order shows it):

1. **Selection sets** (the only data a choice may look at):

   * ``per_question`` (0/1 per question): BIG-G's *tuning* half (:func:`forecast.data.bigg.bigg_half`,
     37 tasks) at the cut-offs of 1B parameters and below (125M, 244M, 422M, 1B);
   * ``group`` (difficulty-group aggregates): the Slice-and-Sandwich group data, all five tasks, the
     backtest's default (rolling) cut-offs;
   * ``ladder`` (model ladders): the ladder's own pseudo-targets (``benchmarks/ladder_tuning.py``,
     four splits inside the OLMo ladder's fitted runs; the 7B and 13B targets are never used).

   The BIG-G evaluation half, the ladder's 7B/13B targets, the observational-scaling data and the
   Pythia data play no part: they are reported, never chosen on.

2. **Candidates** (:data:`CANDIDATES`, in order: the incumbent first, then simpler before more
   complex). Each is run once per seed through the package's backtest with the same baselines
   (every honest baseline the data kind admits, from the registry's tags); a candidate not
   registered when the rule runs is reported as "not built" and cannot be picked.

3. **Score**: on a per-question or group selection set, the MAE ratio to the best honest baseline
   of the same run (the summary's ``ratio_mae``, tasks as units, subset ``all``, window ``all``,
   families ``all``). On the ladder: the mean over the four splits of the eight-task MAE in points.

4. **Eligible** candidates only: it forecast at least 90% of the splits the incumbent forecast;
   its 90% interval coverage on the selection set lies in [0.80, 0.97]; its CRPS ratio is not
   above the incumbent's by more than the tie margin; where the selection set has emergence
   events, its emergence Brier skill is not below the incumbent's by more than 0.05.
   The incumbent is always eligible.

5. **Ties**: the tie margin ``delta`` is the larger of 0.01 and the largest seed-to-seed
   difference (seed 0 vs seed 1) of the score of any candidate run at both seeds (ladder: 0.1
   points, the ladder record's margin). The pick is the eligible candidate with the lowest score
   at seed 0, unless the incumbent's score is within ``delta`` of it: then the incumbent stays.
   Among candidates within ``delta`` of each other, the earlier in :data:`CANDIDATES` wins.

6. **Kinds without a selection set** inherit: per-question data with probabilities
   (``per_question_probs``) and sampled answers (``sampled``) take the ``per_question`` pick;
   task-level data (one family or several) keep the incumbent, ``slice_sandwich`` — there is no
   recorded tuning split of that kind, so nothing may be chosen there.

The picks are written to ``benchmarks/rule_pick.json``; ``forecast.methods.defaults`` states the
default per kind and a test checks that it is what the file says.

    python benchmarks/rule.py run --out DIR [--seeds 0,1] [--kinds per_question,group,ladder]
    python benchmarks/rule.py pick DIR [--write benchmarks/rule_pick.json]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import time
import warnings
from pathlib import Path
from typing import Any

import pandas as pd

import forecast
from forecast.backtest.runner import default_methods
from forecast.backtest.jobs import method_label
from forecast.data.bigg import bigg_half
from forecast.methods.registry import method_names

INCUMBENT = ("slice_sandwich", {})
#: the mixture's components today; candidates add one of theirs to it
_BASE_COMBINE = ("sigmoid", "persistence_drift", "linear")
#: per data kind, the candidates in the rule's order (incumbent first, simpler first)
CANDIDATES: dict[str, list[tuple[str, dict[str, Any]]]] = {
    "per_question": [
        INCUMBENT,
        ("item_level", {}),
        ("pooled_logit", {}),
        ("slice_sandwich", {"combine": (*_BASE_COMBINE, "item_level")}),
        ("slice_sandwich", {"combine": (*_BASE_COMBINE, "pooled_logit")}),
    ],
    "group": [
        INCUMBENT,
        ("pooled_logit", {}),
        ("slice_sandwich", {"combine": (*_BASE_COMBINE, "pooled_logit")}),
    ],
    "ladder": [
        INCUMBENT,
        ("two_step_slp", {}),
    ],
}
#: the BIG-G cut-offs of the per-question selection set (parameters): the tuning half at <= 1B
BIGG_TUNING_CUTOFFS = (1.25e8, 2.44e8, 4.22e8, 1e9)
MIN_SPLIT_SHARE = 0.9
COVER_RANGE = (0.80, 0.97)
EMERGENCE_SLACK = 0.05
MIN_DELTA = 0.01
LADDER_DELTA = 0.1
#: kinds that take another kind's pick, and the kinds that keep the incumbent
INHERITS = {"per_question_probs": "per_question", "sampled": "per_question"}
KEEP_INCUMBENT = ("task_level", "multi_family")


def markdown(frame: pd.DataFrame) -> str:
    """A Markdown table (``benchmarks/ladder.py``'s, which needs no optional dependency)."""
    spec = importlib.util.spec_from_file_location("ladder_bench", Path(__file__).with_name("ladder.py"))
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    return bench.markdown(frame)


def label(spec: tuple[str, dict[str, Any]]) -> str:
    """The backtest's label of a candidate (name, or name with its parameters)."""
    return method_label(spec[0], spec[1] or None)


def built(spec: tuple[str, dict[str, Any]]) -> bool:
    """Whether a candidate (and every component it names) is registered."""
    names = [spec[0], *spec[1].get("combine", ())]
    known = set(method_names())  # registered methods and their configured variants
    return all(n in known for n in names)


def selection_backtest(kind: str, seed: int, out: Path, backend: str, only: set[str] | None = None) -> None:
    """Run the selection set of a per-question or group kind at one seed; save its summaries.

    ``only``: the labels of the candidates to run (every baseline runs regardless: the scores
    are ratios to the best of them); a second seed need not rerun every candidate."""
    if kind == "per_question":
        data = forecast.load_dataset("bigbench_bigg")
        tasks = [t for t in data.task_names if bigg_half(t) == "tuning"]
        cutoffs: Any = list(BIGG_TUNING_CUTOFFS)
    else:
        data = forecast.load_dataset("slice_sandwich")
        tasks, cutoffs = None, None
    candidates = [c for c in CANDIDATES[kind] if built(c) and (only is None or label(c) in only)]
    methods: list[Any] = [(n, dict(p)) for n, p in candidates]
    have = {label(c) for c in candidates}
    methods += [m for m in default_methods([data]) if m not in have]
    where = out / kind / f"seed{seed}"
    where.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    bt = forecast.backtest(data, methods=methods, tasks=tasks, cutoffs=cutoffs, seed=seed, backend=backend,
                           checkpoint=where / "checkpoint", resume=True, progress=True)
    seconds = time.perf_counter() - t0
    bt.summary().to_csv(where / "summary.csv", index=False)
    bt.emergence_summary().to_csv(where / "emergence_summary.csv", index=False)
    bt.jobs.to_csv(where / "jobs.csv", index=False)
    (where / "run.json").write_text(json.dumps(
        {"kind": kind, "seed": seed, "seconds": round(seconds, 1),
         "candidates": [label(c) for c in CANDIDATES[kind]],
         "not_built": [label(c) for c in CANDIDATES[kind] if not built(c)]}, indent=1))


def ladder_selection(seed: int, out: Path) -> None:
    """Run the ladder's pseudo-target splits for the ladder candidates; save the per-row table.

    The ladder script runs methods at their default seed, so only seed 0 is run."""
    if seed != 0:
        return
    path = Path(__file__).with_name("ladder_tuning.py")
    spec = importlib.util.spec_from_file_location("ladder_tuning", path)
    tuning = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tuning)
    where = out / "ladder" / f"seed{seed}"
    where.mkdir(parents=True, exist_ok=True)
    names = [n for n, p in CANDIDATES["ladder"] if built((n, p)) and not p]
    tables = []
    for name, split in tuning.SPLITS.items():
        data, cutoff, targets = tuning.pseudo_data(*split)
        tables.append(tuning.bench.forecast_targets(data, cutoff, targets, names, name))
    table = pd.concat(tables, ignore_index=True)
    table["main8"] = table["task"].isin(tuning.bench.MAIN8)
    table.to_csv(where / "rows.csv", index=False)


def _summary_row(summary: pd.DataFrame, method: str) -> dict[str, Any] | None:
    s = summary[(summary["subset"] == "all") & (summary["window"] == "all") & (summary["families"] == "all")
                & (summary["method"] == method)]
    return None if s.empty else s.iloc[0].to_dict()


def _skill(emergence: pd.DataFrame, method: str) -> float:
    e = emergence[(emergence["method"] == method) & (emergence["tau"].astype(str) == "all")]
    if e.empty or not (e["n_events"] > 0).any():
        return math.nan
    return float(e["skill"].iloc[0])


def pick_kind(kind: str, out: Path) -> dict[str, Any]:
    """Apply the rule to one kind's saved runs; return the table and the pick."""
    done = "rows.csv" if kind == "ladder" else "summary.csv"
    seeds = sorted(p.name for p in (out / kind).glob("seed*") if (p / done).exists())
    if not seeds:
        return {"kind": kind, "pick": label(INCUMBENT), "reason": "no selection run", "rows": []}
    cands = [label(c) for c in CANDIDATES[kind]]
    inc = label(INCUMBENT)
    scores: dict[str, dict[str, float]] = {}
    rows = []
    if kind == "ladder":
        for s in seeds:
            t = pd.read_csv(out / kind / s / "rows.csv")
            main8 = t[t["main8"]]
            per = main8.groupby(["method", "config"])["error"].apply(lambda e: e.abs().mean()).groupby("method").mean()
            scores[s] = {m: float(v) for m, v in per.items()}
        delta = LADDER_DELTA
        first = scores[seeds[0]]
        eligible = [c for c in cands if c in first]
        for c in cands:
            rows.append({"candidate": c, "score": first.get(c, math.nan), "eligible": c in eligible})
    else:
        summaries = {s: pd.read_csv(out / kind / s / "summary.csv") for s in seeds}
        emergence = {s: pd.read_csv(out / kind / s / "emergence_summary.csv") for s in seeds}
        for s in seeds:
            scores[s] = {}
            for c in cands:
                r = _summary_row(summaries[s], c)
                if r is not None:
                    scores[s][c] = float(r["ratio_mae"])
        diffs = [abs(scores[a][c] - scores[b][c]) for a in seeds for b in seeds if a < b
                 for c in cands if c in scores[a] and c in scores[b]]
        delta = max([MIN_DELTA, *diffs])
        s0 = seeds[0]
        base = _summary_row(summaries[s0], inc)
        base_skill = _skill(emergence[s0], inc)
        eligible = []
        for c in cands:
            r = _summary_row(summaries[s0], c)
            if r is None:
                rows.append({"candidate": c, "score": math.nan, "eligible": False, "why": "not run"})
                continue
            why = []
            if c != inc:
                if base is not None and r["n_splits"] < MIN_SPLIT_SHARE * base["n_splits"]:
                    why.append(f"splits {r['n_splits']} < {MIN_SPLIT_SHARE} x {base['n_splits']}")
                if not COVER_RANGE[0] <= r["cover"] <= COVER_RANGE[1]:
                    why.append(f"coverage {r['cover']:.3f}")
                if base is not None and r["ratio_crps"] > base["ratio_crps"] + delta:
                    why.append(f"CRPS ratio {r['ratio_crps']:.3f} > {base['ratio_crps']:.3f} + delta")
                sk = _skill(emergence[s0], c)
                if not math.isnan(base_skill) and not (sk >= base_skill - EMERGENCE_SLACK):
                    why.append(f"emergence skill {sk:.3f} < {base_skill:.3f} - {EMERGENCE_SLACK}")
            if not why:
                eligible.append(c)
            rows.append({"candidate": c, "score": r["ratio_mae"], "ratio_crps": r["ratio_crps"],
                         "cover": r["cover"], "skill": _skill(emergence[s0], c), "eligible": not why,
                         "why": "; ".join(why)})
        first = scores[s0]
    best = min(eligible, key=lambda c: first[c]) if eligible else inc
    if inc in first and first[inc] - first[best] <= delta:
        best = inc
    else:  # the earliest candidate within delta of the best
        best = next(c for c in cands if c in eligible and first[c] - first[best] <= delta)
    return {"kind": kind, "pick": best, "delta": delta, "seeds": seeds, "rows": rows,
            "scores_by_seed": scores}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the selection sets")
    run.add_argument("--out", required=True)
    run.add_argument("--seeds", default="0,1")
    run.add_argument("--kinds", default="per_question,group,ladder")
    run.add_argument("--backend", default="processes")
    run.add_argument("--only", help="semicolon-separated candidate labels to run (default: every candidate)")
    pick = sub.add_parser("pick", help="apply the rule to saved runs")
    pick.add_argument("out")
    pick.add_argument("--write", help="write the picks (JSON) here")
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    if args.command == "run":
        out = Path(args.out)
        for kind in [k for k in args.kinds.split(",") if k]:
            for seed in [int(s) for s in args.seeds.split(",") if s]:
                if kind == "ladder":
                    ladder_selection(seed, out)
                else:
                    only = {c.strip() for c in args.only.split(";")} if args.only else None
                    selection_backtest(kind, seed, out, args.backend, only)
        return
    out = Path(args.out)
    picks: dict[str, Any] = {}
    for kind in CANDIDATES:
        res = pick_kind(kind, out)
        print(f"\n## {kind}: pick {res['pick']} (tie margin {res.get('delta', math.nan):.3f})")
        if res["rows"]:
            print(markdown(pd.DataFrame(res["rows"]).round(3)))
        for seed in res.get("seeds", []) if kind != "ladder" else []:
            s = pd.read_csv(out / kind / seed / "summary.csv")
            s = s[(s["subset"] == "all") & (s["window"] == "all") & (s["families"] == "all")]
            print(f"\nevery method at {seed} (candidates and baselines; ratios to the best baseline, "
                  f"90% bootstrap intervals over tasks):")
            print(markdown(s[["method", "n_tasks", "n_splits", "mae", "crps", "cover", "ratio_mae", "ratio_mae_lo",
                              "ratio_mae_hi", "ratio_crps", "ratio_is"]].round(3)))
        picks[kind] = res["pick"]
    for kind, parent in INHERITS.items():
        picks[kind] = picks[parent]
    for kind in KEEP_INCUMBENT:
        picks[kind] = label(INCUMBENT)
    print("\npicks:", json.dumps(picks))
    if args.write:
        Path(args.write).write_text(json.dumps(picks, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
