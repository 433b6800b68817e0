"""The one-shot methods as combinations of parts, and the combinations that are refused.

A method is an update scheme (``update``: DARTS's bilevel step, ICDARTS's cycle, Cream's
cycle), a map from α to edge weights (``relax``: softmax, Gumbel hard one-hot, Dirichlet
samples), partial channels (``partial_channels`` with ``edge_weights``) and α regularisers
(``beta_decay``, ``kl_weight``, ``latency_delta``). The presets (``name``) are in
:data:`genolang.compiler.lower.experiment.NAME_DEFAULTS`; the checks here run whenever an
experiment is validated, so ``geno check`` and ``--algorithm`` / ``--set`` refuse the same
combinations, each with its reason (docs/methods.md).
"""

from __future__ import annotations

__all__ = ["check_parts", "check_search_settings", "gumbel_tau"]


def check_parts(a) -> None:
    """Refuse a combination of parts whose maths does not hold (``a``: AlgorithmConfig)."""
    if a.update != "darts":
        if a.order == 2:
            raise ValueError(f"`order = 2` is the darts update's unrolled α gradient; the {a.update} update "
                             "has no inner weight step to unroll (use update = darts)")
        if a.alpha_step == "last":
            raise ValueError(f"`alpha_step` orders the darts update's two steps; the {a.update} update "
                             "has its own order (use update = darts)")
    if a.order == 2 and a.relax != "softmax":
        raise ValueError(f"`order = 2` with relax = {a.relax}: the finite-difference Hessian term needs "
                         "the same edge weights in its four forwards, and sampled weights differ in each "
                         "(use order = 1, as GDAS and DrNAS do)")
    if a.relax == "gumbel" and a.partial_channels > 1:
        raise ValueError("relax = gumbel runs one candidate per edge; partial channels would only shrink "
                         "that one op (use partial_channels = 1)")
    if a.kl_weight > 0 and a.relax != "dirichlet":
        raise ValueError(f"`kl_weight` is the KL of DrNAS's Dirichlet to its prior; relax = {a.relax} has no "
                         "Dirichlet (use relax = dirichlet or kl_weight = 0)")
    if a.tau_min > a.tau_max:
        raise ValueError(f"tau_min = {a.tau_min:g} is above tau_max = {a.tau_max:g}; τ decreases over the search")


def check_search_settings(a, search) -> None:
    """Refuse parts the search's accelerator and memory settings cannot run."""
    check_memory(a, search)
    if search.cuda_graphs == "on":
        if a.relax != "softmax":
            raise ValueError(f"relax = {a.relax} samples its edge weights and (gumbel) picks each edge's op "
                             "on the host: a CUDA graph cannot capture that (set search.cuda_graphs = off)")
        if a.update == "darts" and a.order == 2:
            raise ValueError("order = 2 perturbs the weights in place between its forwards and divides by a "
                             "norm; this step is not captured (set search.cuda_graphs = off)")


def check_memory(a, search) -> None:
    """Refuse parts whose nodes do not take ``search.memory = recompute``."""
    if search.memory == "recompute" and (a.partial_channels > 1 or a.relax == "gumbel"):
        part = "partial_channels" if a.partial_channels > 1 else "relax = gumbel"
        raise ValueError(f"search.memory = recompute with {part}: those nodes keep few activations already "
                         "and are not recomputed (set search.memory = plain)")


def gumbel_tau(a, search_epoch: int, epochs: int) -> float:
    """GDAS's temperature at a search epoch: linear from tau_max (first) to tau_min (last)."""
    if epochs <= 1:
        return a.tau_max
    return a.tau_max - (a.tau_max - a.tau_min) * search_epoch / (epochs - 1)
