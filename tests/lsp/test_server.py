"""`geno lsp` through a real LSP client over stdio: diagnostics, hover, definition,
references, completion, formatting, the outline, and refusing files outside the roots."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types as T

from lsp_helpers import change, open_file, published, uri

pytestmark = pytest.mark.asyncio(loop_scope="module")


def position(text: str, needle: str, offset: int = 0) -> T.Position:
    """Where ``needle`` first occurs in ``text`` (plus ``offset`` characters)."""
    index = text.index(needle) + offset
    line = text.count("\n", 0, index)
    return T.Position(line, index - (text.rfind("\n", 0, index) + 1))


async def test_a_shape_error_is_located_and_goes_away_when_fixed(client, project: Path):
    path = project / "shape.geno"
    target = open_file(client, path)
    found = await published(client, target, version=1)
    assert len(found) == 1
    diagnostic = found[0]
    assert diagnostic.range.start == T.Position(7, 15)          # shape.geno:8:16, the `narrow` entry
    assert diagnostic.range.end == T.Position(7, 21)
    assert "produces 8x16x16" in diagnostic.message and diagnostic.severity == T.DiagnosticSeverity.Error
    assert any("hint: an edge operation must output" in r.message for r in diagnostic.related_information)

    fixed = path.read_text().replace("out=C // 2", "out=C")
    change(client, target, fixed, 2)
    assert await published(client, target, version=2) == ()


async def test_hover_explains_ops_networks_and_settings(client, project: Path):
    path = project / "main.geno"
    target = open_file(client, path)
    assert await published(client, target, version=1) == ()
    text = path.read_text()

    async def hover(needle: str, offset: int = 0) -> str:
        found = await client.text_document_hover_async(T.HoverParams(T.TextDocumentIdentifier(target),
                                                                     position(text, needle, offset)))
        assert found is not None, needle
        return found.contents.value

    network = await hover("network net", len("network "))
    assert "parameters" in network and "multiply-adds" in network and "-> 10 classes" in network
    space = await hover("from small", len("from "))
    assert "wide_5: relu >> conv(k=5" in space
    setting = await hover("epochs")
    assert "search.epochs" in setting and "default `30`" in setting
    enum = await hover("memory")
    assert "`recompute`" in enum
    primitive = await client.text_document_hover_async(T.HoverParams(
        T.TextDocumentIdentifier(uri(project / "mine.geno")), T.Position(3, 22)))
    assert primitive is None            # not open: nothing is read behind the editor's back
    ops = open_file(client, project / "mine.geno")
    await published(client, ops, version=1)
    op = await client.text_document_hover_async(T.HoverParams(T.TextDocumentIdentifier(ops), T.Position(3, 4)))
    assert "relu >> conv(k=3, stride=s) >> bn" in op.contents.value
    label = await client.text_document_hover_async(T.HoverParams(T.TextDocumentIdentifier(ops), T.Position(6, 4)))
    assert "**wide_3** in space `small`" in label.contents.value
    call = await client.text_document_hover_async(T.HoverParams(T.TextDocumentIdentifier(ops), T.Position(7, 12)))
    assert "`wide(k=5)` expands to" in call.contents.value and "conv(k=5, stride=s)" in call.contents.value


async def test_definition_and_references_cross_use(client, project: Path):
    main = project / "main.geno"
    target = open_file(client, main)
    text = main.read_text()
    found = await client.text_document_definition_async(T.DefinitionParams(
        T.TextDocumentIdentifier(target), position(text, "from small", len("from "))))
    assert found.uri == uri(project / "mine.geno")
    assert found.range == T.Range(T.Position(5, 6), T.Position(5, 11))
    stdlib = await client.text_document_definition_async(T.DefinitionParams(
        T.TextDocumentIdentifier(target), position(text, "select darts", len("select "))))
    assert stdlib is None               # a selection rule, not the space `darts`
    ops = open_file(client, project / "mine.geno")
    found = await client.text_document_definition_async(T.DefinitionParams(
        T.TextDocumentIdentifier(ops), T.Position(8, 3)))          # `skip`, from the standard library
    assert found.uri.endswith("/compiler/stdlib/ops.geno") or found.uri.endswith("/genolang/compiler/stdlib/ops.geno")
    cell = await client.text_document_definition_async(T.DefinitionParams(
        T.TextDocumentIdentifier(target), position(text, "like normal", len("like "))))
    assert cell.uri == target and cell.range.start == T.Position(3, 5)
    refs = await client.text_document_references_async(T.ReferenceParams(
        text_document=T.TextDocumentIdentifier(target), position=position(text, "from small", len("from ")),
        context=T.ReferenceContext(include_declaration=True)))
    assert {(r.uri, r.range.start.line) for r in refs} == {(target, 6), (uri(project / "mine.geno"), 5)}


async def test_completion_in_edges_from_and_in_an_experiment(client, project: Path):
    main = project / "main.geno"
    target = open_file(client, main)
    await published(client, target)

    async def complete(text: str, needle: str, version: int) -> set[str]:
        change(client, target, text, version)
        found = await client.text_document_completion_async(T.CompletionParams(
            T.TextDocumentIdentifier(target), position(text, needle, len(needle))))
        return {item.label for item in found.items}

    text = main.read_text()
    edges = await complete(text.replace("edges from small", "edges from "), "edges from ", 10)
    assert {"small", "darts"} <= edges and "wide" not in edges and "conv" not in edges
    keys = await complete(text.replace("    epochs = 1\n", "    epochs = 1\n    \n"), "epochs = 1\n    ", 11)
    assert {"w_lr", "batch", "memory"} <= keys and "kind" not in keys
    values = await complete(text.replace("memory = plain", "memory = "), "memory = ", 12)
    assert values == {"plain", "recompute"}
    kwargs = await complete(text.replace("network net {", "op x = conv(\nnetwork net {"), "conv(", 13)
    assert {"k", "out", "stride", "dilation"} <= kwargs
    change(client, target, text, 14)


async def test_formatting_symbols_and_a_broken_use(client, project: Path):
    ops = project / "mine.geno"
    target = open_file(client, ops)
    messy = ops.read_text().replace("op wide(k=3) = relu >> conv", "op   wide( k = 3 )=relu>>conv")
    change(client, target, messy, 20)
    edits = await client.text_document_formatting_async(T.DocumentFormattingParams(
        T.TextDocumentIdentifier(target), T.FormattingOptions(2, True)))
    assert len(edits) == 1 and edits[0].new_text == ops.read_text()
    symbols = await client.text_document_document_symbol_async(T.DocumentSymbolParams(T.TextDocumentIdentifier(target)))
    assert [(s.name, s.kind) for s in symbols] == [("wide", T.SymbolKind.Function), ("small", T.SymbolKind.Enum)]
    assert [c.name for c in symbols[1].children] == ["wide_3", "wide_5", "skip"]

    # an edit to a used file re-checks the open files that use it
    main = open_file(client, project / "main.geno", version=30)
    await published(client, main, version=30)
    since = len(client.published)
    change(client, target, ops.read_text().replace("space small", "space smaller"), 21)
    found = await published(client, main, since=since)
    assert found and "small" in found[0].message
    assert found[0].range.start.line == 6
    change(client, target, ops.read_text(), 22)


async def test_a_file_outside_the_workspace_is_refused(client, tmp_path_factory):
    outside = tmp_path_factory.mktemp("elsewhere") / "x.geno"
    outside.write_text('use "mine.geno"\n')
    target = open_file(client, outside)
    found = await published(client, target)
    assert "does not read this file" in found[0].message and "outside the workspace" in found[0].message
    hover = await client.text_document_hover_async(T.HoverParams(T.TextDocumentIdentifier(target), T.Position(0, 1)))
    assert hover is None


async def test_a_used_file_changed_on_disk_rechecks_its_open_users(client, project: Path):
    main = open_file(client, project / "main.geno", version=40)
    await published(client, main, version=40)
    used = project / "mine.geno"
    await published(client, open_file(client, used, version=41), version=41)   # open here, whatever ran before
    since = len(client.published)
    client.text_document_did_close(T.DidCloseTextDocumentParams(T.TextDocumentIdentifier(uri(used))))
    assert await published(client, main, since=since) == ()     # closed: its users read it from disk
    original = used.read_text()
    try:
        used.write_text(original.replace("space small", "space tiny"))
        since = len(client.published)
        client.workspace_did_change_watched_files(T.DidChangeWatchedFilesParams(
            [T.FileEvent(uri(used), T.FileChangeType.Changed)]))
        found = await published(client, main, since=since)
        assert found and "small" in found[0].message
    finally:
        used.write_text(original)
        since = len(client.published)      # tell the server too: the next test must not see `space tiny`
        client.workspace_did_change_watched_files(T.DidChangeWatchedFilesParams(
            [T.FileEvent(uri(used), T.FileChangeType.Changed)]))
        await published(client, main, since=since)
