"""Lowering: source text to the IR (load, resolve `use`, lower each definition kind)."""
