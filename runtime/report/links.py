"""The retrainings of search runs given to `geno report` one by one (not as a study or their
parent folder): a search's retraining is the sibling `geno train RUN` wrote, `RUN-retrain`
(`-retrain-2`, ...), or any sibling retraining of the same architecture (hash) and seed, as
older genolang named them `EXPERIMENT-GENOTYPE-retrain`. Reads files only, through
:mod:`genolang.base.safe_files` (a received folder is data: a linked sibling or genotype.geno is
refused, never followed); no torch."""

from __future__ import annotations

import os
import re
from pathlib import Path

from genolang.base import safe_files as sf
from genolang.base.limits import MAX_FILE_BYTES

__all__ = ["provenance", "retrainings_of"]

_LINE = re.compile(r'\s*([a-z_]+)\s*=\s*"?([^"]*)"?\s*$')


def provenance(run: Path) -> dict[str, str]:
    """The ``provenance { key = "value" }`` entries of the run's genotype.geno ({} if none)."""
    path = sf.inside(run, "genotype.geno")
    if not os.path.lexists(path):
        return {}
    found: dict[str, str] = {}
    inside = False
    for line in sf.read_text(path, limit=MAX_FILE_BYTES).splitlines():
        stripped = line.strip()
        if stripped.startswith("provenance {"):
            inside = True
        elif inside and stripped.startswith("}"):
            break
        elif inside and (match := _LINE.match(stripped)):
            found[match.group(1)] = match.group(2)
    return found


def retrainings_of(search: Path) -> list[Path]:
    """The retraining run directories beside ``search`` that retrained its final genotype."""
    search = Path(search)
    mine = provenance(search)
    named = re.compile(re.escape(search.name) + r"-retrain(-[0-9]+)?")
    found = []
    try:
        siblings = sorted(p for p in search.parent.iterdir() if p.is_dir() and not p.is_symlink() and p != search)
    except OSError:
        return []
    for sibling in siblings:
        if not os.path.lexists(sibling / "metrics.jsonl") or not sibling.name.endswith(("-retrain",)) and \
                not re.search(r"-retrain-[0-9]+$", sibling.name):
            continue
        if named.fullmatch(sibling.name):
            found.append(sibling)
            continue
        theirs = provenance(sibling)
        if mine.get("hash") and theirs.get("hash") == mine["hash"] and theirs.get("seed") == mine.get("seed"):
            found.append(sibling)
    return found
