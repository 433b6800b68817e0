"""Where an experiment's ``data.path`` points. A relative path is read from the folder of the
spec file that defines the experiment, so a spec finds its data from any working directory.
The packaged spec library is the exception: its specs cannot know where your data lives, so
their relative paths (``data/cifar-10-batches-py``) are read from the current directory."""

from __future__ import annotations

from pathlib import Path

from genolang.compiler.lower.load import library_path

__all__ = ["data_root", "resolve_data_path", "experiment_file"]


def data_root(path: str, spec_file: str | Path | None) -> Path:
    """``path`` as the loader will read it."""
    given = Path(path).expanduser()
    if given.is_absolute() or spec_file is None or str(spec_file).startswith("<"):
        return given
    if library_path(spec_file) is not None:
        return given
    return Path(spec_file).resolve().parent / given


def resolve_data_path(config, spec_file: str | Path | None):
    """``config`` (an ExperimentConfig) with ``data.path`` made absolute as :func:`data_root`
    reads it, so that config.json, a resume and a retraining read the same files."""
    path = config.data.path
    if path is None:
        return config
    root = data_root(path, spec_file)
    if root == Path(path):
        return config
    return config.model_copy(update={"data": config.data.model_copy(update={"path": str(root)})})


def experiment_file(program, name: str) -> str | None:
    """The file that defines experiment ``name`` of ``program``."""
    span = getattr(program.experiments[name], "span", None)
    return getattr(span, "file", None) or getattr(program, "file", None)
