"""The server on the inputs the fuzz and hostile-input tests give `geno check`: every mutant
of the spec library and every hostile spec, typed into one open document through didChange,
gets its diagnostics (none or located errors), and hover, completion, symbols and formatting
at a random place of each still answer. A crash, a hang or a lost version fails."""

from __future__ import annotations

import importlib.util
import random
from pathlib import Path

import pytest
from lsprotocol import types as T

from lsp_helpers import change, open_file, published

pytestmark = pytest.mark.asyncio(loop_scope="module")

CLI_TESTS = Path(__file__).resolve().parents[1] / "cli"
MUTANTS = 150


def _module(name: str):
    spec = importlib.util.spec_from_file_location(f"lsp_{name}", CLI_TESTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _texts() -> list[tuple[str, str]]:
    fuzz = _module("test_fuzz_specs")
    hostile = _module("test_hostile_input")
    rng = random.Random(fuzz.SEED)
    corpus = fuzz._corpus()
    out = []
    for index in range(MUTANTS):
        original = corpus[index % len(corpus)]
        mutation = fuzz.MUTATIONS[rng.randrange(len(fuzz.MUTATIONS))]
        data = mutation(rng, original.read_text(encoding="utf-8"))
        out.append((f"{original.name}/{mutation.__name__}", data.decode("utf-8", errors="replace")))
    out += [(f"hostile/{k}", v) for k, v in sorted(hostile.SIZES.items())]
    out += [(f"hostile/{k}", hostile.EXPERIMENT % v) for k, v in sorted(hostile.SETTINGS.items())]
    out += [(f"hostile/{k}", v) for k, v in sorted(hostile.SHAPES.items())]
    return out


async def test_every_fuzzed_and_hostile_text_is_answered(client, project: Path):
    path = project / "fuzz.geno"
    path.write_text("")
    target = open_file(client, path, "")
    await published(client, target, version=1)
    rng = random.Random(0)
    document = T.TextDocumentIdentifier(target)
    for version, (name, text) in enumerate(_texts(), start=2):
        change(client, target, text, version)
        found = await published(client, target, version=version)
        for diagnostic in found:
            assert diagnostic.message and diagnostic.range.start.line >= 0, name
            assert "internal error" not in diagnostic.message, (name, diagnostic.message)
        lines = text.split("\n")
        line = rng.randrange(len(lines))
        where = T.Position(line, rng.randrange(len(lines[line]) + 1))
        await client.text_document_hover_async(T.HoverParams(document, where))
        await client.text_document_completion_async(T.CompletionParams(document, where))
        await client.text_document_definition_async(T.DefinitionParams(document, where))
        await client.text_document_document_symbol_async(T.DocumentSymbolParams(document))
        await client.text_document_formatting_async(T.DocumentFormattingParams(document, T.FormattingOptions(2, True)))
    # still answering, and still right, after all of it
    change(client, target, (project / "shape.geno").read_text(), 10_000)
    found = await published(client, target, version=10_000)
    assert len(found) == 1 and found[0].range.start == T.Position(7, 15)
