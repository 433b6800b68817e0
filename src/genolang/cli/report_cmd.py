"""`geno report DIR...`: a Markdown page with tables and PNG figures from runs and studies.

(Not `report.py`: that name would shadow `genolang.cli.report`, the error printer.)
"""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from genolang.cli import app


@app.command()
def report(
    dirs: List[Path] = typer.Argument(..., help="Study directories (geno repeat), run directories, or folders of them."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Folder for report.md and its figures (default DIR/report)."),
    title: str = typer.Option("genolang report", "--title"),
) -> None:
    """Tables of final-epoch metrics, mean (std), rows = configuration and columns = Random /
    CDARTS / ICDARTS with latency beside accuracy; distinct genotypes by hash; op and depth
    frequencies; E's test accuracy per search epoch with a 95 % band; α heat maps and
    trajectories. For runs in the NAS-Bench-201 space: each cell's benchmark-table score beside
    its retrained accuracy, the exact distribution of all cells as the random baseline, and
    sign, Welch and Mann-Whitney tests with n and bootstrap 95 % intervals. Needs matplotlib
    (pip install 'genolang[report]'); the table needs pip install 'genolang[bench]'."""
    from genolang.runtime.report.page import write_report
    from genolang.base.safe_files import inside

    page = write_report(list(dirs), out or inside(dirs[0], "report"), title=title)
    typer.echo(str(page))
