"""`geno lsp`: a Language Server Protocol server for .geno files (install with ``.[lsp]``).

It serves what the front end knows while a spec is typed -- diagnostics (every error
`geno check` reports), hover (ops in primitives, spaces, the static cost of cells and
networks, what an experiment setting means), go to definition and references across `use`,
completion, formatting through the printer and the outline -- and never imports torch.
"""

from __future__ import annotations

__all__ = ["serve"]


def serve() -> None:
    """Serve LSP over stdin/stdout until the client exits."""
    from .server import make_server

    make_server().start_io()
