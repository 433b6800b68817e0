"""Seeded fuzzing of every spec in specs/ and the standard library through `geno check` and
`geno compile --summary`, in one process, with a time and a memory cap per input.

Each mutant is one of: a truncation, a deleted span, a duplicated line, a renamed name, a
number replaced by an extreme, an expression or block nested deeply, or an encoding damage
(BOM, invalid UTF-8, NUL, CR line ends, UTF-16). `geno check` must accept it (exit 0) or
refuse it with exit 2 and a located message; a mutant that checks cleanly is compiled (its
network shrunk to a few channels) and must compile or be refused the same way. Any traceback,
hang, memory blow-up or unlocated error fails the test with the mutant's text.

The test prints how many mutants were tried and how each ended (run with ``-s``).
"""

from __future__ import annotations

import random
import re
import shutil
from collections import Counter
from pathlib import Path


from hostile import LOCATION, run_capped

ROOT = Path(__file__).resolve().parents[2]
SEED = 20261201
MUTANTS = 300
COMPILE_AT_MOST = 25               # compiled mutants (each builds a small torch network)
SECONDS = 5.0                      # CPU seconds per check (load on the machine does not inflate them)
HANG = 60.0                        # wall seconds: past this a check is taken to hang
COMPILE_SECONDS = 120.0            # per compile (it builds and runs a network: a cap against hangs)
MEMORY = 512 * 2**20               # growth of the process's peak memory per call

EXTREMES = ["0", "-1", "1000000000", "9223372036854775808", "1e999", "-1e999", "nan", "inf", "1" + "0" * 5000,
            "0.0000001", "99999999999999999999999999999999", "4 // 0", '"a" * 100000000']
NAMES = ["zero", "random", "C", "s", "darts", "normal", "reduce", "search_net", "sep_conv_3", "x", "_", "op",
         "network", "inputs", "cell"]


def _corpus() -> list[Path]:
    return sorted((ROOT / "specs").rglob("*.geno")) + sorted((ROOT / "compiler" / "stdlib").glob("*.geno"))


def _lines(text: str) -> list[str]:
    return text.split("\n")


def truncate(rng: random.Random, text: str) -> bytes:
    return text[: rng.randrange(len(text) + 1)].encode()


def delete(rng: random.Random, text: str) -> bytes:
    start = rng.randrange(len(text) + 1)
    return (text[:start] + text[start + rng.randint(1, 40):]).encode()


def duplicate(rng: random.Random, text: str) -> bytes:
    lines = _lines(text)
    i = rng.randrange(len(lines))
    j = min(len(lines), i + rng.randint(1, 6))
    return "\n".join(lines[:j] + lines[i:j] + lines[j:]).encode()


def rename(rng: random.Random, text: str) -> bytes:
    words = list(re.finditer(r"[A-Za-z_][A-Za-z0-9_]*", text))
    if not words:
        return text.encode()
    word = rng.choice(words)
    new = rng.choice(NAMES + [word.group() + "x", word.group()[:-1] or "y"])
    if rng.random() < 0.5:          # every occurrence, or just this one
        return re.sub(rf"\b{re.escape(word.group())}\b", new, text).encode()
    return (text[: word.start()] + new + text[word.end():]).encode()


def extreme(rng: random.Random, text: str) -> bytes:
    numbers = list(re.finditer(r"(?<![A-Za-z_x])\d+(\.\d+)?(?![A-Za-z_x\d])", text))
    if not numbers:
        return text.encode()
    number = rng.choice(numbers)
    return (text[: number.start()] + rng.choice(EXTREMES) + text[number.end():]).encode()


def nest(rng: random.Random, text: str) -> bytes:
    depth = rng.choice([5, 40, 200])
    calls = list(re.finditer(r"\b(relu|bn|identity|skip|max_pool\(k=3\))(?=[\s>)\n,])", text))
    braces = [m.start() for m in re.finditer(r"\{", text)]
    if calls and rng.random() < 0.6:
        call = rng.choice(calls)
        wrapped = "residual(" * depth + call.group() + ")" * depth
        return (text[: call.start()] + wrapped + text[call.end():]).encode()
    if braces:
        at = rng.choice(braces) + 1
        return (text[:at] + " k { " * depth + "}" * depth + text[at:]).encode()
    return ("(" * depth + text).encode()


def encoding(rng: random.Random, text: str) -> bytes:
    kind = rng.choice(["bom", "bad_utf8", "nul", "crlf", "utf16", "latin1", "control"])
    data = text.encode()
    at = rng.randrange(len(data) + 1)
    if kind == "bom":
        return b"\xef\xbb\xbf" + data
    if kind == "bad_utf8":
        return data[:at] + b"\xff\xfe\xc3" + data[at:]
    if kind == "nul":
        return data[:at] + b"\x00" + data[at:]
    if kind == "crlf":
        return data.replace(b"\n", b"\r\n")
    if kind == "utf16":
        return text.encode("utf-16")
    if kind == "latin1":
        return (text[:at] + "é # ü" + text[at:]).encode("latin-1", errors="replace")
    return data[:at] + b"\x0b\x0c\x1c" + data[at:]


MUTATIONS = [truncate, delete, duplicate, rename, extreme, nest, encoding]


def _shrink(text: str) -> str:
    """The same network at a size that builds in milliseconds."""
    text = re.sub(r"\bchannels\s+\d+", "channels 4", text)
    return re.sub(r"\binput\s+(\d+)x\d+x\d+", lambda m: f"input {m.group(1)}x16x16", text)


def _acceptable(outcome, path: Path) -> str | None:
    """None when the call ended well (exit 0, or exit 2 with located errors); else why not."""
    if outcome.traceback is not None:
        return "traceback:\n" + outcome.traceback[-2000:]
    if outcome.hung:
        return f"ran past its cap ({outcome.seconds:.0f} s)"
    if outcome.peak_growth > MEMORY:
        return f"grew memory by {outcome.peak_growth / 2**20:.0f} MiB"
    if outcome.code == 0:
        return None
    if outcome.code != 2:
        return f"exit code {outcome.code}: {outcome.stderr[-1000:]}"
    reports = [line for line in outcome.stderr.splitlines() if re.search(r"\berror: ", line)
               and not line.startswith(" ")]
    if not reports:
        return "exit 2 without an error message: " + outcome.stderr[-500:]
    for line in reports:
        match = LOCATION.match(line)
        file_level = line.startswith(str(path)) or f" {path}" in line
        if match is None and not file_level:
            return "unlocated error: " + line
    return None


def test_fuzzed_specs_never_crash_hang_or_go_unlocated(tmp_path):
    import genolang.compiler.passes.summary  # noqa: F401  (torch imported once, outside the caps)

    project = tmp_path / "project"
    shutil.copytree(ROOT / "specs", project / "specs")
    (project / "geno.toml").write_text("")
    (project / "stdlib").mkdir()
    rng = random.Random(SEED)
    corpus = _corpus()
    results: Counter = Counter()
    failures: list[str] = []
    compiled = 0
    for index in range(MUTANTS):
        original = corpus[index % len(corpus)]
        mutation = MUTATIONS[rng.randrange(len(MUTATIONS))]
        text = original.read_text(encoding="utf-8")
        data = mutation(rng, text)
        folder = project / "stdlib" if original.parent.name == "stdlib" else project / original.parent.relative_to(ROOT)
        path = folder / f"mutant_{index}.geno"
        path.write_bytes(data)
        checked = run_capped("check", "-q", str(path), seconds=HANG)
        why = _acceptable(checked, path)
        if why is None and checked.cpu_seconds > SECONDS:
            why = f"took {checked.cpu_seconds:.1f} CPU s"
        results["tried"] += 1
        if why is not None:
            failures.append(f"check {original.name} / {mutation.__name__} (mutant {index}): {why}\n"
                            f"--- mutant ---\n{data[:600]!r}")
            continue
        results["checked ok" if checked.code == 0 else "clean located error (check)"] += 1
        if checked.code != 0 or compiled >= COMPILE_AT_MOST or not re.search(rb"\b(network|genotype)\b", data):
            continue
        if not re.search(r"\b(network|genotype)\b", text) or "macro" in text:
            continue
        small = path.with_name(f"small_{index}.geno")
        small.write_text(_shrink(data.decode("utf-8-sig", errors="replace")), encoding="utf-8")
        compiled += 1
        built = run_capped("compile", str(small), "--batch", "2", seconds=COMPILE_SECONDS)
        why = _acceptable(built, small)
        if why is not None:
            failures.append(f"compile {original.name} / {mutation.__name__} (mutant {index}): {why}\n"
                            f"--- mutant ---\n{small.read_text()[:600]!r}")
            continue
        results["compiled ok" if built.code == 0 else "clean located error (compile)"] += 1
    clean = results["clean located error (check)"] + results["clean located error (compile)"]
    print(f"\nfuzz: {results['tried']} mutants tried (seed {SEED}); {results['checked ok']} checked ok, "
          f"{results['clean located error (check)']} clean located errors from check; {compiled} compiled: "
          f"{results['compiled ok']} ok, {results['clean located error (compile)']} clean located errors; "
          f"{clean} clean located errors in all, {len(failures)} failures")
    assert not failures, "\n\n".join(failures[:5])
