"""What the loop prints and leaves, and how a run picks up from it: the settings line at the
start; after every epoch the progress lines, the record in metrics.jsonl, the epoch's genotype,
side logs, and the checkpoint, written last so that a resumed run drops the records and
genotypes past it (:class:`EpochRecords`, a part of
:class:`~genolang.runtime.search.cyclic.CyclicLoop`)."""

from __future__ import annotations

from pathlib import Path

from genolang.compiler.genotype.genotext import genotype_summary
from genolang.compiler.lower.ir import Genotype
from genolang.runtime.runs.checkpoint import load_checkpoint
from genolang.runtime.runs.finite import check_state

__all__ = ["EpochRecords"]


class EpochRecords:
    """The loop's records and resume; the loop provides ``algo``, ``search_cfg``, ``progress``,
    ``run_dir``, ``state_dict``, ``load_state_dict`` and ``next_epoch``."""

    def settings_line(self) -> str:
        """The resolved settings that decide what the search computes, printed at the start
        (they are also in the run's config.json)."""
        a, s = self.algo, self.search_cfg
        route = a.route or a.name
        return (f"algorithm {a.name} (route {route}: ws_kd={a.ws_kd} we_kd={a.we_kd} we_split={a.we_split}); "
                f"share_stem_heads={a.share_stem_heads} edge_weights={a.edge_weights} head_ce={a.head_ce:g} "
                f"kd={a.kd_reduction} kd_mask={a.kd_mask} T={a.T:g} lam={a.lam:g} warmup_split={a.warmup_split} "
                f"reset_optimizers={a.reset_optimizers} augment={s.augment} "
                f"alpha_lr={self._arch_lr:.3g}{' (auto)' if s.alpha_lr == 'auto' else ''}; parts: {a.parts_line()}")

    def _summary(self, genotype: Genotype) -> str:
        return genotype_summary(genotype)

    def _log_extra(self, genotype: Genotype | None, record: dict) -> None:
        """Side logs of an epoch (TensorBoard); none by default."""

    def _epoch_end(self, record: dict, genotype: Genotype | None) -> None:
        check_state(self.state_dict(), epoch=record["epoch"], phase=record["phase"])   # nothing non-finite is ever written
        values = {k: v for k, v in record.items() if isinstance(v, float)}
        self.progress.epoch(record["phase"], record["epoch"], values)
        if genotype is not None:
            self.progress.message(self._summary(genotype))
        if self.run_dir is None:
            return
        if genotype is not None:
            record.setdefault("genotype", self._summary(genotype))
            # numbered as the provenance and the report number it: search epochs from 1
            number = record["search_epoch"] + 1 if "search_epoch" in record else record["epoch"]
            self.run_dir.save_genotype(genotype, epoch=number)
        self.run_dir.log(record)
        self._log_extra(genotype, record)
        # written last: records and genotypes past the checkpoint are dropped on resume
        self.run_dir.save_checkpoint(self.state_dict())

    def resume_from(self, path: str | Path) -> None:
        # loaded to the CPU: RNG states must stay CPU tensors; load_state_dict moves the rest
        self.load_state_dict(load_checkpoint(path))
        if self.run_dir is not None:
            self.run_dir.truncate_metrics_from(self.next_epoch)
            self.run_dir.truncate_genotypes(self.next_epoch)
