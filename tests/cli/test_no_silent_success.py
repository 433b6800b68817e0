"""Specs that used to pass `geno check` (and run) while meaning something else: each is now
an error at its line, or, for a data folder missing here, a warning that --strict refuses
(issue 22, item 3)."""

from __future__ import annotations

import pytest

BASE = """use "spaces.geno"
{ops}
cell normal {{
  nodes 2
{cell}  edges from {space}
  select {select}
}}
cell reduce like normal {{
  reduction
}}
network net {{
  input 3x8x8
  classes 10
  channels 4
  cells 3 reduce at {reduce}
{net}}}
experiment run {{
  templates {{ search = net  eval = net }}
{experiment}
}}
"""
DEFAULTS = dict(ops="", cell="", space="darts", select="darts top 2", reduce="1", net="", experiment="")


def write(tmp_path, **parts) -> str:
    path = tmp_path / "case.geno"
    path.write_text(BASE.format(**{**DEFAULTS, **parts}))
    return str(path)


CASES = {
    "a keyword argument twice": (dict(ops="space s2 {\n  a = sep_conv(k=3, k=5)\n  skip\n}", space="s2"),
                                 3, "argument `k` is given twice"),
    "a parameter twice": (dict(ops="op o(k=3, k=5) = sep_conv(k=k)\nspace s2 {\n  o\n  skip\n}", space="s2"),
                          2, "parameter `k` is given twice"),
    "nodes twice": (dict(cell="  nodes 3\n"), 5, "cell `normal` gives `nodes` twice"),
    "a network's cells twice": (dict(net="  cells 4 reduce at 2\n"), 16, "network `net` gives `cells` twice"),
    "a reduction position twice": (dict(reduce="1, 1, 1"), 15, "`reduce at` lists position 1 twice"),
    "a head position twice": (dict(net="  heads distill after 1, 1\n"), 16, "lists position 1 twice"),
    "an absurd top k": (dict(select="darts top 1000000000"), 6, "no node of cell `normal` has more than 3"),
    "an absurd idarts top k": (dict(select="idarts top 1000"), 6, "(predecessor, operation) pairs"),
    "a boolean seed": (dict(experiment="  seed = true"), 19, "`seed`: expects a number, not `true`"),
    "no search epochs": (dict(experiment="  search { epochs = 0 }"), 19, "greater than or equal to 1"),
    "a device torch does not know": (dict(experiment='  device = "gpu:x"'), 19, "`gpu:x` is not a device name"),
    "a device index that is no number": (dict(experiment='  device = "cuda:abc"'), 19, "not a device name"),
    "a run name that is a path": (dict(experiment='  name = "../x"'), 19, "cannot name a run directory"),
}


@pytest.mark.parametrize("case", CASES)
def test_check_refuses_at_the_line(geno, tmp_path, case):
    parts, line, shown = CASES[case]
    ran = geno("check", write(tmp_path, **parts))
    assert ran.returncode == 2, (ran.stdout, ran.stderr)
    assert f"case.geno:{line}:" in ran.stderr and shown in ran.stderr and "Traceback" not in ran.stderr


def test_the_base_spec_is_clean(geno, tmp_path):
    ran = geno("check", write(tmp_path))
    assert ran.returncode == 0 and ran.stderr == "", ran.stderr


def test_a_cell_like_another_still_overrides_what_it_inherits(geno, tmp_path):
    ran = geno("check", write(tmp_path, ops="cell wide like normal {\n  nodes 3\n}"))
    assert ran.returncode == 0, ran.stderr


def test_a_missing_data_folder_is_a_warning_and_an_error_with_strict(geno, tmp_path):
    spec = write(tmp_path, experiment='  data {\n    kind = image_folder\n    path = "nowhere"\n  }')
    ran = geno("check", spec)
    assert ran.returncode == 0 and "ok" in ran.stdout
    assert f"case.geno:21:5: warning: experiment `run`: `data.path` {tmp_path / 'nowhere'} does not exist" in ran.stderr
    ran = geno("check", "--strict", spec)
    assert ran.returncode == 2 and "does not exist" in ran.stderr and "ok" not in ran.stdout
    (tmp_path / "nowhere").mkdir()
    ran = geno("check", "--strict", spec)
    assert ran.returncode == 0 and ran.stderr == "", ran.stderr


def test_search_refuses_a_boolean_set_and_no_epochs(geno, tmp_path):
    spec = write(tmp_path)
    for setting, shown in (("seed=true", "expects a number, not `true`"),
                           ("search.epochs=0", "greater than or equal to 1")):
        ran = geno("search", spec, "-o", str(tmp_path / "runs"), "-q", "--set", setting)
        assert ran.returncode == 2 and f"--set {setting}: " in ran.stderr and shown in ran.stderr, ran.stderr
    assert not (tmp_path / "runs").exists()
