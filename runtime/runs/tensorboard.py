"""What a search shows in TensorBoard besides the scalars of ``metrics.jsonl``.

Per epoch, when tensorboard is installed (``pip install 'genolang[tensorboard]'``): the
softmax of α over the operations of every edge as a histogram (``alpha/normal/n2/c1``), and
the genotype text (``genotype``). View with ``tensorboard --logdir runs/``.
"""

from __future__ import annotations

import torch

from genolang.compiler.lower.ir import Genotype
from genolang.compiler.genotype.genotext import genotype_text

__all__ = ["log_search_epoch"]


def log_search_epoch(run_dir, search_net, genotype: Genotype | None, epoch: int) -> None:
    """Log α and the genotype of ``epoch`` to the run's TensorBoard writer (no-op without one)."""
    writer = run_dir._tensorboard() if run_dir is not None and run_dir.writer else None
    if writer is None:
        return
    for key, cell in search_net.cell_specs.items():
        for node, alpha in search_net.alpha(key).items():
            probs = torch.softmax(alpha.detach().float().cpu(), dim=-1)
            for src, row in zip(cell.predecessors(node), probs):
                writer.add_histogram(f"alpha/{key}/{node}/{src}", row, epoch)
    text = genotype_text(genotype) if genotype is not None else None
    if text:
        # TensorBoard renders text as markdown: indent to keep it a code block
        writer.add_text("genotype", "\n".join("    " + line for line in text.splitlines()), epoch)
    writer.flush()
