"""Front-end speed: parse + lower + verify the whole spec library, and generated specs.

    python bench/bench_frontend.py [--repeat 20]

Prints the median time to load every file of specs/ and the stdlib (warm: the grammar is
built once, as in a long-running process), and the time for generated specs of 10, 100 and
1,000 cells, to show that time grows linearly with spec size; then the wall and CPU time of
two whole commands in a fresh process, `geno check` of one spec and `geno compile --summary`
of DARTS V2 (wall time suffers from other jobs on a shared machine; CPU time much less).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
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


# (command, target wall seconds) -- the targets of issue 10
COMMANDS = ((("check", "specs/icdarts/digits.geno"), 0.5), (("compile", "zoo/darts_v2", "--summary"), 2.0))


def command_times(argv: tuple[str, ...], repeat: int) -> tuple[float, float]:
    """Median wall and CPU (user + sys) seconds of ``geno ARGV`` in a fresh interpreter."""
    walls, cpus = [], []
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    # as installed: byte-compiled modules (the first, untimed run writes any missing ones)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    subprocess.run([sys.executable, "-m", "genolang", *argv], cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "genolang", *argv], cwd=ROOT, env=env, check=True,
                       stdout=subprocess.DEVNULL)
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(walls), statistics.median(cpus)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args(argv)

    import genolang
    import genolang.base.errors
    import genolang.compiler.lower.load as load_mod
    from genolang.grammar import parse

    files = []
    for f in library_files():
        try:
            genolang.load(f)
            files.append(f)
        except genolang.base.errors.GenolangError as exc:
            print(f"skipping {f.relative_to(ROOT)}: {exc.message}")
    from genolang.grammar.parser import _parser

    _parser.cache_clear()
    start = time.perf_counter()
    parse("")  # load the LALR tables once (grammar/parse_tables.py)
    build = time.perf_counter() - start
    print(f"grammar tables (once per process): {build * 1e3:.1f} ms")

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
    for command, target in COMMANDS:
        wall, cpu = command_times(command, max(3, args.repeat // 4))
        print(f"geno {' '.join(command)}: {wall:.2f} s wall, {cpu:.2f} s CPU (target < {target} s wall: "
              f"{'met' if wall < target else 'not met'})")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
