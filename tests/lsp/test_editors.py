"""The VS Code extension folder is consistent: valid manifests, a TextMate grammar whose
patterns compile and that knows every keyword of the language, a client that starts `geno lsp`."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VSCODE = ROOT / "editors" / "vscode"


def _patterns(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("match", "begin", "end"):
                yield value
            else:
                yield from _patterns(value)
    elif isinstance(node, list):
        for item in node:
            yield from _patterns(item)


def test_the_manifest_wires_the_language_grammar_and_client():
    manifest = json.loads((VSCODE / "package.json").read_text())
    language = manifest["contributes"]["languages"][0]
    assert language["extensions"] == [".geno"]
    grammar = manifest["contributes"]["grammars"][0]
    assert (VSCODE / grammar["path"]).is_file() and (VSCODE / language["configuration"]).is_file()
    assert manifest["contributes"]["configuration"]["properties"]["geno.serverCommand"]["default"] == ["geno", "lsp"]
    assert "vscode-languageclient" in manifest["dependencies"]
    assert (VSCODE / manifest["main"]).is_file()


def test_the_grammar_compiles_and_knows_every_keyword():
    grammar = json.loads((VSCODE / "syntaxes" / "geno.tmLanguage.json").read_text())
    patterns = list(_patterns(grammar["repository"]))
    for pattern in patterns:
        re.compile(pattern)
    keywords = set(re.findall(r'"([a-z]+)"', (ROOT / "grammar" / "geno.lark").read_text()))
    text = "\n".join(patterns).replace("\\b", " ")    # `\buse\b`: the word, not "buse"
    missing = sorted(k for k in keywords if not re.search(rf"\b{k}\b", text))
    assert missing == []


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_client_is_valid_javascript():
    subprocess.run(["node", "--check", str(VSCODE / "extension.js")], check=True, timeout=60)
