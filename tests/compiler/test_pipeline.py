"""The static passes run as one ordered pipeline, the same for `geno check`, `geno compile`,
`geno search` and the language server; every finding names the pass that found it."""

from __future__ import annotations

import pytest

import genolang
from genolang.base.errors import ErrorGroup, GenolangError, SpecWarning
from genolang.compiler.passes import memory_fit
from genolang.compiler.passes.memory_fit import MemoryPass
from genolang.compiler.passes.pipeline import ORDER, Pass, Pipeline, check_program, pipeline

NETWORK = """
use "spaces.geno"
cell normal {{ nodes 2  edges from {{ {op}, skip }} }}
cell reduce like normal {{ reduction }}
network net {{ input 1x16x16  classes 10  channels 8  cells 3 reduce at 1 }}
"""
NARROW = "op narrow = relu >> conv(k=3, out=C // 2, stride=s) >> bn\n"
EXPERIMENT = """
experiment run {{
  data {{ kind = {kind}  {path} }}
  templates {{ search = net  eval = net }}
}}
"""


def spec(tmp_path, *, op="maxpool", kind="digits", path="", extra=""):
    file = tmp_path / "spec.geno"
    file.write_text(extra + NETWORK.format(op=op) + EXPERIMENT.format(kind=kind, path=path))
    return file


def findings(file) -> list[GenolangError]:
    return pipeline().run(genolang.load(file))


def test_the_passes_run_in_the_documented_order():
    assert pipeline().names == ("shapes", "data kinds", "data paths")
    memory = MemoryPass(None, {}, 1)
    assert pipeline(memory=memory).names == ORDER
    shuffled = Pipeline([p for p in reversed(pipeline(memory=memory).passes)])
    assert shuffled.names == ORDER
    assert all(isinstance(p, Pass) for p in shuffled.passes)


def test_a_pass_not_placed_in_the_order_is_refused():
    class Lint:
        name = "lint"

        def run(self, program):
            return []

    with pytest.raises(ValueError, match="lint"):
        Pipeline([Lint()])


def test_every_finding_names_its_pass(tmp_path):
    shapes = findings(spec(tmp_path, op="narrow", extra=NARROW))
    assert shapes and {e.pass_name for e in shapes} == {"shapes"}
    kinds = findings(spec(tmp_path, kind="digts"))
    assert [e.pass_name for e in kinds] == ["data kinds"]
    paths = findings(spec(tmp_path, kind="mnist", path='path = "no/such/folder"'))
    assert [e.pass_name for e in paths] == ["data paths"] and isinstance(paths[0], SpecWarning)
    assert findings(spec(tmp_path)) == []


def test_errors_of_several_passes_are_reported_together_in_pass_order(tmp_path):
    with pytest.raises(ErrorGroup) as caught:
        check_program(genolang.load(spec(tmp_path, op="narrow", extra=NARROW, kind="digts")))
    names = [e.pass_name for e in caught.value.errors]
    assert names[-1] == "data kinds" and set(names[:-1]) == {"shapes"}


def test_warnings_are_returned_not_raised(tmp_path):
    warnings = check_program(genolang.load(spec(tmp_path, kind="mnist", path='path = "no/such/folder"')))
    assert [w.pass_name for w in warnings] == ["data paths"]


def test_the_memory_pass_names_itself_and_waits_for_clean_shapes(tmp_path, monkeypatch):
    program = genolang.load(spec(tmp_path))
    template, cells = program.templates["net"], dict(program.cells)
    monkeypatch.setattr(memory_fit, "network_memory_budget", lambda: 1)
    found = pipeline(memory=MemoryPass(template, cells, 8)).run(program)
    assert [e.pass_name for e in found] == ["memory"] and "would need" in found[0].message
    broken = genolang.load(spec(tmp_path, op="narrow", extra=NARROW))
    found = pipeline(memory=MemoryPass(broken.templates["net"], dict(broken.cells), 8)).run(broken)
    assert found and {e.pass_name for e in found} == {"shapes"}


def test_check_compile_and_search_run_the_same_pipeline(tmp_path, monkeypatch, geno):
    ran: list[tuple[str, ...]] = []
    original = Pipeline.run

    def recording(self, program):
        ran.append(self.names)
        return original(self, program)

    monkeypatch.setattr(Pipeline, "run", recording)
    file = spec(tmp_path, kind="digts")
    messages = []
    for command in (("check", str(file)), ("compile", str(file), "--no-summary")):
        result = geno(*command)
        text = result.stdout + result.stderr
        assert result.returncode == 2, text
        messages.append(text[text.index("error:"):].strip())
    from genolang.runtime.jobs.driver import start_search

    with pytest.raises(GenolangError) as caught:
        start_search(file, out=tmp_path / "runs", progress=False)
    messages.append(caught.value.render()[caught.value.render().index("error:"):].strip())
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())
    assert len(set(messages)) == 1 and "unknown dataset kind `digts`" in messages[0]
    common = ("shapes", "data kinds", "data paths")
    assert ran[0] == common and ran[2] == common
    assert ran[1] == ORDER          # compile adds the memory pass of the network it builds
