"""The language server never imports torch: its modules, `geno lsp`'s command, and a check,
hover, completion and outline of a spec, in a fresh interpreter."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("pygls", reason="the language server needs the lsp extra")

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import json, os, sys
from genolang.cli import lsp as command
from genolang.lsp.server import make_server
from genolang.lsp.documents import Documents, uri_of
from genolang.lsp.check import analyse, diagnostics
from genolang.lsp.hover import hover_text
from genolang.lsp.complete import completions
from genolang.lsp.navigate import outline
make_server()
docs = Documents()
path = os.path.realpath(sys.argv[1])
text = open(path).read()
analysis = analyse(docs, docs.open(uri_of(path), text, 1))
lines = text.split("\\n")
answers = 0
for number, line in enumerate(lines):
    for column in range(0, len(line), 3):
        answers += hover_text(analysis, text, number, column) is not None
        completions(analysis, text, number, column)
outline(analysis.module, lines)
diagnostics(analysis, uri_of, lambda f: docs.text(f).split("\\n"))
print(json.dumps({"errors": len(analysis.errors), "answers": answers,
                  "torch": "torch" in sys.modules}))
"""


def test_the_server_runs_without_torch():
    spec = ROOT / "specs" / "icdarts" / "cifar10.geno"
    result = subprocess.run([sys.executable, "-c", SCRIPT, str(spec)], capture_output=True, text=True,
                            timeout=300, cwd=ROOT, env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout.splitlines()[-1])
    assert found["errors"] == 0 and found["answers"] > 10
    assert found["torch"] is False


def test_the_server_imports_only_the_front_end():
    """grammar and compiler only: no runtime (torch), no CLI, no api (it imports the run face)."""
    import ast

    bad = []
    for path in sorted((ROOT / "src" / "genolang" / "lsp").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else []
            bad += [f"{path.name}: {n}" for n in names
                    if n.startswith(("genolang.runtime", "genolang.cli", "genolang.api", "torch"))]
    assert bad == []
