"""The ``forecast mirage`` command (registered, lazily, on the ``forecast`` CLI group)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from forecast.cli.options import compute_option
from forecast.errors import InputError


@click.command("mirage")
@click.argument("data")
@click.option("--task", required=True, help="Task to check.")
@click.option("--models", "models_file", help="Models table (model, family, params, tokens, flops).")
@click.option("--task-info", "task_info", help="Task table (task, format, n_choices, chance).")
@click.option("--plot", "plot", help="Write the side-by-side metric plot to this PNG file.")
@click.option("--force", is_flag=True, help="Overwrite the --plot file if it exists.")
@click.option("--level", default=0.9, show_default=True, type=float, help="Interval level.")
@click.option("--n-boot", default=1000, show_default=True, type=int, help="Bootstrap resamples of the questions.")
@click.option("--seed", default=0, show_default=True, type=int, help="Random seed.")
@click.option("--json", "as_json", is_flag=True, help="Print one strict-JSON object.")
@compute_option
def mirage_command(data, task, models_file, task_info, plot, force, level, n_boot, seed, as_json, compute) -> None:
    """Score TASK's outputs under every available metric: emergence score per metric,
    bootstrap intervals per model, questions needed to tell small models from chance or
    zero, and a verdict: does the jump survive a continuous metric?"""
    from forecast.mirage import mirage

    if compute is not None:
        from forecast.data import load_data

        data = load_data(data, models=models_file, task_info=task_info, compute=compute)
        models_file = task_info = None

    if plot:
        path = Path(plot)
        if path.suffix.lower() != ".png":
            raise InputError(f"{plot}: --plot must name a .png file")
        if path.exists() and not force:
            raise InputError(f"{plot}: already exists (pass --force to overwrite)")
        if not path.parent.is_dir():
            raise InputError(f"{plot}: folder {path.parent} does not exist")
    result = mirage(data, task, models=models_file, task_info=task_info, n_boot=n_boot, level=level, seed=seed)
    if plot:
        result.plot(plot)
    if as_json:
        click.echo(json.dumps(result.to_dict(), allow_nan=False))
        return
    click.echo(f"== {result.task} ({result.scale} scale)")
    click.echo(result.metrics.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    curves = result.curves.drop(columns=["log10_compute"], errors="ignore")
    curves = curves.drop(columns=[c for c in curves.columns if curves[c].isna().all()])  # 100 columns
    click.echo(curves.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    for key, why in result.unavailable.items():
        click.echo(f"{key}: not available ({why})")
    click.echo(f"verdict: {result.verdict}")
    if plot:
        click.echo(f"plot written to {plot}")
