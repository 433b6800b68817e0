"""Running a loop (the cell search, the macro phase) in its run directory: the progress display
that names the resume command, and the run to its end, where a diverging run stops with that
command and the display and the directory's lock are released whatever happens."""

from __future__ import annotations

from genolang.runtime.runs.finite import NonFiniteError, stopped
from genolang.runtime.runs.progress import Progress
from genolang.runtime.runs.rundir import RunDir
from genolang.runtime.runs.run_threads import RunThreads

__all__ = ["loop_progress", "run_to_end"]


def loop_progress(config, rd: RunDir | None, *, enabled: bool, command: str) -> Progress:
    """The progress display of a loop run by ``geno COMMAND`` (resumed by ``geno COMMAND --resume``)."""
    return Progress(config.search.pretrain_epochs + config.search.epochs, enabled=enabled,
                    pretrain_epochs=config.search.pretrain_epochs, run_dir=rd.path if rd else None,
                    resume=f"geno {command} --resume {rd.path}" if rd else None)


def run_to_end(searcher, rd: RunDir | None, threads: RunThreads, command: str):
    """``searcher.run()`` with its thread policy; a non-finite value stops the run (the last
    finite checkpoint stays the one to resume, with ``geno COMMAND --resume``)."""
    searcher.threads = threads
    try:
        return searcher.run()
    except NonFiniteError as exc:
        raise stopped(exc, epoch=searcher.next_epoch, total=searcher.total_epochs, run_dir=rd,
                      command=f"{command} --resume {{run}}") from None
    finally:
        searcher.progress.close()
        if rd is not None:
            rd.close()
