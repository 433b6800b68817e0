"""`geno compile`: build a spec's network, summarise it, export it."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from genolang.cli import app
from genolang.cli.check import ALLOW_PATH_HELP, allow_paths


def _network_inputs(program, genotype: Optional[str], template: Optional[str]):
    """(template, genotype or search cells) named on the command line, or the defaults:
    a genotype if the file has one (on its own template), else the search network."""
    from genolang.api import pick

    if genotype is not None or program.genotypes:
        g = pick(program, "genotype", genotype)
        t = pick(program, "network", template or g.template)
        return t, g
    t = pick(program, "network", template)
    cells = {}
    for slot in t.slots:
        if slot.cell is None:
            continue
        for key, cell in program.cells.items():
            if key == slot.cell or key.endswith("." + slot.cell):
                cells[key] = cell
    return t, cells


def check_before_building(program, template, cells, batch: int) -> None:
    """The pipeline `geno check` runs, with the memory pass of the network this command builds:
    one that would not fit here is refused, with the figure, before anything is allocated."""
    from genolang.compiler.passes.memory_fit import MemoryPass
    from genolang.compiler.passes.pipeline import pipeline

    pipeline(memory=MemoryPass(template, cells, batch)).check(program)


@app.command()
def compile(spec: Path = typer.Argument(..., help="A .geno file, a packaged spec by name (zoo/darts_v2), or `-` "
                                                   "to read the spec from stdin (its `use` lines resolve from the "
                                                   "current folder)."),
            genotype: Optional[str] = typer.Option(None, "--genotype", "-g", help="Genotype to build."),
            template: Optional[str] = typer.Option(None, "--template", "-t", help="Network template to build on."),
            summary: bool = typer.Option(True, "--summary/--no-summary", help="Print params, mult-adds, shapes."),
            batch: int = typer.Option(96, "--batch", "-b", min=1, help="Batch size for the activation-memory estimate."),
            phase: str = typer.Option("retrain", "--phase", help="`retrain` or `eval` (zero configurations)."),
            export: Optional[str] = typer.Option(None, "--export", help="`torchscript` or `onnx`."),
            out: Optional[Path] = typer.Option(None, "--out", "-o", help="Where to write the export."),
            allow_path: Optional[List[Path]] = typer.Option(None, "--allow-path", help=ALLOW_PATH_HELP)) -> None:
    """Compile a genotype (or a search space) to a PyTorch network: print its parameter
    count, multiply-adds, per-cell shapes and activation memory (computed from its shapes,
    without building it); optionally export it.

    The network's memory is estimated from its shapes first: one that would not fit is
    refused with the figure before anything is allocated."""
    import sys

    from genolang.api import load, loads
    from genolang.compiler.passes.summary import format_summary, probe_batch, shape_summary
    from genolang.base.errors import ConfigError

    if export is not None and out is None:
        raise ConfigError("--export needs --out PATH")
    from genolang.specname import spec_path

    allow_paths(allow_path)
    program = loads(sys.stdin.read(), "<stdin>") if str(spec) == "-" else load(spec_path(spec))
    t, cells = _network_inputs(program, genotype, template)
    # what measuring would allocate (a summary built from modules), and an export
    check_before_building(program, t, cells, probe_batch(batch) if summary else 1)
    if summary:         # from the shapes, without torch (compiler/passes/cost.py)
        found = shape_summary(t, cells, batch=batch, phase=phase)
        if found is None:   # a primitive with its own module builder: only building it tells
            from genolang.compiler.build.measure import measure_network

            found = measure_network(t, cells, batch=batch, phase=phase)
        typer.echo(format_summary(found))
    if export is not None:
        from genolang.compiler.build.export import export_network
        from genolang.compiler.build.measure import build_network

        net = build_network(t, cells, phase=phase)
        written = export_network(net, t.input_shape, export, out)
        typer.echo(f"wrote {written} ({export}; output checked against the module)")
