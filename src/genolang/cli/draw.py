"""`geno draw FILE`: cells, a network template or a macro genotype as SVG/PNG (graphviz) or DOT."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import List, Optional

import typer

from genolang.cli import app
from genolang.base.errors import ConfigError, RunError, did_you_mean

FORMATS = (".svg", ".png", ".dot", ".pdf")
INSTALL_HINT = ("install graphviz for `dot`: `apt-get install graphviz` (Debian/Ubuntu), `brew install graphviz` "
                "(macOS) or `conda install graphviz`")


def _final_alpha(run: Path) -> dict | None:
    """softmax(α) of a search run's last search epoch, from its metrics.jsonl (read through the
    safe file layer: a run directory may come from anyone)."""
    import os

    from genolang.runtime.report.text import check_alpha
    from genolang.base.safe_files import inside, read_jsonl

    path = inside(run, "metrics.jsonl")
    if not os.path.lexists(path):
        raise ConfigError(f"{run} has no metrics.jsonl", hint="--run takes a search run directory")
    alpha = None
    for record in read_jsonl(path):
        alpha = record.get("alpha_softmax", alpha)
    if alpha is None:
        raise ConfigError(f"{path} holds no softmax(α) record", hint="--run takes a search run directory")
    return check_alpha(alpha, path)


def dot_text(program, genotype: str | None, network: str | None, cells: list[str], alpha: dict | None) -> str:
    from genolang.compiler.lower import ir
    from genolang.compiler.genotype.draw import genotype_dot, network_dot

    first = program.first("genotype")
    if network is None and (genotype is not None or first is not None):
        name = genotype or first
        if name not in program.genotypes:
            raise ConfigError(f"no genotype `{name}` in {program.file}", hint=did_you_mean(name, program.genotypes))
        g = program.genotypes[name]
        if g.macro is not None:
            provenance = dict(g.provenance)
            template = program.templates.get(g.template or provenance.get("macro_template") or provenance.get("template", ""))
            if template is None:
                raise ConfigError(f"genotype `{name}` has a macro choice but its network template is not in {program.file}")
            if g.macro.types and len(g.macro.types) != len(template.slots):   # version 2 sets the depth
                slots = tuple(ir.Slot(cell=t) for t in g.macro.types)
                template = ir.NetworkTemplate(template.name, template.input_shape, template.classes,
                                              template.channels, template.stem, slots)
            return network_dot(template, g.macro, name=name)
        unknown = [c for c in cells if c not in dict(g.cells)]
        if unknown:
            raise ConfigError(f"genotype `{name}` has no cell `{unknown[0]}`", hint=did_you_mean(unknown[0], dict(g.cells)))
        return genotype_dot(g, alpha, cells or None)
    name = network or program.first("network")
    if name is None:
        raise ConfigError(f"{program.file} has no genotype or network to draw")
    if name not in program.templates:
        raise ConfigError(f"no network `{name}` in {program.file}", hint=did_you_mean(name, program.templates))
    return network_dot(program.templates[name])


@app.command()
def draw(
    file: Path = typer.Argument(..., help="A genotype file, a spec with networks, or a search run directory."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="F.svg, F.png, F.pdf or F.dot (default: FILE's name "
                                       ".svg; a run's name .svg for a run directory or its genotype.geno)."),
    run: Optional[Path] = typer.Option(None, "--run", help="A search run directory: colour edges by its final softmax(α)."),
    genotype: Optional[str] = typer.Option(None, "--genotype", "-g"),
    network: Optional[str] = typer.Option(None, "--network", "-n", help="Draw this network template instead."),
    cells: Optional[List[str]] = typer.Option(None, "--cell", "-c", help="Only these cells of the genotype."),
) -> None:
    """Draw cells in the style of the DARTS figures (inputs, nodes, labelled edges, output), a
    network template or a macro genotype, through graphviz's `dot`. Without `dot` the DOT text
    is written instead, with a note on installing graphviz."""
    from genolang.api import load
    from genolang.specname import spec_path

    file = spec_path(file)
    if file.is_dir():             # a run directory: its genotype, and its α by default
        from genolang.base.safe_files import received_spec

        run = run or file
        file = received_spec(file, "genotype.geno")
    program = load(file)
    alpha = _final_alpha(run) if run is not None else None
    text = dot_text(program, genotype, network, list(cells or []), alpha)
    # runs/digits-2 (or its genotype.geno) draws to digits-2.svg: two runs never overwrite one picture
    out = out or Path((file.parent.name if file.name == "genotype.geno" and file.parent.name else file.stem) + ".svg")
    if out.suffix not in FORMATS:
        raise ConfigError(f"cannot tell the picture format from `{out.name}`", hint="end --out with " + ", ".join(FORMATS))
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".dot":
        out.write_text(text, encoding="utf-8")
        typer.echo(str(out))
        return
    dot = shutil.which("dot")
    if dot is None:
        fallback = out.with_suffix(".dot")
        fallback.write_text(text, encoding="utf-8")
        print(f"graphviz's `dot` program was not found, so {out} was not drawn; wrote the DOT text to "
              f"{fallback} instead.\n  hint: {INSTALL_HINT}, then `dot -T{out.suffix[1:]} {fallback} -o {out}`",
              file=sys.stderr)
        typer.echo(str(fallback))
        return
    done = subprocess.run([dot, f"-T{out.suffix[1:]}", "-o", str(out)], input=text.encode(), capture_output=True)
    if done.returncode != 0:
        raise RunError(f"dot failed on the picture of {file}: {done.stderr.decode(errors='replace').strip()}")
    typer.echo(str(out))
