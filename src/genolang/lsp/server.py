"""The language server: LSP requests in, the front end's answers out (pygls, over stdio).

Checks run on the scheduler's worker thread (debounced, a stale one cancelled); requests are
answered on the event loop from the last check's symbol table and the current text, except
formatting and references, which read or parse files and run on pygls's thread pool. Every
handler answers (an empty answer if need be) whatever the text: half-typed text is the
normal case.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading

from lsprotocol import types as T
from pygls.lsp.server import LanguageServer

from genolang import __version__
from genolang.base.errors import GenolangError
from genolang.grammar import parse, print_module

from .check import SOURCE, Analysis, analyse, diagnostics
from .complete import completions
from .documents import FRONT_END, Documents, Refused, path_of, span_column, uri_of
from .hover import hover_text
from .navigate import definition_at, definition_location, outline, references
from .scheduler import Scheduler

__all__ = ["GenoServer", "make_server"]

log = logging.getLogger("genolang.lsp")


class GenoServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("geno", __version__)
        self.docs = Documents()
        self.analyses: dict[str, Analysis] = {}
        self._analyses_lock = threading.Lock()
        self.scheduler = Scheduler(self._check)
        self._roots_set = False
        self.loop: asyncio.AbstractEventLoop | None = None   # the protocol's: diagnostics are sent from it

    # -- checking (worker thread)
    def _check(self, path: str) -> None:
        buffer = self.docs.buffers.get(path)
        if buffer is None:
            return
        with self.scheduler.cancellable():
            analysis = analyse(self.docs, buffer, self.analyses.get(path))
        if self.docs.buffers.get(path) is not buffer:
            return                           # edited meanwhile: a newer check is due
        with self._analyses_lock:
            self.analyses[path] = analysis
        found = diagnostics(analysis, uri_of, self.lines_of)
        params = T.PublishDiagnosticsParams(uri=buffer.uri, diagnostics=found, version=buffer.version)
        if self.loop is not None:
            self.loop.call_soon_threadsafe(self.text_document_publish_diagnostics, params)

    def lines_of(self, path: str) -> list[str]:
        return (self.docs.text(path) or "").split("\n")

    def affected(self, path: str) -> list[str]:
        """``path`` and the open files whose last check read it."""
        with self._analyses_lock:
            users = [p for p, a in self.analyses.items() if path in a.files and p in self.docs.buffers]
        return [path, *users]

    # -- requests
    def analysis(self, uri: str) -> tuple[Analysis, str] | None:
        """The last check of ``uri`` and its current text (a check now if none ran yet)."""
        buffer = self.docs.get(uri)
        if buffer is None:
            return None
        analysis = self.analyses.get(buffer.path)
        if analysis is None:
            analysis = analyse(self.docs, buffer)
        return analysis, buffer.text

    def set_roots(self) -> None:
        if self._roots_set:
            return
        self._roots_set = True
        folders = [f.uri for f in (self.workspace.folders or {}).values()]
        if not folders and self.workspace.root_uri:
            folders = [self.workspace.root_uri]
        self.docs.set_roots(folders)


def _guard(default=None):
    """Answer ``default`` instead of failing when a handler meets something unforeseen."""
    def wrap(handler):
        @functools.wraps(handler)
        def guarded(ls, params):
            try:
                return handler(ls, params)
            except Exception:               # noqa: BLE001 -- never let one request take the server down
                log.exception("%s failed", handler.__name__)
                return default
        return guarded
    return wrap


def _where(ls: GenoServer, params) -> tuple[Analysis, str, int, int] | None:
    found = ls.analysis(params.text_document.uri)
    if found is None:
        return None
    analysis, text = found
    lines = text.split("\n")
    line = params.position.line
    if line >= len(lines):
        return None
    return analysis, text, line, span_column(lines[line], params.position.character)


def make_server() -> GenoServer:
    server = GenoServer()

    def opened(ls: GenoServer, uri: str, text: str, version, edited: bool = True) -> None:
        ls.loop = asyncio.get_running_loop()
        ls.set_roots()
        try:
            buffer = ls.docs.open(uri, text, version)
        except Refused as refused:
            ls.text_document_publish_diagnostics(T.PublishDiagnosticsParams(uri, [T.Diagnostic(
                T.Range(T.Position(0, 0), T.Position(0, 0)), f"genolang does not read this file: {refused.reason}",
                severity=T.DiagnosticSeverity.Error, source=SOURCE,
                related_information=[T.DiagnosticRelatedInformation(
                    T.Location(uri, T.Range(T.Position(0, 0), T.Position(0, 0))), f"hint: {refused.hint}")])]))
            return
        # a file opened as it is on disk changes nothing for the files that use it
        ls.scheduler.request(ls.affected(buffer.path) if edited else [buffer.path])

    @server.feature(T.TEXT_DOCUMENT_DID_OPEN)
    @_guard()
    def did_open(ls: GenoServer, params: T.DidOpenTextDocumentParams):
        doc = params.text_document
        opened(ls, doc.uri, doc.text, doc.version, edited=ls.docs.on_disk(doc.uri) != doc.text)

    @server.feature(T.TEXT_DOCUMENT_DID_CHANGE)
    @_guard()
    def did_change(ls: GenoServer, params: T.DidChangeTextDocumentParams):
        doc = params.text_document
        if ls.docs.get(doc.uri) is None:
            return                           # refused when opened
        opened(ls, doc.uri, ls.workspace.get_text_document(doc.uri).source, doc.version)

    @server.feature(T.TEXT_DOCUMENT_DID_SAVE)
    @_guard()
    def did_save(ls: GenoServer, params: T.DidSaveTextDocumentParams):
        buffer = ls.docs.get(params.text_document.uri)
        if buffer is not None:
            ls.scheduler.request(ls.affected(buffer.path), delay=0)

    @server.feature(T.TEXT_DOCUMENT_DID_CLOSE)
    @_guard()
    def did_close(ls: GenoServer, params: T.DidCloseTextDocumentParams):
        uri = params.text_document.uri
        buffer = ls.docs.get(uri)
        ls.docs.close(uri)
        if buffer is not None:
            with ls._analyses_lock:
                ls.analyses.pop(buffer.path, None)
            ls.scheduler.request(ls.affected(buffer.path)[1:])   # its users now read the file on disk
        ls.text_document_publish_diagnostics(T.PublishDiagnosticsParams(uri, []))

    @server.feature(T.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    @_guard()
    def files_changed(ls: GenoServer, params: T.DidChangeWatchedFilesParams):
        # a `use`d file changed on disk (geno fmt, a checkout): re-check the open files that use it
        for change in params.changes:
            path = path_of(change.uri)
            if path is not None and path not in ls.docs.buffers:
                ls.scheduler.request(ls.affected(path)[1:])

    @server.feature(T.TEXT_DOCUMENT_HOVER)
    @_guard()
    def hover(ls: GenoServer, params: T.HoverParams):
        where = _where(ls, params)
        text = hover_text(*where) if where else None
        return T.Hover(T.MarkupContent(T.MarkupKind.Markdown, text)) if text else None

    @server.feature(T.TEXT_DOCUMENT_DEFINITION)
    @_guard()
    def definition(ls: GenoServer, params: T.DefinitionParams):
        where = _where(ls, params)
        found = definition_at(*where) if where else None
        return definition_location(found, ls.lines_of, uri_of) if found else None

    @server.feature(T.TEXT_DOCUMENT_REFERENCES)
    @server.thread()
    @_guard()
    def find_references(ls: GenoServer, params: T.ReferenceParams):
        where = _where(ls, params)
        found = definition_at(*where) if where else None
        if found is None:
            return None
        analysis = where[0]
        files = {analysis.path, *analysis.files}
        with ls._analyses_lock:
            files |= {p for p, a in ls.analyses.items() if found.file in a.files or p == found.file}
        return references(found, files, ls.docs.text, uri_of, params.context.include_declaration)

    @server.feature(T.TEXT_DOCUMENT_COMPLETION, T.CompletionOptions(trigger_characters=["(", ",", "=", " "]))
    @_guard()
    def complete(ls: GenoServer, params: T.CompletionParams):
        where = _where(ls, params)
        return T.CompletionList(is_incomplete=False, items=completions(*where) if where else [])

    @server.feature(T.TEXT_DOCUMENT_FORMATTING)
    @server.thread()
    @_guard()
    def formatting(ls: GenoServer, params: T.DocumentFormattingParams):
        buffer = ls.docs.get(params.text_document.uri)
        if buffer is None:
            return None
        try:
            with FRONT_END:
                new = print_module(parse(buffer.text, buffer.path))
        except GenolangError:
            return None                      # the diagnostics say why
        if new == buffer.text:
            return []
        lines = buffer.text.split("\n")
        end = T.Position(len(lines) - 1, len(lines[-1].encode("utf-16-le")) // 2)
        return [T.TextEdit(T.Range(T.Position(0, 0), end), new)]

    @server.feature(T.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
    @_guard()
    def symbols(ls: GenoServer, params: T.DocumentSymbolParams):
        found = ls.analysis(params.text_document.uri)
        if found is None or found[0].module is None:
            return []
        analysis, text = found
        return outline(analysis.module, text.split("\n"))

    return server
