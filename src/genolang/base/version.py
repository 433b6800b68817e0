"""The package version, on the ground floor so that run directories can record it without
importing the package face (`genolang/__init__.py` re-exports it)."""

__version__ = "0.1.0"
