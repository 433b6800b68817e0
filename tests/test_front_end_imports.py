"""The front end never imports torch: every text-stage module, and `geno check`, `fmt`, `show`,
`diff`, `import`, `export` and `compile --summary` run end to end, in a fresh interpreter."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

FRONT_END = [
    "genolang.grammar", "genolang.grammar.parser", "genolang.grammar.printer", "genolang.grammar.syntax",
    "genolang.grammar.interop", "genolang.grammar.interop.registry", "genolang.compiler.genotype.diff",
    "genolang.grammar.parse_tables", "genolang.compiler.lower.load",
    "genolang.compiler.lower.program", "genolang.compiler.passes.verify", "genolang.compiler.passes.shapes",
    "genolang.compiler.passes.estimate", "genolang.compiler.passes.cost", "genolang.compiler.passes.summary",
    "genolang.compiler.genotype.hash", "genolang.compiler.lower.primitives", "genolang.compiler.lower.dump",
    "genolang.compiler.genotype.raise_", "genolang.compiler.lower.edges", "genolang.compiler.genotype.standalone", "genolang.api",
    "genolang.cli", "genolang.cli.check", "genolang.cli.fmt", "genolang.cli.show", "genolang.cli.diff",
    "genolang.cli.interop", "genolang.cli.compile", "genolang.cli.score", "genolang.runtime.benchmarks",
    "genolang.runtime.report.stats", "genolang.runtime.report.bench",
]

NB201 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_1x1~1|skip_connect~2|"

COMMANDS = [
    ["check", "icdarts/digits", "zoo/darts_v2"],
    ["fmt", "--check", str(ROOT / "specs" / "zoo" / "darts_v2.geno")],
    ["show", "zoo/darts_v2"],
    ["show", "--hash", "zoo/darts_v2"],
    ["diff", "zoo/darts_v1", "zoo/darts_v2"],
    ["import", "nb201", NB201],
    ["export", "darts", str(ROOT / "specs" / "zoo" / "darts_v2.geno")],
    ["compile", "zoo/darts_v2", "--summary"],
    ["compile", "icdarts/digits", "--summary", "--batch", "4"],
]

SCRIPT = """
import contextlib, importlib, io, json, sys
from genolang.cli import main
for name in json.loads(sys.argv[1]):
    importlib.import_module(name)
codes = []
for argv in json.loads(sys.argv[2]):
    sys.argv = ["geno", *argv]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        try:
            main()
            codes.append(0)
        except SystemExit as exc:
            codes.append(exc.code or 0)
    assert out.getvalue() or argv[0] == "fmt", argv     # fmt --check of a canonical file is silent
heavy = sorted(m for m in ("torch", "networkx") if m in sys.modules)
print(json.dumps({"codes": codes, "heavy": heavy}))
"""


def test_the_front_end_runs_without_torch():
    result = subprocess.run([sys.executable, "-c", SCRIPT, json.dumps(FRONT_END), json.dumps(COMMANDS)],
                            capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    # diff exits 1 (the architectures differ); every other command succeeds
    assert report["codes"] == [1 if argv[0] == "diff" else 0 for argv in COMMANDS], result.stderr
    assert "torch" not in report["heavy"], "a front-end command imported torch"
    assert "networkx" not in report["heavy"], "networkx is for graph algorithms only (compiler/lower/ir/)"
