"""Configuration errors in one line: which file or NEWSDESK_* variable, which key, what is wrong with it."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, get_args

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

ENV_PREFIX = "NEWSDESK_"
ENV_NESTED_DELIMITER = "__"
HIDDEN_KEYS = frozenset({"dask_scheduler"})  # still accepted, no longer offered

# pydantic error types, in the words of the README's examples ("must be ..., not ...")
PROBLEMS = {
    "bool_parsing": "must be true or false",
    "bool_type": "must be true or false",
    "int_parsing": "must be a whole number",
    "int_type": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_parsing": "must be a number",
    "float_type": "must be a number",
    "string_type": "must be text",
    "dict_type": "must be a mapping",
    "model_type": "must be a mapping",
    "model_attributes_type": "must be a mapping",
    "list_type": "must be a list",
    "tuple_type": "must be a list",
    "path_type": "must be a path",
}


class ConfigError(ValueError):
    """A configuration problem, described in one line that names the file (or variable) and key."""


def format_key(loc: tuple[int | str, ...]) -> str:
    """A pydantic location as the user writes it: ('feeds', 1, 'url') -> 'feeds[1].url'."""
    key = ""
    for part in loc:
        key += f"[{part}]" if isinstance(part, int) else (f".{part}" if key else str(part))
    return key


def section_model(model: type[BaseModel], loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The model that validates the mapping at `loc` (list indexes pass through to the item model)."""
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        if field is None:
            return None
        candidates = (field.annotation, *get_args(field.annotation))
        found = [kind for kind in candidates if isinstance(kind, type) and issubclass(kind, BaseModel)]
        if not found:
            return None
        model = found[0]
    return model


def describe_problem(error: ErrorDetails, model: type[BaseModel]) -> str:
    """What is wrong with one value, as a short phrase."""
    kind, given, context = error["type"], error.get("input"), error.get("ctx") or {}
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        section = section_model(model, error["loc"][:-1])
        allowed = sorted(set(section.model_fields) - HIDDEN_KEYS) if section else []
        return f"unknown key (allowed: {', '.join(allowed)})" if allowed else "unknown key"
    if kind == "value_error":
        return str(context.get("error", error["msg"]))
    if kind in ("greater_than_equal", "greater_than"):
        bound = context.get("ge", context.get("gt"))
        if kind == "greater_than_equal" and bound == 0:
            return f"must be a non-negative number, not {given!r}"
        return f"must be {'at least' if kind == 'greater_than_equal' else 'more than'} {bound}, not {given!r}"
    if kind in ("too_short", "string_too_short"):
        return "must not be empty"
    if kind == "path_not_directory":
        return f"no such folder: {given}"
    if kind == "path_not_file":
        return f"no such file: {given}"
    if kind in PROBLEMS:
        return f"{PROBLEMS[kind]}, not {given!r}"
    return f"{error['msg'][:1].lower()}{error['msg'][1:]}, not {given!r}"


def reach(layer: Any, loc: tuple[int | str, ...]) -> int:
    """How many steps of `loc` a layer of raw values holds (0: none of it)."""
    depth = 0
    for part in loc:
        in_mapping = isinstance(layer, Mapping) and isinstance(part, str) and part in layer
        in_list = isinstance(layer, list | tuple) and isinstance(part, int) and part < len(layer)
        if not (in_mapping or in_list):
            break
        layer = layer[part]
        depth += 1
    return depth


def variable_for(loc: tuple[int | str, ...]) -> tuple[str, tuple[int | str, ...]]:
    """The NEWSDESK_* variable that set the value at `loc`, and the key left inside that variable's value."""
    names = {name.upper() for name in os.environ}
    for count in range(len(loc), 0, -1):
        head = loc[:count]
        if all(isinstance(part, str) for part in head):
            name = ENV_PREFIX + ENV_NESTED_DELIMITER.join(str(part) for part in head).upper()
            if name in names:
                return name, loc[count:]
    return ENV_PREFIX + str(loc[0]).upper(), loc[1:]


def describe_error(
    error: ValidationError, model: type[BaseModel], file_name: str, layers: Mapping[str, Mapping[str, Any]]
) -> str:
    """The first problem of a validation, in one line naming where the bad value came from and its key.

    `layers` are the raw values by where they came from, "environment" and "command line" among them; the
    one that holds most of the key's path (the later one on a tie) gave the value.
    """
    first = error.errors(include_url=False)[0]
    loc, problem = tuple(first["loc"]), " ".join(describe_problem(first, model).split())
    where, best = file_name, 0
    for name, layer in layers.items():
        depth = reach(layer, loc)
        if depth and depth >= best:
            where, best = name, depth
    key = format_key(loc)
    if where == "environment":
        where, rest = variable_for(loc)
        key = format_key(rest)
    return f"{where}: {key}: {problem}" if key else f"{where}: {problem}"
