"""Experiment definitions -> validated configuration (pydantic), errors located in the spec."""

from __future__ import annotations

from typing import Any

from genolang.base.errors import ErrorGroup, GenolangError, SpecSemanticError, did_you_mean
from genolang.grammar import syntax as S

from genolang.compiler.lower import ir
from genolang.compiler.lower.definitions import Experiment, header_span
from genolang.compiler.lower.lowering import Lowering


def settings_tree(entries: tuple[S.Stmt, ...]) -> dict[str, Any]:
    """The settings of a block as nested dicts. A setting or block given twice is an error
    (the second place, with a note at the first), not "the last one wins"."""
    out: dict[str, Any] = {}
    first: dict[str, S.Stmt] = {}
    for entry in entries:
        if not isinstance(entry, (S.Block, S.Setting)):
            continue
        if entry.key in first:
            what = "block" if isinstance(entry, S.Block) else "setting"
            raise SpecSemanticError(f"`{entry.key}` is given twice", header_span(entry.span),
                                    hint=f"remove one of them, or merge the two {what}s",
                                    notes=[(f"`{entry.key}` was first given here", header_span(first[entry.key].span))])
        first[entry.key] = entry
        if isinstance(entry, S.Block):
            out[entry.key] = settings_tree(entry.entries)
        else:
            out[entry.key] = plain(entry.value)
    return out


def plain(value: S.Value) -> Any:
    """A setting's value as plain Python; arithmetic is evaluated (bounded: see ir.arith)."""
    if isinstance(value, (S.Num, S.Str, S.Bool)):
        return value.value
    if isinstance(value, S.Name):
        return value.id
    if isinstance(value, (S.ListV, S.TupleV)):
        return [plain(v) for v in value.items]
    if isinstance(value, (S.Neg, S.BinOp)):
        if isinstance(value, S.Neg):
            op, left, right = "-", 0, plain(value.operand)
        else:
            op, left, right = value.op, plain(value.left), plain(value.right)
        try:
            return ir.arith(op, left, right)
        except GenolangError as exc:
            raise SpecSemanticError(exc.message, value.span, hint=exc.hint) from None
    raise SpecSemanticError("this value cannot be used in a setting", getattr(value, "span", None))


def find_setting(entries: tuple[S.Stmt, ...], loc: tuple) -> S.Stmt | None:
    """The AST entry a pydantic error location points at (the deepest one that exists)."""
    node = None
    for key in loc:
        match = next((e for e in entries if getattr(e, "key", None) == key), None)
        if match is None:
            break
        node = match
        entries = match.entries if isinstance(match, S.Block) else ()
    return node


def lower_experiment(definition: S.ExperimentDef, lowering: Lowering):
    from genolang.compiler.lower.experiment import ExperimentConfig

    settings = settings_tree(definition.entries)
    settings.setdefault("name", definition.name)
    try:
        config = ExperimentConfig.model_validate(settings)
    except Exception as exc:  # pydantic.ValidationError
        errors = getattr(exc, "errors", None)
        if errors is None:
            raise
        found = []
        # a setting that may be one of several types (a number or `auto`) fails once per
        # alternative: one message for it, naming every alternative
        merged: dict[tuple, dict] = {}
        for err in errors():
            loc = tuple(str(p) for p in err["loc"] if isinstance(p, int) or str(p).isidentifier())   # not union tags
            if loc in merged:
                merged[loc]["msg"] += ", or " + err["msg"][:1].lower() + err["msg"][1:]
            else:
                merged[loc] = {**err, "loc": loc}
        for loc, err in merged.items():
            node = find_setting(definition.entries, loc)
            field = ".".join(loc)
            message = f"experiment `{definition.name}`: `{field}`: {err['msg'].removeprefix('Value error, ')}"
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
    _check_references(config, definition, lowering)
    return Experiment(definition.name, settings, config, definition.span)


def _check_references(config, definition: S.ExperimentDef, lowering: Lowering) -> None:
    templates = getattr(config, "templates", None)
    if templates is None:
        return
    networks = lowering.defs["network"]
    for key in ("search", "eval", "retrain"):
        name = getattr(templates, key, None)
        if name and name not in networks:
            node = find_setting(definition.entries, ("templates", key))
            raise SpecSemanticError(f"experiment `{definition.name}`: unknown network `{name}`",
                                    node.span if node else definition.span,
                                    hint=did_you_mean(name, networks) or "define it with `network NAME { ... }`")
    spaces = lowering.defs["space"]
    for path, name in ((("templates", "space"), templates.space),
                       (("tournament", "pool"), config.tournament.pool if config.tournament else None)):
        if name and name not in spaces:
            node = find_setting(definition.entries, path)
            raise SpecSemanticError(f"experiment `{definition.name}`: unknown space `{name}`",
                                    node.span if node else definition.span,
                                    hint=did_you_mean(name, spaces) or "define it with `space NAME { ... }`")
    for cell in getattr(templates, "cells", ()) or ():
        if cell not in lowering.defs["cell"]:
            node = find_setting(definition.entries, ("templates", "cells"))
            raise SpecSemanticError(f"experiment `{definition.name}`: unknown cell `{cell}`",
                                    node.span if node else definition.span,
                                    hint=did_you_mean(cell, lowering.defs["cell"]))
