"""`geno report`: a Markdown page and PNG figures from run and study directories.

What it shows follows the dissertation (Herron 2023): mean (std) of final-epoch metrics with
rows = configuration and columns = Random / CDARTS / ICDARTS, latency beside accuracy
(Tables 3.2, 4.5, 4.7); the number of distinct genotypes by architecture hash; operation
frequencies counted over the full retraining network and cell-depth frequencies (Figures
3.5-3.8); E's test accuracy per search epoch across seeds with a 95 % band (Figure 3.2); α
heat maps and trajectories from the per-epoch softmax(α) in metrics.jsonl.

Reads only the files a run leaves behind (metrics.jsonl, config.json, genotype.geno,
spec.geno, a study's manifest.json), through :mod:`genolang.base.safe_files`: the directories may
come from anyone, so damage is an error naming the file, and every name they hold is escaped
on the page and in the figures (:mod:`genolang.runtime.report.text`). No torch. matplotlib
(the ``report`` extra) draws.
"""

from __future__ import annotations

import math
import os
import statistics
import zlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from genolang.base import safe_files as sf
from genolang.base.errors import ConfigError
from genolang.runtime.report.text import alpha_signature, check_alpha, md, md_code, number

__all__ = ["Run", "collect_runs", "summary_rows", "write_report", "GROUP_ORDER"]

GROUP_ORDER = ("random", "cdarts", "icdarts")
GROUP_TITLE = {"random": "Random", "cdarts": "CDARTS", "icdarts": "ICDARTS"}


@dataclass
class Run:
    path: Path
    kind: str                 # "search" | "retrain"
    label: str                # the configuration (a table row)
    group: str                # random | cdarts | icdarts | ... (a table column)
    seed: int | None
    metrics: list[dict] = field(default_factory=list)
    config: dict = field(default_factory=dict)
    cpu_s: float | None = None  # CPU seconds of its study item (user + system), where recorded

    @property
    def final(self) -> dict:
        finals = [r for r in self.metrics if r.get("phase") == "final"]
        return finals[-1] if finals else {}

    def epochs(self) -> list[dict]:
        return [r for r in self.metrics if r.get("phase") == "search"]


def _title(group: str) -> str:
    return GROUP_TITLE.get(group, group.upper())


def _read_metrics(path: Path) -> list[dict]:
    from genolang.runtime.jobs.study import _metrics

    return _metrics(path)


def _provenance_algorithm(run: Path) -> str | None:
    from genolang.base.limits import MAX_FILE_BYTES

    genotype = sf.inside(run, "genotype.geno")
    if not os.path.lexists(genotype):
        return None
    for line in sf.read_text(genotype, limit=MAX_FILE_BYTES).splitlines():
        line = line.strip()
        if line.startswith("algorithm = "):
            return line.split("=", 1)[1].strip().strip('"')
    return None


def _text(value) -> str | None:
    return value if isinstance(value, str) and value else None


def _plain_run(path: Path, label: str | None = None) -> Run:
    config = sf.read_json(sf.inside(path, "config.json"), missing_ok=True) or {}
    metrics = _read_metrics(path)
    kind = "search" if any(r.get("phase") == "search" for r in metrics) else "retrain"
    algorithm = config.get("algorithm") if isinstance(config.get("algorithm"), dict) else {}
    group = _provenance_algorithm(path) or _text(algorithm.get("name")) or "icdarts"
    if label is None and os.path.lexists(sf.inside(path, "item.json")):   # a study's run, without its manifest
        item = sf.read_json(sf.inside(path, "item.json"))
        study = path.parent.parent      # STUDY/runs/ITEM: the manifest is read there, never where item.json says
        if path.parent.name == "runs" and os.path.lexists(study / "manifest.json"):
            from genolang.runtime.jobs.study import load_study

            label = load_study(study).manifest["label"]
        group = _text(item.get("group")) or group
    seed = config.get("seed") if isinstance(config.get("seed"), int) else None
    return Run(path, kind, label or _text(config.get("name")) or path.name, group, seed, metrics, config)


def collect_runs(dirs: list[Path]) -> list[Run]:
    """Every finished run in the given study directories, run directories (a search run with
    the retrainings beside it, :mod:`.links`), or folders of them; each once."""
    from genolang.runtime.jobs.study import MANIFEST, item_done, load_study
    from genolang.runtime.report.links import retrainings_of

    runs: list[Run] = []
    for d in dirs:
        d = Path(d)
        if os.path.lexists(d / MANIFEST):
            study = load_study(d)
            for item in study.items:
                path = study.run_dir(item)
                if item_done(path):
                    run = _plain_run(path, study.manifest.get("label"))
                    run.kind, run.group, run.seed = item["kind"], item["group"], item["seed"]
                    run.cpu_s = item.get("cpu_s")
                    runs.append(run)
        elif os.path.lexists(d / "metrics.jsonl"):
            if item_done(d):
                runs.append(_plain_run(d))
                if runs[-1].kind == "search":
                    runs.extend(_plain_run(r) for r in retrainings_of(d) if item_done(r))
        elif d.is_dir():
            inner = sorted(p for p in d.iterdir() if p.is_dir() and not p.is_symlink())
            if not inner:
                raise ConfigError(f"{d} holds no run or study directory")
            runs.extend(collect_runs(inner))
        else:
            raise ConfigError(f"{d} is not a run or study directory", hint="give folders `geno repeat` or `geno search` made")
    once = {r.path.resolve(): r for r in reversed(runs)}
    return [r for r in runs if once[r.path.resolve()] is r]


# ----------------------------------------------------------------------------- numbers


def mean_std(values: list[float]) -> tuple[float, float, int]:
    n = len(values)
    if n == 0:
        return math.nan, math.nan, 0
    return statistics.fmean(values), (statistics.stdev(values) if n > 1 else 0.0), n


def _cell(values: list[float], digits: int) -> str:
    m, s, n = mean_std(values)
    if n <= 1:      # one run has no spread to show
        return "–" if n == 0 else f"{m:.{digits}f} (n = 1)"
    return f"{m:.{digits}f} ({s:.{digits}f})"


def _labels(runs: list[Run]) -> list[str]:
    return list(dict.fromkeys(r.label for r in runs))


def _groups(runs: list[Run]) -> list[str]:
    present = {r.group for r in runs}
    return [g for g in GROUP_ORDER if g in present] + sorted(present - set(GROUP_ORDER))


def summary_rows(runs: list[Run]) -> dict[tuple[str, str], dict[str, list[float]]]:
    """(label, group) → final retraining accuracy (%) and latency (ms/batch) of each run."""
    table: dict[tuple[str, str], dict[str, list[float]]] = defaultdict(lambda: {"acc": [], "latency": []})
    for r in runs:
        if r.kind != "retrain":
            continue
        acc, lat = number(r.final.get("acc_test")), number(r.final.get("latency_s_per_batch"))
        if acc is not None:
            table[(r.label, r.group)]["acc"].append(100 * acc)
        if lat is not None:
            table[(r.label, r.group)]["latency"].append(1000 * lat)
    return table


def _genotype_def(run: Path):
    from genolang.grammar import parse_file
    from genolang.grammar import syntax as S

    if not os.path.lexists(run / "genotype.geno"):
        return None
    path = sf.received_spec(run, "genotype.geno")
    return next((i for i in parse_file(path).items if isinstance(i, S.GenotypeDef)), None)


def _slot_counts(run: Run, cache: dict) -> dict[str, int]:
    """How often each cell type occurs in the run's retraining network (1 each if unknown)."""
    from genolang.base.limits import MAX_FILE_BYTES

    spec = sf.inside(run.path, "spec.geno")
    templates = run.config.get("templates") if isinstance(run.config.get("templates"), dict) else {}
    template = _text(templates.get("retrain")) or _text(templates.get("eval"))
    key = (sf.read_text(spec, limit=MAX_FILE_BYTES) if os.path.lexists(spec) else "", template)
    if key not in cache:
        counts: dict[str, int] = {}
        try:
            from genolang.compiler.lower.program import load

            net = load(sf.received_spec(run.path, "spec.geno")).templates[template]
            counts = dict(Counter(s.cell for s in net.slots if s.cell))
        except Exception:  # a run without its spec: count every cell once
            counts = {}
        cache[key] = counts
    return cache[key]


@dataclass
class GenotypeStats:
    hashes: list[str] = field(default_factory=list)
    ops: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))     # cell kind -> op counts
    depths: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))  # cell kind -> depth counts


def genotype_stats(runs: list[Run]) -> dict[tuple[str, str], GenotypeStats]:
    """Per (label, group): hashes, full-network op counts and depths of the retrained genotypes."""
    from genolang.compiler.genotype.hash import cell_depth, cell_shape, genotype_hash
    from genolang.grammar import syntax as S

    out: dict[tuple[str, str], GenotypeStats] = defaultdict(GenotypeStats)
    cache: dict = {}
    for r in runs:
        if r.kind != "retrain":
            continue
        g = _genotype_def(r.path)
        if g is None:
            continue
        stats = out[(r.label, r.group)]
        stats.hashes.append(genotype_hash(g))
        slots = _slot_counts(r, cache)
        for cell in (c for c in g.body if isinstance(c, S.GenoCellDef)):
            shape = cell_shape(cell)
            kind = "reduction" if shape.reduction else "normal"
            times = slots.get(cell.name.split(".")[-1], 1)
            for _, edges in shape.nodes:
                for op, _src in edges:
                    stats.ops[kind][op] += times
            stats.depths[kind][cell_depth(shape)] += 1
    return out


def _t95(n: int) -> float:
    try:
        from scipy.stats import t

        return float(t.ppf(0.975, n - 1))
    except Exception:  # scipy missing: the normal quantile
        return 1.96


def band(series: list[list[float]], bounds: tuple[float, float] = (0.0, 100.0)) -> tuple[list[float], list[float], list[float]]:
    """Mean and 95 % t-interval per epoch over runs (epochs some runs lack are left out), clipped
    to the metric's range ``bounds`` (accuracy in %)."""
    length = min(len(s) for s in series)
    mean, low, high = [], [], []
    for e in range(length):
        values = [s[e] for s in series]
        m, sd, n = mean_std(values)
        half = _t95(n) * sd / math.sqrt(n) if n > 1 else 0.0
        mean.append(m)
        low.append(max(m - half, bounds[0]))
        high.append(min(m + half, bounds[1]))
    return mean, low, high


# ----------------------------------------------------------------------------- the page


def _markdown_tables(runs: list[Run]) -> list[str]:
    labels, groups = _labels(runs), _groups(runs)
    table = summary_rows(runs)
    lines = ["## Final-epoch retraining metrics, mean (std) over runs", "",
             "| configuration | " + " | ".join(f"{_title(g)} acc (%) | {_title(g)} latency (ms)" for g in groups) + " |",
             "|---|" + "---|---|" * len(groups)]
    for label in labels:
        cells = []
        for g in groups:
            row = table.get((label, g), {"acc": [], "latency": []})
            cells += [_cell(row["acc"], 2), _cell(row["latency"], 2)]
        lines.append(f"| {md(label)} | " + " | ".join(cells) + " |")
    stats = genotype_stats(runs)
    lines += ["", "## Runs and distinct genotypes (by architecture hash)", "",
              "| configuration | " + " | ".join(f"{_title(g)} retrained | {_title(g)} distinct" for g in groups) + " |",
              "|---|" + "---|---|" * len(groups)]
    for label in labels:
        cells = []
        for g in groups:
            hashes = stats[(label, g)].hashes if (label, g) in stats else []
            cells += [str(len(hashes)), str(len(set(hashes)))]
        lines.append(f"| {md(label)} | " + " | ".join(cells) + " |")
    searches = [r for r in runs if r.kind == "search"]
    if searches:
        search_groups = _groups(searches)
        lines += ["", "## Search: E's final test accuracy (%), mean (std) over seeds", "",
                  "| configuration | " + " | ".join(_title(g) for g in search_groups) + " |",
                  "|---|" + "---|" * len(search_groups)]
        for label in _labels(searches):
            cells = []
            for g in search_groups:
                values = [100 * number(r.epochs()[-1].get("acc_E_test")) for r in searches
                          if r.label == label and r.group == g and r.epochs()
                          and number(r.epochs()[-1].get("acc_E_test")) is not None]
                cells.append(_cell(values, 2))
            lines.append(f"| {md(label)} | " + " | ".join(cells) + " |")
    return lines


def _work_table(dirs: list[Path]) -> list[str]:
    """Per study: items done and wall time (first start to last finish, and the items' sum)."""
    from genolang.runtime.jobs.study import MANIFEST, load_study

    studies = [Path(d) for d in dirs if os.path.lexists(Path(d) / MANIFEST)]
    if not studies:
        return []
    lines = ["", "## Studies", "", "| study | label | items done | wall time (min) | sum of item times (min) | threads per job |",
             "|---|---|---|---|---|---|"]
    for d in studies:
        m = load_study(d).manifest
        items = m["items"]
        started = [i["started"] for i in items if i.get("started") is not None]
        finished = [i["finished"] for i in items if i.get("finished") is not None]
        wall = (max(finished) - min(started)) / 60 if started and finished else math.nan
        total = sum(i.get("wall_s") or 0.0 for i in items) / 60
        done = sum(i["state"] == "done" for i in items)
        lines.append(f"| {md_code(d)} | {md(m.get('label'))} | {done} of {len(items)} | {wall:.1f} | {total:.1f} | "
                     f"{m.get('threads_per_job')} |")
    return lines


def _slug(text: str) -> str:
    slug = "".join(c if c.isascii() and c.isalnum() else "_" for c in text).strip("_").lower()[:60] or "x"
    return slug if slug == text.lower() else f"{slug}_{zlib.crc32(text.encode('utf-8', 'replace')):08x}"


def write_report(dirs: list[Path], out: Path, *, title: str = "genolang report") -> Path:
    """Write ``out/report.md`` and its figures; return the Markdown file."""
    runs = collect_runs(dirs)
    if not runs:
        raise ConfigError("no finished runs in " + ", ".join(str(d) for d in dirs),
                          hint="a run counts once its metrics.jsonl ends with the final record")
    from genolang.runtime.report import figures as figs

    if not out.is_dir():
        sf.make_dir(out)
    lines = [f"# {md(title)}", "", f"{len(runs)} finished runs from: " + ", ".join(md_code(d) for d in dirs), ""]
    lines += _markdown_tables(runs)
    from genolang.runtime.report.bench import benchmark_sections

    lines += benchmark_sections(runs)
    lines += _work_table(dirs)
    lines += ["", "## Figures", ""]
    stats = genotype_stats(runs)
    for label in _labels(runs):
        groups = [g for g in _groups(runs) if (label, g) in stats]
        if groups:
            name = f"ops_{_slug(label)}.png"
            figs.op_frequencies(sf.inside(out, name), label, {_title(g): stats[(label, g)].ops for g in groups})
            lines += [f"![operation frequencies, {md(label)}]({name})", ""]
            name = f"depth_{_slug(label)}.png"
            figs.depths(sf.inside(out, name), label, {_title(g): stats[(label, g)].depths for g in groups})
            lines += [f"![cell depths, {md(label)}]({name})", ""]
        searches = [r for r in runs if r.kind == "search" and r.label == label]
        curves = {}
        for g in _groups(searches):
            series = [[100 * number(e.get("acc_E_test")) for e in r.epochs() if number(e.get("acc_E_test")) is not None]
                      for r in searches if r.group == g]
            series = [s for s in series if s]
            if series:
                curves[_title(g)] = (band(series), len(series))
        if curves:
            name = f"e_test_{_slug(label)}.png"
            figs.accuracy_bands(sf.inside(out, name), label, curves)
            lines += [f"![E's test accuracy per search epoch, {md(label)}]({name})", ""]
        for g in _groups(searches):
            alphas = [a for a in (_alphas(r) for r in searches if r.group == g) if a]
            if not alphas:
                continue
            if len({alpha_signature(a[0]) for a in alphas}) > 1:
                raise ConfigError(f"the search runs of {label!r} ({_title(g)}) differ in cells, edges or ops",
                                  hint="report runs of one search space together")
            name = f"alpha_{_slug(label)}_{_slug(g)}.png"
            figs.alpha_heatmap(sf.inside(out, name), f"{label}, {_title(g)}", [a[-1] for a in alphas])
            lines += [f"![final softmax(α), {md(label)} {md(_title(g))}]({name})", ""]
            name = f"alpha_traj_{_slug(label)}_{_slug(g)}.png"
            figs.alpha_trajectories(sf.inside(out, name), f"{label}, {_title(g)}", alphas)
            lines += [f"![softmax(α) per op over search epochs, {md(label)} {md(_title(g))}]({name})", ""]
    page = sf.inside(out, "report.md")
    sf.write_text(page, "\n".join(lines) + "\n")
    return page


def _alphas(run: Run) -> list[dict]:
    """The run's per-epoch softmax(α), checked: one shape throughout, else an error naming the file."""
    path = run.path / "metrics.jsonl"
    alphas = [check_alpha(e["alpha_softmax"], path) for e in run.epochs() if "alpha_softmax" in e]
    if alphas and any(alpha_signature(a) != alpha_signature(alphas[0]) for a in alphas):
        from genolang.base.safe_files import DamagedFileError

        raise DamagedFileError(f"{path}: the alpha_softmax records differ in cells, edges or ops")
    return alphas
