"""What an experiment's settings mean, read from the pydantic models that validate them.

The models in :mod:`genolang.compiler.lower.experiment` are the one source of truth: a block's keys
are a model's fields, a key's type, default and bounds are its field's, and its meaning is the
comment written beside (or just above) the field, else the model's docstring. Nothing here
repeats them.
"""

from __future__ import annotations

import inspect
import re
import types
import typing
from functools import lru_cache

from pydantic import BaseModel

import genolang.compiler.lower.experiment as E

__all__ = ["model_at", "field_help", "enum_values", "keys"]


def _model_of(annotation) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):         # `TournamentConfig | None`
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
    return None


def model_at(path: tuple[str, ...]) -> type[BaseModel] | None:
    """The model of the experiment block at ``path`` (``()``: the experiment itself)."""
    model: type[BaseModel] | None = E.ExperimentConfig
    for key in path:
        field = model.model_fields.get(key) if model else None
        model = _model_of(field.annotation) if field else None
        if model is None:
            return None
    return model


def keys(path: tuple[str, ...]) -> list[tuple[str, bool]]:
    """(key, is a block) of every setting the block at ``path`` takes."""
    model = model_at(path)
    if model is None:
        return []
    return [(name, _model_of(f.annotation) is not None) for name, f in model.model_fields.items()]


def enum_values(path: tuple[str, ...]) -> list[str]:
    """The values a setting takes when they are a closed set (a Literal, or a bool)."""
    model = model_at(path[:-1])
    field = model.model_fields.get(path[-1]) if model else None
    if field is None:
        return []
    values: list[str] = []
    for arg in (field.annotation, *typing.get_args(field.annotation)):
        if typing.get_origin(arg) is typing.Literal:
            values += [str(v) for v in typing.get_args(arg)]
        elif arg is bool:
            values += ["true", "false"]
    return list(dict.fromkeys(values))


@lru_cache(maxsize=None)
def _comments(model: type[BaseModel]) -> dict[str, str]:
    """The comment beside each field of ``model``'s source (or the comment lines above it)."""
    try:
        lines = inspect.getsource(model).splitlines()
    except (OSError, TypeError):
        return {}
    out: dict[str, str] = {}
    above: list[str] = []
    for line in lines[1:]:
        stripped = line.strip()
        if stripped.startswith("#"):
            above.append(stripped.lstrip("# "))
            continue
        match = re.match(r"\s+(\w+)\s*:", line)
        if match:
            beside = line.split("#", 1)[1].strip() if "#" in line.split("=", 1)[-1] else ""
            text = " ".join(part for part in (" ".join(above), beside) if part)
            if text:
                out[match.group(1)] = text
        above = []
    return out


def _type_text(annotation) -> str:
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return _type_text(args[0])
    if origin is typing.Literal:
        return " | ".join(repr(v) for v in args)
    if origin is typing.Union or origin is types.UnionType:
        return " | ".join(_type_text(a) for a in args)
    if annotation is type(None):
        return "none"
    if origin is not None:
        return f"{getattr(origin, '__name__', origin)}[{', '.join(_type_text(a) for a in args)}]"
    return getattr(annotation, "__name__", repr(annotation))


def field_help(path: tuple[str, ...]) -> str | None:
    """Markdown: the setting at ``path`` (type, default, bounds, meaning), or the block's."""
    model = model_at(path[:-1]) if path else None
    if model is None or path[-1] not in model.model_fields:
        return None
    name = path[-1]
    field = model.model_fields[name]
    inner = _model_of(field.annotation)
    doc = inspect.getdoc(inner) if inner is not None else None
    bounds = ", ".join(re.sub(r"^(\w+)\((\w+)=(.*)\)$", r"\2 \3", repr(m)) for m in field.metadata)
    bounds = bounds.replace("ge ", "≥ ").replace("gt ", "> ").replace("le ", "≤ ").replace("lt ", "< ")
    default = field.get_default(call_default_factory=True) if inner is None else None
    lines = [f"**{'.'.join(path)}**" + (" (block)" if inner is not None else f": `{_type_text(field.annotation)}`")]
    if inner is None:
        lines.append(f"default `{_value_text(default)}`" + (f"; {bounds}" if bounds else ""))
    meaning = _comments(model).get(name)
    if meaning:
        lines.append(meaning)
    values = enum_values(path)
    if values and values != ["true", "false"]:
        lines.append("one of " + ", ".join(f"`{v}`" for v in values))
    if doc:
        lines.append(doc.split("\n\n", 1)[0])
    elif inner is None:
        owner = inspect.getdoc(model)
        if owner:
            lines.append(f"_{model.__name__}_: " + owner.split("\n\n", 1)[0])
    return "\n\n".join(lines)


def _value_text(value) -> str:
    if value is None:
        return "none (unset)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    return str(value)
