"""Configs as plain data: frozen dataclasses that check their own field types and go to and
from JSON objects.

Values from JSON files, ``--set key=value`` and old run directories arrive untyped, so every
config dataclass checks each field against its annotation (``Literal`` choices included) on
construction and names the field in a :class:`~aslrec.errors.ConfigError`.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from typing import Any, Literal, Self

from aslrec.errors import ConfigError


class PlainData:
    """Mixin for a frozen dataclass: ``check_types()``, ``from_dict()``, ``to_dict()``."""

    def check_types(self) -> None:
        """Raise ConfigError for a field whose value does not match its annotation; JSON lists
        become tuples where a tuple is declared (JSON has no tuples)."""
        hints = typing.get_type_hints(type(self))
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            hint = hints[f.name]
            if typing.get_origin(hint) is tuple and isinstance(value, list):
                value = tuple(value)
                object.__setattr__(self, f.name, value)
            if not _matches(value, hint):
                raise ConfigError(f"{f.name} must be {_describe(hint)}, got {value!r}")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """From a JSON object; keys this version does not know are ignored (older files)."""
        known = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        return cls(**{k: v for k, v in data.items() if k in known})

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)  # type: ignore[call-overload]


def _matches(value: Any, hint: Any) -> bool:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is Literal:
        return value in args
    if origin in (typing.Union, types.UnionType):
        return any(_matches(value, a) for a in args)
    if hint is type(None):
        return value is None
    if origin is tuple:
        return isinstance(value, tuple) and all(isinstance(v, args[0]) for v in value)
    if origin is dict or hint is dict:
        return isinstance(value, dict)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(hint, type):
        return isinstance(value, hint)
    return True


def _describe(hint: Any) -> str:
    origin = typing.get_origin(hint)
    if origin is Literal:
        return " or ".join(map(str, typing.get_args(hint)))
    if origin is tuple:
        return "a list of strings"
    if origin is dict or hint is dict:
        return "a JSON object"
    return str(hint).replace("<class '", "").replace("'>", "")
