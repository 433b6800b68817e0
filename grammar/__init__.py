"""Text <-> AST: the lark grammar (``geno.lark``), the AST (:mod:`.syntax`), the parser and the
canonical printer. Imports nothing from the later stages."""

from .parser import parse, parse_file
from .printer import print_expr, print_module, print_stmt, print_value
from . import syntax

__all__ = ["parse", "parse_file", "print_module", "print_stmt", "print_expr", "print_value", "syntax"]
