"""One-line messages for scenarios that cannot be run.

pydantic reports every problem of a document with its location; users get one
line: the first problem (an unknown key first, since a misspelt required key also
shows up as missing), the key path, the nearest valid key, what was expected.
"""

from __future__ import annotations

import difflib
import types
import typing
from typing import Annotated

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from sim.distributions import Distribution
from sim.units import shown


class ScenarioError(ValueError):
    """A scenario that cannot be run; ``str()`` is one line naming file and key."""


class NoRequestsError(RuntimeError):
    """Every run ended without a single request (a tiny horizon, no demand)."""


MAX_MESSAGE = 400


def one_line(message: str) -> str:
    """Escape unprintable characters (keys may hold any text); cut to ``MAX_MESSAGE``."""
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in message[:MAX_MESSAGE * 2])
    return text if len(text) <= MAX_MESSAGE else text[:MAX_MESSAGE] + "..."


def describe(exc: ValidationError, root: type[BaseModel]) -> str:
    """One line for the first validation error of a ``root`` document, naming the key path."""
    errors = exc.errors(include_url=False)
    # An unknown key explains a "missing" one (a typo of a required key): report it first.
    error = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    loc = [str(part) for part in error["loc"] if not _is_union_tag(part)]
    key = ".".join(loc) or "(top level)"
    more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
    if error["type"] == "extra_forbidden":
        valid = _valid_keys(root, error["loc"][:-1])
        near = difflib.get_close_matches(loc[-1], valid, n=1)
        hint = f"; did you mean '{near[0]}'?" if near else ""
        options = f" (valid keys: {', '.join(valid)})" if valid else ""
        return f"unknown key '{key}'{hint}{options}{more}"
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "missing":
        return f"missing key '{key}'{more}"
    value = error.get("input")
    already = "got " in message or shown(value) in message
    got = "" if isinstance(value, (dict, list)) or already else f", got {shown(value)}"
    return f"key '{key}': {message}{got}{more}"


def _is_union_tag(part: object) -> bool:
    names = {"fixed", "exponential", "uniform", "triangular", "lognormal", "empirical"}
    return isinstance(part, str) and (part in names or part.startswith(("function-", "tagged")))


def _valid_keys(root: type[BaseModel], loc: tuple) -> list[str]:
    """Field names (aliases) of the model that sits at ``loc`` in the document."""
    model: object = root
    for part in loc:
        item = _container_item(model)
        if item is not None:  # ``part`` is a list index or a dict key
            model = item
            continue
        model = _unwrap(model)
        if isinstance(model, type) and issubclass(model, BaseModel):
            field = _field_by_name(model, str(part))
            model = field.annotation if field else None
        elif isinstance(part, str) and part in _DIST_NAMES:
            model = _DIST_NAMES[part]
    model = _unwrap(model)
    if isinstance(model, type) and issubclass(model, BaseModel):
        return [f.alias or name for name, f in model.model_fields.items()]
    return []


def _field_by_name(model: type[BaseModel], name: str) -> FieldInfo | None:
    for field_name, field in model.model_fields.items():
        if name in (field_name, field.alias):
            return field
    return None


def _container_item(annotation: object) -> object | None:
    """The item type if ``annotation`` is a (possibly optional) list or dict, else None."""
    for _ in range(6):
        origin = typing.get_origin(annotation)
        if origin is Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            models = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(models) != 1:
                return None
            annotation = models[0]
        elif origin in (list, dict):
            return typing.get_args(annotation)[-1]
        else:
            return None
    return None


def _unwrap(annotation: object) -> object:
    """Strip Optional, list, dict and Annotated down to the model class, if any."""
    for _ in range(6):
        origin = typing.get_origin(annotation)
        if origin is Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (list, dict):
            annotation = typing.get_args(annotation)[-1]
        elif origin in (typing.Union, types.UnionType):
            models = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(models) != 1:
                return annotation
            annotation = models[0]
        else:
            return annotation
    return annotation


def _dist_classes() -> dict[str, type[BaseModel]]:
    union = typing.get_args(Distribution)[0]
    return {_literal(cls): cls for cls in typing.get_args(union)}


def _literal(cls: type[BaseModel]) -> str:
    return typing.get_args(cls.model_fields["dist"].annotation)[0]


_DIST_NAMES = _dist_classes()
