"""Turning plain YAML data into typed, frozen dataclasses, with errors that name key, value and fix.

Any frozen dataclass whose fields are built from `bool`, `int`, `float`, `str`, `Literal[...]`,
`Optional[...]`, `tuple[X, ...]`, `tuple[X, Y]` and other such dataclasses can be a config
section. A section checks its own values in `__post_init__` by raising `ValueError` whose message
starts with the field name (`"base_lr = -1.0: must be > 0; ..."`); the loader prefixes the section
path and the source, so the user reads one line such as
`experiments/q.yaml: solver.base_lr = -1.0: must be > 0; ...`.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import re
import types
import typing
from typing import Any, Literal, Mapping, Union

from .errors import ConfigError

_NONE = type(None)


def _describe(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin is Literal:
        return " | ".join(repr(a) for a in typing.get_args(tp))
    if origin in (Union, types.UnionType):
        return " or ".join(_describe(a) for a in typing.get_args(tp))
    if origin is tuple:
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return f"a list of {_describe(args[0])}"
        return "a list [" + ", ".join(_describe(a) for a in args) + "]"
    if tp is _NONE:
        return "null"
    if dataclasses.is_dataclass(tp):
        return "a mapping"
    return getattr(tp, "__name__", str(tp))


class _Mismatch(Exception):
    pass


class _ItemMismatch(_Mismatch):
    """A list of the right kind whose item `i` is wrong: the reason names the item."""


def _item(value: Any, tp: Any, key: str, i: int) -> Any:
    try:
        return coerce(value, tp, f"{key}[{i}]")
    except _Mismatch as err:
        raise _ItemMismatch(f"item {i} ({value!r}): {err}") from None


def coerce(value: Any, tp: Any, key: str) -> Any:
    """Return `value` as type `tp`, or raise `_Mismatch` with the reason."""
    origin = typing.get_origin(tp)
    if tp is Any:
        return value
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, Mapping):
            raise _Mismatch(f"expected {_describe(tp)}")
        return build(tp, value, key + ".")
    if origin is Literal:
        if value not in typing.get_args(tp):
            close = difflib.get_close_matches(str(value), [str(a) for a in typing.get_args(tp)], 1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise _Mismatch(f"expected one of {_describe(tp)}{hint}")
        return value
    if origin in (Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None:
            if _NONE in args:
                return None
            raise _Mismatch(f"expected {_describe(tp)}, not null")
        kinds = [a for a in args if a is not _NONE]
        for arg in kinds:
            try:
                return coerce(value, arg, key)
            except _ItemMismatch:
                if len(kinds) == 1:  # Optional[list]: the list's own reason is the clearer one
                    raise
            except _Mismatch:
                continue
        raise _Mismatch(f"expected {_describe(tp)}")
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise _Mismatch(f"expected {_describe(tp)}")
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_item(v, args[0], key, i) for i, v in enumerate(value))
        if len(value) != len(args):
            raise _Mismatch(f"expected {_describe(tp)} of length {len(args)}")
        return tuple(_item(v, a, key, i) for i, (v, a) in enumerate(zip(value, args)))
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise _Mismatch("expected true or false")
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise _Mismatch("expected a whole number")
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if not math.isfinite(value):  # .inf/.nan: no float field of a config means them
                raise _Mismatch("expected a finite number (not .inf or .nan)")
            return float(value)
        raise _Mismatch("expected a number")
    if tp is str:
        if isinstance(value, str):
            return value
        raise _Mismatch("expected a string")
    raise TypeError(f"config field {key}: unsupported type {tp!r}")  # a bug in a section, not input


def field_types(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def build(cls: type, data: Mapping[str, Any], prefix: str = "") -> Any:
    """Build dataclass `cls` from `data`; errors raise ConfigError with the dotted key."""
    hints = field_types(cls)
    known = [f.name for f in dataclasses.fields(cls)]
    kwargs = {}
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if key not in known:
            close = difflib.get_close_matches(str(key), known, 1)
            hint = f"did you mean '{prefix}{close[0]}'?" if close else f"known keys: {', '.join(known)}"
            raise ConfigError(f"unknown key '{dotted}': {hint}")
        try:
            kwargs[key] = coerce(value, hints[key], dotted)
        except _Mismatch as err:
            raise ConfigError(f"{dotted} = {value!r}: {err}") from None
    try:
        return cls(**kwargs)
    except ValueError as err:
        if isinstance(err, ConfigError):
            raise
        raise ConfigError(f"{prefix}{err}") from None


_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._=+-]*")
NAME_RULE = ("is not a name: use letters, digits and . _ - = + (no '/', no '..'); results "
             "always go under train.storage_path")


def is_name(name: str) -> bool:
    """A run or experiment name is a folder name under train.storage_path, never a path."""
    return bool(_NAME.fullmatch(name)) and ".." not in name


def check(ok: bool, name: str, value: Any, need: str) -> None:
    """Raise the ValueError a section's `__post_init__` uses: `name = value: need`."""
    if not ok:
        raise ValueError(f"{name} = {value!r}: {need}")


def to_dict(obj: Any) -> Any:
    """A dataclass as plain YAML/JSON data (tuples become lists)."""
    if dataclasses.is_dataclass(obj):
        return {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [to_dict(v) for v in obj]
    return obj
