"""Learned settings remembered across calls: one JSON file per method, data and cut-off.

Methods that learn settings at fit time (:attr:`Forecaster.learns_context`: prior scales,
an extrapolation spread, mixture weights, a drift) learn them from every task of the data
at or below the cut-off.  That is the slow part of a fit, and its result depends only on

* the method's class and parameters (its seed included),
* the data restricted to the cut-off (:func:`~forecast.data.fingerprint.data_fingerprint`),
* the cut-off, and
* the code (:func:`~forecast.provenance.code_label`: version and source hash),

so it is kept on disk under a key hashed from exactly those, in the user's cache folder
(``platformdirs.user_cache_dir("forecast")``, or ``$FORECAST_CACHE_DIR``).  A second fit of
another task of the same data at the same cut-off, in this process or a later one, reads the
settings back instead of learning them again.

Writes are atomic (a temporary file in the same folder, then :func:`os.replace`), so two
processes writing the same entry at once leave one whole file, and a reader never sees half
of one; an unreadable entry counts as a miss.  Settings always pass through their JSON form,
also when just learned, so a hit gives exactly the forecast of a cold fit.

Turn it off with ``fit(..., cache=False)``, ``--no-cache`` on the command line, or
``FORECAST_NO_CACHE=1``; empty it with ``forecast cache clear``.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

#: environment variable naming the cache folder
CACHE_DIR_ENV = "FORECAST_CACHE_DIR"
#: environment variable that turns the cache off ("1", "true", "yes")
NO_CACHE_ENV = "FORECAST_NO_CACHE"
#: sub-folder of the cache folder holding learned settings
SETTINGS_FOLDER = "settings"


def default_cache_dir() -> Path:
    """``$FORECAST_CACHE_DIR`` if set, else the user's cache folder for ``forecast``."""
    env = os.environ.get(CACHE_DIR_ENV, "").strip()
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("forecast", appauthor=False))


def cache_disabled_by_env() -> bool:
    """Whether ``$FORECAST_NO_CACHE`` turns the cache off."""
    return os.environ.get(NO_CACHE_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def _plain(value: Any) -> Any:
    """JSON fallback for numpy scalars and arrays inside learned settings."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"learned settings hold a {type(value).__name__}, which has no JSON form")


def to_json(settings: dict[str, Any]) -> str:
    """The canonical JSON text of learned settings (sorted keys; floats exactly)."""
    return json.dumps(settings, sort_keys=True, default=_plain)


def round_trip(settings: dict[str, Any]) -> dict[str, Any]:
    """``settings`` as they come back from their JSON form (tuples become lists, numpy
    values plain numbers): what a cache hit returns, so a cold fit uses the same."""
    return json.loads(to_json(settings))


def settings_key(method: Any, fingerprint: str, cutoff: float, code: str) -> str:
    """The cache key of ``method``'s settings learned on data with ``fingerprint`` at
    ``cutoff`` by the code ``code`` (a 32-hex-digit hash of all four)."""
    cls = type(method)
    params = sorted((k, repr(v)) for k, v in method.get_params().items())
    payload = {"method": f"{cls.__module__}:{cls.__qualname__}", "params": params,
               "data": fingerprint, "cutoff": repr(float(cutoff)), "code": code}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:32]


@dataclass(frozen=True)
class SettingsCache:
    """A folder of learned settings, one ``<key>.json`` file each.

    Parameters
    ----------
    directory : Path
        The cache folder (learned settings go to its ``settings/`` sub-folder).
    """

    directory: Path

    @classmethod
    def default(cls) -> SettingsCache:
        """The cache in :func:`default_cache_dir`."""
        return cls(default_cache_dir())

    @property
    def folder(self) -> Path:
        return Path(self.directory) / SETTINGS_FOLDER

    def path(self, key: str) -> Path:
        return self.folder / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        """The settings stored under ``key``, or None (absent or unreadable: a miss)."""
        try:
            text = self.path(key).read_text(encoding="utf-8")
            entry = json.loads(text)
        except (OSError, ValueError):
            return None
        if not isinstance(entry, dict) or entry.get("key") != key or not isinstance(entry.get("settings"), dict):
            return None
        return entry["settings"]

    def put(self, key: str, settings: dict[str, Any], about: dict[str, Any] | None = None) -> Path | None:
        """Store ``settings`` under ``key`` atomically; returns the file, or None when the
        folder cannot be written (a cache that cannot be written is no error)."""
        entry = {"key": key, "about": about or {}, "settings": settings}
        text = json.dumps(entry, sort_keys=True, default=_plain)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{key}.", suffix=".tmp", dir=self.folder)
        except OSError:
            return None
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path(key))
        except OSError:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            return None
        return self.path(key)

    def entries(self) -> list[Path]:
        """The stored entries (files), sorted."""
        if not self.folder.is_dir():
            return []
        return sorted(self.folder.glob("*.json"))

    def clear(self) -> int:
        """Remove every stored entry (and left-over temporary files); returns how many
        entries were removed."""
        removed = 0
        if not self.folder.is_dir():
            return 0
        for path in self.folder.iterdir():
            if path.suffix in (".json", ".tmp") and path.is_file():
                try:
                    path.unlink()
                except FileNotFoundError:
                    continue
                removed += path.suffix == ".json"
        return removed


def resolve_cache(cache: SettingsCache | bool | str | os.PathLike | None) -> SettingsCache | None:
    """The cache a fit uses: None -> the default cache unless ``$FORECAST_NO_CACHE``;
    False -> none; True -> the default cache; a path -> a cache in that folder; a
    :class:`SettingsCache` as is."""
    if cache is False:
        return None
    if isinstance(cache, SettingsCache):
        return cache
    if cache is None:
        return None if cache_disabled_by_env() else SettingsCache.default()
    if cache is True:
        return SettingsCache.default()
    if isinstance(cache, (str, os.PathLike)):
        return SettingsCache(Path(cache))
    from forecast.errors import InputError

    raise InputError(f"cache must be True, False, a folder or a SettingsCache, got {cache!r}")


@dataclass(frozen=True)
class LearnedSettings:
    """Settings as :func:`learned_settings` returns them: the ``settings`` dict, and where
    they came from (``source``: ``"learned"`` or ``"cache"``; ``path`` of the cache entry)."""

    settings: dict[str, Any]
    source: str
    path: Path | None = None


def learned_settings(method: Any, pool: Any, cutoff: float, fingerprint: str,
                     cache: SettingsCache | None) -> LearnedSettings:
    """``method.learn_context(pool, cutoff)``, read from ``cache`` when stored there, else
    learned and stored (always in its JSON form, see :func:`round_trip`)."""
    from forecast.provenance import code_label, code_version

    key = settings_key(method, fingerprint, cutoff, code_label(code_version())) if cache else ""
    if cache is not None:
        hit = cache.get(key)
        if hit is not None:
            return LearnedSettings(hit, "cache", cache.path(key))
    settings = round_trip(method.learn_context(pool, cutoff))
    path = None
    if cache is not None:
        about = {"method": type(method).__name__, "cutoff": float(cutoff), "data": fingerprint}
        path = cache.put(key, settings, about)
    return LearnedSettings(settings, "learned", path)
