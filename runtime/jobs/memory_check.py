"""Refuse a search or retraining that cannot fit in this process's memory, before anything
is allocated.

The figure is :mod:`genolang.compiler.passes.estimate`'s (weights, gradients and the activations a
training step keeps, from the shapes alone) for each network the phase trains at once, plus
the data set held in memory (examples x channels x side², float32, twice: the loader
resizes a copy); the networks' part times :data:`SAFETY` for what the estimate does not count
(optimiser state, the allocator's slack, the step's temporaries). The memory this process may use is
:func:`genolang.base.limits.process_memory_budget`: the smaller of MemAvailable, the address-space
rlimit (``ulimit -v``) left and the cgroup's ``memory.max`` left. A run that does not fit is a
:class:`ConfigError` (exit 2) with the figure and what to lower.
"""

from __future__ import annotations

from genolang.compiler.lower.experiment import ExperimentConfig
from genolang.base.errors import ConfigError

__all__ = ["KNOWN_EXAMPLES", "SAFETY", "check_run_memory", "data_bytes", "run_memory"]

# Multiplier on the networks' estimate: it leaves out optimiser momentum (one more copy of the
# weights), the step's temporaries and allocator slack (docs/limits.md states the error).
SAFETY = 1.25
# Examples (train + test) of the data sets whose size is known before they are read.
KNOWN_EXAMPLES = {"digits": 1797, "cifar10": 60_000, "cifar100": 60_000, "fashion_mnist": 70_000, "mnist": 70_000}
BYTES = 4


def _gib(n: float) -> str:
    return f"{n / 2**30:.2f} GiB" if n >= 2**28 else f"{n / 2**20:.1f} MiB"


def data_bytes(config: ExperimentConfig, input_shape: tuple[int, int, int]) -> int:
    """Bytes of the data set in memory, as float32 at the loader's side length (an upper bound
    from ``limit`` / ``test_limit`` where given); 0 when the count is not known beforehand."""
    examples = KNOWN_EXAMPLES.get(config.data.kind)
    if config.data.limit is not None and config.data.test_limit is not None:
        examples = min(examples or 1 << 62, config.data.limit + config.data.test_limit)
    if examples is None:
        return 0
    side = config.data.size or input_shape[1]
    return 2 * examples * input_shape[0] * side * side * BYTES


def run_memory(config: ExperimentConfig, phase: str, template, *, cells=None, evaluation=None,
               genotype=None) -> tuple[int, list[str]]:
    """(bytes, parts) the ``phase`` needs, with what makes it up: ``search`` (the supernet
    ``template`` over ``cells``, and the ``evaluation`` network of one sampled genotype),
    ``retrain`` (``template`` on ``genotype``) or ``macro`` (the macro's ``template``: its data
    only). The caller resolves the networks (:mod:`genolang.runtime.jobs.driver`)."""
    from genolang.compiler.passes.estimate import estimate_network
    from genolang.compiler.passes.shapes import plan_network

    parts, total = [], 0
    if phase == "search":
        search_t, eval_t = template, evaluation
        supernet = estimate_network(plan_network(search_t, cells), config.search.batch)
        parts.append(f"supernet `{search_t.name}` {supernet.describe()}")
        total += supernet.bytes
        sampled = _one_genotype(cells)
        if sampled is not None:
            try:
                e = estimate_network(plan_network(eval_t, dict(sampled.cells)), config.search.batch)
                parts.append(f"evaluation network `{eval_t.name}` {e.describe()}")
                total += e.bytes
            except Exception:   # a template the sample does not fit: its checks say why, later
                pass
        shape = search_t.input_shape
    elif phase == "macro":      # the macro supernet is planned by its own builder: the template on the cells
        shape = template.input_shape
    else:
        if genotype.macro is not None:
            shape = template.input_shape
        else:
            net = estimate_network(plan_network(template, dict(genotype.cells)), config.retrain.batch)
            parts.append(f"network `{template.name}` {net.describe()}")
            total += net.bytes
            shape = template.input_shape
    total = int(total * SAFETY)
    data = data_bytes(config, shape)
    if data:
        parts.append(f"data `{config.data.kind}` {_gib(data)} at {config.data.size or shape[1]} px")
        total += data
    return total, parts


def _one_genotype(cells):
    from genolang.compiler.genotype.sample import sample_genotypes

    try:
        return next(iter(sample_genotypes(cells, 0, 1)))
    except Exception:       # spaces the sampler cannot draw from: E is left out of the figure
        return None


def check_run_memory(config: ExperimentConfig, phase: str, template, **networks) -> None:
    """A :class:`ConfigError` naming the figure when the phase cannot fit here (the arguments
    are :func:`run_memory`'s)."""
    from genolang.base.limits import process_memory_budget

    need, parts = run_memory(config, phase, template, **networks)
    budget, source = process_memory_budget()
    if need <= budget:
        return
    batch = config.retrain.batch if phase == "retrain" else config.search.batch
    phase = "search" if phase == "macro" else phase
    raise ConfigError(f"this {phase} would need about {_gib(need)} of memory ({' + '.join(parts)}; the networks "
                      f"x{SAFETY} for optimiser state and temporaries); this process may use {_gib(budget)} ({source})",
                      hint=f"lower the network's `channels` or `cells`, the {phase} batch ({phase}.batch = {batch}), "
                           "data.size or data.limit; see docs/limits.md")
