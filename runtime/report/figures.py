"""The figures of `geno report`, drawn with matplotlib's Agg backend (PNG, no display)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from genolang.base.errors import ConfigError
from genolang.runtime.report.text import mathtext as _m


def _plt():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ConfigError("geno report draws its figures with matplotlib, which is not installed",
                          hint="pip install 'genolang[report]'  (or: pip install matplotlib)") from None
    return plt


def _save(fig, path: Path) -> None:
    """Draw into memory, then write through the safe file layer (a symlink at ``path`` is
    replaced, never written through)."""
    import io

    import matplotlib.pyplot as plt

    from genolang.base.safe_files import write_bytes

    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, dpi=110, format="png")
    plt.close(fig)
    write_bytes(path, buffer.getvalue(), durable=False)


def _integer_ticks(ax) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def _grouped_bars(ax, keys: list, groups: dict[str, Counter], ylabel: str) -> None:
    width = 0.8 / max(1, len(groups))
    for k, (name, counts) in enumerate(groups.items()):
        total = sum(counts.values()) or 1
        xs = [i + (k - (len(groups) - 1) / 2) * width for i in range(len(keys))]
        ax.bar(xs, [counts.get(key, 0) / total for key in keys], width, label=_m(name))
    ax.set_xticks(range(len(keys)))
    ax.set_xticklabels([_m(k) for k in keys], rotation=30, ha="right")
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8)


def op_frequencies(path: Path, label: str, groups: dict[str, dict[str, Counter]]) -> None:
    """Operation frequencies over the full network (Figures 3.5-3.8): each cell's ops times the
    number of times that cell type occurs in the retraining network."""
    plt = _plt()
    kinds = [k for k in ("normal", "reduction") if any(k in g for g in groups.values())]
    fig, axes = plt.subplots(1, len(kinds), figsize=(5.5 * len(kinds), 3.6), squeeze=False)
    # one x axis for every panel, zero counts included, so that the panels compare bar for bar
    ops = sorted({op for g in groups.values() for kind in kinds for op in g.get(kind, {})})
    for ax, kind in zip(axes[0], kinds):
        _grouped_bars(ax, ops, {name: g.get(kind, Counter()) for name, g in groups.items()}, "frequency")
        ax.set_title(f"{_m(label)}: {kind} cells, ops over the network")
    _save(fig, path)


def depths(path: Path, label: str, groups: dict[str, dict[str, Counter]]) -> None:
    """Cell-depth frequencies: the longest chain of intermediate nodes of each genotype's cells."""
    plt = _plt()
    kinds = [k for k in ("normal", "reduction") if any(k in g for g in groups.values())]
    fig, axes = plt.subplots(1, len(kinds), figsize=(4.5 * len(kinds), 3.4), squeeze=False)
    for ax, kind in zip(axes[0], kinds):
        keys = sorted({d for g in groups.values() for d in g.get(kind, {})})
        _grouped_bars(ax, keys, {name: g.get(kind, Counter()) for name, g in groups.items()}, "fraction of cells")
        ax.set_xlabel("cell depth")
        ax.set_title(f"{_m(label)}: {kind} cell depth")
    _save(fig, path)


def accuracy_bands(path: Path, label: str, curves: dict[str, tuple[tuple[list, list, list], int]]) -> None:
    """E's test accuracy per search epoch, mean and 95 % t-interval across seeds (Figure 3.2)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    for name, ((mean, low, high), n) in curves.items():
        epochs = list(range(1, len(mean) + 1))     # search epochs from 1, as genotype files number them
        ax.plot(epochs, mean, marker="o", label=f"{_m(name)} (n={n})")
        ax.fill_between(epochs, low, high, alpha=0.25)
    _integer_ticks(ax)
    ax.set_xlabel("search epoch")
    ax.set_ylabel("E test accuracy (%)")
    ax.set_title(f"{_m(label)}: evaluation network E, 95 % band")
    ax.legend(fontsize=8)
    _save(fig, path)



def alpha_heatmap(path: Path, title: str, finals: list[dict]) -> None:
    """Final softmax(α) per edge (rows) and op (columns), averaged over seeds."""
    plt = _plt()
    cells = list(finals[0])
    fig, axes = plt.subplots(1, len(cells), figsize=(5.2 * len(cells), 0.5 + 0.32 * max(
        sum(len(e["from"]) for e in finals[0][c].values()) for c in cells)), squeeze=False)
    for ax, cell in zip(axes[0], cells):
        rows, ops = [], None
        for node, entry in finals[0][cell].items():
            ops = ops or entry["ops"]
            for i, src in enumerate(entry["from"]):
                values = [sum(f[cell][node]["softmax"][i][j] for f in finals) / len(finals)
                          for j in range(len(entry["ops"]))]
                rows.append((f"{_m(node)} ← {_m(src)}", values))
        image = ax.imshow([v for _, v in rows], aspect="auto", cmap="viridis")
        ax.set_yticks(range(len(rows)))
        ax.set_yticklabels([r for r, _ in rows], fontsize=7)
        ax.set_xticks(range(len(ops or [])))
        ax.set_xticklabels([_m(o) for o in ops or []], rotation=45, ha="right", fontsize=7)
        ax.set_title(f"{_m(title)}: {_m(cell)} (mean of {len(finals)})", fontsize=9)
        fig.colorbar(image, ax=ax, fraction=0.046)
    _save(fig, path)


def alpha_trajectories(path: Path, title: str, runs: list[list[dict]]) -> None:
    """softmax(α) of each op, averaged over the cell's edges and the seeds, per search epoch."""
    plt = _plt()
    cells = list(runs[0][0])
    length = min(len(r) for r in runs)
    fig, axes = plt.subplots(1, len(cells), figsize=(5.2 * len(cells), 3.6), squeeze=False)
    for ax, cell in zip(axes[0], cells):
        ops = next(iter(runs[0][0][cell].values()))["ops"]
        for j, op in enumerate(ops):
            ys = []
            for e in range(length):
                values = [row[j] for run in runs for entry in run[e][cell].values() for row in entry["softmax"]
                          if j < len(row) and entry["ops"][j] == op]
                ys.append(sum(values) / len(values) if values else float("nan"))
            ax.plot(range(1, length + 1), ys, label=_m(op))
        _integer_ticks(ax)
        ax.set_xlabel("search epoch")
        ax.set_ylabel("mean softmax(α)")
        ax.set_title(f"{_m(title)}: {_m(cell)}", fontsize=9)
        ax.legend(fontsize=6, ncol=2)
    _save(fig, path)
