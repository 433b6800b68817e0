"""Text <-> AST: the lark grammar, the AST, the parser and the canonical printer."""
