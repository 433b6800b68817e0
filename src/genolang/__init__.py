"""genolang: a declarative language and compiler for differentiable neural architecture search."""

from genolang.base.version import __version__

__all__ = ["load", "loads", "zoo", "compile_search", "compile_eval", "search", "train", "TrainResult",
           "Classifier", "genotype_text", "__version__"]

# name -> module that defines it
_HOMES = {"Classifier": "genolang.classifier"}


def __dir__() -> list[str]:
    # the lazily loaded names are part of the module, for dir(), help() and completion
    return sorted(set(globals()) | set(__all__))


def __getattr__(name: str):
    # The API pulls in torch and the compiler; importing it lazily keeps `geno fmt` and
    # `geno --help` quick.
    if name in __all__:
        import importlib

        return getattr(importlib.import_module(_HOMES.get(name, "genolang.api")), name)
    raise AttributeError(f"module 'genolang' has no attribute {name!r}")
