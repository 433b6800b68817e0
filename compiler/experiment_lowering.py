"""Experiment definitions -> validated configuration (pydantic), errors located in the spec."""

from __future__ import annotations

from typing import Any

from genolang.errors import ErrorGroup, SpecSemanticError, did_you_mean
from genolang.grammar import syntax as S

from . import ir


def settings_tree(entries: tuple[S.Stmt, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for entry in entries:
        if isinstance(entry, S.Block):
            out[entry.key] = settings_tree(entry.entries)
        elif isinstance(entry, S.Setting):
            out[entry.key] = plain(entry.value)
    return out


def plain(value: S.Value) -> Any:
    if isinstance(value, (S.Num, S.Str, S.Bool)):
        return value.value
    if isinstance(value, S.Name):
        return value.id
    if isinstance(value, (S.ListV, S.TupleV)):
        return [plain(v) for v in value.items]
    if isinstance(value, S.Neg):
        return -plain(value.operand)
    if isinstance(value, S.BinOp):
        left, right = plain(value.left), plain(value.right)
        return ir.evaluate(ir.BinOp(value.op, left, right), {})
    raise TypeError(value)


def _find(entries: tuple[S.Stmt, ...], loc: tuple) -> S.Stmt | None:
    """The AST entry a pydantic error location points at (the deepest one that exists)."""
    node = None
    for key in loc:
        match = next((e for e in entries if getattr(e, "key", None) == key), None)
        if match is None:
            break
        node = match
        entries = match.entries if isinstance(match, S.Block) else ()
    return node


def lower_experiment(definition: S.ExperimentDef, lowerer):
    from .lower import Experiment, header_span
    from .experiment import ExperimentConfig

    settings = settings_tree(definition.entries)
    settings.setdefault("name", definition.name)
    try:
        config = ExperimentConfig.model_validate(settings)
    except Exception as exc:  # pydantic.ValidationError
        errors = getattr(exc, "errors", None)
        if errors is None:
            raise
        found = []
        for err in errors():
            loc = tuple(str(p) for p in err["loc"])
            node = _find(definition.entries, loc)
            field = ".".join(loc)
            message = f"experiment `{definition.name}`: `{field}`: {err['msg']}"
            hint = None
            if err["type"] == "extra_forbidden":
                parent = loc[:-1]
                model = ExperimentConfig
                for key in parent:
                    ann = model.model_fields.get(key)
                    inner = getattr(ann, "annotation", None) if ann else None
                    model = inner if hasattr(inner, "model_fields") else None
                    if model is None:
                        break
                if model is not None:
                    hint = did_you_mean(loc[-1], model.model_fields) or "known settings: " + ", ".join(model.model_fields)
                message = f"experiment `{definition.name}`: unknown setting `{field}`"
            found.append(SpecSemanticError(message, header_span(node.span if node else definition.span), hint=hint))
        raise found[0] if len(found) == 1 else ErrorGroup(found)
    _check_references(config, definition, lowerer)
    return Experiment(definition.name, settings, config, definition.span)


def _check_references(config, definition: S.ExperimentDef, lowerer) -> None:
    templates = getattr(config, "templates", None)
    if templates is None:
        return
    networks = lowerer.defs["network"]
    for key in ("search", "eval", "retrain"):
        name = getattr(templates, key, None)
        if name and name not in networks:
            node = _find(definition.entries, ("templates", key))
            raise SpecSemanticError(f"experiment `{definition.name}`: unknown network `{name}`",
                                    node.span if node else definition.span,
                                    hint=did_you_mean(name, networks) or "define it with `network NAME { ... }`")
    for cell in getattr(templates, "cells", ()) or ():
        if cell not in lowerer.defs["cell"]:
            node = _find(definition.entries, ("templates", "cells"))
            raise SpecSemanticError(f"experiment `{definition.name}`: unknown cell `{cell}`",
                                    node.span if node else definition.span,
                                    hint=did_you_mean(cell, lowerer.defs["cell"]))
