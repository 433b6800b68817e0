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
      run.json             the run's name, start time and fingerprint (config, spec, genotype)
      tb/                  TensorBoard scalars, only when tensorboard is importable

Only rank 0 writes; other ranks get a RunDir whose writers do nothing.

A fresh run claims its directory atomically (``mkdir``: two runs started at once get ``name``
and ``name-2``), holds a lock on it while it runs, and records a fingerprint of what it runs.
A resume (:meth:`RunDir.begin`) takes the lock, refuses a run whose spec, config or genotype
changed since (``--force`` accepts the change), removes the temporary files of a checkpoint
write that was killed, and drops a torn last line of the JSONL logs with a warning.

A run directory may come from anyone: every file of it is read and written through
:mod:`genolang.base.safe_files` (no symlink followed, no FIFO or device read, temporary files with
unique names, size caps, damage a located error).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import sys
import time
from pathlib import Path
from typing import Any, Mapping

import torch

from genolang.base import safe_files as sf
from genolang.base.safe_locks import LockHeld, take_lock
from genolang.compiler.lower.ir import Genotype
from genolang.base.errors import ConfigError, UserError
from genolang.base.limits import MAX_EPOCHS, MAX_FILE_BYTES
from genolang.runtime.runs.checkpoint import load_checkpoint, remove_orphans, save_atomic
from genolang.compiler.genotype.genotext import genotype_json, genotype_text, standalone_genotype_text

__all__ = ["RunDir", "RunDirError", "is_main_process", "new_run_dir", "check_run_name", "newest_run",
           "SAFE_TO_CHANGE", "RUN_FILE"]

RUN_FILE = "run.json"
# Settings a resumed run may change without --force: where it runs, in which memory layout,
# with how many CPU threads and whether the step is captured in a CUDA graph: each changes how
# fast or in how much memory a step runs, not what it computes. (`search.memory` is not one:
# its recomputed backward rounds differently, so a search drifts to another α.) Dotted names
# cover one setting; plain names a whole section.
SAFE_TO_CHANGE = ("device", "channels_last", "threads", "search.cuda_graphs")


class RunDirError(UserError):
    """A run directory that cannot be used as asked (missing, damaged, changed, in use)."""

    kind = "run error"


def is_main_process() -> bool:
    dist = torch.distributed
    return not (dist.is_available() and dist.is_initialized()) or dist.get_rank() == 0


def check_run_name(name: str) -> str:
    """``name`` if it can name a run directory: one path component, no separators, not ``..``."""
    bad = (not name or name in (".", "..") or "/" in name or "\\" in name or "\0" in name
           or os.path.isabs(name) or len(name.encode()) > 200)
    if bad:
        raise ConfigError(f"the experiment name {name!r} cannot name a run directory: it must be one path "
                          "component (no `/`, `\\`, `..`, not absolute, at most 200 bytes)",
                          hint="set `name = \"my_run\"` in the experiment (or --set name=my_run); "
                               "choose the folder with --out")
    return name


def new_run_dir(root: str | Path, name: str) -> Path:
    """Claim ``root/name``, or ``root/name-2``, ``-3``... if taken: created here, atomically, so two
    runs started at once never share one. Records the name and start time in ``run.json``."""
    check_run_name(name)
    root = sf.make_dir(root)
    index = 1
    while True:
        path = root / (name if index == 1 else f"{name}-{index}")
        try:
            path.mkdir()
            break
        except FileExistsError:
            index += 1
    sf.mark_created(path)
    _write_json(path / RUN_FILE, {"name": name, "created": time.time()})
    return path


def newest_run(path: str | Path) -> Path | None:
    """The newest run of the name ``path`` ends in: ``path`` itself and its siblings
    ``path-2``, ``path-3``... that were started under that name (``run.json``), newest by
    start time; None when there is none."""
    path = Path(path)
    parent, name = path.parent, path.name
    if not name or not parent.is_dir():
        return None
    pattern = re.compile(re.escape(name) + r"(-[0-9]+)?")
    found = []
    for entry in parent.iterdir():
        if not pattern.fullmatch(entry.name) or not entry.is_dir() or entry.is_symlink():
            continue
        info = _read_json_quiet(entry / RUN_FILE)
        recorded = info.get("name")
        if entry.name != name and recorded not in (name, None):
            continue         # `digits-2` of an experiment that is itself called `digits-2`
        created = info.get("created")
        if not isinstance(created, (int, float)):
            created = entry.stat().st_mtime
        found.append((created, entry.name != name, entry))
    return max(found)[2] if found else None


def _write_json(path: Path, data: Mapping[str, Any]) -> None:
    sf.write_json(sf.check_inside(path.parent, path), data, indent=1, durable=False)


def _read_json_quiet(path: Path) -> dict:
    try:
        return sf.read_json(path, missing_ok=True) or {}
    except UserError:
        return {}


def _as_run_error(exc: UserError) -> RunDirError:
    return RunDirError(exc.message, hint=exc.hint)


def read_json(path: Path) -> Any:
    """A JSON file of a run directory; a located :class:`RunDirError` when it is torn."""
    try:
        return sf.read_json(path, expect=None)
    except UserError as exc:
        raise _as_run_error(exc) from None


def read_jsonl(path: Path, *, repair: bool = False) -> list[dict]:
    """The records of a JSONL log. A torn *last* line (a run killed while appending) is
    skipped, and with ``repair`` cut from the file with a warning; a damaged line before the
    last is a located :class:`RunDirError`."""
    try:
        return sf.read_jsonl(path, repair=repair, warn=lambda text: print(text, file=sys.stderr))
    except UserError as exc:
        raise _as_run_error(exc) from None


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

    # -- exclusivity ------------------------------------------------------------------------
    def lock(self) -> None:
        """Hold an exclusive lock on the run directory for this process's lifetime, so a
        second search or resume of the same run fails early instead of interleaving writes."""
        if not self.writer or getattr(self, "_lock", None) is not None:
            return
        try:
            self._lock = take_lock(self._file(".lock"))
        except LockHeld as held:
            raise RunDirError(f"{self.path} is in use by another running process"
                              + (f" ({held.pid})" if held.pid else ""),
                              hint="wait for it to finish, or stop it (Ctrl-C) and resume") from None

    def unlock(self) -> None:
        handle = getattr(self, "_lock", None)
        if handle is not None:
            handle.close()
            self._lock = None

    # -- checkpoints ------------------------------------------------------------------------
    @property
    def checkpoint_path(self) -> Path:
        return self._file(self.CHECKPOINT)

    def save_checkpoint(self, state: dict) -> None:
        if self.writer:
            save_atomic(state, self.checkpoint_path)

    # -- start and resume -------------------------------------------------------------------
    @classmethod
    def existing(cls, path: str | Path, *, needs: tuple[str, ...], what: str) -> "RunDir":
        """The run directory ``path`` for a resume; an error (and nothing created) if it is not
        there or lacks the files ``needs``."""
        path = Path(path)
        if not path.is_dir():
            raise RunDirError(f"{path}: no such run directory" if not path.exists() else f"{path}: not a directory",
                              hint=f"give the directory of a {what} run (the one its output named)")
        for name in ("spec.geno", "config.json", "run.json", RunDir.CHECKPOINT, "metrics.jsonl", "genotypes.jsonl",
                     "genotype.geno", "genotype.json", "genotypes.geno", "genotypes", ".lock", "item.json", "tb",
                     "macro_run.json", "macro.json", "tournament.json"):
            sf.inside(path, name)           # a symlink among them is refused before anything is read
        missing = [name for name in needs if not sf.is_regular(path / name)]
        if missing:
            raise RunDirError(f"{path} is not a {what} run directory (no {' / '.join(missing)})")
        return cls(path)

    def begin(self, config, *, resume: bool, force: bool = False, spec_path: str | Path | None = None,
              identity: Mapping[str, Any] | None = None) -> dict | None:
        """Start or resume the run here; returns the checkpoint to resume from (or None).

        Takes the lock. A fresh run saves the spec copy, config and fingerprint. A resume
        removes orphan checkpoint temp files, repairs torn log ends, loads the checkpoint and
        refuses any change of the fingerprint but those of :data:`SAFE_TO_CHANGE`, unless
        ``force``. ``identity`` holds what else makes the run this run (the genotype of a
        retraining, the macro of a macro phase), as plain JSON values."""
        self.lock()
        if not resume:
            self.save_spec(spec_path)
            self.save_config(config)
            self._record_fingerprint(config, identity)
            return None
        if self.writer:
            remove_orphans(self.checkpoint_path)
            read_jsonl(self._file("metrics.jsonl"), repair=True)
            read_jsonl(self._file("genotypes.jsonl"), repair=True)
        if os.path.lexists(self.checkpoint_path):
            state = load_checkpoint(self.checkpoint_path)
        elif self.metrics():
            raise RunDirError(f"{self.path} has no {self.CHECKPOINT}, but its metrics.jsonl holds the records of an "
                              "earlier attempt: resuming would start at epoch 0 and append to them",
                              hint="start the run again (a new run directory), or restore the checkpoint")
        else:
            state = None
        info = read_json(self._file(RUN_FILE)) if os.path.lexists(self._file(RUN_FILE)) else {}
        recorded = info.get("fingerprint") if isinstance(info, dict) else None
        if recorded is None and state is not None and isinstance(state.get("config"), dict):
            recorded = {"config": state["config"]}
        if not os.path.lexists(self._file("spec.geno")):
            self.save_spec(spec_path)
        current = self.fingerprint(config, identity)
        changes = fingerprint_changes(recorded, current) if recorded is not None else []
        if changes and not force:
            raise RunDirError(f"{self.path} was started with other settings; resuming it would make a different "
                              "run. Changed since it started:\n" + "\n".join(f"  {c}" for c in changes),
                              hint="resume without those options, start a new run, or pass --force to resume "
                                   "anyway (changes of shapes cannot be resumed)")
        if changes and self.writer:
            print(f"note: resuming {self.path} with changes (--force):\n" + "\n".join(f"  {c}" for c in changes),
                  file=sys.stderr)
        if changes or recorded is None:
            self.save_config(config)
            self._record_fingerprint(config, identity, forced=changes)
        return state

    def resume_into(self, runner, state: dict | None) -> None:
        """Load a checkpoint's ``state`` into ``runner`` (its ``load_state_dict``) and drop the
        records of the epochs it will repeat; a state that does not fit is a clean error."""
        if state is None:
            return
        total = getattr(runner, "total_epochs", None) or getattr(getattr(runner, "cfg", None), "epochs", None)
        next_epoch = state.get("next_epoch")
        if not isinstance(next_epoch, int) or isinstance(next_epoch, bool) or not 0 <= next_epoch <= (total or MAX_EPOCHS):
            raise RunDirError(f"{self.checkpoint_path}: next_epoch {str(next_epoch)[:40]} is not an epoch of this run "
                              f"(0 .. {total or MAX_EPOCHS})", hint="the checkpoint is damaged: start the run again")
        try:
            runner.load_state_dict(state)
        except (RuntimeError, KeyError, ValueError, TypeError, IndexError) as exc:
            raise RunDirError(f"{self.checkpoint_path}: the checkpoint does not fit the network this run builds "
                              f"({_mismatch(exc)})",
                              hint="the run's shapes changed since it started (spec or config); it cannot be "
                                   "resumed: start a new run") from None
        self.truncate_metrics_from(runner.next_epoch)
        self.truncate_genotypes(runner.next_epoch)

    def fingerprint(self, config, identity: Mapping[str, Any] | None = None) -> dict:
        spec = self._file("spec.geno")
        dumped = config.model_dump(mode="json") if hasattr(config, "model_dump") else dict(config)
        data = sf.read_bytes(spec, limit=MAX_FILE_BYTES, missing_ok=True)
        return {"config": dumped,
                "spec_sha256": hashlib.sha256(data).hexdigest() if data is not None else None,
                **({"identity": dict(identity)} if identity else {})}

    def _record_fingerprint(self, config, identity, forced: list[str] | None = None) -> None:
        if not self.writer:
            return
        info = _read_json_quiet(self._file(RUN_FILE))
        info.setdefault("name", self.path.name)
        info.setdefault("created", time.time())
        info["fingerprint"] = self.fingerprint(config, identity)
        if forced:
            earlier = info.get("forced") if isinstance(info.get("forced"), list) else []
            info["forced"] = earlier + [{"time": time.time(), "changes": forced}]
        _write_json(self._file(RUN_FILE), info)

    def note_runtime(self, record: Mapping[str, Any]) -> None:
        """Append where and with how many threads this start (or resume) of the run computes
        to run.json's ``runtime`` list: the provenance of its speed, one entry per session."""
        if not self.writer:
            return
        info = _read_json_quiet(self._file(RUN_FILE))
        runtime = info.get("runtime") if isinstance(info.get("runtime"), list) else []
        info["runtime"] = runtime + [{"time": time.time(), **record}]
        _write_json(self._file(RUN_FILE), info)

    def close(self) -> None:
        if self._tb:
            self._tb.close()
        self.unlock()


def _epoch(record: Mapping[str, Any]) -> float:
    """A record's epoch (0 when it has none); one that is not a number sorts after every epoch."""
    value = record.get("epoch", 0)
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else math.inf


def _mismatch(exc: BaseException) -> str:
    """torch's load_state_dict complaint, said in a line (shapes by name, or missing keys)."""
    text = str(exc)
    sizes = re.findall(r"size mismatch for (\S+): copying a param with shape torch.Size\((\[.*?\])\) from "
                       r"checkpoint, the shape in current model is torch.Size\((\[.*?\])\)", text)
    if sizes:
        name, old, new = sizes[0]
        more = f", and {len(sizes) - 1} more" if len(sizes) > 1 else ""
        return f"`{name}` is {old} in the checkpoint but {new} in the network{more}"
    missing = re.findall(r'Missing key\(s\) in state_dict: "([^"]+)"', text)
    if missing:
        return f"the checkpoint lacks `{missing[0]}`"
    unexpected = re.findall(r'Unexpected key\(s\) in state_dict: "([^"]+)"', text)
    if unexpected:
        return f"the network has no `{unexpected[0]}`"
    return text.splitlines()[0][:160] if text else type(exc).__name__


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(_flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return out if out or not prefix else {prefix: {}}
    return {prefix: value}


def fingerprint_changes(recorded: Mapping[str, Any], current: Mapping[str, Any]) -> list[str]:
    """What differs between two fingerprints, one line each (``search.epochs: 2 -> 3``),
    leaving out the settings :data:`SAFE_TO_CHANGE`."""
    changes = []
    old, new = _flatten(recorded.get("config", {})), _flatten(current.get("config", {}))
    for key in sorted(set(old) | set(new)):
        safe = any(key == name or key.startswith(name + ".") for name in SAFE_TO_CHANGE)
        if safe or old.get(key, "<unset>") == new.get(key, "<unset>"):
            continue
        changes.append(f"{key}: {json.dumps(old.get(key, '<unset>'))} -> {json.dumps(new.get(key, '<unset>'))}")
    if "spec_sha256" in recorded and recorded.get("spec_sha256") != current.get("spec_sha256"):
        changes.append("spec.geno: edited since the run started" if current.get("spec_sha256")
                       else "spec.geno: missing")
    old_id, new_id = recorded.get("identity") or {}, current.get("identity") or {}
    for key in sorted(set(old_id) | set(new_id)):
        if old_id.get(key) != new_id.get(key):
            changes.append(f"{key}: differs from the one the run started with")
    return changes
