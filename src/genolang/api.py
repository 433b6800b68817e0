"""The public library API: load specs, compile them to modules, search, retrain, write
genotypes as text.

Example:
    >>> import genolang
    >>> program = genolang.load("icdarts/cifar10")            # a file, or a packaged spec by name
    >>> net = genolang.compile_search(program, "search_net")
    >>> model = genolang.compile_eval(genolang.zoo("darts_v2"), classifier=True)   # model(x) -> logits
    >>> found = genolang.search("icdarts/digits", search={"epochs": 2}, data={"limit": 256})
    >>> trained = genolang.train(found, retrain={"epochs": 5})
    >>> trained.metrics["acc_test"], trained.run_dir
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from genolang.compiler.lower import ir
from genolang.compiler.lower.program import Experiment, Program, loads
from genolang.compiler.lower.program import load as _load
from genolang.compiler.genotype.raise_ import genotype_text, genotype_to_ast
from genolang.base.errors import ConfigError, SpecSemanticError, did_you_mean
from genolang.specname import spec_path

__all__ = ["load", "loads", "zoo", "Program", "Experiment", "compile_search", "compile_eval",
           "search", "train", "TrainResult", "genotype_text", "genotype_to_ast", "pick"]


def load(path: str | Path) -> Program:
    """Parse, resolve, lower and verify a spec file, or the packaged spec of that name
    (``icdarts/digits``, ``zoo/darts_v2``) when no such file exists."""
    return _load(spec_path(Path(path)))


def zoo(name: str) -> Program:
    """The packaged zoo file of a published genotype (``darts_v1``, ``darts_v2``, ``pc_darts``,
    ``p_darts``, ``cdarts``), with the CIFAR retraining network it names."""
    from genolang.compiler.lower.load import library_names, library_spec

    path = library_spec(f"zoo/{name}")
    if path is None:
        names = [n.removeprefix("zoo/") for n in library_names() if n.startswith("zoo/")]
        raise ConfigError(f"no genotype `{name}` in the zoo", hint=did_you_mean(name, names) or "zoo: " + ", ".join(names))
    return _load(path)


def pick(program: Program, kind: str, name: str | None):
    """The definition ``name`` of ``kind`` ("genotype", "network", ...), or the only/first one
    the main file defines when ``name`` is None (:meth:`Program.pick`)."""
    return program.pick(kind, name)


def _cells_for(program: Program, template: ir.NetworkTemplate) -> dict[str, ir.CellSpec]:
    needed = {slot.cell for slot in template.slots if slot.cell is not None}
    missing = sorted(needed - set(program.cells))
    if missing:
        raise SpecSemanticError(f"network `{template.name}` uses cell types {', '.join(missing)} that are not defined",
                                template.span, hint="define them with `cell NAME { ... }` or `use` a file that does")
    return {name: program.cells[name] for name in needed}


def _as_classifier(net, classifier: bool):
    if not classifier:
        return net
    from genolang.classifier import Classifier

    return Classifier(net)


def compile_search(program: Program, template: str | None = None, *, classifier: bool = False, **options):
    """The ICDARTS search supernet of a network template and its search cells. It returns
    ``NetOutput(logits, ensemble, aux)``; with ``classifier=True`` it is wrapped so that
    ``model(x)`` returns the logits (see :class:`genolang.classifier.Classifier`)."""
    from genolang.compiler.build import SearchNetwork

    t = pick(program, "network", template)
    return _as_classifier(SearchNetwork(t, _cells_for(program, t), **options), classifier)


def compile_eval(program: Program, genotype: str | ir.Genotype | None = None, template: str | None = None,
                 *, classifier: bool = False, **options):
    """The discrete network of a genotype on a network template (the genotype's own, by
    default). ``classifier=True``: ``model(x)`` returns the logits tensor."""
    from genolang.compiler.build import EvalNetwork

    g = genotype if isinstance(genotype, ir.Genotype) else pick(program, "genotype", genotype)
    if template is None and g.template:
        template = g.template
    t = pick(program, "network", template)
    if g.macro is not None:  # a hierarchical-search genotype: the macro network of its choices
        from genolang.runtime.search.netlink import build_eval_net

        net = build_eval_net(t, g, phase=options.get("phase", "retrain"), affine=options.get("affine", True))
    else:
        net = EvalNetwork(t, g, **options)
    return _as_classifier(net, classifier)


# ---------------------------------------------------------------------------------- runs


@dataclass
class TrainResult:
    """What :func:`train` leaves: the genotype it retrained, the final metrics
    (``acc_test`` as a fraction, 0.9889 where the CLI prints 98.89 %; ``latency_s_per_batch``,
    ``params``; ROC AUC and F-beta with β² = 1e-3 on binary tasks), the run directory and one
    record per epoch."""

    genotype: ir.Genotype
    metrics: dict[str, Any]
    run_dir: Path | None = None
    history: list[dict] = field(default_factory=list)


def settings(overrides: Mapping[str, Any] | None = None, **given: Any) -> dict[str, Any]:
    """Experiment overrides as dotted keys: ``search={"epochs": 2}``, ``search__epochs=2`` and
    ``{"search.epochs": 2}`` all give ``{"search.epochs": 2}``."""
    out: dict[str, Any] = {}

    def add(prefix: str, value: Any) -> None:
        if isinstance(value, Mapping):
            for key, inner in value.items():
                add(f"{prefix}.{key}" if prefix else str(key), inner)
        else:
            out[prefix] = value

    add("", dict(overrides or {}))
    for key, value in given.items():
        add(key.replace("__", "."), value)
    return out


def _spec_file(spec: str | Path | Program) -> Path:
    if isinstance(spec, Program):
        if spec.file.startswith("<"):
            raise ConfigError("this program was loaded from text; a run needs its spec as a file",
                              hint="write it to a .geno file and pass the path")
        return Path(spec.file)
    return spec_path(Path(spec))


def search(spec: str | Path | Program, experiment: str | None = None, *, out: str | Path = "runs",
           progress: bool = False, overrides: Mapping[str, Any] | None = None, **given: Any):
    """Run the search an experiment of ``spec`` describes (a file, a packaged spec name such as
    ``icdarts/digits``, or a loaded program), in a new run directory under ``out``.

    Settings override the experiment's: ``search={"epochs": 2}``, ``data__limit=256``,
    ``device="cpu"``, ``seed=1``, ``threads=2`` (CPU threads, fixed, as ``--threads``). Returns a ``SearchResult``: ``genotype`` (the final one),
    ``history`` (one per epoch), ``run_dir`` and ``metrics`` (one record per epoch); the run
    directory's ``genotype.geno`` reads back on its own, and :func:`train` takes the result.
    """
    from genolang.runtime.jobs.driver import start_search

    return start_search(_spec_file(spec), experiment=experiment, out=out,
                        overrides=settings(overrides, **given), progress=progress)


def training_inputs(source: str | Path | ir.Genotype | Any, spec: str | Path | Program | None = None,
                    genotype: str | None = None, experiment: str | None = None):
    """(genotype, program, config, spec file) to retrain, from a genotype file, a search run
    directory (its genotype, spec copy and resolved config), a search result, a genotype
    object (with ``spec``) or a packaged genotype name (``zoo/darts_v2``)."""

    from genolang.compiler.lower.experiment import ExperimentConfig
    from genolang.runtime.jobs.driver import pick_experiment

    spec_file = _spec_file(spec) if spec is not None else None

    def config_of(program: Program):
        if program.experiments or experiment is not None:
            return pick_experiment(program, experiment)[1]
        return ExperimentConfig()

    if isinstance(source, ir.Genotype):
        if spec_file is None:
            raise ConfigError("a genotype object needs the spec with its network: train(genotype, spec=...)")
        program = _load(spec_file)
        return source, program, config_of(program), spec_file
    if getattr(source, "run_dir", None) is not None:      # a SearchResult (or MacroResult)
        source = source.run_dir
    path = spec_path(Path(source))
    if path.is_dir():
        path = path / "genotype.geno"
    if not path.exists():
        raise ConfigError(f"{path} does not exist")
    geno_program = _load(path)
    chosen = pick(geno_program, "genotype", genotype)
    run = path.parent
    if spec_file is None and (run / "spec.geno").exists() and (run / "config.json").exists():
        # a search run directory: its spec copy and resolved config
        from genolang.runtime.runs.rundir import RunDir
        from genolang.base.safe_files import received_spec

        received_spec(run, "genotype.geno")     # a run directory may come from anyone: no links
        program = _load(received_spec(run, "spec.geno"))
        config = RunDir(run, writer=False).load_config()      # a torn config.json is a located error
        if experiment is not None:
            config = pick_experiment(program, experiment)[1]
        return chosen, program, config, run / "spec.geno"
    program = _load(spec_file) if spec_file is not None else geno_program
    return chosen, program, config_of(program), spec_file or path


def train(genotype: str | Path | ir.Genotype | Any, spec: str | Path | Program | None = None, *,
          name: str | None = None, experiment: str | None = None, out: str | Path | None = "runs",
          progress: bool = False, test_every: int = 0, overrides: Mapping[str, Any] | None = None,
          **given: Any) -> TrainResult:
    """Retrain a genotype with the experiment's recipe and report its final-epoch metrics.

    ``genotype``: a search result, a search run directory, a genotype file (``name`` picks one
    of several), a packaged genotype (``zoo/darts_v2``) or a genotype object with ``spec``.
    Settings override the experiment's as in :func:`search` (``retrain={"epochs": 5}``);
    ``out=None`` writes no run directory.
    """
    from genolang.runtime.jobs.driver import retrain_genotype

    chosen, program, config, spec_file = training_inputs(genotype, spec, name, experiment)
    config = config.with_overrides(**settings(overrides, **given))
    result = retrain_genotype(chosen, program, config, out=out, progress=progress, test_every=test_every,
                              spec_path=spec_file)
    return TrainResult(chosen, result.metrics, result.run_dir, result.history)


def load_file(path: str | Path) -> Program:
    return load(path)
