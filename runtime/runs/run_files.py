"""The files of a run directory (the layout is :mod:`.rundir`'s docstring): the spec copy and
the files it `use`s, ``config.json``, the ``metrics.jsonl`` log (and TensorBoard scalars), the
genotype after every epoch and the final one, and the checkpoint. :class:`RunFiles` writes
and reads them; :class:`~genolang.runtime.runs.rundir.RunDir` adds a run's life in the
directory (claim, lock, start, resume). Only rank 0 writes: other ranks' writers do nothing.
"""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path
from typing import Any, Mapping

import torch

from genolang.base import safe_files as sf
from genolang.compiler.genotype.genotext import genotype_json, genotype_text, standalone_genotype_text
from genolang.compiler.lower.ir import Genotype
from genolang.runtime.runs.checkpoint import save_atomic
from genolang.runtime.runs.run_io import RunDirError, is_main_process, read_json, read_jsonl

__all__ = ["RunFiles", "RESERVED"]


def _clean(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        value = value.item() if value.numel() == 1 else value.tolist()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


# Files of the run directory itself; a spec's own imports are copied beside spec.geno.
RESERVED = ("spec.geno", "genotype.geno", "genotypes.geno", "genotypes", "config.json")


class RunFiles:
    """Writers and readers of a run directory's files (module docstring)."""

    CHECKPOINT = "checkpoint.pt"

    def __init__(self, path: str | Path, *, writer: bool | None = None):
        self.path = Path(path)
        self.writer = is_main_process() if writer is None else writer
        self._tb = None
        self._program = None
        if self.writer:
            sf.make_dir(self.path)
            sf.make_dir(self._file("genotypes"))

    def _file(self, *parts: str) -> Path:
        """A path of the run directory, refused if it passes through a symlink."""
        return sf.inside(self.path, *parts)

    # -- setup ----------------------------------------------------------------------------
    def save_spec(self, spec_path: str | Path | None, text: str | None = None) -> None:
        """Copy the spec, and the files it `use`s relative to itself at the same relative
        places, so that the copy (and the genotype files that name its definitions) read
        back from the run directory alone, wherever it is moved."""
        if not self.writer:
            return
        target = self._file("spec.geno")
        if spec_path is not None and Path(spec_path).exists():
            if Path(spec_path).resolve() != target.resolve():
                from genolang.compiler.genotype.standalone import local_imports

                imports = local_imports(spec_path)
                for _, relative in imports:
                    if relative.parts[0] in RESERVED:
                        from genolang.base.errors import ConfigError
                        raise ConfigError(f"the spec `use`s `{relative}`, a name the run directory keeps for itself",
                                          hint="rename that file (reserved: " + ", ".join(RESERVED) + ")")
                sf.write_bytes(target, Path(spec_path).read_bytes(), durable=False)
                for source, relative in imports:
                    copy = self._file(*relative.parts)
                    sf.make_dir(copy.parent)
                    sf.write_bytes(copy, source.read_bytes(), durable=False)
        elif text is not None:
            sf.write_text(target, text)
        self._program = None

    def save_config(self, config) -> None:
        if self.writer:
            dumped = config.model_dump(mode="json") if hasattr(config, "model_dump") else dict(config)
            sf.write_json(self._file("config.json"), dumped, durable=False)

    def load_config_dict(self) -> dict:
        data = read_json(self._file("config.json"))
        if not isinstance(data, dict):
            raise RunDirError(f"{self.path / 'config.json'}: not a JSON object")
        return data

    def load_config(self):
        """``config.json`` as an ExperimentConfig; located errors if it is torn or invalid."""
        from genolang.compiler.lower.experiment import ExperimentConfig

        data = self.load_config_dict()
        try:
            return ExperimentConfig.model_validate(data)
        except Exception as exc:     # pydantic.ValidationError
            errors = getattr(exc, "errors", None)
            if errors is None:
                raise
            first = errors()[0]
            field = ".".join(str(p) for p in first["loc"])
            raise RunDirError(f"{self.path / 'config.json'}: `{field}`: {first['msg']}",
                              hint="the run's config was edited or damaged: restore it") from None

    # -- logs ------------------------------------------------------------------------------
    def log(self, record: Mapping[str, Any]) -> None:
        """Append one record to metrics.jsonl (and scalars to TensorBoard when present)."""
        if not self.writer:
            return
        record = {k: _clean(v) for k, v in record.items()}
        record.setdefault("time", time.time())
        sf.append_text(self._file("metrics.jsonl"), json.dumps(record) + "\n")
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
        return read_jsonl(self._file("metrics.jsonl"))

    def truncate_metrics_from(self, epoch: int) -> None:
        """Drop records of ``epoch`` and later: a resumed run re-logs the epochs it repeats."""
        if not self.writer:
            return
        records = self.metrics()
        kept = [r for r in records if _epoch(r) < epoch and r.get("phase") != "final"]
        if len(kept) == len(records):
            return
        sf.write_text(self._file("metrics.jsonl"), "".join(json.dumps(r) + "\n" for r in kept))

    # -- genotypes ------------------------------------------------------------------------
    def save_genotype(self, genotype: Genotype, epoch: int | None = None) -> None:
        """Per-epoch history entry (``epoch`` given) or the final ``genotype.geno``."""
        if not self.writer:
            return
        as_json = genotype_json(genotype)
        text = self._genotype_text(genotype)
        if epoch is None:
            stem = self._file("genotype")
        else:
            stem = self._file("genotypes", f"epoch_{epoch:03d}")
            sf.append_text(self._file("genotypes.jsonl"), json.dumps({"epoch": epoch, **as_json}) + "\n")
        sf.write_json(stem.with_suffix(".json"), as_json, indent=1, durable=False)
        if text is not None:
            sf.write_text(stem.with_suffix(".geno"), text)
            if epoch is not None:
                self._write_history_text()
        elif epoch is None:
            # No printer yet: keep the promised file name, holding the JSON form as a comment
            # block that a person can read (the front end cannot parse it back).
            body = "\n".join("# " + line for line in json.dumps(as_json, indent=1).splitlines())
            sf.write_text(stem.with_suffix(".geno"), body + "\n")

    def _genotype_text(self, genotype: Genotype) -> str | None:
        """Spec text that stands alone: with the run's spec copy, the definitions of it that
        the genotype needs travel in the file (a genotype of the user's own space reads back)."""
        spec = self._file("spec.geno")
        if not spec.exists():
            return genotype_text(genotype)
        if self._program is None:
            from genolang.compiler.lower.program import load

            self._program = load(spec)
        return standalone_genotype_text(genotype, self._program)

    def _write_history_text(self) -> None:
        """``genotypes.geno``: every per-epoch genotype in one spec file (names made unique
        per epoch), so ``geno diff`` and ``geno check`` can read the whole search path. The
        per-epoch files share their prelude (`use` lines and copied definitions): it is
        written once, from the newest file."""
        prelude = ""
        bodies: list[str] = []
        for path in sorted(self._file("genotypes").glob("epoch_*.geno")):
            epoch = path.stem.split("_")[1]
            lines = sf.read_text(sf.check_inside(self.path, path)).splitlines()
            start = next((i for i, line in enumerate(lines) if line.startswith("genotype ")), len(lines))
            prelude = "\n".join(lines[:start]).strip()
            body = lines[start:]
            if body:
                name = body[0].split()[1]
                body[0] = body[0].replace(f"genotype {name}", f"genotype {name}_epoch_{epoch}", 1)
            bodies.append("\n".join(body).strip())
        text = prelude + "\n\n" + "\n\n".join(bodies) + "\n"
        sf.write_text(self._file("genotypes.geno"), text)

    def genotype_history(self) -> list[dict]:
        return read_jsonl(self._file("genotypes.jsonl"))

    def truncate_genotypes(self, keep_epochs_below: int) -> None:
        if not self.writer or not os.path.lexists(self._file("genotypes.jsonl")):
            return
        rows = [r for r in self.genotype_history() if _epoch(r) < keep_epochs_below]
        sf.write_text(self._file("genotypes.jsonl"), "".join(json.dumps(r) + "\n" for r in rows))
        removed = False
        for path in self._file("genotypes").glob("epoch_*"):
            number = path.stem.split("_")[1]
            if not number.isdigit() or int(number) >= keep_epochs_below:
                path.unlink()
                removed = True
        if removed:
            self._write_history_text()

    # -- checkpoints ------------------------------------------------------------------------
    @property
    def checkpoint_path(self) -> Path:
        return self._file(self.CHECKPOINT)

    def save_checkpoint(self, state: dict) -> None:
        if self.writer:
            save_atomic(state, self.checkpoint_path)


def _epoch(record: Mapping[str, Any]) -> float:
    """A record's epoch (0 when it has none); one that is not a number sorts after every epoch."""
    value = record.get("epoch", 0)
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else math.inf
