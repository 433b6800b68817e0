"""`geno report`'s benchmark sections: table scores beside retrained accuracy, and tests.

For runs whose genotypes are NAS-Bench-201 cells, every run is listed with its cell's table
accuracy, rank and percentile beside the accuracy it reached when retrained. Per method: mean
(std), a bootstrap 95 % interval and, against the *exact* distribution of all cells of the table
(the baseline a random draw has), a sign test of how many found cells beat the median cell.
Between methods: Welch's t and Mann-Whitney U on both metrics. Every figure shows its n; n = 1
gets no std and no interval. No torch.
"""

from __future__ import annotations

import os

import statistics
from collections import defaultdict
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

from genolang.base.errors import GenolangError, UserError
from genolang.runtime.report.text import md
from genolang.runtime.report.stats import bootstrap_mean, format_p, mann_whitney, sign_test, welch_t

__all__ = ["Entry", "benchmark_entries", "benchmark_sections", "method_table"]

_RANGE = (0.0, 100.0)          # both metrics are accuracies in %
_METHOD_ORDER = ("icdarts", "cdarts", "random")   # searches first, the baseline last


@dataclass
class Entry:
    """One genotype of one (configuration, method, seed): its cell, table score, retrained accuracy."""

    label: str
    group: str
    seed: int | None
    cell: str
    path: Path
    table: float | None = None
    rank: int | None = None
    percentile: float | None = None
    retrained: float | None = None
    search_cpu_s: float | None = None      # the search's CPU seconds (its study item), where recorded


def _cell_of(path: Path) -> str | None:
    """The run's NAS-Bench-201 architecture string, or None for any other genotype."""
    from genolang.base.safe_files import received_spec
    from genolang.grammar import parse_file
    from genolang.grammar import syntax as S
    from genolang.runtime.benchmarks import arch_of_genotype

    if not os.path.lexists(path / "genotype.geno"):
        return None
    try:
        file = received_spec(path, "genotype.geno")     # a received run: never read through a link
        genotype = next((i for i in parse_file(file).items if isinstance(i, S.GenotypeDef)), None)
        return arch_of_genotype(genotype) if genotype is not None else None
    except UserError:
        return None


def benchmark_entries(runs) -> list[Entry]:
    """An entry per (configuration, method, seed) whose genotype is a NAS-Bench-201 cell; a
    retraining run's accuracy is joined to the search of the same seed."""
    entries: dict[tuple, Entry] = {}
    for run in sorted(runs, key=lambda r: r.kind != "retrain"):     # retraining runs first
        cell = _cell_of(run.path)
        if cell is None:
            continue
        key = (run.label, run.group, run.seed if run.seed is not None else str(run.path))
        entry = entries.setdefault(key, Entry(run.label, run.group, run.seed, cell, run.path))
        acc = run.final.get("acc_test") if run.kind == "retrain" else None
        if isinstance(acc, (int, float)) and entry.retrained is None:
            entry.retrained = 100 * acc
        if run.kind == "search" and isinstance(run.cpu_s, (int, float)):
            entry.search_cpu_s = float(run.cpu_s)
    order = {g: i for i, g in enumerate(_METHOD_ORDER)}
    return sorted(entries.values(), key=lambda e: (e.label, order.get(e.group, len(order)), e.group,
                                                   -1 if e.seed is None else e.seed, str(e.path)))


def _load_table():
    from genolang.runtime.benchmarks import default_table, load_table

    try:
        return load_table(default_table("nb201").name), None
    except GenolangError as err:
        return None, f"{err.message} ({err.hint})" if err.hint else err.message


def _mean_sd(values: list[float], plus_minus: bool = False) -> str:
    """``mean (std), n = N`` (or ``mean ± std``); one value has no std, none is a dash."""
    if not values:
        return "–"
    if len(values) == 1:
        return f"{values[0]:.2f}" if plus_minus else f"{values[0]:.2f} (n = 1)"
    mean, sd = statistics.fmean(values), statistics.stdev(values)
    return f"{mean:.2f} ± {sd:.2f}" if plus_minus else f"{mean:.2f} ({sd:.2f}), n = {len(values)}"


def _interval(values: list[float]) -> str:
    ci = bootstrap_mean(values, bounds=_RANGE)
    return "–" if ci is None else f"[{ci[0]:.2f}, {ci[1]:.2f}]"


def _runs_table(entries: list[Entry], title: str) -> list[str]:
    lines = ["", f"### Every run: {title}", "",
             "| configuration | method | seed | cell | table acc (%) | rank | percentile | retrained acc (%) |",
             "|---|---|---|---|---|---|---|---|"]
    for e in entries:
        table = "–" if e.table is None else f"{e.table:.2f}"
        rank = "–" if e.rank is None else f"{e.rank:,}"
        pct = "–" if e.percentile is None else f"{e.percentile:.2f}"
        retrained = "–" if e.retrained is None else f"{e.retrained:.2f}"
        cell = e.cell.replace("|", "\\|")        # a bare | would split the Markdown table's cell
        lines.append(f"| {md(e.label)} | {md(e.group)} | {'–' if e.seed is None else e.seed} | `{cell}` | {table} | "
                     f"{rank} | {pct} | {retrained} |")
    return lines


def _summary(label: str, groups: dict[str, list[Entry]], table) -> list[str]:
    lines = ["", f"### {md(label)}: per method", "",
             "| method | table acc (%), mean (std) | 95 % interval | min | above the random median | "
             "sign test p (one-sided) | retrained acc (%), mean (std) | 95 % interval |",
             "|---|---|---|---|---|---|---|---|"]
    if table is not None:
        s = table.summary()
        lines.append(f"| all {s.n:,} cells (exact random baseline) | {s.mean:.2f} ({s.sd:.2f}) | exact | "
                     f"{s.min:.2f} | median {s.median:.2f} (90th percentile {s.p90:.2f}) | – | – | – |")
    for group, members in groups.items():
        scores = [e.table for e in members if e.table is not None]
        retrained = [e.retrained for e in members if e.retrained is not None]
        above = sign = "–"
        if scores and table is not None:
            test = sign_test(scores, table.summary().median, "greater")
            above = f"{int(test.statistic)} of {test.n[0]}" + (f" ({len(scores) - test.n[0]} tied)"
                                                              if test.n[0] < len(scores) else "")
            sign = f"{format_p(test.p)} (n = {test.n[0]})"
        lowest = f"{min(scores):.2f}" if scores else "–"
        lines.append(f"| {md(group)} | {_mean_sd(scores)} | {_interval(scores)} | {lowest} | {above} | {sign} | "
                     f"{_mean_sd(retrained)} | {_interval(retrained)} |")
    return lines


def _pairs(groups: list[str]) -> list[tuple[str, str]]:
    """Every pair once, in the entries' method order (so ``random`` is always B)."""
    return list(combinations(groups, 2))


def _comparisons(label: str, groups: dict[str, list[Entry]]) -> list[str]:
    lines = ["", f"### {md(label)}: between methods (two-sided)", "",
             "| metric | A | B | n (A, B) | mean A − mean B | Welch's t | p | Mann-Whitney U | p |",
             "|---|---|---|---|---|---|---|---|---|"]
    rows = 0
    for metric, field in (("table acc", "table"), ("retrained acc", "retrained")):
        for a, b in _pairs(list(groups)):
            x = [getattr(e, field) for e in groups[a] if getattr(e, field) is not None]
            y = [getattr(e, field) for e in groups[b] if getattr(e, field) is not None]
            if not x or not y:
                continue
            welch, mw = welch_t(x, y), mann_whitney(x, y)
            t = "–" if welch is None else f"{welch.statistic:.2f} (df {welch.df:.1f})"
            tp = "– (n < 2 or no spread)" if welch is None else format_p(welch.p)
            diff = statistics.fmean(x) - statistics.fmean(y)
            lines.append(f"| {metric} | {md(a)} | {md(b)} | {len(x)}, {len(y)} | {diff:+.2f} | {t} | {tp} | "
                         f"{mw.statistic:g} | {format_p(mw.p)} ({mw.method}) |")
            rows += 1
    return lines if rows else []


def benchmark_sections(runs) -> list[str]:
    """The Markdown of the benchmark sections, or nothing when no run has a NAS-Bench-201 cell."""
    entries = benchmark_entries(runs)
    if not entries:
        return []
    table, missing = _load_table()
    lines = ["", "## NAS-Bench-201 cells: table score and retrained accuracy", ""]
    if table is None:
        lines.append(f"No benchmark table: {missing}. Only the retrained accuracies are compared.")
        title = "retrained accuracy"
    else:
        for e in entries:
            e.table = table.accuracy(e.cell)
            e.rank, e.percentile = table.rank(e.table), table.percentile(e.table)
        lines += [f"Table `{table.source.name}`: {table.source.title}. Its accuracies are {table.source.caveat}. "
                  f"Rank 1 is the best of all {len(table):,} cells; percentile is the share (%) of cells scoring lower. "
                  "The random baseline is the exact distribution of all cells, its median the sign test's reference. "
                  "Intervals: percentile bootstrap of the mean (10,000 resamples), clipped to [0, 100]."]
        title = "the table's score and the retrained accuracy"
    lines += _runs_table(entries, title)
    by_label: dict[str, dict[str, list[Entry]]] = defaultdict(lambda: defaultdict(list))
    for e in entries:
        by_label[e.label][e.group].append(e)
    lines += method_table(by_label)
    for label, groups in by_label.items():
        lines += _summary(label, groups, table)
        lines += _comparisons(label, groups)
    return lines


def _p_pair(x: list[float], y: list[float]) -> str:
    """Welch's p and the exact Mann-Whitney p of two samples (two-sided), or – where untestable."""
    if not x or not y:
        return "–"
    welch = welch_t(x, y)
    return f"{'–' if welch is None else format_p(welch.p)} / {format_p(mann_whitney(x, y).p)}"


def method_table(by_label: dict[str, dict[str, list[Entry]]]) -> list[str]:
    """Every search arm of every configuration in one table shaped like NAS-Bench-201's method
    table, each tested against the random cells (all configurations' random arms pooled: the
    same space, retrained the same way) and against the reference arm, the first configuration's
    ICDARTS searches. Nothing when there is one arm only."""
    arms = [(label, group, members) for label, groups in by_label.items() for group, members in groups.items()
            if group != "random"]
    random = [e for groups in by_label.values() for e in groups.get("random", [])]
    reference = next(((label, members) for label, group, members in arms if group == "icdarts"), None)
    if reference is not None:       # the reference arm first, the others in their order
        arms.sort(key=lambda arm: (arm[0], arm[1]) != (reference[0], "icdarts"))
    if len(arms) + bool(random) < 2:
        return []
    ref_name = "–" if reference is None else md(reference[0])
    lines = ["", "### Methods", "",
             f"Every search arm, tested two-sided against the random cells ({len(random)}, every configuration's "
             f"random arm pooled) and against the reference arm ({ref_name}): Welch's t p / exact Mann-Whitney p. "
             "Search cost: CPU minutes (user + system) of one search, mean over its seeds.", "",
             "| configuration | method | n | table acc (%), mean ± std | retrained acc (%), mean ± std | "
             "search cost (CPU min) | table p vs random | retrained p vs random | table p vs reference | "
             "retrained p vs reference |",
             "|---|---|---|---|---|---|---|---|---|---|"]

    def values(members: list[Entry], name: str) -> list[float]:
        return [getattr(e, name) for e in members if getattr(e, name) is not None]

    for label, group, members in arms:
        cost = values(members, "search_cpu_s")
        is_ref = reference is not None and reference[0] == label and group == "icdarts"
        row = [md(label), md(group), str(len(members)), _mean_sd(values(members, "table"), plus_minus=True),
               _mean_sd(values(members, "retrained"), plus_minus=True),
               f"{statistics.fmean(cost) / 60:.1f}" if cost else "–"]
        for name in ("table", "retrained"):
            row.append(_p_pair(values(members, name), values(random, name)))
        for name in ("table", "retrained"):
            row.append("(reference)" if is_ref or reference is None
                       else _p_pair(values(members, name), values(reference[1], name)))
        lines.append("| " + " | ".join(row) + " |")
    if random:
        lines.append(f"| (pooled) | random cells | {len(random)} | {_mean_sd(values(random, 'table'), plus_minus=True)} | "
                     f"{_mean_sd(values(random, 'retrained'), plus_minus=True)} | – | – | – | "
                     + " | ".join(["–" if reference is None else _p_pair(values(random, n), values(reference[1], n))
                                   for n in ("table", "retrained")]) + " |")
    return lines
