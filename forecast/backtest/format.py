"""The summary of a backtest as text tables that fit 100 columns (what ``forecast backtest``
prints)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def fmt_value(v: Any, digits: int = 3) -> str:
    """A number as the summary tables show it (``-`` for none)."""
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "-"
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        return f"{float(v):.{digits}g}" if abs(v) >= 1e-3 or v == 0 else f"{float(v):.1e}"
    return str(v)


def text_table(cells: list[list[str]], n_left: int) -> list[str]:
    """Aligned text rows: the first ``n_left`` columns left-aligned, the rest right-aligned."""
    widths = [max(len(r[i]) for r in cells) for i in range(len(cells[0]))]
    return [" ".join(c.ljust(w) if i < n_left else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
            for r in cells]


def ratio_cell(row: dict, short: str) -> str:
    """``ratio [lo,hi]`` of one summary row."""
    r = row.get(f"ratio_{short}")
    if r is None or not np.isfinite(r):
        return "-"
    return f"{r:.2f} [{row[f'ratio_{short}_lo']:.2f},{row[f'ratio_{short}_hi']:.2f}]"


def format_summary(summary: pd.DataFrame, emergence: pd.DataFrame | None, level: float, tau: float,
                   n_failed: int = 0, n_skipped: int = 0, wide: bool = False) -> str:
    """Text tables of the summary (window ``all``; every window with ``wide``) and of the
    emergence scores, with a short legend."""
    s = summary if wide else summary[summary["window"] == "all"]
    # one block per dataset (its name as a title line), so the default table fits 100 columns
    head = ["subset", "method", "n", "MAE", "CRPS", "cover", "MAE/base", "CRPS/base", "thrCRPS"]
    if wide:
        head = ["subset", "window"] + head[1:] + ["IS/base", "thr/base", "thr_in", "false_em", "noiseMAE", "W/L"]
    lines: list[str] = []
    cells = [head]
    for dataset, block in s.groupby("dataset", sort=False):
        rows = [head]
        for row in block.to_dict("records"):
            fam = row.get("families", "all")
            window = row["window"] if fam in ("all", None) or pd.isna(fam) else f"{fam} family"
            subset = str(row["subset"]) if window == "all" or wide else f"{row['subset']} ({window})"
            line = [subset[:22]] + ([window] if wide else []) + [
                str(row["method"])[:17], fmt_value(row["n_tasks"]), fmt_value(row["mae"]), fmt_value(row["crps"]),
                fmt_value(row["cover"], 2), ratio_cell(row, "mae"), ratio_cell(row, "crps"), fmt_value(row["thr_crps"])]
            if wide:
                wl = "-" if pd.isna(row.get("wins")) else f"{int(row['wins'])}/{int(row['losses'])}"
                line += [ratio_cell(row, "is"), ratio_cell(row, "thr"), fmt_value(row["thr_inside"], 2),
                         fmt_value(row["false_emergence"], 2), fmt_value(row["noise_mae"]), wl]
            rows.append(line)
        cells += rows[1:]
        lines += [f"== {dataset}"] + text_table(rows, 3 if wide else 2)
    lines += [
        f"n: tasks; means over tasks; cover: share in the {level:g} interval, a bound counts half",
        "X/base: ratio to the best baseline [90% paired bootstrap over tasks]; thrCRPS: CRPS of",
        f"log10 threshold at tau={tau:g} (capped at the largest held-out model), eligible splits",
    ]
    if emergence is not None and len(emergence):
        e_cells = [["dataset", "tau", "method", "rows", "events", "Brier", "AUC", "skill [90%]", "vs"]]
        for row in emergence.to_dict("records"):
            skill = ("-" if not np.isfinite(row["skill"]) else
                     f"{row['skill']:.2f} [{row['skill_lo']:.2f},{row['skill_hi']:.2f}]")
            e_cells.append([str(row["dataset"])[:14], str(row["tau"]), str(row["method"])[:17],
                            fmt_value(row["n_rows"]), fmt_value(row["n_events"]), fmt_value(row["brier"]),
                            fmt_value(row["auc"], 2), skill, str(row["reference"])[:17]])
        lines += ["", "will it emerge by budget B? p_emerged scored (tau: share of the way from chance to perfect)"]
        lines += text_table(e_cells, 3)
    if any(c == "-" or c.startswith("- ") for r in cells[1:] for c in r[2:]):
        lines.append("-: not defined there (no eligible split, or nothing to compare with)")
    if n_skipped:
        lines.append(f"{n_skipped} job(s) skipped (method not applicable there; see jobs.csv)")
    if n_failed:
        lines.append(f"{n_failed} job(s) failed: see jobs.csv; their splits are left out of the summary")
    return "\n".join(lines)
