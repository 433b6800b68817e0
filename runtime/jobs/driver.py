"""From a lowered spec program to a finished run: pick the experiment, load its data, build
the run directory, search or retrain. The CLI commands are thin wrappers around these."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from genolang.compiler.lower.experiment import ExperimentConfig
from genolang.compiler.lower.ir import CellSpec, Genotype, NetworkTemplate
from genolang.base.errors import ConfigError, SpecSemanticError, did_you_mean
from genolang.runtime.jobs.memory_check import check_run_memory

__all__ = ["SearchInterrupted", "pick_experiment", "apply_overrides", "load_data", "search_data", "templates_of",
           "cells_of", "check_step_settings", "check_search_memory", "start_search", "resume_search", "retrain_genotype"]


class SearchInterrupted(KeyboardInterrupt):
    """Ctrl-C during a run; ``run_dir`` holds the last epoch-boundary checkpoint."""

    def __init__(self, run_dir: Path):
        super().__init__(str(run_dir))
        self.run_dir = Path(run_dir)


def _program_load(path: str | Path):
    """The spec, loaded and through the static passes `geno check` runs (warnings aside)."""
    from genolang.compiler.lower.program import load
    from genolang.compiler.passes.pipeline import check_program

    program = load(path)
    check_program(program)
    return program


def pick_experiment(program, name: str | None) -> tuple[str, ExperimentConfig]:
    """The named experiment, or the first the main file defines (the default config if none);
    its ``data.path`` read from the folder of the spec that defines it (:mod:`~genolang.compiler.passes.data_path`)."""
    from genolang.compiler.passes.data_path import experiment_file, resolve_data_path

    experiments = program.experiments
    if name is not None:
        if name not in experiments:
            raise SpecSemanticError(f"no experiment named `{name}` in {program.file}",
                                    hint=did_you_mean(name, experiments) or
                                    ("experiments: " + ", ".join(experiments) if experiments else None))
        chosen = name
    else:
        chosen = program.first("experiment")
    if chosen is None:
        raise SpecSemanticError(f"{program.file} defines no experiment",
                                hint="add an `experiment NAME { ... }` block naming the templates to use")
    return chosen, resolve_data_path(experiments[chosen].config, experiment_file(program, chosen))


def apply_overrides(config: ExperimentConfig, overrides: Mapping[str, Any] | None,
                    labels: Mapping[str, str] | None = None) -> ExperimentConfig:
    """``config`` with dotted ``overrides``; a setting that does not validate is a
    :class:`ConfigError` naming it (as ``labels`` spell it: the command-line option)."""
    if not overrides:
        return config
    try:
        return config.with_overrides(**overrides)
    except Exception as exc:     # pydantic.ValidationError; anything else is not the user's
        errors = getattr(exc, "errors", None)
        if errors is None:
            raise
        raise override_error(errors(), overrides, labels or {}) from None


def override_error(errors: list[dict], overrides: Mapping[str, Any], labels: Mapping[str, str]) -> ConfigError:
    """One config error for pydantic's ``errors`` of an override, located at the setting."""
    err = errors[0]
    loc = [str(p) for p in err["loc"] if not isinstance(p, int)]
    field = ".".join(loc)
    key = next((k for k in overrides if field == k or field.startswith(k + ".")), None)
    if key is None:   # a model-level check (a route's contradiction): name the overrides it involves
        key = next((k for k in overrides if k.startswith(field + ".") or not field), field)
    where = labels.get(key, f"--set {key}={overrides.get(key)!r}" if key in overrides else f"`{field}`")
    if err["type"] == "extra_forbidden":
        model = ExperimentConfig
        for part in loc[:-1]:
            inner = getattr(model.model_fields.get(part), "annotation", None)
            model = inner if hasattr(inner, "model_fields") else None
            if model is None:
                break
        hint = (did_you_mean(loc[-1], model.model_fields) or "known settings: " + ", ".join(model.model_fields)
                if model is not None else None)
        return ConfigError(f"{where}: unknown setting `{field}`", hint=hint)
    message = err["msg"].removeprefix("Value error, ")
    return ConfigError(f"{where}: {message}" + (f" (`{field}`)" if field and field != key else ""),
                       hint=f"`{field}` must satisfy this; see `geno search --help`" if field else None)


def load_data(config: ExperimentConfig):
    """The experiment's dataset, cut to ``limit`` / ``test_limit`` samples (spread over the
    file for a source whose order carries the label, :func:`~genolang.runtime.data.split.take`)."""
    from genolang.runtime.data import load_dataset

    dataset = load_dataset(config.data.kind, **config.data.loader_options())
    if config.data.limit is not None or config.data.test_limit is not None:
        from genolang.runtime.data.split import take

        dataset = take(dataset, config.data.limit, config.data.test_limit, config.data.kind, seed=config.seed)
    return dataset


def search_data(dataset, config: ExperimentConfig):
    """The train/val halves and the test set, normalised floats; the search augments its
    batches itself (``search.augment``), padding with ``fill``, the normalised black pixel."""
    from genolang.runtime.data import normalise, split_half, to_float
    from genolang.runtime.search.search_data import SearchData

    train, val = split_half(dataset, seed=config.seed, order=config.data.split_order, kind=config.data.kind)
    prep = lambda x: normalise(to_float(x), dataset.mean, dataset.std)
    fill = tuple(-m / s for m, s in zip(dataset.mean, dataset.std))
    return SearchData(prep(train.x), train.y, prep(val.x), val.y, prep(dataset.test_x), dataset.test_y, fill=fill)


def _template(program, name: str | None, what: str) -> NetworkTemplate:
    if not name:
        raise ConfigError(f"the experiment names no {what} network", hint=f"set templates.{what} = NAME")
    if name not in program.templates:
        raise SpecSemanticError(f"no network named `{name}`", hint=did_you_mean(name, program.templates))
    return program.templates[name]


def templates_of(program, config: ExperimentConfig) -> tuple[NetworkTemplate, NetworkTemplate, NetworkTemplate]:
    t = config.templates
    search = _template(program, t.search, "search")
    evaluation = _template(program, t.eval, "eval")
    retrain = _template(program, t.retrain or t.eval, "retrain")
    return search, evaluation, retrain


def cells_of(program, template: NetworkTemplate, config: ExperimentConfig) -> dict[str, CellSpec]:
    needed = [s.cell for s in template.slots if s.cell is not None]
    names = list(dict.fromkeys(config.templates.cells or needed))
    missing = [n for n in names if n not in program.cells]
    if missing:
        raise SpecSemanticError(f"unknown cell `{missing[0]}`", hint=did_you_mean(missing[0], program.cells))
    return {n: program.cells[n] for n in names}


def check_search_memory(program, config: ExperimentConfig) -> None:
    """Refuse a search whose supernet and evaluation network cannot fit in this process."""
    search_t, eval_t, _ = templates_of(program, config)
    check_run_memory(config, "search", search_t, cells=cells_of(program, search_t, config), evaluation=eval_t)


def start_search(spec: str | Path, *, experiment: str | None = None, out: str | Path = "runs",
                 overrides: Mapping[str, Any] | None = None, progress: bool = True,
                 labels: Mapping[str, str] | None = None, engine=None):
    """Search as the spec's experiment says, in a new run directory under ``out`` (a
    tournament's games on ``engine``, :mod:`genolang.runtime.jobs.engine`)."""
    from genolang.runtime.runs.rundir import new_run_dir

    program = _program_load(spec)
    name, config = pick_experiment(program, experiment)
    config = new_run_config(config, name, overrides, labels)
    check_search_memory(program, config)       # before a run directory or any tensor exists
    run_dir = _same_on_all_ranks(config, lambda: new_run_dir(out, config.name or name))
    return discard_unstarted(run_dir, lambda: _search(program, config, run_dir, spec, resume=False,
                                                      progress=progress, engine=engine))


def discard_unstarted(run_dir: Path, fn):
    """``fn()`` in the run directory it just claimed; should it fail before the run began (no
    config.json yet: bad data, a network that does not fit), the folder is removed, so that it
    is never taken for a run to resume or retrain."""
    try:
        return fn()
    except BaseException:
        from genolang.base import safe_files as sf
        from genolang.runtime.runs.rundir import is_main_process

        run_dir = Path(run_dir)
        if is_main_process() and sf.created_by_genolang(run_dir) and not (run_dir / "config.json").exists():
            try:      # only a folder new_run_dir marked as genolang's own, never through a link
                sf.remove_created(run_dir, run_dir.parent)
            except (OSError, sf.UnsafeFileError):
                pass  # the original error matters more than a leftover folder
        raise


def new_run_config(config: ExperimentConfig, name: str, overrides: Mapping[str, Any] | None,
                   labels: Mapping[str, str] | None) -> ExperimentConfig:
    """The config a new run of experiment ``name`` runs with: the overrides applied, named after
    the experiment unless it names itself, the name and the step settings checked."""
    from genolang.runtime.runs.rundir import check_run_name

    config = apply_overrides(config, overrides, labels)
    if config.name is None:
        config = config.with_overrides(name=name)
    check_run_name(config.name)
    check_step_settings(config)
    return config


def check_step_settings(config: ExperimentConfig) -> None:
    """Refuse accelerator options the device cannot honour before a run directory or data exists."""
    from genolang.runtime.search.graphed_step import check_step_options
    from genolang.runtime.search.device import resolve_device

    check_step_options(config.search, resolve_device(config.device))


def _same_on_all_ranks(config: ExperimentConfig, make):
    """``make()`` on rank 0, its value on every rank (a run directory name, say)."""
    from genolang.runtime.search.distributed import init_from_env, world
    from genolang.runtime.search.device import resolve_device

    init_from_env(resolve_device(config.device))
    rank, size = world()
    if size == 1:
        return make()
    import torch.distributed as dist

    box = [make() if rank == 0 else None]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def _interruptible(run_dir: Path, fn):
    try:
        return fn()
    except KeyboardInterrupt as exc:
        if isinstance(exc, SearchInterrupted):
            raise
        raise SearchInterrupted(run_dir) from None


def resume_search(run_dir: str | Path, *, progress: bool = True, overrides: Mapping[str, Any] | None = None,
                  force: bool = False, labels: Mapping[str, str] | None = None, engine=None):
    """Continue an interrupted search from its run directory (spec copy + config + checkpoint).
    Options that change the run (anything but the device and memory layout) need ``force``."""
    from genolang.runtime.runs.rundir import RunDir

    rd = RunDir.existing(run_dir, needs=("config.json", "spec.geno"), what="search")
    config = apply_overrides(rd.load_config(), overrides, labels)
    check_step_settings(config)
    program = _program_load(rd.path / "spec.geno")
    check_search_memory(program, config)
    return _search(program, config, rd.path, None, resume=True, progress=progress, force=force, engine=engine)


def _search(program, config: ExperimentConfig, run_dir: Path, spec_path, *, resume: bool, progress: bool,
            force: bool = False, engine=None):
    from genolang.runtime.search.loop import run_search

    search_t, eval_t, _ = templates_of(program, config)
    cells = cells_of(program, search_t, config)
    if config.templates.space is None:
        spaces = sorted({cell.space_of(node).name for cell in cells.values() for node in cell.nodes})
        config = config.with_overrides(**{"templates.space": "+".join(spaces)})
    if config.tournament is None and engine is not None and engine.name != "local":
        raise ConfigError(f"--engine {engine.name} runs independent runs (the games of a tournament, the items "
                          "of a study); this experiment is one search",
                          hint="run one search on several GPUs or machines with torchrun (README: Running on "
                               "a cluster), or many with `geno repeat --engine ray`")
    data = search_data(load_data(config), config)
    if config.tournament is not None:
        return _interruptible(run_dir, lambda: _tournament(program, config, cells, search_t, eval_t, data,
                                                           run_dir, spec_path, progress, resume, force, engine))
    return _interruptible(run_dir, lambda: run_search(
        config, search_template=search_t, eval_template=eval_t, cells=cells, data=data,
        run_dir=run_dir, resume=resume, progress=progress, spec_path=spec_path, force=force))


def _tournament(program, config, cells, search_t, eval_t, data, run_dir, spec_path, progress, resume=False,
                force=False, engine=None):
    from genolang.runtime.runs.rundir import RunDir
    from genolang.runtime.search.search_data import SearchResult
    from genolang.runtime.jobs.tournament import run_tournament

    name = config.tournament.pool
    if name is None or name not in program.spaces:
        raise ConfigError(f"tournament.pool must name an op space of the spec (got {name!r})",
                          hint=did_you_mean(str(name), program.spaces))
    rd = RunDir(run_dir)
    rd.begin(config, resume=resume, force=force, spec_path=spec_path)   # lock and fingerprint
    try:
        result = run_tournament(config, pool=program.spaces[name], cells=cells, search_template=search_t,
                                eval_template=eval_t, data=data, run_dir=run_dir, progress=progress, engine=engine)
    finally:
        rd.close()
    return SearchResult(result.genotype, [g.genotype for g in result.games], Path(run_dir), rd.metrics())


def retrain_template(program, config: ExperimentConfig, genotype: Genotype) -> NetworkTemplate:
    """The retraining network: the experiment's, else the one the genotype names (itself or
    in its provenance)."""
    name = (config.templates.retrain or genotype.template or dict(genotype.provenance).get("template")
            or config.templates.eval)
    return _template(program, name, "retrain")


def retrain_genotype(genotype: Genotype, program, config: ExperimentConfig, *, out: str | Path | None = "runs",
                     run_dir: str | Path | None = None, resume: bool = False, progress: bool = True,
                     test_every: int = 0, spec_path: str | Path | None = None, force: bool = False,
                     name: str | None = None):
    """Retrain ``genotype`` on the experiment's retrain network and data (``resume``: continue
    the retraining in ``run_dir``, which must exist; a changed genotype or config needs ``force``).
    A new run directory under ``out`` is called ``name`` (default ``EXPERIMENT-GENOTYPE-retrain``)."""
    from genolang.runtime.retrain.loop import run_retrain
    from genolang.runtime.runs.rundir import RunDir, new_run_dir

    if resume:
        if run_dir is None:
            raise ConfigError("resuming a retraining needs its run directory")
        RunDir.existing(run_dir, needs=("config.json",), what="retraining")
    template = retrain_template(program, config, genotype)
    check_run_memory(config, "retrain", template, genotype=genotype)
    dataset = load_data(config)
    if run_dir is None and out is not None:
        run_dir = new_run_dir(out, name or f"{config.name or 'train'}-{genotype.name}-retrain")
        fresh = run_dir
    else:
        fresh = None
    if run_dir is not None and not resume:
        RunDir(run_dir).save_spec(spec_path)
    go = lambda: _interruptible(Path(run_dir) if run_dir else Path("."), lambda: run_retrain(
        config, template=template, genotype=genotype, dataset=dataset, run_dir=run_dir, resume=resume,
        progress=progress, test_every=test_every, force=force))
    return discard_unstarted(fresh, go) if fresh is not None else go()
