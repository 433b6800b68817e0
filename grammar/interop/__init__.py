"""Genotypes from and to other tools' text formats: one module per format, and a registry.

Formats (all parsed without ``eval``):

* **DARTS flat** (quark0/darts, PC-DARTS, P-DARTS): ``Genotype(normal=[('sep_conv_3x3', 0),
  ('sep_conv_3x3', 1), ...], normal_concat=[2, 3, 4, 5], reduce=[...], reduce_concat=range(2, 6))``.
  Consecutive pairs of ``(op, source)`` tuples are the two edges of one node. Keyword or
  positional fields; ``concat`` as a list, a tuple, ``range(a, b)`` or ``list(range(a, b))``; an
  optional ``NAME = `` in front gives the genotype its default name.
* **CDARTS nested** (microsoft/Cream): the same, but ``normal`` is a list with one list of edges
  per node, of any length (an empty list is a node with no inputs, ``n2 = 0``). The CDARTS cell
  files (``{"0": "Genotype(...)", "1": ..., "2": ...}``, one string per stage) are read too: identical
  stages collapse into one ``normal``/``reduce`` pair, differing ones become ``stage1.normal``, ...
  (the file counts stages from 0, genolang's networks from 1: stage ``"0"`` is ``stage1``).
* **NAS-Bench-201** cell strings: ``|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|...|``.

Source indices. DARTS/CDARTS: 0 = ``c0`` (output of cell k-2), 1 = ``c1`` (cell k-1), i >= 2 =
``n{i-2}``. NAS-Bench-201: node 0 = the cell input ``c0``, node i >= 1 = ``n{i-1}``; the ``+``-separated
groups define ``n0``, ``n1``, ... in order and the cell outputs its last node only
(``output concat(n2)`` for the usual 4-node cell).

Operation names become genolang labels:

=================  ==============   ===============  ==============
DARTS              label            NAS-Bench-201    label
=================  ==============   ===============  ==============
none               zero             none             zero
skip_connect       skip             skip_connect     skip
max_pool_3x3       max_pool_3       avg_pool_3x3     avg_pool_3
avg_pool_3x3       avg_pool_3       nor_conv_1x1     nor_conv_1
sep_conv_3x3       sep_conv_3       nor_conv_3x3     nor_conv_3
sep_conv_5x5       sep_conv_5
dil_conv_3x3       dil_conv_3
dil_conv_5x5       dil_conv_5
conv_7x1_1x7       conv_7x1_1x7
=================  ==============   ===============  ==============

Other DARTS names follow the same rule (``<x>_conv_KxK`` / ``<x>_pool_KxK`` -> ``..._K``, e.g.
``sep_conv_7x7`` -> ``sep_conv_7``); anything else is kept as it is. The exporters apply the
inverse. NAS-Bench-201 ``none`` edges are kept as explicit ``zero`` edges by default, so the
string round-trips exactly (the ``drop_none`` option leaves them out instead, as the benchmark's
``to_unique_str`` does). DARTS genotypes name ``space darts`` (``space nasnet`` when they use
an operation outside it, as NASNet-A and AmoebaNet-A do), NAS-Bench-201 ones ``space nb201``;
the spaces themselves live in the standard library specs. A DARTS node may apply the same
operation to the same input twice (NASNet-A's ``avg_pool_3(c0) + avg_pool_3(c0)``).

The architecture diff that used to live here is :mod:`genolang.compiler.genotype.diff`.
"""

from genolang.grammar.interop.common import (
    DARTS_TO_LABEL, NB201_TO_LABEL, check_name, darts_label, darts_op_name, find_genotype, genotype_text, keywords,
    nb201_label, nb201_op_name, standalone_text,
)
from genolang.grammar.interop.cream import export_cdarts_json, parse_cdarts_json
from genolang.grammar.interop.darts import export_darts
from genolang.grammar.interop.nb201 import export_nb201, parse_nb201
from genolang.grammar.interop.registry import (
    FORMATS, REGISTRY, USUAL_TEMPLATE, Format, format_named, import_genotype, parse_darts, register_format,
)

__all__ = [
    "DARTS_TO_LABEL", "NB201_TO_LABEL", "FORMATS", "REGISTRY", "Format", "register_format", "format_named",
    "darts_label", "darts_op_name", "nb201_label", "nb201_op_name", "keywords", "check_name",
    "parse_darts", "parse_cdarts_json", "parse_nb201", "import_genotype",
    "genotype_text", "USUAL_TEMPLATE", "standalone_text",
    "find_genotype", "export_darts", "export_cdarts_json", "export_nb201",
]
