"""``forecast cache``: the cache of learned settings."""

from __future__ import annotations

import click

from forecast.errors import InputError


@click.group("cache")
def cache_group() -> None:
    """The cache of learned settings (what slice_sandwich and others learn from every task at
    a cut-off, kept so that the next fit of the same data and cut-off is fast).

    \b
    Its folder: $FORECAST_CACHE_DIR, else the user's cache folder; FORECAST_NO_CACHE=1 or
    `forecast fit --no-cache` bypasses it."""


@cache_group.command("info")
def cache_info() -> None:
    """Where the cache is, and how many entries it holds."""
    from forecast.settings_cache import SettingsCache

    cache = SettingsCache.default()
    entries = cache.entries()
    size = sum(p.stat().st_size for p in entries if p.exists())
    click.echo(f"{cache.folder}: {len(entries)} learned settings, {size / 1024:.1f} KiB")


@cache_group.command("clear")
def cache_clear() -> None:
    """Remove every learned-settings entry from the cache."""
    from forecast.settings_cache import SettingsCache

    cache = SettingsCache.default()
    try:
        removed = cache.clear()
    except OSError as exc:
        raise InputError(f"{cache.folder}: cannot clear the cache ({exc.strerror or exc})") from None
    click.echo(f"removed {removed} learned settings from {cache.folder}")
