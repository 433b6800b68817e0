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
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import shutil
import sys
import time
from pathlib import Path
from typing import Any, Mapping

import torch

from genolang.compiler.ir import Genotype
from genolang.errors import ConfigError, UserError
from genolang.runtime.checkpoint import load_checkpoint, remove_orphans, save_atomic
from genolang.runtime.genotext import genotype_json, genotype_text, standalone_genotype_text

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
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    index = 1
    while True:
        path = root / (name if index == 1 else f"{name}-{index}")
        try:
            path.mkdir()
            break
        except FileExistsError:
            index += 1
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
        if not pattern.fullmatch(entry.name) or not entry.is_dir():
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
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
    os.replace(tmp, path)


def _read_json_quiet(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def read_json(path: Path) -> Any:
    """A JSON file of a run directory; a located :class:`RunDirError` when it is torn."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise RunDirError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise RunDirError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    try:
        return json.loads(text)
    except ValueError as exc:
        line, col = getattr(exc, "lineno", 0), getattr(exc, "colno", 0)
        raise RunDirError(f"{path}:{line}:{col}: not valid JSON ({getattr(exc, 'msg', exc)})",
                          hint="the file is damaged: restore it, or start the run again") from None


def read_jsonl(path: Path, *, repair: bool = False) -> list[dict]:
    """The records of a JSONL log. A torn *last* line (a run killed while appending) is
    skipped, and with ``repair`` cut from the file with a warning; a damaged line before the
    last is a located :class:`RunDirError`."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise RunDirError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    lines = data.split(b"\n")
    records, offset = [], 0
    for number, line in enumerate(lines, 1):
        if line.strip():
            try:
                record = json.loads(line.decode("utf-8"))
                if not isinstance(record, dict):
                    raise ValueError("not a JSON object")
            except ValueError as exc:     # UnicodeDecodeError and JSONDecodeError are ValueErrors
                if any(rest.strip() for rest in lines[number:]):
                    raise RunDirError(f"{path}:{number}: not a valid JSON record ({getattr(exc, 'msg', exc)})",
                                      hint="the log is damaged: restore it, or delete that line") from None
                if repair:
                    print(f"warning: {path}:{number}: dropped a torn last line (the run was stopped while "
                          "writing it)", file=sys.stderr)
                    with open(path, "r+b") as handle:
                        handle.truncate(offset)
                break
            records.append(record)
        offset += len(line) + 1
    return records


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
        data = read_json(self.path / "config.json")
        if not isinstance(data, dict):
            raise RunDirError(f"{self.path / 'config.json'}: not a JSON object")
        return data

    def load_config(self):
        """``config.json`` as an ExperimentConfig; located errors if it is torn or invalid."""
        from genolang.compiler.experiment import ExperimentConfig

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
        return read_jsonl(self.path / "metrics.jsonl")

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
        return read_jsonl(self.path / "genotypes.jsonl")

    def truncate_genotypes(self, keep_epochs_below: int) -> None:
        if not self.writer or not (self.path / "genotypes.jsonl").exists():
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
            raise RunDirError(f"{self.path} is in use by another running process",
                              hint="wait for it to finish, or stop it (Ctrl-C) and resume") from None
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

    # -- start and resume -------------------------------------------------------------------
    @classmethod
    def existing(cls, path: str | Path, *, needs: tuple[str, ...], what: str) -> "RunDir":
        """The run directory ``path`` for a resume; an error (and nothing created) if it is not
        there or lacks the files ``needs``."""
        path = Path(path)
        if not path.is_dir():
            raise RunDirError(f"{path}: no such run directory" if not path.exists() else f"{path}: not a directory",
                              hint=f"give the directory of a {what} run (the one its output named)")
        missing = [name for name in needs if not (path / name).exists()]
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
            read_jsonl(self.path / "metrics.jsonl", repair=True)
            read_jsonl(self.path / "genotypes.jsonl", repair=True)
        state = load_checkpoint(self.checkpoint_path) if self.checkpoint_path.exists() else None
        info = read_json(self.path / RUN_FILE) if (self.path / RUN_FILE).exists() else {}
        recorded = info.get("fingerprint") if isinstance(info, dict) else None
        if recorded is None and state is not None and isinstance(state.get("config"), dict):
            recorded = {"config": state["config"]}
        if not (self.path / "spec.geno").exists():
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
        spec = self.path / "spec.geno"
        dumped = config.model_dump(mode="json") if hasattr(config, "model_dump") else dict(config)
        return {"config": dumped,
                "spec_sha256": hashlib.sha256(spec.read_bytes()).hexdigest() if spec.exists() else None,
                **({"identity": dict(identity)} if identity else {})}

    def _record_fingerprint(self, config, identity, forced: list[str] | None = None) -> None:
        if not self.writer:
            return
        info = _read_json_quiet(self.path / RUN_FILE)
        info.setdefault("name", self.path.name)
        info.setdefault("created", time.time())
        info["fingerprint"] = self.fingerprint(config, identity)
        if forced:
            info.setdefault("forced", []).append({"time": time.time(), "changes": forced})
        _write_json(self.path / RUN_FILE, info)

    def note_runtime(self, record: Mapping[str, Any]) -> None:
        """Append where and with how many threads this start (or resume) of the run computes
        to run.json's ``runtime`` list: the provenance of its speed, one entry per session."""
        if not self.writer:
            return
        info = _read_json_quiet(self.path / RUN_FILE)
        info.setdefault("runtime", []).append({"time": time.time(), **record})
        _write_json(self.path / RUN_FILE, info)

    def close(self) -> None:
        if self._tb:
            self._tb.close()
        self.unlock()


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
