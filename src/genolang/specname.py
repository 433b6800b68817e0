"""Spec arguments by name: ``geno search icdarts/digits`` finds the packaged spec when no
such file exists, so a user who installed the wheel has the quick start and the zoo."""

from __future__ import annotations

from pathlib import Path

from genolang.base.errors import ConfigError, did_you_mean


def spec_path(path: Path) -> Path:
    """``path`` itself when it exists, else the packaged spec of that name; a name (no
    ``.geno``) that is neither is an error naming the closest packaged specs."""
    from genolang.compiler.lower.load import library_names, library_spec

    try:
        if path.exists():
            return path
    except OSError:          # a name too long to stat, say: reading it reports the error, located
        return path
    packaged = library_spec(str(path))
    if packaged is not None:
        return packaged
    if path.suffix != ".geno":
        names = library_names()
        raise ConfigError(f"no spec file `{path}` and no packaged spec of that name",
                          hint=did_you_mean(str(path), names)
                          or "packaged specs include " + ", ".join(n for n in names if n.startswith(("icdarts/", "zoo/"))))
    return path
