"""Typed learned settings: one dataclass per method, the same JSON as the plain dicts.

A method that learns settings at fit time (``learn_context``) declares a subclass of
:class:`LearnedSettings` as its ``settings_class``: one typed field per key of the JSON the
method has always written.  The JSON stays the wire format (data fingerprints, the
settings cache of :mod:`forecast.settings_cache`, saved job files and ``--resume`` read and
write it), so:

* :meth:`LearnedSettings.to_dict` gives exactly the dict the method wrote before (a field in
  ``optional`` is left out while it is None, every other field is written, None as null);
* :meth:`LearnedSettings.from_dict` reads such a dict back without loss: a key the class
  does not know is kept in ``extra`` and written back by :meth:`to_dict`; values are deep
  copies, so no two settings objects share a nested dict;
* ``fit(context=...)`` takes either a dict or the dataclass
  (:meth:`LearnedSettings.coerce`).

Nested values (reports, per-component settings) stay JSON values (dicts, lists).
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping
from typing import Any, ClassVar, TypeVar

from forecast.errors import InputError

__all__ = ["LearnedSettings", "NoSettings"]

S = TypeVar("S", bound="LearnedSettings")


@dataclasses.dataclass
class LearnedSettings:
    """Base of every method's learned settings (a dataclass; subclasses add fields, each
    with a default).

    ``extra``: keys the class does not know, kept as they came (written back by
    :meth:`to_dict`).  ``optional`` (class attribute): the fields written only when not None.
    """

    extra: dict[str, Any] = dataclasses.field(default_factory=dict)

    optional: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def keys(cls) -> list[str]:
        """The JSON keys of the class's fields, in declaration order."""
        return [f.name for f in dataclasses.fields(cls) if f.name != "extra"]

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready dict (a deep copy): every field, an ``optional`` one only when not
        None, then the ``extra`` keys."""
        out: dict[str, Any] = {}
        for name in self.keys():
            value = getattr(self, name)
            if value is None and name in self.optional:
                continue
            out[name] = copy.deepcopy(value)
        out.update(copy.deepcopy(self.extra))
        return out

    @classmethod
    def from_dict(cls: type[S], data: Mapping[str, Any] | None) -> S:
        """Settings from a dict such as :meth:`to_dict` gives (a missing key: the field's
        default; an unknown one: kept in ``extra``)."""
        if data is None:
            data = {}
        if not isinstance(data, Mapping):
            raise InputError(f"learned settings must be a dict from learn_context, got {type(data).__name__}")
        known = set(cls.keys())
        bad = [k for k in data if not isinstance(k, str)]
        if bad:
            raise InputError(f"learned settings keys must be text, got {bad[0]!r}")
        values = {k: copy.deepcopy(v) for k, v in data.items() if k in known}
        extra = {k: copy.deepcopy(v) for k, v in data.items() if k not in known and k != "extra"}
        return cls(extra=extra, **values)

    @classmethod
    def coerce(cls: type[S], context: LearnedSettings | Mapping[str, Any] | None) -> S:
        """``context`` as this class: a dict is read with :meth:`from_dict`; settings of
        another class are read through their dict."""
        if isinstance(context, cls):
            return cls.from_dict(context.to_dict())
        if isinstance(context, LearnedSettings):
            return cls.from_dict(context.to_dict())
        return cls.from_dict(context)


@dataclasses.dataclass
class NoSettings(LearnedSettings):
    """The settings of a method that learns none (any keys given are kept in ``extra``)."""
