"""``forecast datasets``: the shipped data sets."""

from __future__ import annotations

import click


@click.command("datasets")
def datasets_command() -> None:
    """List the shipped datasets: name, kind, tasks, models, rows."""
    from forecast.data.shipped import datasets

    import textwrap

    table = datasets()
    described = "description" in table.columns
    click.echo(table.drop(columns=["description"] if described else []).to_string(index=False))
    if described:
        click.echo("")
        for name, text in zip(table["name"], table["description"]):
            click.echo(textwrap.fill(f"{name}: {text}", width=100, subsequent_indent="    "))
