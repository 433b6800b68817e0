"""Helpers of the language server tests: open and change a document, wait for its diagnostics."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from lsprotocol import types as T
from pytest_lsp import LanguageClient

TIMEOUT = 60.0                      # seconds to wait for a diagnostic (a cap against hangs, not a timing)


def uri(path: Path) -> str:
    return path.resolve().as_uri()


async def published(client: LanguageClient, target: str, version: int | None = None, since: int = 0):
    """The first diagnostics published for ``target`` (at ``version``, if given) after the
    ``since``-th notification."""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        for params in client.published[since:]:
            if params.uri == target and (version is None or params.version == version):
                return params.diagnostics
        await asyncio.sleep(0.01)
    raise AssertionError(f"no diagnostics for {target} (version {version}) within {TIMEOUT} s")


def open_file(client: LanguageClient, path: Path, text: str | None = None, version: int = 1) -> str:
    target = uri(path)
    client.text_document_did_open(T.DidOpenTextDocumentParams(T.TextDocumentItem(
        target, "geno", version, path.read_text() if text is None else text)))
    return target


def change(client: LanguageClient, target: str, text: str, version: int) -> None:
    client.text_document_did_change(T.DidChangeTextDocumentParams(
        T.VersionedTextDocumentIdentifier(uri=target, version=version), [T.TextDocumentContentChangeWholeDocument(text)]))
