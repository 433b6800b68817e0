"""A study's manifest, validated: work items are data, never command lines.

A study directory may come from anyone (docs/security.md). Its ``manifest.json`` says what
to do as typed fields: an item is a *kind* (``search`` or ``retrain``) with a seed, the item
or genotype file it retrains, the items it waits for and its state. No field is a command, a
working directory or a free path: an engine builds the one command an item ever runs
(``geno run-item STUDY ID``) itself, item ids are single file names, an item's run directory
is ``runs/<id>`` and a retraining's genotype file is ``genotypes/<name>.geno`` inside the
study. Anything else, and dependency cycles, are a located error naming the manifest.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from genolang.base.limits import MAX_NAME_BYTES, MAX_STUDY_ITEMS
from genolang.base.safe_files import DamagedFileError, UnsafeFileError, check_component

__all__ = ["FORMAT", "Item", "Manifest", "validate_manifest", "item_argv", "run_dir_of", "KINDS"]

FORMAT = "genolang-study/2"
KINDS = ("search", "retrain")
STATES = ("pending", "partial", "running", "done", "failed")
MAX_TEXT = 1000          # a label, a group name, an experiment name
MAX_THREADS = 4096


def _name(value: Any, what: str) -> str:
    try:
        return check_component(value, what, "manifest.json")
    except UnsafeFileError as exc:
        raise ValueError(exc.message.split(": ", 1)[1]) from None


class Item(BaseModel):
    """One work item. Extra fields are refused: an old manifest's ``command`` / ``cwd`` are
    accepted only with the one value genolang ever wrote there, and then dropped."""

    model_config = ConfigDict(extra="forbid")

    id: str
    kind: Literal["search", "retrain"]
    group: str = Field(max_length=MAX_TEXT)
    seed: int = Field(ge=0, le=2**32 - 1)
    source: Optional[str] = None
    depends_on: list[str] = Field(default_factory=list, max_length=MAX_STUDY_ITEMS)
    run_dir: str
    threads: int = Field(default=1, ge=1, le=MAX_THREADS)
    state: Literal["pending", "partial", "running", "done", "failed"] = "pending"
    started: Optional[float] = Field(default=None, allow_inf_nan=False)
    finished: Optional[float] = Field(default=None, allow_inf_nan=False)
    wall_s: Optional[float] = Field(default=None, allow_inf_nan=False)
    cpu_s: Optional[float] = Field(default=None, ge=0, allow_inf_nan=False)   # user + system, summed over the attempts seen to end
    attempts: int = Field(default=0, ge=0, le=10**6)
    placement: Optional[dict[str, Any]] = None

    @model_validator(mode="before")
    @classmethod
    def _no_commands(cls, data: Any) -> Any:
        if isinstance(data, dict) and ("command" in data or "cwd" in data):
            data = dict(data)
            command, cwd = data.pop("command", None), data.pop("cwd", ".")
            if command not in (None, ["geno", "run-item", ".", data.get("id")]) or cwd != ".":
                raise ValueError("an item is data, not a command line: `command` and `cwd` are not accepted "
                                 "(genolang runs `geno run-item STUDY ID` for every item itself)")
        return data

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        return _name(value, "the item id")

    @field_validator("depends_on")
    @classmethod
    def _deps(cls, value: list[str]) -> list[str]:
        return [_name(v, "a dependency") for v in value]

    @field_validator("group")
    @classmethod
    def _group(cls, value: str) -> str:
        if not value.isprintable():
            raise ValueError("the group holds control characters")
        return value

    @model_validator(mode="after")
    def _paths(self) -> "Item":
        if self.run_dir != f"runs/{self.id}":
            raise ValueError(f"run_dir {self.run_dir!r}: an item's run directory is `runs/{self.id}` inside the study")
        if self.source is not None:
            parts = self.source.split("/")
            genotype_file = (len(parts) == 2 and parts[0] == "genotypes" and parts[1].endswith(".geno"))
            if genotype_file:
                _name(parts[1], "the genotype file")
            else:
                _name(self.source, "the source")        # an item id; checked against the items below
        if self.kind == "retrain" and self.source is None:
            raise ValueError("a retrain item names its source (a search item, or genotypes/NAME.geno)")
        if self.kind == "search" and self.source is not None:
            raise ValueError("a search item has no source")
        return self


class Manifest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: Literal["genolang-study/2"]
    label: str = Field(max_length=MAX_TEXT)
    spec: Literal["spec.geno"]                 # the study's own copy of the spec
    spec_source: str = Field(default="", max_length=4096)   # where it was copied from (shown, never read)
    experiment: str = Field(max_length=MAX_NAME_BYTES)
    overrides: dict[str, Any]
    seeds: list[int] = Field(max_length=MAX_STUDY_ITEMS)
    random: int = Field(ge=0, le=MAX_STUDY_ITEMS)
    jobs: int = Field(default=1, ge=1, le=MAX_THREADS)
    threads_per_job: int = Field(default=1, ge=1, le=MAX_THREADS)
    engine: Optional[dict[str, Any]] = None
    created: float = Field(allow_inf_nan=False)
    items: list[Item] = Field(max_length=MAX_STUDY_ITEMS)

    @model_validator(mode="after")
    def _graph(self) -> "Manifest":
        ids = [i.id for i in self.items]
        if len(set(ids)) != len(ids):
            raise ValueError(f"item ids repeat: {sorted({i for i in ids if ids.count(i) > 1})[:3]}")
        known = set(ids)
        for item in self.items:
            for name in item.depends_on + ([item.source] if item.source and "/" not in item.source else []):
                if name not in known:
                    raise ValueError(f"item `{item.id}` refers to `{name}`, which is not an item of the study")
        cycle = _cycle({i.id: i.depends_on for i in self.items})
        if cycle:
            raise ValueError("the items' dependencies form a cycle: " + " -> ".join(cycle))
        return self


def _cycle(graph: dict[str, list[str]]) -> list[str] | None:
    """One dependency cycle (its ids, the first repeated at the end), or None."""
    colour: dict[str, int] = {}
    for start in graph:
        if colour.get(start):
            continue
        stack = [(start, iter(graph[start]))]
        path = [start]
        colour[start] = 1
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                colour[node] = 2
                stack.pop()
                path.pop()
            elif colour.get(child) == 1:
                return path[path.index(child):] + [child]
            elif not colour.get(child):
                colour[child] = 1
                path.append(child)
                stack.append((child, iter(graph.get(child, []))))
    return None


def validate_manifest(data: Any, path: Path) -> dict:
    """The manifest at ``path`` as plain, checked data; a located :class:`DamagedFileError`."""
    if isinstance(data, dict) and data.get("format") != FORMAT:
        raise DamagedFileError(f"{path}: not a {FORMAT} manifest (format {str(data.get('format'))[:40]!r})",
                               hint="a study made by an older genolang cannot be continued; start it again")
    try:
        return Manifest.model_validate(data).model_dump(mode="json")
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        message = first["msg"].removeprefix("Value error, ")
        raise DamagedFileError(f"{path}: {where + ': ' if where else ''}{message}",
                               hint="the manifest is edited or damaged; a study's manifest is data genolang "
                                    "wrote: restore it, or make the study again") from None


def run_dir_of(study: Path, item_id: str) -> Path:
    from genolang.base.safe_files import inside

    return inside(study, "runs", check_component(item_id, "the item id", Path(study) / "manifest.json"))


def item_argv(python: str, study: Path, item_id: str) -> list[str]:
    """The one command an engine runs for an item, built here, never read from the manifest."""
    check_component(item_id, "the item id", Path(study) / "manifest.json")
    return [python, "-m", "genolang", "run-item", str(study), item_id]
