"""genolang: a declarative language and compiler for differentiable neural architecture search."""

__version__ = "0.1.0"
