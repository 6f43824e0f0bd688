"""``forecast ingest``: evaluation logs into the canonical per-question table."""

from __future__ import annotations

import json
from pathlib import Path

import click

from forecast.cli.group import Group
from forecast.errors import InputError


@click.group("ingest", cls=Group)
def ingest() -> None:
    """Convert evaluation logs into the canonical per-question table."""


@ingest.command("lm-eval")
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--models", "models_file", help="Models table to check model names against.")
@click.option("--out", "out", required=True, help="Output file (.csv or .parquet).")
@click.option("--force", is_flag=True, help="Overwrite OUT if it exists.")
def ingest_lmeval(directory: str, models_file, out: str, force: bool) -> None:
    """Read an lm-evaluation-harness --log_samples folder into OUT."""
    from forecast.data.lmeval import read_lmeval
    from forecast.data.readers import check_writable_file, read_table, write_table
    from forecast.data.schema import validate_models

    out_path = Path(out)
    if out_path.exists() and not force:
        raise InputError(f"{out_path}: already exists (pass --force to overwrite)")
    if not out_path.name.lower().endswith((".csv", ".csv.gz", ".parquet", ".pq")):
        raise InputError(f"{out_path}: --out must end in .csv or .parquet")
    check_writable_file(out_path, "--out")
    table = read_lmeval(directory)
    if models_file:
        from forecast.data.reconcile import resolve_model_names

        models = validate_models(read_table(models_file), models_file)
        resolve_model_names(set(table["model"]), models["model"], str(directory), models_given=True)
    frame = table.copy()
    if "loglik" in frame.columns:
        frame["loglik"] = frame["loglik"].map(lambda v: json.dumps(list(map(float, v))) if v is not None else None)
    write_table(frame, out_path, force=force)
    click.echo(f"wrote {len(frame)} rows ({frame['model'].nunique()} models, {frame['task'].nunique()} tasks) to {out_path}")
