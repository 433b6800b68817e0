"""Tournament search over a dynamic operation pool (Algorithm 2, §4.5).

Tier T (the bottom) holds 2^{T-1} independent games; each game gives every *edge set* a
random sample of O_max ops from the pool and runs a full ICDARTS search from scratch. A game
keeps the top half of each edge set's ops, ranked by learned α; the two feeder games of a
game in the tier above are merged (set union). Tier 1 is a single game whose discretised α
is the final genotype. With T = 3: 4 → 2 → 1 games, 7 searches (ambiguity A13).

Edge-set granularity (A14): ``node`` (default) gives one candidate list per (cell type,
node), shared by the node's incoming edges, so every selection rule works unchanged; ``cell``
gives one list per cell type. An op's score is the mean, over the set's incoming edges, of
its relaxed weight (per-edge softmax for DARTS cells, node-level for I-DARTS/XDARTS); the
special op of the zero configuration is never ranked or kept by the tournament itself.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import random
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

import torch

from genolang.compiler.lower.experiment import ExperimentConfig
from genolang.compiler.lower.ir import CellSpec, Genotype, NetworkTemplate, OpSpace
from genolang.base.errors import ConfigError

__all__ = ["EdgeSets", "Game", "GameSetup", "TournamentResult", "initial_sets", "merge_sets", "rank_sets",
           "cells_with", "play_game", "run_tournament"]

# (cell type, node) -> op labels; with "cell" granularity node is "*".
EdgeSets = dict[tuple[str, str], tuple[str, ...]]


@dataclass
class Game:
    tier: int
    index: int
    candidates: EdgeSets
    kept: EdgeSets | None = None
    genotype: Genotype | None = None
    run_dir: Path | None = None


@dataclass
class TournamentResult:
    genotype: Genotype
    games: list[Game] = field(default_factory=list)


def _keys(cells: Mapping[str, CellSpec], granularity: str) -> list[tuple[str, str]]:
    if granularity == "node":
        return [(name, node) for name, cell in cells.items() for node in cell.nodes]
    if granularity == "cell":
        return [(name, "*") for name in cells]
    raise ConfigError(f"tournament granularity `{granularity}` is not supported",
                      hint="candidate lists live on cell nodes: use `node` or `cell`")


def initial_sets(cells: Mapping[str, CellSpec], pool: OpSpace, o_max: int, rng: random.Random,
                 granularity: str = "node") -> EdgeSets:
    """A random sample (without replacement) of ``o_max`` pool ops for every edge set, in pool order."""
    labels = pool.labels
    k = min(o_max, len(labels))
    out: EdgeSets = {}
    for key in _keys(cells, granularity):
        chosen = set(rng.sample(labels, k))
        out[key] = tuple(label for label in labels if label in chosen)
    return out


def merge_sets(a: EdgeSets, b: EdgeSets, pool: OpSpace) -> EdgeSets:
    """Set union per edge set, in pool order (duplicates collapse)."""
    order = {label: i for i, label in enumerate(pool.labels)}
    return {key: tuple(sorted(set(a[key]) | set(b[key]), key=order.__getitem__)) for key in a}


def cells_with(cells: Mapping[str, CellSpec], sets: EdgeSets, pool: OpSpace, tag: str) -> dict[str, CellSpec]:
    """The search cells with each node's candidates replaced by its edge set's ops."""
    out = {}
    for name, cell in cells.items():
        candidates = []
        for node in cell.nodes:
            labels = sets.get((name, node)) or sets[(name, "*")]
            ops = tuple((label, pool.impl(label)) for label in labels)
            candidates.append((node, OpSpace(f"{pool.name}.{tag}.{name}.{node}", ops)))
        out[name] = dataclasses.replace(cell, candidates=tuple(candidates))
    return out


def rank_sets(search_net, cells: Mapping[str, CellSpec], sets: EdgeSets) -> EdgeSets:
    """Keep the top ⌈n/2⌉ ops of every edge set by mean relaxed weight over its edges."""
    from genolang.compiler.build.ops import candidate_ops
    from genolang.compiler.build.supernet import relax

    scores: dict[tuple[str, str], dict[str, list[float]]] = {key: {} for key in sets}
    with torch.no_grad():
        for name, cell in cells.items():
            alphas = search_net.alpha(name)
            for node in cell.nodes:
                key = (name, node) if (name, node) in sets else (name, "*")
                weights = relax(cell, alphas[node]).mean(dim=0)     # mean over incoming edges
                labels = [label for label, _ in candidate_ops(cell, node)]
                for label, w in zip(labels, weights.tolist()):
                    if label in sets[key]:
                        scores[key].setdefault(label, []).append(w)
    kept: EdgeSets = {}
    for key, labels in sets.items():
        mean = {label: sum(v) / len(v) for label, v in scores[key].items()}
        keep = math.ceil(len(labels) / 2)
        best = sorted(labels, key=lambda label: -mean.get(label, float("-inf")))[:keep]
        kept[key] = tuple(label for label in labels if label in best)
    return kept


@dataclass(frozen=True)
class GameSetup:
    """What every game of a tournament shares; ``data`` is an engine's :class:`Shared` copy."""
    config: ExperimentConfig
    cells: Mapping[str, CellSpec]
    pool: OpSpace
    search_template: NetworkTemplate
    eval_template: NetworkTemplate
    data: object
    run_root: Path | None
    progress: bool = False


def play_game(setup: GameSetup, tier: int, index: int, candidates: EdgeSets) -> tuple[Genotype, EdgeSets, Path | None]:
    """One game: a search from scratch over ``candidates`` in ``run_root/t<tier>g<index>``
    (resumed from its checkpoint when a previous attempt left one); (genotype, kept ops, run
    directory). A function of its arguments alone, so that any engine's worker can play it."""
    from genolang.runtime.runs.rundir import RunDir
    from genolang.runtime.search.loop import CyclicSearch
    from genolang.runtime.runs.progress import Progress

    config, run_root = setup.config, setup.run_root
    tag = f"t{tier}g{index}"
    game_cells = cells_with(setup.cells, candidates, setup.pool, tag)
    run_dir = RunDir(run_root / tag) if run_root is not None else None
    if run_dir is not None:
        run_dir.save_config(config)
        run_dir.save_spec(run_root / "spec.geno")   # the game's genotype files carry its definitions
    total = config.search.pretrain_epochs + config.search.epochs
    search = CyclicSearch(config.with_overrides(seed=config.seed + 1000 * tier + index),
                          search_template=setup.search_template, eval_template=setup.eval_template,
                          cells=game_cells, data=setup.data.get(), run_dir=run_dir,
                          progress=Progress(total, enabled=setup.progress,
                                            pretrain_epochs=config.search.pretrain_epochs))
    if run_dir is not None and run_dir.checkpoint_path.exists():
        search.resume_from(run_dir.checkpoint_path)      # a finished or interrupted game
    with search.progress:
        result = search.run()
    return result.genotype, rank_sets(search.search_net, game_cells, candidates), run_dir.path if run_dir else None


def _play_tier(engine, setup: GameSetup, games: list[Game]) -> None:
    """A tier's games, which are independent searches, all at once on ``engine``."""
    from genolang.base.errors import GenolangError, RunError
    from genolang.runtime.jobs.engine import Work, run_all

    works = [Work(f"t{g.tier}g{g.index}", call=functools.partial(play_game, setup, g.tier, g.index, g.candidates))
             for g in games]
    outcomes = run_all(engine, works, echo=lambda line: print(line, file=sys.stderr))
    for game, work in zip(games, works):
        outcome = outcomes[work.key]
        if not outcome.ok:
            if isinstance(outcome.error, (GenolangError, KeyboardInterrupt)):
                raise outcome.error          # a diverged game keeps its exit code; Ctrl-C stays Ctrl-C
            raise RunError(f"tournament game {work.key} failed: {outcome.why}",
                           hint="run the search again with --resume: finished games are kept, "
                                "interrupted ones resume")
        game.genotype, game.kept, game.run_dir = outcome.value


def run_tournament(config: ExperimentConfig, *, pool: OpSpace, cells: Mapping[str, CellSpec],
                   search_template: NetworkTemplate, eval_template: NetworkTemplate, data,
                   run_dir: str | Path | None = None, progress: bool = True, engine=None) -> TournamentResult:
    """Algorithm 2. ``cells`` give topology, selection rule and zero configuration; their
    candidate lists are replaced by the tournament's. Each game runs in ``run_dir/t<tier>g<r>``
    (rerunning resumes finished and interrupted games from their checkpoints). A tier's games
    run on ``engine`` (default: one after another in this process; :mod:`genolang.runtime.
    ray_engine`: all at once, as Ray tasks); every engine gives the same genotypes."""
    t = config.tournament
    if t is None:
        raise ConfigError("the experiment has no `tournament` settings")
    rng = random.Random(config.seed)
    # genotypes name their ops by pool label, so the pool is their space
    config = config.with_overrides(**{"templates.space": pool.name})
    root = Path(run_dir) if run_dir is not None else None
    if engine is None:
        from genolang.runtime.jobs.local_engine import LocalEngine

        engine = LocalEngine(1)
    setup = GameSetup(config, dict(cells), pool, search_template, eval_template, engine.share(data),
                      root.resolve() if root is not None else None, progress=progress and engine.name == "local")
    games: list[Game] = []
    tier_games = [Game(t.tiers, r, initial_sets(cells, pool, t.o_max, rng, t.granularity))
                  for r in range(2 ** (t.tiers - 1))]
    for tier in range(t.tiers, 0, -1):
        if tier < t.tiers:
            tier_games = [Game(tier, r, merge_sets(tier_games[2 * r].kept, tier_games[2 * r + 1].kept, pool))
                          for r in range(len(tier_games) // 2)]
        _play_tier(engine, setup, tier_games)
        games.extend(tier_games)
    final = tier_games[0].genotype
    if root is not None:
        summary = [{"tier": g.tier, "game": g.index,
                    "candidates": {f"{c}.{n}": list(v) for (c, n), v in g.candidates.items()},
                    "kept": {f"{c}.{n}": list(v) for (c, n), v in (g.kept or {}).items()}} for g in games]
        from genolang.base.safe_files import inside, write_json

        write_json(inside(root, "tournament.json"), summary, indent=1, durable=False)
        from genolang.runtime.runs.rundir import RunDir
        RunDir(root).save_genotype(final)
    return TournamentResult(final, games)
