"""Emergence as a probability: "will the task reach ``tau`` by compute budget ``B``?"

The event, for a task with chance level ``c`` and a normalised accuracy level ``tau``:

    E(B) = the isotonic (non-decreasing) fit of accuracy on log10 compute over ALL models,
           fitted and held out, reaches ``(acc - c) / (1 - c) >= tau`` at a model <= B.

It is the isotonic definition of :func:`forecast.threshold.observed_threshold` (pooled adjacent
violators, ties at equal compute pooled: :func:`forecast.threshold.isotonic_at_distinct`): ``E(B)`` holds iff the observed
threshold lies at or below ``B`` when ``B`` is a model's compute.  Because the fit uses every
model, ``E(B)`` is non-decreasing in ``B``.

* :func:`observed_event`: the event on the real accuracies (the ``observed`` column);
* :func:`event_probability`: the forecast probability of the *same* event (``p_emerged``),
  from joint draws of the held-out models' observed scores: the fitted models keep their real
  scores, each draw supplies the held-out ones, and the event is evaluated per draw;
* :func:`emergence_budgets` and :func:`distance_bin`: the budgets of a split and their
  distance bins;
* :func:`score_events`, :func:`brier_skill`, :func:`reliability_table`,
  :func:`plot_reliability`: scores of ``p_emerged`` against ``observed``, tasks weighted
  equally within a data set and data sets equally.

``observed`` is left empty (written, never scored) for a budget above the largest model and
for a task with fewer than :data:`MIN_QUESTIONS` questions.  A split enters the emergence
table at level ``tau`` only when the task had not crossed at the cut-off:
``observed_event(fitted x, fitted y, chance, tau, inf)`` is False.  Reached means
``normalised >= tau - 1e-9`` everywhere here, so that pooled means of ``k/n`` accuracies that
equal the level in exact arithmetic count as reaching it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from forecast.errors import InputError
from forecast.threshold import isotonic_at_distinct, normalised

#: tolerance of "reaches tau" (normalised accuracy)
REACH_TOL = 1e-9
#: upper edges (decades above the cut-off) of the extrapolation-distance bins
DISTANCE_EDGES = (0.5, 1.0, 2.0)
DISTANCE_LABELS = ("0-0.5", "0.5-1", "1-2", ">2")
#: budgets beyond the cut-off, in decades, besides each held-out model's compute
BUDGET_STEPS = (0.5, 1.0, 2.0)
#: tasks with fewer questions get no ``observed`` value: their crossings are mostly sampling noise
MIN_QUESTIONS = 50
#: clipping of probabilities in the log score
LOG_CLIP = (0.001, 0.999)


def reached(norm_acc, tau: float) -> np.ndarray:
    """``norm_acc >= tau - 1e-9`` (element-wise)."""
    return np.asarray(norm_acc, dtype=float) >= tau - REACH_TOL


def isotonic_normalised(log10_compute, accuracy, chance: float) -> tuple[np.ndarray, np.ndarray]:
    """Isotonic fit of accuracy on log10 compute, at the distinct compute values, normalised.

    The same fit as :func:`forecast.threshold.observed_threshold`.  Returns ``(grid, fitted)``:
    the sorted distinct log10 compute values and the fitted ``(acc - chance)/(1 - chance)``.
    """
    x = np.asarray(log10_compute, dtype=float)
    y = np.asarray(accuracy, dtype=float)
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    if x.size == 0:
        return np.empty(0), np.empty(0)
    grid, fitted = isotonic_at_distinct(x, y)
    return grid, normalised(fitted, chance)


def observed_event(log10_compute, accuracy, chance: float, tau: float, budget_log10):
    """Whether the isotonic fit of ALL models reaches ``tau`` at a model ``<= budget_log10``.

    Parameters
    ----------
    log10_compute, accuracy : arrays of every model of the task (fitted and held out)
    chance, tau : float
    budget_log10 : float or array of floats

    Returns
    -------
    bool, or a bool array of the budgets' shape.
    """
    grid, fitted = isotonic_normalised(log10_compute, accuracy, chance)
    budgets = np.asarray(budget_log10, dtype=float)
    if grid.size == 0:
        out = np.zeros(budgets.shape, dtype=bool)
    else:
        hit = reached(fitted, tau)
        first = grid[np.argmax(hit)] if hit.any() else np.inf
        out = np.isfinite(first) & (first <= budgets + 1e-12)
    return bool(out) if out.ndim == 0 else out


def _reaches_by_group(sums: np.ndarray, counts: np.ndarray, level: float) -> np.ndarray:
    """Whether the isotonic fit reaches ``level`` at each distinct x, for every row of group sums.

    The fit at group ``J`` is ``max_{i <= J} min_{k >= J} mean(i..k)`` (the min-max formula of
    isotonic regression, ``mean(i..k)`` the count-weighted mean of groups ``i..k``).  With
    ``P`` the prefix sums of ``sums - level * counts`` (``P[0] = 0``), ``mean(i..k) >= level``
    is ``P[k + 1] >= P[i]``, so the fit reaches ``level`` at ``J`` exactly when
    ``min_{i <= J} P[i] <= min_{k > J} P[k]``: a prefix and a suffix minimum, ``O(G)`` per row
    instead of the ``O(G^2)`` pooled means.

    Parameters
    ----------
    sums : array, shape (n_rows, G)
        Sum of the scores at each distinct x.
    counts : array, shape (G,)
        Number of scores at each distinct x.
    level : float
        The score to reach.

    Returns
    -------
    bool array, shape (n_rows, G)
    """
    excess = sums - level * np.asarray(counts, dtype=float)[None, :]
    prefix = np.concatenate([np.zeros((sums.shape[0], 1)), np.cumsum(excess, axis=1)], axis=1)
    lowest_before = np.minimum.accumulate(prefix[:, :-1], axis=1)  # min_{i <= J} P[i]
    lowest_after = np.minimum.accumulate(prefix[:, :0:-1], axis=1)[:, ::-1]  # min_{k >= J + 1} P[k]
    return lowest_before <= lowest_after


def event_probability(
    fit_x, fit_y, held_x, held_draws: np.ndarray, chance: float, tau: float, budgets_log10
) -> np.ndarray:
    """Forecast probability of :func:`observed_event` at each budget, from joint draws.

    For draw ``d`` the task's scores are the fitted models' real accuracies ``fit_y`` and the
    held-out models' drawn accuracies ``held_draws[d]``; the event at budget ``B`` is that the
    isotonic fit of all of them reaches ``tau`` at a model ``<= B`` (the same event as the
    ``observed`` column).  ``p_emerged(B) = mean_d 1[event_d(B)]``.  Vectorised over draws
    with the min-max formula of the isotonic fit (see :func:`_reaches_by_group`); a budget
    below every model gives 0.  Draws must be of the *observed* score (``kind="observed"``),
    jointly over the held-out models (one curve per row), since the outcome is observed.

    Parameters
    ----------
    fit_x, fit_y : arrays, shape (n_fit,)
        log10 compute and real accuracy of the fitted models.
    held_x : array, shape (n_held,)
        log10 compute of the held-out models.
    held_draws : array, shape (n_draws, n_held)
    chance, tau : float
    budgets_log10 : array, shape (n_budgets,)

    Returns
    -------
    array, shape (n_budgets,)
    """
    fit_x, fit_y, held_x = (np.atleast_1d(np.asarray(a, dtype=float)) for a in (fit_x, fit_y, held_x))
    draws = np.asarray(held_draws, dtype=float)
    if draws.ndim == 1:
        draws = draws[:, None]
    if draws.shape[1] != held_x.size or fit_x.size != fit_y.size:
        raise InputError(f"event_probability: {held_x.size} held-out models but draws of shape {draws.shape}, "
                         f"{fit_x.size} fitted x for {fit_y.size} accuracies")
    budgets = np.atleast_1d(np.asarray(budgets_log10, dtype=float))
    x = np.concatenate([fit_x, held_x])
    scores = np.concatenate([np.broadcast_to(fit_y, (draws.shape[0], fit_y.size)), draws], axis=1)
    order = np.argsort(x, kind="stable")
    grid, starts, counts = np.unique(x[order], return_index=True, return_counts=True)
    sums = np.add.reduceat(scores[:, order], starts, axis=1)
    # reached(normalised(fit), tau) on the accuracy scale
    level = chance + (tau - REACH_TOL) * (1.0 - chance)
    at_group = _reaches_by_group(sums, counts, level)  # (n_draws, G)
    last = np.searchsorted(grid, budgets + 1e-12, side="right") - 1
    # the fit is non-decreasing, so "reaches tau at a model <= B" is its value at the last model <= B
    hit = at_group[:, np.maximum(last, 0)] & (last >= 0)[None, :]
    return hit.mean(axis=0)


def emergence_budgets(all_log10, cutoff_log10: float, held_log10=None, steps=BUDGET_STEPS) -> pd.DataFrame:
    """The budgets of one split: each held-out model's compute, and the cut-off plus ``steps``
    decades, each moved down to the largest model ``<= B``.

    Parameters
    ----------
    all_log10 : log10 compute of every model of the task
    cutoff_log10 : float
    held_log10 : the held-out models (default: the models above the cut-off)
    steps : decades above the cut-off

    Returns
    -------
    DataFrame with ``nominal_log10`` (``B``), ``budget_log10`` (moved down; ``B`` itself when
    beyond), ``beyond`` (``B`` above the largest model: ``observed`` must be left empty, and
    :func:`event_probability` would only give the event by the largest model), and
    ``distance_dec = budget_log10 - cutoff_log10``; one row per distinct budget above the
    cut-off (a budget moved down to the cut-off model asks nothing a split does not know), sorted.
    """
    x = np.unique(np.asarray(all_log10, dtype=float))
    held = x[x > cutoff_log10 + 1e-12] if held_log10 is None else np.asarray(held_log10, dtype=float)
    nominal = np.concatenate([held, cutoff_log10 + np.asarray(steps, dtype=float)])
    beyond = nominal > x.max() + 1e-12
    moved = x[np.searchsorted(x, nominal + 1e-12, side="right") - 1]
    frame = pd.DataFrame({"nominal_log10": nominal, "budget_log10": np.where(beyond, nominal, moved),
                          "beyond": beyond})
    frame = frame[frame["budget_log10"] > cutoff_log10 + 1e-12]  # at the cut-off nothing is forecast
    frame = frame.sort_values(["budget_log10", "nominal_log10"]).drop_duplicates("budget_log10")
    frame["distance_dec"] = frame["budget_log10"] - cutoff_log10
    return frame.reset_index(drop=True)


def distance_bin(decades) -> np.ndarray:
    """Extrapolation-distance bin labels: ``0-0.5``, ``0.5-1``, ``1-2``, ``>2`` decades (right-closed)."""
    idx = np.searchsorted(DISTANCE_EDGES, np.atleast_1d(np.asarray(decades, dtype=float)), side="left")
    return np.asarray(DISTANCE_LABELS, dtype=object)[idx]


# ----------------------------------------------------------------------------- scoring


def group_weights(frame: pd.DataFrame, group=("dataset", "task")) -> np.ndarray:
    """Row weights that weight each level of ``group`` equally within its parent.

    With ``group = (dataset, task)``: ``w = 1 / (#datasets * #tasks in the row's dataset *
    #rows of the row's task)``; the weights sum to 1.
    """
    group = list(group)
    missing = [c for c in group if c not in frame.columns]
    if missing:
        raise InputError(f"emergence table has no column {missing[0]!r}")
    if frame.empty:
        return np.empty(0)
    w = np.full(len(frame), 1.0 / frame[group[0]].nunique(dropna=False))
    for i in range(1, len(group)):
        parent = frame.groupby(group[:i], dropna=False)[group[i]].transform("nunique", dropna=False)
        w /= parent.to_numpy(dtype=float)
    w /= frame.groupby(group, dropna=False)[group[0]].transform("size").to_numpy(dtype=float)
    return w


def _event_scores(p: np.ndarray, y: np.ndarray, w: np.ndarray) -> dict[str, float]:
    if y.size == 0:
        return {"brier": np.nan, "log_score": np.nan, "auc": np.nan}
    pc = np.clip(p, *LOG_CLIP)
    auc = np.nan if np.unique(y).size < 2 else float(roc_auc_score(y, p, sample_weight=w))
    return {
        "brier": float(np.sum(w * (p - y) ** 2) / np.sum(w)),
        "log_score": float(-np.sum(w * (y * np.log(pc) + (1 - y) * np.log(1 - pc))) / np.sum(w)),
        "auc": auc,
    }


def _scored(frame: pd.DataFrame, p: str, y: str) -> pd.DataFrame:
    for col in (p, y):
        if col not in frame.columns:
            raise InputError(f"emergence table has no column {col!r}")
    scored = frame[frame[y].notna() & frame[p].notna()]
    bad = ~scored[y].isin([0, 1])
    if bad.any():
        raise InputError(f"column {y!r} must be 0 or 1, got {scored.loc[bad, y].iloc[0]!r}")
    return scored


def _counts(scored: pd.DataFrame, y: str, group) -> dict[str, int]:
    events = scored[scored[y] == 1]
    return {"n_rows": int(len(scored)), "n_events": int(len(events)),
            "n_tasks_with_event": int(len(events.drop_duplicates(list(group))))}


def score_events(frame: pd.DataFrame, p: str = "p_emerged", y: str = "observed",
                 group=("dataset", "task")) -> dict[str, float]:
    """Brier score, log score and AUC of event probabilities, with the counts behind them.

    Rows whose ``y`` is empty (NaN: budget beyond the largest model, small task) are not
    scored.  With weights ``w`` from :func:`group_weights` (tasks equal within a data set,
    data sets equal):

    * ``brier = sum w (p - y)^2``  (lower is better);
    * ``log_score = -sum w [y log p' + (1 - y) log(1 - p')]``, ``p' = clip(p, 0.001, 0.999)``
      (negative log likelihood: lower is better);
    * ``auc``: ``sklearn.metrics.roc_auc_score`` with the same weights (NaN with one class).

    Also ``n_rows``, ``n_events`` (rows with ``y = 1``) and ``n_tasks_with_event``.
    """
    scored = _scored(frame, p, y)
    w = group_weights(scored, group)
    pv, yv = scored[p].to_numpy(dtype=float), scored[y].to_numpy(dtype=float)
    return {**_event_scores(pv, yv, w), **_counts(scored, y, group)}


def brier_skill(
    frame: pd.DataFrame,
    method: str,
    baselines,
    climatology_by=("dataset", "tau", "distance_bin"),
    p: str = "p_emerged",
    y: str = "observed",
    group=("dataset", "task"),
    keys=("dataset", "task", "cutoff", "tau", "budget"),
    method_col: str = "method",
) -> dict[str, object]:
    """Brier skill of ``method`` against the best of the baselines and climatology.

    ``skill = 1 - BS(method) / min(BS(baseline_1), ..., BS(climatology))``.

    All Brier scores are on the same rows -- the scored rows (``y`` not empty) whose ``keys``
    every compared method has -- with the weights of :func:`group_weights`.  Climatology
    predicts for each row the share of ``y = 1`` among these rows in the same
    ``climatology_by`` cell (data set, tau, distance bin).  It is computed in-sample, from the
    outcomes it is scored on: it is a reference, not a forecast a user could have made, and
    in-sample it is, if anything, hard to beat.

    Returns ``skill``, ``brier``, ``reference`` (name of the best reference), ``brier_reference``,
    ``brier_references`` (every reference's Brier score), ``n_rows``, ``n_events``,
    ``n_tasks_with_event``.  NaN skill when no row is shared.
    """
    baselines = [b for b in baselines if b != method]
    compared = [method, *baselines]
    for col in (method_col, *keys, *climatology_by, *group):
        if col not in frame.columns:
            raise InputError(f"emergence table has no column {col!r}")
    scored = _scored(frame, p, y)
    absent = [m for m in compared if m not in set(scored[method_col])]
    if absent:
        raise InputError(f"emergence table has no scored row of method {absent[0]!r}")
    index = list(dict.fromkeys([*keys, *climatology_by, *group]))
    if scored.duplicated([*index, method_col]).any():
        raise InputError(f"emergence table has repeated rows for one method and {tuple(keys)}")
    wide = scored.pivot_table(index=index, columns=method_col, values=[p, y], aggfunc="first", dropna=False)
    probs = wide[p].reindex(columns=compared).dropna()
    outcome = wide[y].loc[probs.index]
    if (outcome.nunique(axis=1, dropna=True) > 1).any():
        raise InputError(f"column {y!r} differs between methods on the same split")
    rows = probs.index.to_frame(index=False)
    rows[y] = outcome.max(axis=1).to_numpy()
    rows["climatology"] = rows.groupby(list(climatology_by), dropna=False)[y].transform("mean")
    yv = rows[y].to_numpy(dtype=float)
    w = group_weights(rows, group)
    counts = _counts(rows, y, group)
    if len(rows) == 0:
        return {"skill": np.nan, "brier": np.nan, "reference": None, "brier_reference": np.nan,
                "brier_references": {}, **counts}

    def brier(values) -> float:
        return float(np.sum(w * (np.asarray(values, dtype=float) - yv) ** 2))

    refs = {b: brier(probs[b]) for b in baselines}
    refs["climatology"] = brier(rows["climatology"])
    best = min(refs, key=refs.get)
    bs = brier(probs[method])
    skill = 1.0 - bs / refs[best] if refs[best] > 0 else np.nan
    return {"skill": skill, "brier": bs, "reference": best, "brier_reference": refs[best],
            "brier_references": refs, **counts}


def reliability_table(p, y, bins: int = 10) -> pd.DataFrame:
    """Reliability diagram table: forecast probabilities in ``bins`` equal bins of [0, 1].

    Columns ``bin`` (0..bins-1), ``lower``, ``upper`` (bin edges), ``n`` (rows), ``mean_p``
    (mean forecast probability) and ``observed_rate`` (share of ``y = 1``); NaN for empty bins.
    Rows with a missing ``p`` or ``y`` are dropped.  Unweighted: every scored row counts once.
    """
    p = np.asarray(p, dtype=float)
    y = np.asarray(y, dtype=float)
    keep = np.isfinite(p) & np.isfinite(y)
    p, y = p[keep], y[keep]
    idx = np.clip((p * bins).astype(int), 0, bins - 1)
    frame = pd.DataFrame({"bin": idx, "p": p, "y": y}).groupby("bin").agg(
        n=("p", "size"), mean_p=("p", "mean"), observed_rate=("y", "mean"))
    table = frame.reindex(range(bins)).rename_axis("bin").reset_index()
    table["n"] = table["n"].fillna(0).astype(int)
    edges = np.linspace(0.0, 1.0, bins + 1)
    table.insert(1, "lower", edges[:-1])
    table.insert(2, "upper", edges[1:])
    return table


def plot_reliability(table_by_method: dict[str, pd.DataFrame], path: str | Path, title: str = "") -> Path:
    """Reliability diagram (PNG): observed frequency against mean forecast probability per bin,
    one line per method, the diagonal of perfect calibration, marker area by the bin's count."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    path = Path(path)
    fig = Figure(figsize=(5.0, 4.6))
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1], color="0.5", ls="--", lw=0.9, label="perfect calibration")
    for name, table in table_by_method.items():
        t = table[table["n"] > 0]
        line, = ax.plot(t["mean_p"], t["observed_rate"], lw=1.2, label=f"{name} (n={int(t['n'].sum())})")
        ax.scatter(t["mean_p"], t["observed_rate"], s=12 + 4 * np.sqrt(t["n"]), color=line.get_color(), zorder=3)
    ax.set_xlim(0, 1)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("forecast probability of emergence by the budget")
    ax.set_ylabel("observed frequency")
    ax.set_title(title or "emergence reliability")
    ax.legend(loc="upper left", fontsize=8)
    fig.savefig(path, dpi=90, bbox_inches="tight")
    return path
