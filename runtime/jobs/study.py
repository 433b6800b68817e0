"""A study: N searches and their retrainings, K random genotypes retrained the same way.

::

    STUDY/
      manifest.json        the work items (written atomically; the one source of truth)
      genotypes/random_3.geno   the random genotypes (drawn when the study is created)
      runs/search_s0/      one ordinary run directory per work item
      runs/retrain_s0/
      runs/retrain_random_3/
      logs/<item>.log      what a worker process printed (--jobs > 1, --engine ray)

The manifest is engine-neutral: every item names its kind, seed, run directory, the items it
depends on, and a command (``geno run-item . ITEM``, run in the study directory) that does
the item from the manifest alone, fresh or resumed. ``geno repeat`` runs them on an engine
(:mod:`genolang.runtime.jobs.engine`: a local pool of J processes, or Ray tasks); any other engine
can run the same commands in dependency order. Whether an
item is done is read from its run directory (its metrics end with the ``final`` record), so
a study killed at any point continues where it stopped: finished items are skipped, items
with a checkpoint are resumed by the ordinary resume machinery, others start afresh.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any, Callable, Mapping

from genolang.base.errors import ConfigError, RunError
from genolang.runtime.jobs.engine import worker_threads

__all__ = ["FORMAT", "Study", "create_study", "item_done", "load_study", "run_item", "run_study", "worker_threads"]

FORMAT = "genolang-study/1"
MANIFEST = "manifest.json"


def _write_atomic(path: Path, data: Mapping[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _metrics(run_dir: Path) -> list[dict]:
    path = run_dir / "metrics.jsonl"
    if not path.exists():
        return []
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:   # a line cut by a kill: the run is not finished
            return records
    return records


def item_done(run_dir: Path) -> bool:
    records = _metrics(run_dir)
    return bool(records) and records[-1].get("phase") == "final"


class Study:
    """A study directory and its manifest."""

    def __init__(self, path: Path, manifest: dict):
        self.path = Path(path)
        self.manifest = manifest

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
        return self.path / item["run_dir"]

    def save(self) -> None:
        _write_atomic(self.path / MANIFEST, self.manifest)

    def refresh(self) -> None:
        """States from the run directories: what a kill left behind is read, not trusted."""
        for item in self.items:
            run = self.run_dir(item)
            if item_done(run):
                item["state"] = "done"
            elif (run / "checkpoint.pt").exists():
                item["state"] = "partial"
            else:                     # pending, running when killed, or failed: (re)try
                item["state"] = "pending"


def _item(item_id: str, kind: str, seed: int, group: str, threads: int, *, source: str | None = None,
          depends_on: tuple[str, ...] = ()) -> dict:
    return {"id": item_id, "kind": kind, "group": group, "seed": seed, "source": source,
            "depends_on": list(depends_on), "run_dir": f"runs/{item_id}",
            "command": ["geno", "run-item", ".", item_id], "cwd": ".", "threads": threads, "state": "pending"}


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
    settings = {"spec": str(spec), "experiment": name, "overrides": overrides,
                "seeds": list(range(first_seed, first_seed + seeds)), "random": random}
    path = Path(path)
    if (path / MANIFEST).exists():
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
    if random:
        for g in _sample(program, config, path / "genotypes", first_seed, random):
            seed = int(g.stem.rsplit("_", 1)[1])
            items.append(_item(f"retrain_random_{seed}", "retrain", seed, "random", threads,
                               source=f"genotypes/{g.name}"))
    manifest = {"format": FORMAT, "label": label or name, **settings, "jobs": jobs, "threads_per_job": threads,
                "created": time.time(), "items": items}
    path.mkdir(parents=True, exist_ok=True)
    study = Study(path, manifest)
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
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for g in sample_genotypes(cells, first, count, space=spaces.pop() if len(spaces) == 1 else None):
        file = out / f"{g.name}.geno"
        file.write_text(standalone_genotype_text(dataclasses.replace(g, template=template), program), encoding="utf-8")
        paths.append(file)
    return paths


def load_study(path: Path) -> Study:
    path = Path(path)
    try:
        manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path} is not a study directory (no {MANIFEST})",
                          hint="make one with `geno repeat SPEC --seeds N --out DIR`") from None
    if manifest.get("format") != FORMAT:
        raise ConfigError(f"{path / MANIFEST} is not a {FORMAT} manifest")
    return Study(path, manifest)


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
    partial = (run / "checkpoint.pt").exists() and (run / "config.json").exists()
    if run.exists() and not partial:
        shutil.rmtree(run)          # started but nothing to resume from: start afresh
    overrides = {**study.manifest["overrides"], "seed": item["seed"]}
    progress = False
    if item["kind"] == "search":
        from genolang.runtime.jobs.driver import resume_search, start_search

        if partial:
            resume_search(run, progress=progress)
        else:
            result = start_search(study.manifest["spec"], experiment=study.manifest["experiment"], out=run.parent,
                                  overrides={**overrides, "name": item_id}, progress=progress)
            if Path(result.run_dir).resolve() != run.resolve():
                raise RunError(f"search of `{item_id}` ran in {result.run_dir}, not {run}")
    elif item["kind"] == "retrain":
        from genolang.runtime.jobs.driver import retrain_genotype

        genotype, program, config, spec_file = _retrain_inputs(study, item["source"])
        config = config.with_overrides(**overrides)
        retrain_genotype(genotype, program, config, run_dir=run, resume=partial, progress=progress,
                         spec_path=spec_file)
    else:
        raise ConfigError(f"unknown work item kind `{item['kind']}`")
    _record_item(study, item, run)
    return run


def _retrain_inputs(study: Study, source: str):
    """(genotype, program, config, spec file) to retrain: a search item's run directory (its
    final genotype, spec copy and resolved config), or a genotype file with the study's spec."""
    from genolang.compiler.lower.experiment import ExperimentConfig
    from genolang.compiler.lower.program import load
    from genolang.runtime.jobs.driver import pick_experiment

    if source in {i["id"] for i in study.items}:
        run = study.run_dir(study.item(source))
        geno_file, spec_file = run / "genotype.geno", run / "spec.geno"
        config = ExperimentConfig.model_validate(json.loads((run / "config.json").read_text(encoding="utf-8")))
        program = load(spec_file)
    else:
        geno_file, spec_file = study.path / source, Path(study.manifest["spec"])
        program = load(spec_file)
        config = pick_experiment(program, study.manifest["experiment"])[1]
    genotypes = load(geno_file)
    return genotypes.genotypes[genotypes.local("genotype")[0]], program, config, spec_file


def _record_item(study: Study, item: dict, run: Path) -> None:
    """The work item beside its run (threads included), so a run directory says how it was made;
    ``placement`` is where it ran: the engine, host, threads and GPUs its worker was given."""
    if not (run / "item.json").exists():
        from genolang.runtime.jobs.engine import PLACEMENT_ENV, placement

        given = os.environ.get(PLACEMENT_ENV)
        where = json.loads(given) if given else item.get("placement") or placement("local", item.get("threads") or 1)
        _write_atomic(run / "item.json", {"study": str(study.path.resolve()), **item, "state": "done",
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
    from genolang.runtime.jobs.engine import Work, run_all
    from genolang.runtime.jobs.engines import engine_for

    engine = engine or engine_for("local", jobs=jobs)
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
    (study.path / "logs").mkdir(exist_ok=True)
    works = [Work(i["id"], command=tuple(i["command"]), cwd=(study.path / i.get("cwd", ".")).resolve(),
                  call=functools.partial(run_item, study.path, i["id"]),
                  log=(study.path / "logs" / f"{i['id']}.log").resolve()) for i in todo]

    def start(work) -> None:
        item = study.item(work.key)
        item.update(state="running", started=time.time(), attempts=item.get("attempts", 0) + 1)
        study.save()

    def check(outcome) -> str | None:
        return None if item_done(study.run_dir(study.item(outcome.key))) else "its run directory is not complete"

    def finish(outcome, retrying: bool) -> None:
        item = study.item(outcome.key)
        item["finished"] = time.time()
        item["wall_s"] = round(item["finished"] - item.get("started", item["finished"]), 2)
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
                 + (f"; see {log}" if log.exists() and log.stat().st_size else ""))

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
