"""Front-end speed: parse + lower + verify the whole spec library, and generated specs.

    python bench/bench_frontend.py [--repeat 20]

Prints the median time to load every file of specs/ and the stdlib (warm: the grammar is
built once, as in a long-running process), and the time for generated specs of 10, 100 and
1,000 cells, to show that time grows linearly with spec size.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def library_files() -> list[Path]:
    return sorted((ROOT / "specs").rglob("*.geno")) + sorted((ROOT / "compiler" / "stdlib").glob("*.geno"))


def generated_spec(cells: int) -> str:
    lines = ['use "spaces.geno"', ""]
    for i in range(cells):
        lines += [f"cell c{i} {{", "  nodes 4", "  edges from darts", "  select darts top 2", "}", ""]
    lines += ["genotype g {", "  space darts"]
    for i in range(cells):
        lines += [f"  cell c{i} {{", "    n0 = sep_conv_3(c0) + skip(c1)", "    n1 = dil_conv_5(n0) + max_pool_3(c1)",
                  "    n2 = sep_conv_5(n1) + avg_pool_3(c0)", "    n3 = skip(n2) + sep_conv_3(n0)", "  }"]
    lines.append("}")
    return "\n".join(lines) + "\n"


def timed(fn, repeat: int) -> float:
    """Median CPU time of ``fn`` (process time: robust to other jobs on a shared machine;
    the front end is single-threaded, so it equals wall time on an idle one)."""
    samples = []
    for _ in range(repeat):
        start = time.process_time()
        fn()
        samples.append(time.process_time() - start)
    return statistics.median(samples)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args(argv)

    import genolang
    import genolang.errors
    from genolang.compiler import load as load_mod
    from genolang.grammar import parse

    files = []
    for f in library_files():
        try:
            genolang.load(f)
            files.append(f)
        except genolang.errors.GenolangError as exc:
            print(f"skipping {f.relative_to(ROOT)}: {exc.message}")
    start = time.perf_counter()
    parse("")  # build the LALR tables once
    build = time.perf_counter() - start
    print(f"grammar table build (once per process): {build * 1e3:.1f} ms")

    from genolang.grammar.parser import _FILE_CACHE

    def load_library():
        _FILE_CACHE.clear()  # cold: every file parsed once per pass (imports shared, as in one `geno check`)
        for f in files:
            genolang.load(f)

    lines = sum(f.read_text().count("\n") for f in files)
    t = timed(load_library, args.repeat)
    print(f"spec library: {len(files)} files, {lines} lines: parse+lower+verify {t * 1e3:.1f} ms (target < 50 ms)")

    with tempfile.TemporaryDirectory() as tmp:
        for cells in (10, 100, 1000):
            path = Path(tmp) / f"gen{cells}.geno"
            path.write_text(generated_spec(cells))
            t_parse = timed(lambda: parse(path.read_text(), str(path)), max(3, args.repeat // 4))
            t_all = timed(lambda: (_FILE_CACHE.clear(), genolang.load(path)), max(3, args.repeat // 4))
            print(f"generated spec, {cells:5d} cells (+ a {cells}-cell genotype): parse {t_parse * 1e3:8.1f} ms, "
                  f"parse+lower+verify {t_all * 1e3:8.1f} ms, {t_all / cells * 1e6:7.1f} us/cell")
    del load_mod
    sys.stdout.flush()


if __name__ == "__main__":
    main()
