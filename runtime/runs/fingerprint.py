"""A run's fingerprint: what makes it this run (its resolved config, the hash of its spec copy,
and an identity a run kind adds: the genotype of a retraining, the macro of a macro phase),
and the changes between two fingerprints that a resume refuses without ``--force``."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Mapping

from genolang.base import safe_files as sf
from genolang.base.limits import MAX_FILE_BYTES

__all__ = ["SAFE_TO_CHANGE", "fingerprint", "fingerprint_changes"]

# Settings a resumed run may change without --force: where it runs, in which memory layout,
# with how many CPU threads and whether the step is captured in a CUDA graph: each changes how
# fast or in how much memory a step runs, not what it computes. (`search.memory` is not one:
# its recomputed backward rounds differently, so a search drifts to another α.) Dotted names
# cover one setting; plain names a whole section.
SAFE_TO_CHANGE = ("device", "channels_last", "threads", "search.cuda_graphs")


def fingerprint(spec: Path, config, identity: Mapping[str, Any] | None = None) -> dict:
    """The fingerprint of a run of ``config`` whose spec copy is the file ``spec``."""
    dumped = config.model_dump(mode="json") if hasattr(config, "model_dump") else dict(config)
    data = sf.read_bytes(spec, limit=MAX_FILE_BYTES, missing_ok=True)
    return {"config": dumped,
            "spec_sha256": hashlib.sha256(data).hexdigest() if data is not None else None,
            **({"identity": dict(identity)} if identity else {})}


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
