"""Configs: frozen dataclasses built from YAML or mappings, where an unknown key is an error.

Every component's config (motion, MER training and grids, RL recipes, MELLM fine-tuning) is a
frozen, keyword-only dataclass with its checks in ``__post_init__``; these helpers turn parsed
YAML into one, and one back into plain data to write beside a run's outputs.
"""

from __future__ import annotations

import dataclasses
import os
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

from facscope.errors import ConfigError, InputFileError

__all__ = [
    "build_config",
    "check_keys",
    "check_range",
    "check_scalar",
    "config_to_dict",
    "field_hints",
    "read_yaml",
]

C = TypeVar("C")


def read_yaml(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A YAML file's top-level mapping (an empty file is an empty mapping)."""
    import yaml

    p = Path(path)
    if not p.is_file():
        raise InputFileError(f"{p}: no such config file")
    try:
        obj = yaml.safe_load(p.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{p}: not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset {exc.start}); "
            "save the config as UTF-8"
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{p}: not valid YAML ({exc})") from None
    if obj is None:
        return {}
    if not isinstance(obj, dict):
        raise ConfigError(f"{p}: the top level must be a mapping of keys to values")
    return obj


def check_keys(cls: type, values: Mapping[str, Any], where: str) -> None:
    """Raise :class:`ConfigError` naming any key of ``values`` that ``cls`` has no field for."""
    if not isinstance(values, Mapping):
        raise ConfigError(
            f"{where} must be a mapping of {cls.__name__} keys; got {type(values).__name__}"
        )
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}; valid keys are {sorted(names)}")


def build_config(cls: type[C], values: Mapping[str, Any], where: str = "config") -> C:
    """``cls(**values)`` for a config dataclass, with the checks users need.

    Unknown keys are errors; YAML lists become tuples where the field is a tuple; a mapping given
    for a field whose type is itself a config dataclass is built recursively (its unknown keys
    are errors too); a wrong or missing argument becomes a :class:`ConfigError` naming ``where``.
    """
    check_keys(cls, values, where)
    hints = field_hints(cls)
    kw = dict(values)
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if f.name not in kw:
            continue
        v, hint = kw[f.name], hints.get(f.name)
        nested = _dataclass_in(hint)
        if nested is not None and isinstance(v, Mapping):
            kw[f.name] = build_config(nested, v, f"{where}.{f.name}")
        elif isinstance(v, list) and "tuple" in str(hint).lower():
            kw[f.name] = tuple(v)
        else:
            kw[f.name] = check_scalar(v, hint, f"{where}.{f.name}")
    try:
        return cls(**kw)
    except TypeError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def field_hints(cls: type) -> dict[str, Any]:
    """The resolved field types of a dataclass (the raw annotations where a forward reference
    cannot be resolved)."""
    try:
        return typing.get_type_hints(cls)
    except Exception:
        return {f.name: f.type for f in dataclasses.fields(cls)}  # type: ignore[arg-type,misc]


_SCALARS = {bool: "true or false", int: "an integer", float: "a number", str: "text"}


def check_scalar(value: Any, hint: Any, key: str) -> Any:
    """``value`` checked against a scalar field type (``int``, ``float``, ``bool``, ``str``,
    optionally ``| None``): numbers written as text (YAML reads ``1e-3`` as a string) and whole
    floats for integers are converted; anything else of the wrong type is a
    :class:`ConfigError` naming ``key``. Other field types pass through unchecked."""
    args = (
        typing.get_args(hint) if typing.get_origin(hint) in (typing.Union, types.UnionType) else ()
    )
    kinds = [a for a in (args or (hint,)) if a is not type(None)]
    if len(kinds) != 1 or kinds[0] not in _SCALARS or (value is None and args):
        return value
    kind = kinds[0]
    if kind is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    if isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
        return value
    if kind in (int, float) and not isinstance(value, bool):
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = None
        if number is not None and (kind is float or number.is_integer()):
            return kind(number)
    raise ConfigError(f"{key} must be {_SCALARS[kind]}; got {value!r}")


def _dataclass_in(hint: Any) -> type | None:
    """The config dataclass a field's type names (``X`` or ``X | None``), if any."""
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return hint
    for arg in typing.get_args(hint):
        if isinstance(arg, type) and dataclasses.is_dataclass(arg):
            return arg
    return None


def config_to_dict(cfg: Any) -> Any:
    """Plain data of a config (nested configs as dicts, tuples as lists, paths as strings)."""
    if dataclasses.is_dataclass(cfg) and not isinstance(cfg, type):
        return {f.name: config_to_dict(getattr(cfg, f.name)) for f in dataclasses.fields(cfg)}
    if isinstance(cfg, (list, tuple)):
        return [config_to_dict(x) for x in cfg]
    if isinstance(cfg, Mapping):
        return {str(k): config_to_dict(x) for k, x in cfg.items()}
    if isinstance(cfg, Path):
        return str(cfg)
    return cfg


def check_range(
    name: str, value: float, low: float, high: float, *, unit: str = "", open_high: bool = False
) -> None:
    """Raise a :class:`ConfigError` naming ``name`` unless ``low <= value <= high`` (``< high``
    with ``open_high``), e.g. ``noise must be in [0, 100] grey levels; got 150``."""
    inside = low <= value < high if open_high else low <= value <= high
    if not inside:
        bracket = ")" if open_high else "]"
        where = f"[{low:g}, {high:g}{bracket}" + (f" {unit}" if unit else "")
        raise ConfigError(f"{name} must be in {where}; got {value}")
