"""`geno lsp`: the language server for editors (LSP over stdio)."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from genolang.cli import app
from genolang.cli.check import ALLOW_PATH_HELP, allow_paths
from genolang.base.errors import ConfigError


@app.command()
def lsp(stdio: bool = typer.Option(True, "--stdio", help="Talk LSP over stdin/stdout (the only transport; editors pass it)."),
        allow_path: Optional[List[Path]] = typer.Option(None, "--allow-path", help=ALLOW_PATH_HELP)) -> None:
    """Run the genolang language server for an editor: diagnostics, hover, go to definition,
    references, completion, formatting and the outline of .geno files (see docs/editors.md).
    Needs the `lsp` extra: pip install 'genolang[lsp]'."""
    try:
        import pygls  # noqa: F401
    except ImportError:
        raise ConfigError("the language server needs pygls", hint="install the extra: pip install 'genolang[lsp]'") from None
    from genolang.lsp import serve

    allow_paths(allow_path)
    serve()
