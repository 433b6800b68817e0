"""Text and records from received run directories, made safe to show.

`geno report` and `geno draw` put names from run and study directories (labels, run names,
group names, op names) into a Markdown page, figure titles and DOT labels. Those names are
data from whoever sent the directory: here they are escaped for each target, so a label
cannot add lines, links or HTML to the page, nor mathtext to a figure. The records read
from ``metrics.jsonl`` are checked for the shape the figures need, and damage is an error
that names the file. No torch, no matplotlib.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

from genolang.base.safe_files import DamagedFileError

__all__ = ["md", "md_code", "mathtext", "number", "check_alpha", "alpha_signature"]

MAX_SHOWN = 200                     # characters of one name on the page
_MD_SPECIAL = re.compile(r"([\\`*{}\[\]()#+\-.!|<>~$&])")
# `_` between two letters or digits never starts or ends emphasis (CommonMark): `nb201_fmnist` stays
_MD_UNDERSCORE = re.compile(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")
MAX_ALPHA_ROWS = 10_000             # edges x ops of one softmax(α) record


def _one_line(text: Any) -> str:
    text = "".join(c if c.isprintable() else " " for c in str(text))
    return text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN] + "…"


def md(text: Any) -> str:
    """``text`` as literal Markdown (and HTML) text on one line: every character Markdown or
    HTML gives a meaning to is backslash-escaped, control characters and newlines are spaces."""
    return _MD_UNDERSCORE.sub(r"\\_", _MD_SPECIAL.sub(r"\\\1", _one_line(text)))


def md_code(text: Any) -> str:
    """``text`` as an inline code span (a path): backticks cannot end it early."""
    shown = _one_line(text).replace("`", "'")
    return f"`{shown}`" if shown else "` `"


def mathtext(text: Any) -> str:
    """``text`` for a matplotlib title, legend or tick: a ``$`` is shown, not read as mathtext."""
    return _one_line(text).replace("\\", "\\\\").replace("$", r"\$")


def number(value: Any) -> float | None:
    """A finite number from a record, or None (strings, NaN, booleans, lists are not numbers)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def check_alpha(value: Any, path: Path | str) -> dict:
    """A record's ``alpha_softmax``: ``{cell: {node: {"ops": [str], "from": [str], "softmax":
    [[number per op] per input]}}}``; anything else is a :class:`DamagedFileError` naming ``path``."""
    def bad(why: str) -> DamagedFileError:
        return DamagedFileError(f"{path}: alpha_softmax {why}",
                                hint="the run's metrics are damaged: restore metrics.jsonl, or run again")

    if not isinstance(value, dict) or not value:
        raise bad("is not an object of cells")
    rows = 0
    for cell, nodes in value.items():
        if not isinstance(nodes, dict) or not nodes:
            raise bad(f"of cell {_one_line(cell)!r} is not an object of nodes")
        for node, entry in nodes.items():
            where = f"{_one_line(cell)}.{_one_line(node)}"
            if not isinstance(entry, dict):
                raise bad(f"at {where} is not an object")
            ops, sources, table = entry.get("ops"), entry.get("from"), entry.get("softmax")
            if not (isinstance(ops, list) and ops and all(isinstance(o, str) for o in ops)):
                raise bad(f"at {where}: `ops` is not a list of names")
            if not (isinstance(sources, list) and sources and all(isinstance(s, str) for s in sources)):
                raise bad(f"at {where}: `from` is not a list of names")
            if not (isinstance(table, list) and len(table) == len(sources)
                    and all(isinstance(r, list) and len(r) == len(ops) and all(number(v) is not None for v in r)
                            for r in table)):
                raise bad(f"at {where}: `softmax` is not one row of {len(ops)} finite numbers per input")
            rows += len(sources) * len(ops)
            if rows > MAX_ALPHA_ROWS:
                raise bad(f"has more than {MAX_ALPHA_ROWS} entries")
    return value


def alpha_signature(alpha: dict) -> tuple:
    """What two records must share to be averaged: cells, nodes, inputs and ops, in order."""
    return tuple((cell, tuple((node, tuple(e["from"]), tuple(e["ops"])) for node, e in nodes.items()))
                 for cell, nodes in alpha.items())
