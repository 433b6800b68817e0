"""`geno sample`: random genotypes over a spec's search cells (the "Random" baselines)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import List, Optional

import typer

from genolang.cli import app
from genolang.base.errors import SpecSemanticError, did_you_mean


@app.command()
def sample(
    spec: Path = typer.Argument(..., help="Spec defining the search cells."),
    cells: Optional[List[str]] = typer.Option(None, "--cells", "-c", help="Cell types (default: the experiment's or all)."),
    experiment: Optional[str] = typer.Option(None, "--experiment", "-e"),
    seed: int = typer.Option(0, "--seed"),
    count: int = typer.Option(1, "--count", "-n", help="How many genotypes (seeds seed..seed+n-1)."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Folder to write random_<seed>.geno files to."),
) -> None:
    """Print (or write) random genotypes drawn per each cell's selection rule and zero config."""
    from genolang.api import load
    from genolang.compiler.genotype.raise_ import genotype_text
    from genolang.compiler.genotype.sample import sample_genotypes

    from genolang.specname import spec_path

    spec = spec_path(spec)
    program = load(spec)
    names = list(cells or [])
    template = None      # the network a written sample names: the experiment's retraining one
    if program.experiments:
        from genolang.runtime.jobs.driver import pick_experiment

        config = pick_experiment(program, experiment)[1]
        template = config.templates.retrain or config.templates.eval
        names = names or list(config.templates.cells)
    names = names or [n for n in program.local("cell") if n in program.cells] or list(program.cells)
    for name in names:
        if name not in program.cells:
            raise SpecSemanticError(f"no cell named `{name}` in {spec}", hint=did_you_mean(name, program.cells))
    chosen = {n: program.cells[n] for n in names}
    spaces = {chosen[n].space_of(node).name for n in names for node in chosen[n].nodes}
    space = spaces.pop() if len(spaces) == 1 else None
    genotypes = sample_genotypes(chosen, seed, count, space=space)
    for g in genotypes:
        if out is None:
            typer.echo(genotype_text(g))
        else:
            # a file stands alone: it carries the spec's definitions it needs (see genotext)
            from genolang.compiler.genotype.genotext import standalone_genotype_text

            if template is not None:
                g = dataclasses.replace(g, template=template)
            out.mkdir(parents=True, exist_ok=True)
            (out / f"{g.name}.geno").write_text(standalone_genotype_text(g, program), encoding="utf-8")
            typer.echo(str(out / f"{g.name}.geno"))
