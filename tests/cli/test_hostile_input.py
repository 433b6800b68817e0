"""Hostile and careless specs through `geno check` / `geno compile`: every one is refused with
exit 2, a located message and no traceback, quickly, in little memory (issue 11, defects 2, 3,
4, 5 and 7), and `use` never reads or prints a file outside the project.

The last test runs the data-driven hostile inputs of this file again (it passes alone and in
any order) and prints how many were tried and how many gave a clean located error (run with
``-s`` to see it). Speed is bounded by the CPU time a call takes, which load on the machine does
not inflate; the wall clock only guards against hangs.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest


from hostile import located, run_capped

from genolang.base.limits import MAX_FILE_BYTES

SECRET = "TOP-SECRET-LINE"
NET = """
network net {
  input 3x8x8
  classes 10
  channels 4
  cells 3 reduce at 1
}
"""
CELLS = 'use "spaces.geno"\ncell normal {\n  nodes 2\n  edges from darts\n}\ncell reduce like normal {\n  reduction\n}\n'
EXPERIMENT = CELLS + NET + "experiment run {\n  templates { search = net  eval = net }\n%s\n}\n"
FAST = 1.0                          # CPU seconds: a limit answers at once
HANG = 60.0                         # wall seconds: past this a call is taken to hang
SMALL = 256 * 2**20                 # bytes the process may grow by while refusing


@pytest.fixture(autouse=True, scope="module")
def _warm():
    """Import every command (and torch) once, so that timings measure the check, not the imports."""
    import genolang.compiler.build.export  # noqa: F401
    import genolang.compiler.passes.summary  # noqa: F401

    run_capped("check", str(Path(__file__).resolve().parents[2] / "specs" / "icdarts" / "digits.geno"))


def refused(*args: str, file: str | None = None, seconds: float = FAST, memory: int = SMALL):
    """Run `geno ARGS`; assert exit 2, located, no traceback, within the CPU-time and memory caps."""
    outcome = run_capped(*args, seconds=max(HANG, 10 * seconds))
    assert outcome.traceback is None, outcome.traceback
    assert not outcome.hung, f"geno {' '.join(args)} hung"
    assert outcome.code == 2, (outcome.code, outcome.stdout, outcome.stderr)
    if file is not False:
        assert located(outcome.stderr, file), outcome.stderr
    assert outcome.cpu_seconds < seconds, f"{outcome.cpu_seconds:.2f} CPU s"
    assert outcome.peak_growth < memory, f"{outcome.peak_growth / 2**20:.0f} MiB"
    return outcome


def spec(tmp_path: Path, text: str, name: str = "spec.geno") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


# ----------------------------------------------------------------------------- `use` (defect 2)


@pytest.fixture
def project(tmp_path):
    """A project folder (marked by geno.toml) and, outside it, a secret file and a secret spec."""
    root = tmp_path / "project"
    root.mkdir()
    (root / "geno.toml").write_text("")
    (tmp_path / "secret.txt").write_text(SECRET + "\n")
    (tmp_path / "secret.geno").write_text(f"{SECRET} is not genolang\n")
    (root / "notes.txt").write_text(SECRET + "\n")
    return root


@pytest.mark.parametrize("target", ["/etc/passwd", "/proc/self/environ", "../secret.txt", "../secret.geno",
                                    "notes.txt", "SECRET_ABS", "../../../../../../../../etc/hostname"])
def test_use_outside_the_project_or_of_a_non_spec_is_refused_unread(project, target):
    if target == "SECRET_ABS":
        target = str(project.parent / "secret.geno")
    out = refused("check", spec(project, f'use "{target}"\n'), file="spec.geno")
    assert SECRET not in out.stderr + out.stdout
    assert "cannot use" in out.stderr


def test_a_symlink_that_escapes_counts_as_escaping(project):
    (project / "link.geno").symlink_to(project.parent / "secret.geno")
    out = refused("check", spec(project, 'use "link.geno"\n'), file="spec.geno")
    assert SECRET not in out.stderr and "outside the project" in out.stderr


def test_inside_the_project_dotdot_works(project):
    (project / "lib").mkdir()
    (project / "lib" / "ops.geno").write_text("op mine = relu >> bn\n")
    (project / "sub").mkdir()
    path = spec(project / "sub", 'use "../lib/ops.geno"\nspace s { mine }\n')
    assert run_capped("check", path).code == 0


def test_allowed_folders_open_the_door(project, monkeypatch):
    outside = project.parent / "shared"
    outside.mkdir()
    (outside / "lib.geno").write_text("op mine = relu >> bn\n")
    main = spec(project, f'use "{outside / "lib.geno"}"\nspace s {{ mine }}\n')
    assert run_capped("check", main).code == 2
    assert run_capped("check", "--allow-path", str(outside), main).code == 0
    relative = spec(project, 'use "lib.geno"\nspace s { mine }\n', "rel.geno")
    monkeypatch.setenv("GENOLANG_PATH", str(outside))
    assert run_capped("check", relative).code == 0


def test_symlink_loop_over_long_path_and_folder_targets(tmp_path):
    (tmp_path / "loop.geno").symlink_to(tmp_path / "loop.geno")
    (tmp_path / "dir.geno").mkdir()
    for target in ("loop.geno", "dir.geno", "x" * 5000 + ".geno"):
        refused("check", spec(tmp_path, f'use "{target}"\n'), file="spec.geno")


def test_an_unreadable_use_target(tmp_path, monkeypatch):
    spec(tmp_path, "op x = relu\n", "locked.geno")
    real_open = os.open

    def deny(path, *args, **kwargs):
        if str(path).endswith("locked.geno"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", deny)
    out = refused("check", spec(tmp_path, 'use "locked.geno"\n'), file="spec.geno")
    assert "permission denied" in out.stderr


# ----------------------------------------------------------------------------- files (defect 3)


def test_dev_zero_and_a_fifo_are_refused_without_reading(tmp_path):
    fifo = tmp_path / "pipe.geno"
    os.mkfifo(fifo)
    for path in ("/dev/zero", str(fifo)):
        out = refused("check", path, file=False)
        assert "not a regular file" in out.stderr


def test_a_symlink_loop_or_an_over_long_name_on_the_command_line(tmp_path):
    (tmp_path / "loop.geno").symlink_to(tmp_path / "loop.geno")
    for path in (tmp_path / "loop.geno", tmp_path / ("x" * 5000 + ".geno")):
        for command in ("check", "compile"):
            out = refused(command, str(path), file=False)
            assert "symbolic links" in out.stderr or "too long" in out.stderr


def test_a_file_over_the_size_limit_is_refused_before_reading(tmp_path):
    path = tmp_path / "huge.geno"
    with open(path, "wb") as handle:
        handle.truncate(MAX_FILE_BYTES + 1)      # sparse: costs no disk
    out = refused("check", str(path), file=False)
    assert "limited to" in out.stderr


def test_a_byte_order_mark_is_accepted(tmp_path):
    path = tmp_path / "bom.geno"
    path.write_bytes(b"\xef\xbb\xbf" + (CELLS + NET).encode())
    assert run_capped("check", str(path)).code == 0


# ----------------------------------------------------------------------------- sizes (defect 3)

SIZES = {
    "nodes": CELLS.replace("nodes 2", "nodes 1000000000") + NET,
    "cells": CELLS + NET.replace("cells 3", "cells 1000000000"),
    "channels": CELLS + NET.replace("channels 4", "channels 20000"),
    "resolution": CELLS + NET.replace("3x8x8", "3x4096x4096"),
    "classes": CELLS + NET.replace("classes 10", "classes 999999999999"),
    "string": EXPERIMENT % '  name = "a" * 6000000000',
    "string_sum": EXPERIMENT % ('  name = "' + "a" * 6000 + '" + "' + "b" * 6000 + '"'),
    "integer_digits": EXPERIMENT % ("  seed = 1" + "0" * 5000),
    "nesting_combinators": "op x = " + "sum(" * 200 + "relu" + ", relu)" * 200 + "\n",
    "nesting_blocks": "experiment e { " + "a { " * 300 + "}" * 300 + " }\n",
    "nesting_arithmetic": "op x = conv(k=3, out=" + " + ".join(["1"] * 1000) + ")\n",
    "nesting_space_algebra": 'use "spaces.geno"\nspace s = darts' + " | darts" * 1000 + "\n",
    "op_chain": "op o0 = relu\n" + "".join(f"op o{i} = o{i - 1}\n" for i in range(1, 300)),
    "space_chain": 'use "spaces.geno"\n' + "".join(f"space s{i} = s{i + 1}\n" for i in range(300)) + "space s300 = darts\n",
    "like_chain": CELLS + "".join(f"cell c{i} like {'normal' if i == 0 else f'c{i - 1}'} {{}}\n" for i in range(1000)),
    "macro_depth": CELLS + NET + "macro m version 1 {\n  template net\n  depth 100000000\n}\n",
    "experiment_blocks": EXPERIMENT % ("  search " + "{ x " * 300 + "= 1" + " }" * 300),
}


@pytest.mark.parametrize("name", sorted(SIZES))
def test_every_size_has_a_limit_with_a_located_error(tmp_path, name):
    out = refused("check", spec(tmp_path, SIZES[name]), file="spec.geno")
    assert "docs/limits.md" in out.stderr or "nested too deeply" in out.stderr or "limit" in out.stderr


def test_a_network_too_big_for_memory_is_refused_with_the_figure(tmp_path, monkeypatch):
    path = spec(tmp_path, CELLS + NET.replace("channels 4", "channels 64"))
    monkeypatch.setenv("GENOLANG_MAX_NETWORK_BYTES", str(2**20))
    out = refused("compile", path, "--batch", "2", file="spec.geno")
    assert "would need about" in out.stderr and "parameters" in out.stderr and "GiB" in out.stderr
    monkeypatch.delenv("GENOLANG_MAX_NETWORK_BYTES")
    assert run_capped("compile", path, "--batch", "2", seconds=120.0).code == 0   # a cap against hangs only


def test_a_huge_network_is_refused_before_allocating(tmp_path):
    path = spec(tmp_path, CELLS + NET.replace("channels 4", "channels 4096").replace("3x8x8", "3x2048x2048")
                .replace("cells 3", "cells 20"))
    out = refused("compile", path, "--batch", "2", file="spec.geno", seconds=3.0)
    assert "would need about" in out.stderr


def test_many_errors_render_in_linear_time(tmp_path):
    """20,000 duplicate definitions: the parse dominates; rendering the errors is linear."""
    from genolang.api import load
    from genolang.base.errors import GenolangError
    import time

    path = spec(tmp_path, "op a = relu\n" * 20_000)
    with pytest.raises(GenolangError) as caught:
        load(path)
    start = time.process_time()
    text = caught.value.render()
    assert time.process_time() - start < FAST
    assert text.endswith("19999 errors found") and "... and 19949 more" in text
    refused("check", path, file="spec.geno", seconds=15.0, memory=2**31)


def test_a_long_op_chain_is_linear(tmp_path):
    import time

    times = []
    for terms in (5_000, 20_000):
        path = spec(tmp_path, "op a = " + " >> ".join(["relu"] * terms) + "\n", f"chain{terms}.geno")
        outcome = run_capped("check", path, seconds=HANG)
        assert outcome.code == 0
        times.append(outcome.cpu_seconds)
    assert times[1] < 8 * times[0] + 0.5, times      # 4x the input, not 16x the time
    assert times[1] < 10, times


# ----------------------------------------------------------------------------- settings (defects 4, 5, 7)

SETTINGS = {
    "inf_literal": "  search { w_lr = 1e999 }",
    "nan_name": "  search { alpha_lr = nan }",
    "inf_name": "  retrain { lr = inf }",
    "betas": "  search { alpha_betas = (2, 3) }",
    "seed_huge": "  seed = 1000000000000000000000000000000",
    "seed_negative": "  seed = -1",
    "duplicate_setting": "  seed = 1\n  seed = 2",
    "duplicate_block": "  search { epochs = 1 }\n  search { batch = 2 }",
    "unknown_space": "  templates { space = nope }",
    "unknown_data_kind": "  data { kind = digitz }",
    "unknown_data_option": "  data { kind = digits  options { colour = 1 } }",
    "string_times_string": '  name = "a" * "b"',
    "division_by_zero": "  search { epochs = 4 // 0 }",
}


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_settings_that_would_fail_later_fail_at_validation(tmp_path, name):
    text = EXPERIMENT % SETTINGS[name]
    if name == "unknown_space":
        text = text.replace("templates { search = net  eval = net }", "templates { search = net  eval = net  space = nope }")
        text = text.replace("  templates { space = nope }", "")
    refused("check", spec(tmp_path, text), file="spec.geno")


SHAPES = {
    "input_zero": CELLS + NET.replace("3x8x8", "0x16x16"),
    "c_div_zero": CELLS.replace("edges from darts", "edges from { bad }") + "op bad = conv(k=3, out=C // 0)\n" + NET,
    "three_inputs": CELLS.replace("nodes 2", "inputs c0, c1, c2\n  nodes 2") + NET,
    "narrow_op": CELLS.replace("edges from darts", "edges from { bad }") + "op bad = conv(k=3, out=C // 2, stride=s)\n" + NET,
    "unknown_label": 'use "spaces.geno"\ngenotype g { cell normal { n0 = sep_cnv_3x3(c0) + skip(c1) } }\n',
}


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_check_rejects_what_compile_rejects(tmp_path, name):
    path = spec(tmp_path, SHAPES[name])
    refused("check", path, file="spec.geno")
    refused("compile", path, "--batch", "2", file="spec.geno", seconds=5.0, memory=2**30)


def hostile_corpus(tmp_path) -> list[tuple[str, ...]]:
    """Every data-driven hostile input of this file, as `geno` arguments."""
    calls: list[tuple[str, ...]] = []
    for table in (SIZES, SHAPES):
        for name, text in sorted(table.items()):
            calls.append(("check", spec(tmp_path, text, f"{name}.geno")))
    for name in sorted(SHAPES):
        calls.append(("compile", str(tmp_path / f"{name}.geno"), "--batch", "2"))
    for name, setting in sorted(SETTINGS.items()):
        text = EXPERIMENT % setting
        if name == "unknown_space":
            text = text.replace("templates { search = net  eval = net }",
                                "templates { search = net  eval = net  space = nope }").replace("  templates { space = nope }", "")
        calls.append(("check", spec(tmp_path, text, f"setting_{name}.geno")))
    for i, target in enumerate(["/etc/passwd", "/proc/self/environ", "../secret.txt", "../secret.geno", "notes.txt",
                                "../../../../../../../../etc/hostname"]):
        calls.append(("check", spec(tmp_path, f'use "{target}"\n', f"use_{i}.geno")))
    (tmp_path / "loop.geno").symlink_to(tmp_path / "loop.geno")
    calls += [("check", "/dev/zero"), ("check", str(tmp_path / "loop.geno")), ("compile", str(tmp_path / "loop.geno")),
              ("check", str(tmp_path / ("x" * 5000 + ".geno"))), ("compile", str(tmp_path / ("x" * 5000 + ".geno")))]
    return calls


def test_the_hostile_tally(tmp_path):
    """Runs the corpus itself, so that it passes alone and in any order: every hostile input
    gives a clean located error (a file named on the command line that cannot be read: a
    clean refusal, exit 2, no traceback)."""
    calls = hostile_corpus(tmp_path)
    clean = 0
    for args in calls:
        outcome = run_capped(*args, seconds=HANG)
        on_the_command_line = not args[1].endswith(".geno") or "loop" in args[1] or len(args[1]) > 4000
        ok = outcome.code == 2 and outcome.traceback is None and not outcome.hung
        clean += ok and (on_the_command_line or located(outcome.stderr))
    print(f"\nhostile inputs: {len(calls)} tried, {clean} gave a clean located error")
    assert len(calls) >= 50 and clean == len(calls)
