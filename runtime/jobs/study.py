"""A study: N searches and their retrainings, K random genotypes retrained the same way.

::

    STUDY/
      manifest.json        the work items (written atomically; the one source of truth)
      spec.geno            the study's copy of its spec (and the files it `use`s)
      .lock                held by the `geno repeat` that runs the study
      genotypes/random_3.geno   the random genotypes (drawn when the study is created)
      runs/search_s0/      one ordinary run directory per work item
      runs/retrain_s0/
      runs/retrain_random_3/
      logs/<item>.log      what a worker process printed (--jobs > 1, --engine ray)

The manifest is engine-neutral data (:mod:`genolang.runtime.jobs.manifest`): every item names its
kind, seed, source, the items it depends on and its state, never a command: ``geno run-item
STUDY ITEM`` does any item from the manifest alone, fresh or resumed, and ``geno repeat`` runs
them on an engine (:mod:`genolang.runtime.jobs.engine`: a local pool of J processes, or Ray tasks),
which builds that command itself. A study may come from anyone: every file of it is read and
written through :mod:`genolang.base.safe_files`. Whether an
item is done is read from its run directory (its metrics end with the ``final`` record), so
a study killed at any point continues where it stopped: finished items are skipped, items
with a checkpoint are resumed by the ordinary resume machinery, others start afresh.
"""

from __future__ import annotations

import functools
import os
import time
from pathlib import Path
from typing import Any, Callable, Mapping

from genolang.base import safe_files as sf
from genolang.base.safe_locks import LockHeld, take_lock
from genolang.base.errors import ConfigError, RunError
from genolang.runtime.jobs.engine import worker_threads
from genolang.runtime.jobs.manifest import FORMAT, run_dir_of, validate_manifest

__all__ = ["FORMAT", "Study", "create_study", "item_done", "load_study", "run_item", "run_study", "worker_threads"]

MANIFEST = "manifest.json"
SPEC = "spec.geno"                  # the study's copy of its spec (and beside it the files it `use`s)
LOCK = ".lock"
# Names the study keeps for itself; a spec's own imports may not take them.
RESERVED = (MANIFEST, SPEC, LOCK, "runs", "logs", "genotypes", "report")




def _metrics(run_dir: Path) -> list[dict]:
    """The records of a run's metrics.jsonl (a torn last line, a kill's, is left out)."""
    return sf.read_jsonl(run_dir / "metrics.jsonl")


def item_done(run_dir: Path) -> bool:
    records = _metrics(run_dir)
    return bool(records) and records[-1].get("phase") == "final"


class Study:
    """A study directory and its manifest (checked data: :mod:`genolang.runtime.jobs.manifest`)."""

    def __init__(self, path: Path, manifest: dict):
        self.path = Path(path)
        self.manifest = manifest
        self._lock = None

    @property
    def items(self) -> list[dict]:
        return self.manifest["items"]

    def item(self, item_id: str) -> dict:
        for item in self.items:
            if item["id"] == item_id:
                return item
        raise ConfigError(f"no work item `{item_id}` in {self.path / MANIFEST}",
                          hint="items: " + ", ".join(i["id"] for i in self.items))

    def run_dir(self, item: dict) -> Path:
        return run_dir_of(self.path, item["id"])

    @property
    def spec(self) -> Path:
        return sf.inside(self.path, SPEC)

    def save(self) -> None:
        sf.write_json(sf.inside(self.path, MANIFEST), self.manifest)

    def lock(self) -> None:
        """Hold the study's lock while this process runs it: a second `geno repeat` of the same
        study is refused, naming the process that holds it."""
        if self._lock is not None:
            return
        try:
            self._lock = take_lock(sf.inside(self.path, LOCK))
        except LockHeld as held:
            who = f"process {held.pid}" if held.pid else "another process"
            raise ConfigError(f"{self.path} is being run by {who} (it holds {self.path / LOCK})",
                              hint="wait for it to finish, or stop it; then `geno repeat` continues the study") from None

    def unlock(self) -> None:
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def refresh(self) -> None:
        """States from the run directories: what a kill left behind is read, not trusted."""
        for item in self.items:
            run = self.run_dir(item)
            if item_done(run):
                item["state"] = "done"
            elif sf.is_regular(run / "checkpoint.pt"):
                item["state"] = "partial"
            else:                     # pending, running when killed, or failed: (re)try
                item["state"] = "pending"


def _item(item_id: str, kind: str, seed: int, group: str, threads: int, *, source: str | None = None,
          depends_on: tuple[str, ...] = ()) -> dict:
    return {"id": item_id, "kind": kind, "group": group, "seed": seed, "source": source,
            "depends_on": list(depends_on), "run_dir": f"runs/{item_id}", "threads": threads, "state": "pending"}


def _copy_spec(spec: Path, study: Path) -> None:
    """The spec, and the files it `use`s relative to itself, copied into the study: a study
    reads its spec from itself, never from a path its manifest names."""
    from genolang.compiler.genotype.standalone import local_imports

    imports = local_imports(spec)
    for _, relative in imports:
        if relative.parts[0] in RESERVED:
            raise ConfigError(f"the spec `use`s `{relative}`, a name the study directory keeps for itself",
                              hint="rename that file (reserved: " + ", ".join(RESERVED) + ")")
    sf.write_bytes(study / SPEC, spec.read_bytes(), durable=False)
    for source, relative in imports:
        target = sf.inside(study, *relative.parts)
        sf.make_dir(target.parent)
        sf.write_bytes(target, source.read_bytes(), durable=False)


def create_study(path: Path, spec: Path, *, seeds: int, random: int = 0, experiment: str | None = None,
                 overrides: Mapping[str, Any] | None = None, jobs: int = 1, label: str | None = None,
                 first_seed: int = 0) -> Study:
    """A new study directory with its manifest and random genotypes (or the existing one, when
    it was made with the same settings)."""
    from genolang.compiler.lower.program import load
    from genolang.runtime.jobs.driver import pick_experiment

    spec = Path(spec).resolve()
    overrides = dict(overrides or {})
    program = load(spec)
    name, config = pick_experiment(program, experiment)
    threads = worker_threads(jobs)
    settings = {"spec_source": str(spec), "experiment": name, "overrides": overrides,
                "seeds": list(range(first_seed, first_seed + seeds)), "random": random}
    path = Path(path)
    if os.path.lexists(path / MANIFEST):
        study = load_study(path)
        old = {k: study.manifest.get(k) for k in settings}
        if old != settings:
            changed = ", ".join(k for k in settings if old[k] != settings[k])
            raise ConfigError(f"{path} holds a study made with other settings ({changed})",
                              hint=f"continue it with `geno repeat {path}`, or give another --out")
        study.manifest.update({"jobs": jobs, "threads_per_job": threads})
        for item in study.items:
            item["threads"] = threads
        return study
    algorithm = str(config.with_overrides(**overrides).algorithm.name)
    items = []
    for seed in settings["seeds"]:
        items.append(_item(f"search_s{seed}", "search", seed, algorithm, threads))
        items.append(_item(f"retrain_s{seed}", "retrain", seed, algorithm, threads, source=f"search_s{seed}",
                           depends_on=(f"search_s{seed}",)))
    sf.make_dir(path)
    if random:
        for g in _sample(program, config, sf.make_dir(sf.inside(path, "genotypes")), first_seed, random):
            seed = int(g.stem.rsplit("_", 1)[1])
            items.append(_item(f"retrain_random_{seed}", "retrain", seed, "random", threads,
                               source=f"genotypes/{g.name}"))
    _copy_spec(spec, path)
    manifest = {"format": FORMAT, "label": label or name, "spec": SPEC, **settings, "jobs": jobs,
                "threads_per_job": threads, "created": time.time(), "items": items}
    study = Study(path, validate_manifest(manifest, path / MANIFEST))
    study.save()
    return study


def _sample(program, config, out: Path, first: int, count: int) -> list[Path]:
    """Standalone random genotype files over the experiment's cells (as `geno sample --out`)."""
    import dataclasses

    from genolang.compiler.genotype.genotext import standalone_genotype_text
    from genolang.compiler.genotype.sample import sample_genotypes

    cells = {n: program.cells[n] for n in config.templates.cells}
    spaces = {cell.space_of(node).name for cell in cells.values() for node in cell.nodes}
    template = config.templates.retrain or config.templates.eval
    paths = []
    for g in sample_genotypes(cells, first, count, space=spaces.pop() if len(spaces) == 1 else None):
        file = sf.inside(out, f"{g.name}.geno")
        sf.write_text(file, standalone_genotype_text(dataclasses.replace(g, template=template), program))
        paths.append(file)
    return paths


def load_study(path: Path) -> Study:
    path = Path(path)
    manifest = sf.inside(path, MANIFEST)
    if not os.path.lexists(manifest):
        raise ConfigError(f"{path} is not a study directory (no {MANIFEST})",
                          hint="make one with `geno repeat SPEC --seeds N --out DIR`")
    return Study(path, validate_manifest(sf.read_json(manifest), manifest))


# ----------------------------------------------------------------------------- one item


def run_item(study_path: Path, item_id: str) -> Path:
    """Do one work item, fresh or resumed, from the manifest alone; return its run directory."""
    study = load_study(study_path)
    item = study.item(item_id)
    run = study.run_dir(item)
    if item_done(run):
        _record_item(study, item, run)     # a kill may have come between the end and this note
        return run
    for dep in item["depends_on"]:
        if not item_done(study.run_dir(study.item(dep))):
            raise RunError(f"work item `{item_id}` needs `{dep}` finished first")
    import torch

    torch.set_num_threads(int(item.get("threads") or 1))
    partial = sf.is_regular(run / "checkpoint.pt") and sf.is_regular(run / "config.json")
    if os.path.lexists(run) and not partial:
        _remove_unfinished(study, run)     # started but nothing to resume from: start afresh
    overrides = {**study.manifest["overrides"], "seed": item["seed"]}
    progress = False
    if item["kind"] == "search":
        from genolang.runtime.jobs.driver import resume_search, start_search

        if partial:
            resume_search(run, progress=progress)
        else:
            result = start_search(sf.received_spec(study.path, SPEC), experiment=study.manifest["experiment"],
                                  out=sf.make_dir(sf.inside(study.path, "runs")),
                                  overrides={**overrides, "name": item_id}, progress=progress)
            if Path(result.run_dir).resolve() != run.resolve():
                raise RunError(f"search of `{item_id}` ran in {result.run_dir}, not {run}")
    else:
        from genolang.runtime.jobs.driver import retrain_genotype

        genotype, program, config, spec_file = _retrain_inputs(study, item["source"])
        config = config.with_overrides(**overrides)
        if not partial:
            sf.make_dir(sf.inside(study.path, "runs"))
            sf.make_dir(run, mark=True)
        retrain_genotype(genotype, program, config, run_dir=run, resume=partial, progress=progress,
                         spec_path=spec_file)
    _record_item(study, item, run)
    return run


def _remove_unfinished(study: Study, run: Path) -> None:
    """Delete an item's unfinished run directory, only if genolang made it and no process
    runs in it (its lock is free)."""
    from genolang.runtime.runs.rundir import RunDirError

    if sf.created_by_genolang(run) and os.path.lexists(run / ".lock"):
        try:
            take_lock(sf.inside(run, ".lock")).close()
        except LockHeld as held:
            raise RunDirError(f"{run} is in use by process {held.pid or '?'}",
                              hint="wait for it to finish, or stop it; then run the item again") from None
    sf.remove_created(run, study.path)


def _retrain_inputs(study: Study, source: str):
    """(genotype, program, config, spec file) to retrain: a search item's run directory (its
    final genotype, spec copy and resolved config), or a genotype file with the study's spec."""
    from genolang.compiler.lower.program import load
    from genolang.runtime.jobs.driver import pick_experiment
    from genolang.runtime.runs.rundir import RunDir

    if "/" not in source:                 # an item id (the manifest checked that it is one)
        run = study.run_dir(study.item(source))
        geno_file, spec_file = sf.received_spec(run, "genotype.geno"), sf.received_spec(run, "spec.geno")
        config = RunDir(run, writer=False).load_config()
        program = load(spec_file)
    else:
        geno_file, spec_file = sf.received_spec(study.path, *source.split("/")), sf.received_spec(study.path, SPEC)
        program = load(spec_file)
        config = pick_experiment(program, study.manifest["experiment"])[1]
    genotypes = load(geno_file)
    local = genotypes.local("genotype")
    if not local:
        raise sf.DamagedFileError(f"{geno_file} holds no genotype")
    return genotypes.genotypes[local[0]], program, config, spec_file


def _record_item(study: Study, item: dict, run: Path) -> None:
    """The work item beside its run (threads included), so a run directory says how it was made;
    ``placement`` is where it ran: the engine, host, threads and GPUs its worker was given."""
    if not sf.is_regular(run / "item.json"):
        import json

        from genolang.runtime.jobs.engine import PLACEMENT_ENV, placement

        given = os.environ.get(PLACEMENT_ENV)
        where = json.loads(given) if given else item.get("placement") or placement("local", item.get("threads") or 1)
        sf.write_json(sf.inside(run, "item.json"), {"study": str(study.path.resolve()), **item, "state": "done",
                                                    "placement": where})


# ----------------------------------------------------------------------------- running it on an engine


def run_study(study: Study, *, jobs: int = 1, engine=None, retries: int | None = None,
              echo: Callable[[str], None] = print) -> list[dict]:
    """Run every unfinished item on ``engine`` (default: the local one with ``jobs`` workers),
    each once its dependencies are done; return the items that failed.

    An item is done only when its run directory says so (:func:`item_done`), whatever the
    engine reported; a failed item is retried (``retries``, the engine's default when None)
    and resumes its partial run. On Ctrl-C the engine cancels what is queued or running and
    the manifest is re-read from the run directories, so a rerun does the rest."""
    from genolang.runtime.jobs.engines import engine_for

    engine = engine or engine_for("local", jobs=jobs)
    study.lock()
    try:
        return _run_study(study, engine, retries, echo)
    finally:
        study.unlock()


def _run_study(study: Study, engine, retries: int | None, echo: Callable[[str], None]) -> list[dict]:
    from genolang.runtime.jobs.engine import ItemRef, Work, run_all

    study.refresh()
    for item in study.items:
        item["threads"] = engine.threads
        if item["state"] == "done":     # a kill may have come between its end and its note
            _record_item(study, item, study.run_dir(item))
    study.manifest.update({"jobs": getattr(engine, "jobs", 1), "threads_per_job": engine.threads,
                           "engine": engine.settings()})
    study.save()
    todo = [i for i in study.items if i["state"] != "done"]
    skipped = len(study.items) - len(todo)
    if skipped:
        echo(f"{skipped} of {len(study.items)} items already done")
    logs = sf.make_dir(sf.inside(study.path, "logs"))
    here = study.path.resolve()
    works = [Work(i["id"], item=ItemRef(here, i["id"]), call=functools.partial(run_item, study.path, i["id"]),
                  log=sf.inside(logs.resolve(), f"{i['id']}.log")) for i in todo]

    def start(work) -> None:
        item = study.item(work.key)
        item.update(state="running", started=time.time(), attempts=item.get("attempts", 0) + 1)
        study.save()

    def check(outcome) -> str | None:
        return None if item_done(study.run_dir(study.item(outcome.key))) else "its run directory is not complete"

    def finish(outcome, retrying: bool) -> None:
        item = study.item(outcome.key)
        item["finished"] = time.time()
        item["wall_s"] = round(item["finished"] - (item.get("started") or item["finished"]), 2)
        if outcome.cpu_s is not None:
            item["cpu_s"] = round((item.get("cpu_s") or 0.0) + outcome.cpu_s, 2)   # a retry adds its own
        if outcome.placement:
            item["placement"] = outcome.placement
        item["state"] = "done" if outcome.ok else "pending" if retrying else "failed"
        study.save()
        done = sum(i["state"] == "done" for i in study.items)
        if outcome.ok:
            echo(f"[{done}/{len(study.items)}] {item['id']} done in {item['wall_s']:.1f} s")
        elif not retrying:
            log = study.path / "logs" / f"{item['id']}.log"
            echo(f"[{done}/{len(study.items)}] {item['id']} FAILED ({outcome.why})"
                 + (f"; see {log}" if sf.is_regular(log) and log.stat().st_size else ""))

    try:
        waiting = {i["id"] for i in todo}     # dependencies done before this run need no waiting for
        run_all(engine, works, depends_on={i["id"]: [d for d in i["depends_on"] if d in waiting] for i in todo},
                retries=retries,
                on_start=start, check=check, on_finish=finish, echo=echo)
    except BaseException:
        study.refresh()
        study.save()
        raise
    return [i for i in study.items if i["state"] == "failed"]
