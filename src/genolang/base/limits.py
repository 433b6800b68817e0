"""Every size limit of genolang, in one place (documented in docs/limits.md).

A spec is text from anyone: each size it can ask for is bounded, and the bound is checked
before the size is used, with an error that points at the place in the spec. Shared by every
stage, like :mod:`genolang.base.errors` (the parser checks the file size and the nesting depth,
the lowering the network sizes, the compiler the memory of a network).
"""

from __future__ import annotations

import os

# ---------------------------------------------------------------- files
MAX_FILE_BYTES = 2**20              # a spec file; larger files are refused before reading
MAX_SYNTAX_DEPTH = 100              # levels of the syntax tree: about 30 nested combinators,
                                    # 50 nested blocks or a 100-term arithmetic chain
MAX_INT_DIGITS = 100                # digits of an integer literal
MAX_REPORTED_ERRORS = 50            # errors printed for one file (the count says how many there were)

# ---------------------------------------------------------------- definitions
MAX_USE_DEPTH = 64                  # files in one chain of `use` (a uses b uses c ...)
MAX_REFERENCE_DEPTH = 32            # chains of ops calling ops, spaces built from spaces,
                                    # `cell ... like` chains
MAX_STRING_CHARS = 10_000           # a string value, after `"a" * n`
MAX_NUMBER = 2**63 - 1              # magnitude of an integer value, after arithmetic

# ---------------------------------------------------------------- networks
MAX_NODES = 32                      # nodes of one cell
MAX_CELLS = 256                     # cells of one network
MAX_CHANNELS = 4096                 # `channels` (the base width C; it doubles at each reduction)
MAX_INPUT_CHANNELS = 1024           # channels of the input image
MAX_RESOLUTION = 2048               # height and width of the input image
MAX_CLASSES = 1_000_000
MAX_MACRO_DEPTH = 256

# ---------------------------------------------------------------- runs
# Bounds of an experiment's numeric settings (checked by compiler/lower/experiment.py), so that a
# spec, a --set or a checkpoint cannot ask for a run that never ends.
MAX_EPOCHS = 100_000                # search, pretrain, warm-up, retraining and macro epochs
MAX_BATCH = 1 << 20                 # a batch size
MAX_DATA_SIZE = 1 << 31             # examples drawn from a data set
MAX_STEPS = 10_000_000              # steps_per_epoch, latency batches
MAX_THREADS = 4096                  # CPU threads of one run
MAX_TIERS = 64                      # tiers of a tournament
MAX_POOL_OPS = 1024                 # candidate ops of a tournament's pool

# ---------------------------------------------------------------- received directories
# What genolang reads from a run or study directory (which may come from anyone): larger
# files, and anything that is not a plain file, are refused before reading.
MAX_JSON_BYTES = 64 * 2**20         # config.json, run.json, item.json, manifest.json
MAX_LOG_BYTES = 1 * 2**30           # metrics.jsonl, genotypes.jsonl
MAX_NAME_BYTES = 200                # a run name, a study item's id
MAX_STUDY_ITEMS = 10_000            # work items of one study manifest

# ---------------------------------------------------------------- memory
# A network whose parameters and activations (estimated before anything is allocated) need
# more than this, or more than the memory the machine has free, is refused by `geno compile`.
MAX_NETWORK_BYTES = 64 * 2**30
# Environment variable that overrides MAX_NETWORK_BYTES (bytes), e.g. for tests.
NETWORK_BYTES_ENV = "GENOLANG_MAX_NETWORK_BYTES"


def network_memory_budget() -> int:
    """Bytes a network may need to be built here: the documented cap, the environment
    override, and the memory this machine reports as available, whichever is smallest."""
    budget = MAX_NETWORK_BYTES
    override = os.environ.get(NETWORK_BYTES_ENV)
    if override:
        try:
            budget = min(budget, int(override))
        except ValueError:
            pass
    available = _available_memory()
    if available is not None:
        budget = min(budget, available)
    return budget


# Environment variable that caps the memory a search or retraining may plan for (bytes), e.g.
# for tests; the smaller of it and what the machine allows is used.
PROCESS_BYTES_ENV = "GENOLANG_MAX_PROCESS_BYTES"


def process_memory_budget() -> tuple[int, str]:
    """(bytes, where the figure comes from) this process may still allocate: the smallest of
    MemAvailable, the address-space rlimit (``ulimit -v``) less what is mapped already, the
    cgroup's ``memory.max`` less its ``memory.current``, and :data:`PROCESS_BYTES_ENV`."""
    found: list[tuple[int, str]] = []
    available = _available_memory()
    if available is not None:
        found.append((available, "MemAvailable"))
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
        if soft != resource.RLIM_INFINITY:
            found.append((max(0, soft - _mapped_bytes()), f"ulimit -v {soft // 1024} less what is mapped"))
    except (ImportError, OSError, ValueError):
        pass
    cgroup = _cgroup_left()
    if cgroup is not None:
        found.append((cgroup, "cgroup memory.max less memory.current"))
    override = os.environ.get(PROCESS_BYTES_ENV)
    if override and override.isdigit():
        found.append((int(override), PROCESS_BYTES_ENV))
    return min(found) if found else (MAX_NETWORK_BYTES, "docs/limits.md")


def _mapped_bytes() -> int:
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _cgroup_left(root: str = "/sys/fs/cgroup") -> int | None:
    try:
        with open(f"{root}/memory.max", encoding="ascii") as handle:
            limit = handle.read().strip()
        if limit == "max":
            return None
        with open(f"{root}/memory.current", encoding="ascii") as handle:
            current = int(handle.read().strip())
        return max(0, int(limit) - current)
    except (OSError, ValueError):
        return None


def _available_memory() -> int | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None
