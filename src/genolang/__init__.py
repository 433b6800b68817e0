"""genolang: a declarative language and compiler for differentiable neural architecture search."""

__version__ = "0.1.0"

from genolang.api import compile_eval, compile_search, genotype_text, load, loads  # noqa: E402

__all__ = ["load", "loads", "compile_search", "compile_eval", "genotype_text", "__version__"]
