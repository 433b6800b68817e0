"""The run directory: everything one search or retraining leaves behind.

::

    runs/<name>/
      spec.geno            copy of the spec that was run (and beside it the files it `use`s)
      config.json          the resolved ExperimentConfig
      metrics.jsonl        one JSON object per epoch (and a final record)
      genotypes/epoch_007.geno / .json   the genotype after every epoch
      genotypes.geno       all of them in one spec file (genotype <name>_epoch_007 ...)
      genotypes.jsonl      the same history, one JSON line per epoch
      genotype.geno / genotype.json      the final genotype, with provenance
      checkpoint.pt        latest atomic checkpoint (resume from here)
      tb/                  TensorBoard scalars, only when tensorboard is importable

Only rank 0 writes; other ranks get a RunDir whose writers do nothing.
"""

from __future__ import annotations

import json
import math
import shutil
import time
from pathlib import Path
from typing import Any, Mapping

import torch

from genolang.compiler.ir import Genotype
from genolang.runtime.checkpoint import save_atomic
from genolang.runtime.genotext import genotype_json, genotype_text, standalone_genotype_text

__all__ = ["RunDir", "is_main_process", "new_run_dir"]


def is_main_process() -> bool:
    dist = torch.distributed
    return not (dist.is_available() and dist.is_initialized()) or dist.get_rank() == 0


def new_run_dir(root: str | Path, name: str) -> Path:
    """``root/name``, or ``root/name-2``, ``-3``... if it exists already."""
    root = Path(root)
    path = root / name
    index = 2
    while path.exists():
        path = root / f"{name}-{index}"
        index += 1
    return path


def _clean(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        value = value.item() if value.numel() == 1 else value.tolist()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


# Files of the run directory itself; a spec's own imports are copied beside spec.geno.
RESERVED = ("spec.geno", "genotype.geno", "genotypes.geno", "genotypes", "config.json")


class RunDir:
    CHECKPOINT = "checkpoint.pt"

    def __init__(self, path: str | Path, *, writer: bool | None = None):
        self.path = Path(path)
        self.writer = is_main_process() if writer is None else writer
        self._tb = None
        self._program = None
        if self.writer:
            (self.path / "genotypes").mkdir(parents=True, exist_ok=True)

    # -- setup ----------------------------------------------------------------------------
    def save_spec(self, spec_path: str | Path | None, text: str | None = None) -> None:
        """Copy the spec, and the files it `use`s relative to itself at the same relative
        places, so that the copy (and the genotype files that name its definitions) read
        back from the run directory alone, wherever it is moved."""
        if not self.writer:
            return
        target = self.path / "spec.geno"
        if spec_path is not None and Path(spec_path).exists():
            if Path(spec_path).resolve() != target.resolve():
                from genolang.compiler.standalone import local_imports

                imports = local_imports(spec_path)
                for _, relative in imports:
                    if relative.parts[0] in RESERVED:
                        from genolang.errors import ConfigError
                        raise ConfigError(f"the spec `use`s `{relative}`, a name the run directory keeps for itself",
                                          hint="rename that file (reserved: " + ", ".join(RESERVED) + ")")
                shutil.copyfile(spec_path, target)
                for source, relative in imports:
                    (self.path / relative).parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(source, self.path / relative)
        elif text is not None:
            target.write_text(text, encoding="utf-8")
        self._program = None

    def save_config(self, config) -> None:
        if self.writer:
            dumped = config.model_dump(mode="json") if hasattr(config, "model_dump") else dict(config)
            (self.path / "config.json").write_text(json.dumps(dumped, indent=2), encoding="utf-8")

    def load_config_dict(self) -> dict:
        return json.loads((self.path / "config.json").read_text(encoding="utf-8"))

    # -- logs ------------------------------------------------------------------------------
    def log(self, record: Mapping[str, Any]) -> None:
        """Append one record to metrics.jsonl (and scalars to TensorBoard when present)."""
        if not self.writer:
            return
        record = {k: _clean(v) for k, v in record.items()}
        record.setdefault("time", time.time())
        with open(self.path / "metrics.jsonl", "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")
        tb = self._tensorboard()
        if tb is not None:
            step = int(record.get("epoch", 0))
            phase = record.get("phase", "run")
            for key, value in record.items():
                if isinstance(value, (int, float)) and key not in ("epoch", "time"):
                    tb.add_scalar(f"{phase}/{key}", value, step)

    def _tensorboard(self):
        if self._tb is None:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except Exception:  # tensorboard not installed: scalars only go to metrics.jsonl
                self._tb = False
                return None
            self._tb = SummaryWriter(str(self.path / "tb"))
        return self._tb or None

    def metrics(self) -> list[dict]:
        path = self.path / "metrics.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]

    def truncate_metrics_from(self, epoch: int) -> None:
        """Drop records of ``epoch`` and later: a resumed run re-logs the epochs it repeats."""
        if not self.writer:
            return
        records = self.metrics()
        kept = [r for r in records if r.get("epoch", 0) < epoch and r.get("phase") != "final"]
        if len(kept) == len(records):
            return
        with open(self.path / "metrics.jsonl", "w", encoding="utf-8") as handle:
            for record in kept:
                handle.write(json.dumps(record) + "\n")

    # -- genotypes ------------------------------------------------------------------------
    def save_genotype(self, genotype: Genotype, epoch: int | None = None) -> None:
        """Per-epoch history entry (``epoch`` given) or the final ``genotype.geno``."""
        if not self.writer:
            return
        as_json = genotype_json(genotype)
        text = self._genotype_text(genotype)
        if epoch is None:
            stem = self.path / "genotype"
        else:
            stem = self.path / "genotypes" / f"epoch_{epoch:03d}"
            with open(self.path / "genotypes.jsonl", "a", encoding="utf-8") as handle:
                handle.write(json.dumps({"epoch": epoch, **as_json}) + "\n")
        stem.with_suffix(".json").write_text(json.dumps(as_json, indent=1), encoding="utf-8")
        if text is not None:
            stem.with_suffix(".geno").write_text(text, encoding="utf-8")
            if epoch is not None:
                self._write_history_text()
        elif epoch is None:
            # No printer yet: keep the promised file name, holding the JSON form as a comment
            # block that a person can read (the front end cannot parse it back).
            body = "\n".join("# " + line for line in json.dumps(as_json, indent=1).splitlines())
            stem.with_suffix(".geno").write_text(body + "\n", encoding="utf-8")

    def _genotype_text(self, genotype: Genotype) -> str | None:
        """Spec text that stands alone: with the run's spec copy, the definitions of it that
        the genotype needs travel in the file (a genotype of the user's own space reads back)."""
        spec = self.path / "spec.geno"
        if not spec.exists():
            return genotype_text(genotype)
        if self._program is None:
            from genolang.compiler.lower import load

            self._program = load(spec)
        return standalone_genotype_text(genotype, self._program)

    def _write_history_text(self) -> None:
        """``genotypes.geno``: every per-epoch genotype in one spec file (names made unique
        per epoch), so ``geno diff`` and ``geno check`` can read the whole search path. The
        per-epoch files share their prelude (`use` lines and copied definitions): it is
        written once, from the newest file."""
        prelude = ""
        bodies: list[str] = []
        for path in sorted((self.path / "genotypes").glob("epoch_*.geno")):
            epoch = path.stem.split("_")[1]
            lines = path.read_text(encoding="utf-8").splitlines()
            start = next((i for i, line in enumerate(lines) if line.startswith("genotype ")), len(lines))
            prelude = "\n".join(lines[:start]).strip()
            body = lines[start:]
            if body:
                name = body[0].split()[1]
                body[0] = body[0].replace(f"genotype {name}", f"genotype {name}_epoch_{epoch}", 1)
            bodies.append("\n".join(body).strip())
        text = prelude + "\n\n" + "\n\n".join(bodies) + "\n"
        (self.path / "genotypes.geno").write_text(text, encoding="utf-8")

    def genotype_history(self) -> list[dict]:
        path = self.path / "genotypes.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]

    def truncate_genotypes(self, keep_epochs_below: int) -> None:
        if not self.writer:
            return
        rows = [r for r in self.genotype_history() if r["epoch"] < keep_epochs_below]
        with open(self.path / "genotypes.jsonl", "w", encoding="utf-8") as handle:
            for row in rows:
                handle.write(json.dumps(row) + "\n")
        removed = False
        for path in (self.path / "genotypes").glob("epoch_*"):
            if int(path.stem.split("_")[1]) >= keep_epochs_below:
                path.unlink()
                removed = True
        if removed:
            self._write_history_text()

    # -- exclusivity ------------------------------------------------------------------------
    def lock(self) -> None:
        """Hold an exclusive lock on the run directory for this process's lifetime, so a
        second search or resume of the same run fails early instead of interleaving writes."""
        if not self.writer or getattr(self, "_lock", None) is not None:
            return
        import fcntl

        handle = open(self.path / ".lock", "w")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            from genolang.errors import RunError
            raise RunError(f"{self.path} is in use by another running process") from None
        self._lock = handle

    def unlock(self) -> None:
        handle = getattr(self, "_lock", None)
        if handle is not None:
            handle.close()
            self._lock = None

    # -- checkpoints ------------------------------------------------------------------------
    @property
    def checkpoint_path(self) -> Path:
        return self.path / self.CHECKPOINT

    def save_checkpoint(self, state: dict) -> None:
        if self.writer:
            save_atomic(state, self.checkpoint_path)

    def close(self) -> None:
        if self._tb:
            self._tb.close()
        self.unlock()
