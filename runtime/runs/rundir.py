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

import os
import re
import sys
import time
from pathlib import Path
from typing import Any, Mapping

from genolang.base import safe_files as sf
from genolang.base.errors import ConfigError
from genolang.base.limits import MAX_EPOCHS
from genolang.base.safe_locks import LockHeld, take_lock
from genolang.runtime.runs.checkpoint import load_checkpoint, remove_orphans
from genolang.runtime.runs.fingerprint import SAFE_TO_CHANGE, fingerprint, fingerprint_changes
from genolang.runtime.runs.run_files import RunFiles
from genolang.runtime.runs.run_io import (
    RunDirError, is_main_process, read_json, read_json_quiet, read_jsonl, write_json,
)

# the run directory's parts, importable from here as before it was split by concept
__all__ = ["RunDir", "RunDirError", "is_main_process", "new_run_dir", "check_run_name", "newest_run",
           "SAFE_TO_CHANGE", "RUN_FILE", "read_json", "read_jsonl", "fingerprint_changes"]

RUN_FILE = "run.json"


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
    write_json(path / RUN_FILE, {"name": name, "created": time.time()})
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
        info = read_json_quiet(entry / RUN_FILE)
        recorded = info.get("name")
        if entry.name != name and recorded not in (name, None):
            continue         # `digits-2` of an experiment that is itself called `digits-2`
        created = info.get("created")
        if not isinstance(created, (int, float)):
            created = entry.stat().st_mtime
        found.append((created, entry.name != name, entry))
    return max(found)[2] if found else None


class RunDir(RunFiles):
    """A run's life in its directory: the lock, the start (spec copy, config, fingerprint) and
    the resume (checks, repairs, the checkpoint) -- the module docstring -- on top of the
    directory's files (:class:`~genolang.runtime.runs.run_files.RunFiles`)."""

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
        return fingerprint(self._file("spec.geno"), config, identity)

    def _record_fingerprint(self, config, identity, forced: list[str] | None = None) -> None:
        if not self.writer:
            return
        info = read_json_quiet(self._file(RUN_FILE))
        info.setdefault("name", self.path.name)
        info.setdefault("created", time.time())
        info["fingerprint"] = self.fingerprint(config, identity)
        if forced:
            earlier = info.get("forced") if isinstance(info.get("forced"), list) else []
            info["forced"] = earlier + [{"time": time.time(), "changes": forced}]
        write_json(self._file(RUN_FILE), info)

    def note_runtime(self, record: Mapping[str, Any]) -> None:
        """Append where and with how many threads this start (or resume) of the run computes
        to run.json's ``runtime`` list: the provenance of its speed, one entry per session."""
        if not self.writer:
            return
        info = read_json_quiet(self._file(RUN_FILE))
        runtime = info.get("runtime") if isinstance(info.get("runtime"), list) else []
        info["runtime"] = runtime + [{"time": time.time(), **record}]
        write_json(self._file(RUN_FILE), info)

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
