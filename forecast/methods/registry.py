"""The registry of forecasting methods: names, import paths, configured variants.

A method is a :class:`~forecast.methods.base.Forecaster` subclass.  It is known by

* a registered name: ``register(MyForecaster)`` (its ``name`` attribute, or ``name=``);
* its import path, ``"my_pkg.my_mod:MyForecaster"``: ``make_method`` imports it, so a
  method defined in any importable module runs in a backtest's worker processes and on
  Dask workers without being registered there (a job carries the import path,
  :func:`method_path`, and the worker imports it).

The built-in methods are registered by :mod:`forecast.methods` when it is imported.
"""

from __future__ import annotations

import importlib
import re
from typing import Any

from forecast.errors import InputError
from forecast.methods.contract import ForecasterTags

#: registered methods by name (the built-ins, then user methods, in registration order)
METHODS: dict[str, type] = {}
#: configured variants: name -> (method name, preset parameters)
ALIASES: dict[str, tuple[str, dict[str, Any]]] = {}
#: tags of the configured variants (their method's tags, ``in_default_run`` their own)
ALIAS_TAGS: dict[str, ForecasterTags] = {}


def _forecaster_base() -> type:
    from forecast.methods.base import Forecaster

    return Forecaster


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def import_method(path: str) -> type:
    """The class at ``"module:Class"`` (or ``"module.Class"``), imported; one-line
    :class:`InputError` when it cannot be imported or is not a Forecaster."""
    if not isinstance(path, str) or not path.strip():
        raise InputError(f"a method import path is 'module:Class', got {path!r}")
    module, sep, attr = path.partition(":")
    if not sep:
        module, _, attr = path.rpartition(".")
    if not module or not attr:
        raise InputError(f"a method import path is 'module:Class', got {path!r}")
    try:
        mod = importlib.import_module(module)
    except ImportError as exc:
        raise InputError(f"method {path!r}: cannot import module {module!r} ({exc})") from None
    obj: Any = mod
    for part in attr.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            raise InputError(f"method {path!r}: module {module!r} has no {attr!r}")
    if not (isinstance(obj, type) and issubclass(obj, _forecaster_base())):
        raise InputError(f"method {path!r} is not a Forecaster subclass")
    return obj


def class_path(cls: type) -> str:
    """``"module:QualName"`` of a class (what a worker imports)."""
    return f"{cls.__module__}:{cls.__qualname__}"


def is_path(name: str) -> bool:
    """Whether a method name is an import path (``"pkg.mod:Class"``)."""
    return isinstance(name, str) and ":" in name


def register(cls_or_path: type | str, name: str | None = None, *, replace: bool = False) -> type:
    """Register a method under ``name`` (default: the class's own ``name`` attribute, else
    its class name in snake case) and return the class, so it can decorate it.

    ``cls_or_path`` is a Forecaster subclass or its import path (``"pkg.mod:Class"``).  A
    class whose ``name`` is inherited gets ``name`` as its own.  Registering another class
    under a taken name needs ``replace=True``; registering the same class again is a no-op.
    """
    cls = import_method(cls_or_path) if isinstance(cls_or_path, str) else cls_or_path
    if not (isinstance(cls, type) and issubclass(cls, _forecaster_base())):
        raise InputError(f"register: {cls!r} is not a Forecaster subclass")
    own = cls.__dict__.get("name")
    if name is None:
        name = own if isinstance(own, str) and own else _snake(cls.__name__)
    if not isinstance(name, str) or not name or ":" in name or "|" in name or "," in name:
        raise InputError(f"register: a method name is a word without ':', '|' or ',', got {name!r}")
    if name in ALIASES:
        raise InputError(f"register: {name!r} is already a configured variant")
    if name in METHODS and METHODS[name] is not cls and not replace:
        raise InputError(f"register: {name!r} is already {class_path(METHODS[name])}; pass replace=True")
    if own is None:
        cls.name = name
    METHODS[name] = cls
    return cls


def register_alias(name: str, method: str, params: dict[str, Any], *, in_default_run: bool = False) -> None:
    """Register a configured variant: ``make_method(name)`` is ``make_method(method, **params)``."""
    if method not in METHODS:
        raise InputError(f"register_alias: unknown method {method!r}")
    ALIASES[name] = (method, dict(params))
    ALIAS_TAGS[name] = METHODS[method].tags.with_(in_default_run=in_default_run)


def method_names() -> list[str]:
    """Every registered name :func:`make_method` accepts (import paths are accepted too)."""
    return list(METHODS) + list(ALIASES)


def resolve(name: str) -> tuple[type, dict[str, Any]]:
    """``(class, preset parameters)`` of a method name, alias or import path."""
    if not isinstance(name, str):
        raise InputError(f"a method is named by a string, got {name!r}")
    if name in ALIASES:
        base, preset = ALIASES[name]
        return METHODS[base], dict(preset)
    if name in METHODS:
        return METHODS[name], {}
    if is_path(name):
        return import_method(name), {}
    raise InputError(f"unknown method {name!r} (known: {', '.join(method_names())}; "
                     "or an import path such as my_pkg.my_mod:MyForecaster)")


def method_path(name: str) -> str:
    """The import path of the class behind a method name (what a job carries)."""
    return class_path(resolve(name)[0])


def method_tags(name: str) -> ForecasterTags:
    """The tags of a method name (an alias has its own ``in_default_run``)."""
    if name in ALIAS_TAGS:
        return ALIAS_TAGS[name]
    return resolve(name)[0].tags


def make_method(name: str, **params: Any):
    """A method by name, e.g. ``make_method("slice_sandwich", seed=1)`` or
    ``make_method("my_pkg.my_mod:MyForecaster")``."""
    cls, preset = resolve(name)
    return _build(name, cls, {**preset, **params})


def make_job_method(name: str, path: str | None, params: dict[str, Any]):
    """The method of a job: by ``name`` when it is registered in this process, else by the
    import path ``path`` the job carries (a worker process or a Dask worker, where a method
    registered at run time in the main process is unknown)."""
    if path and name not in METHODS and name not in ALIASES:
        return _build(name, import_method(path), dict(params))
    return make_method(name, **params)


def _build(name: str, cls: type, params: dict[str, Any]):
    try:
        return cls(**params)
    except TypeError as exc:
        raise InputError(f"method {name!r}: {exc}") from None


def names_where(**tags: Any) -> list[str]:
    """Registered names (methods, then variants) whose tags have every given value, e.g.
    ``names_where(is_baseline=True)``; ``needs=``, ``default_kinds=`` ... compare sets of kinds."""
    out = []
    for name in method_names():
        t = method_tags(name)
        if all((getattr(t, k) == (frozenset(v) if k in ("needs", "handles", "default_on", "default_kinds") else v))
               for k, v in tags.items()):
            out.append(name)
    return out


__all__ = ["METHODS", "ALIASES", "register", "register_alias", "make_method", "make_job_method", "method_names", "resolve",
           "method_path", "method_tags", "import_method", "class_path", "is_path", "names_where"]
