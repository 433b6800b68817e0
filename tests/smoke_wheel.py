"""Smoke test of an installed wheel (run by .ci/run from outside the repository).

Checks that every stage package and data file made it into the wheel: the grammar, the
stdlib specs, the spec library (zoo and experiments, by name), the CLI, that a spec using the
stdlib compiles to a network that runs, and that a packaged spec searches and retrains by name.
"""

import subprocess
import sys
import tempfile
from pathlib import Path

import genolang

target = Path(sys.argv[1]).resolve()
assert Path(genolang.__file__).resolve().is_relative_to(target), f"imported {genolang.__file__}, not the wheel"

import torch  # noqa: E402

import genolang.compiler  # noqa: E402,F401
import genolang.grammar  # noqa: E402,F401
import genolang.runtime  # noqa: E402,F401
from genolang.compiler.lower.load import STDLIB  # noqa: E402

assert (Path(genolang.grammar.__file__).parent / "geno.lark").is_file(), "grammar missing from the wheel"
assert sorted(p.name for p in STDLIB.glob("*.geno")) == ["cifar.geno", "nb201.geno", "ops.geno", "spaces.geno"], "stdlib missing"

spec = """
use "spaces.geno"
cell normal {
  nodes 2
  edges from darts
}
cell reduce like normal {
  reduction
}
network tiny {
  input 3x8x8
  classes 3
  channels 4
  cells 3 reduce at 1
}
"""
with tempfile.TemporaryDirectory() as tmp:
    path = Path(tmp) / "tiny.geno"
    path.write_text(spec)
    program = genolang.load(path)
    net = genolang.compile_search(program, "tiny")
    out = net(torch.randn(2, 3, 8, 8))
    assert out.logits.shape == (2, 3)
    text = genolang.genotype_text(net.genotype())
    assert "genotype" in text
    result = subprocess.run([sys.executable, "-m", "genolang", "check", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr

# The spec library: packaged, found by name, usable from any spec.
from genolang.compiler.lower.load import LIBRARY  # noqa: E402

assert LIBRARY.resolve().is_relative_to(target), f"spec library at {LIBRARY}, not in the wheel"
assert (LIBRARY / "icdarts" / "digits.geno").is_file() and (LIBRARY / "zoo" / "darts_v2.geno").is_file()
model = genolang.compile_eval(genolang.zoo("darts_v2"), classifier=True).eval()
with torch.no_grad():
    assert model(torch.randn(1, 3, 32, 32)).shape == (1, 10)


def geno(*args: str, cwd: str) -> str:
    result = subprocess.run([sys.executable, "-m", "genolang", *args], capture_output=True, text=True, cwd=cwd)
    assert result.returncode == 0, f"geno {' '.join(args)}: {result.stderr}"
    return result.stdout


tiny = ["--device", "cpu", "-q", "--set", "data.limit=32", "--set", "data.test_limit=16"]
with tempfile.TemporaryDirectory() as tmp:
    Path(tmp, "mine.geno").write_text('use "zoo/darts_v2.geno"\n')
    geno("check", "mine.geno", cwd=tmp)
    assert "parameters" in geno("compile", "zoo/darts_v2", cwd=tmp)
    geno("search", "icdarts/digits", "-o", "runs", *tiny, "--set", "search.epochs=1",
         "--set", "search.pretrain_epochs=0", "--set", "search.steps_per_epoch=1", cwd=tmp)
    geno("check", "runs/digits/genotype.geno", "runs/digits/genotypes.geno", cwd=tmp)
    trained = geno("train", "runs/digits", "-o", "runs", *tiny, "--set", "retrain.epochs=1",
                   "--set", "retrain.steps_per_epoch=1", cwd=tmp)
    assert "test accuracy" in trained, trained
    # an imported NAS-Bench-201 string compiles on the packaged nb201 network, from stdin
    imported = subprocess.run([sys.executable, "-m", "genolang", "import", "nb201",
                               "|nor_conv_3x3~0|+|skip_connect~0|none~1|+|skip_connect~0|nor_conv_1x1~1|avg_pool_3x3~2|"],
                              capture_output=True, text=True, cwd=tmp)
    assert imported.returncode == 0, imported.stderr
    compiled = subprocess.run([sys.executable, "-m", "genolang", "compile", "-"], input=imported.stdout,
                              capture_output=True, text=True, cwd=tmp)
    assert compiled.returncode == 0 and "network nb201_net" in compiled.stdout, compiled.stderr
print("wheel ok:", genolang.__file__)
