"""Golden error messages: a catalogue of broken specs and the exact report each one gets.

tests/golden/errors/X.geno is a broken spec; X.txt is ``GenolangError.render()`` of loading
it, with paths relative to that folder. Regenerate after a deliberate change of wording with
``pytest tests/test_error_messages.py --update-golden`` and read the diff.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import genolang
from genolang.base.errors import ErrorGroup, GenolangError, SpecSemanticError, SpecSyntaxError, UserError

GOLDEN = Path(__file__).resolve().parent / "golden" / "errors"
CASES = sorted(GOLDEN.glob("*.geno"))


def render(name: str) -> GenolangError:
    """The error `geno check` reports for the file: loading, then the static passes."""
    from genolang.compiler.passes.verify import verify

    try:
        verify(genolang.load(name))
    except GenolangError as exc:
        return exc
    raise AssertionError(f"{name} loaded without an error")


def normalise(text: str) -> str:
    return text.replace(str(GOLDEN) + os.sep, "")


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_error_message_matches_golden(path, golden, monkeypatch):
    monkeypatch.chdir(GOLDEN)
    error = render(path.name)
    assert isinstance(error, UserError)
    golden(path.with_suffix(".txt"), normalise(error.render()) + "\n")


def test_catalogue_covers_every_error_kind():
    names = {p.stem for p in CASES}
    for kind in ("syntax_unexpected_token", "syntax_unclosed_brace", "syntax_bad_character",
                 "syntax_positional_argument", "unknown_op", "unknown_space", "unknown_cell", "unknown_network",
                 "unknown_primitive_parameter", "duplicate_definition", "op_cycle", "space_cycle",
                 "cell_like_cycle", "genotype_node_cycle", "wrong_arity", "wrong_parameter_type",
                 "missing_required_parameter", "stride2_reduction", "genotype_not_in_space",
                 "unknown_zero_config", "experiment_unknown_setting", "experiment_wrong_type",
                 "import_not_found", "import_cycle", "several_errors", "several_errors_nested",
                 "use_not_a_spec", "use_absolute_path", "limit_nodes", "limit_cells", "limit_channels",
                 "limit_input_size", "limit_string", "limit_nesting", "limit_integer", "limit_op_chain",
                 "limit_like_chain", "division_by_zero", "experiment_duplicate_setting",
                 "experiment_duplicate_block", "experiment_not_finite", "experiment_torch_ranges",
                 "experiment_unknown_space", "experiment_unknown_data_kind", "experiment_unknown_data_option",
                 "shape_mismatch", "cell_three_inputs", "genotype_unknown_label"):
        assert kind in names
    assert all(p.with_suffix(".txt").exists() for p in CASES)


# ----------------------------------------------------------------------------- what the errors say


def test_syntax_errors_are_syntax_errors(monkeypatch):
    monkeypatch.chdir(GOLDEN)
    for name in ("syntax_bad_character", "syntax_positional_argument", "syntax_unclosed_brace"):
        assert isinstance(render(f"{name}.geno"), SpecSyntaxError), name


def test_several_errors_come_as_one_group(monkeypatch):
    monkeypatch.chdir(GOLDEN)
    error = render("several_errors.geno")
    assert isinstance(error, ErrorGroup)
    assert len(error.errors) == 4
    lines = [e.span.line for e in error.errors]
    assert lines == sorted(lines)
    assert error.render().endswith("4 errors found")


def test_a_group_inside_a_group_is_counted_once(monkeypatch):
    """An experiment's two validation errors and an error elsewhere: "3 errors found", once."""
    monkeypatch.chdir(GOLDEN)
    error = render("several_errors_nested.geno")
    assert len(error.errors) == 3 and not any(isinstance(e, ErrorGroup) for e in error.errors)
    text = error.render()
    assert text.count("errors found") == 1 and text.endswith("3 errors found")


def test_a_refused_use_never_shows_the_file(monkeypatch):
    monkeypatch.chdir(GOLDEN)
    secret = (GOLDEN / "several_errors.txt").read_text(encoding="utf-8").splitlines()[0]
    assert secret not in render("use_not_a_spec.geno").render()


def test_a_cycle_is_reported_once(monkeypatch):
    monkeypatch.chdir(GOLDEN)
    for name in ("op_cycle", "space_cycle", "cell_like_cycle", "import_cycle"):
        error = render(f"{name}.geno")
        assert not isinstance(error, ErrorGroup), name
        assert " -> " in error.message


def test_duplicate_definition_names_both_places(monkeypatch):
    monkeypatch.chdir(GOLDEN)
    error = render("duplicate_definition.geno")
    assert isinstance(error, SpecSemanticError)
    assert error.span.line == 5
    assert [span.line for _, span in error.notes] == [1]


def test_did_you_mean(monkeypatch):
    monkeypatch.chdir(GOLDEN)
    for name, suggestion in (("unknown_op", "sep_conv"), ("unknown_space", "darts"), ("unknown_cell", "normal"),
                             ("unknown_network", "search_net"), ("unknown_primitive_parameter", "stride"),
                             ("experiment_unknown_setting", "epochs"), ("experiment_unknown_block", "search"),
                             ("genotype_not_in_space", "sep_conv_3")):
        error = render(f"{name}.geno")
        assert f"`{suggestion}`" in (error.hint or ""), name


def test_experiment_errors_point_at_the_setting(monkeypatch):
    monkeypatch.chdir(GOLDEN)
    error = render("experiment_unknown_setting.geno")
    assert (error.span.line, error.span.column) == (6, 5)
    error = render("experiment_wrong_type.geno")
    assert [(e.span.line, e.span.column) for e in error.errors] == [(3, 5), (6, 5)]


# ----------------------------------------------------------------------------- through the CLI

CLI_CASES = ["syntax_bad_character", "unknown_space", "op_cycle", "experiment_unknown_setting", "several_errors",
             "import_cycle"]


def test_cli_check_reports_the_errors():
    """One `python -m genolang check` run over several broken files: exit code 2, every report on
    stderr exactly as in the goldens (in order), and no traceback."""
    files = [f"{name}.geno" for name in CLI_CASES]
    result = subprocess.run([sys.executable, "-m", "genolang", "check", *files], cwd=GOLDEN,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 2, result.stderr
    expected = "".join((GOLDEN / f"{name}.txt").read_text(encoding="utf-8") for name in CLI_CASES)
    assert normalise(result.stderr) == expected
    assert "Traceback" not in result.stderr + result.stdout
