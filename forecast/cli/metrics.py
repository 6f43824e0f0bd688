"""``forecast metrics``: per-model metrics of a task and the emergence score of each."""

from __future__ import annotations

import click

from forecast.cli.options import compute_option
from forecast.errors import InputError


@click.command("metrics")
@click.argument("data")
@click.option("--models", "models_file", help="Models table (model, family, params, tokens, flops).")
@click.option("--scores", "scores_file", help="Whole-task scores for slice-level data.")
@click.option("--task-info", "task_info", help="Task table (task, format, n_choices, chance).")
@click.option("--task", "task", help="Only this task.")
@compute_option
def metrics_command(data: str, models_file, scores_file, task_info, task, compute) -> None:
    """Per-model metrics of a task and the emergence score of each metric's curve.

    The emergence score (BIG-bench's "breakthroughness") of a metric's curve over the models
    sorted by compute is its range divided by the root median squared step between
    neighbouring models, signed by direction: large when the curve rises in one or two
    jumps, small for a steady rise, negative for a falling curve."""
    from forecast.data import load_data
    from forecast.data.task_table import task_table
    from forecast.metrics import emergence_score, task_table_metrics

    if task is not None and not task.strip():
        raise InputError("--task is empty; name a task (forecast metrics DATA lists them all)")
    d = load_data(data, models=models_file, scores=scores_file, task_info=task_info, compute=compute)
    tasks = [task] if task is not None else d.task_names
    for name in tasks:
        table = task_table(d.for_task(name), name)
        if len(table) < 2:
            raise InputError(
                f"task {name!r}: {len(table)} model is too few for an emergence score; need at least 2 sizes"
            )
        cols = [c for c in task_table_metrics() if c in table.columns and table[c].notna().all()]
        click.echo(f"== {name} ({d.scale(name)} scale, chance {d.chance(name):.3g}, {len(table)} models)")
        click.echo(
            table[["model", "compute"] + cols + ["n_questions"]].to_string(
                index=False, float_format=lambda v: f"{v:.4g}"
            )
        )
        scores = ", ".join(
            f"{c}: {emergence_score(table['log10_compute'].to_numpy(), table[c].to_numpy()):.3g}"
            for c in cols
        )
        click.echo(f"emergence score — {scores}")
    click.echo("emergence score = range / root median squared step between neighbouring sizes;")
    click.echo("  large: the curve jumps; small: it rises steadily; below 0: it falls")
