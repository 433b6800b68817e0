"""genolang: a declarative language and compiler for differentiable neural architecture search."""

__version__ = "0.1.0"

__all__ = ["load", "loads", "compile_search", "compile_eval", "genotype_text", "__version__"]


def __getattr__(name: str):
    # The API pulls in torch and the compiler; importing it lazily keeps `geno fmt` and
    # `geno --help` quick.
    if name in __all__:
        from genolang import api

        return getattr(api, name)
    raise AttributeError(f"module 'genolang' has no attribute {name!r}")
