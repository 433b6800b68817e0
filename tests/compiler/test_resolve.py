"""`use` resolution: the project root, the libraries, allowed folders, and what is refused."""

from pathlib import Path

import pytest

from genolang.compiler.lower import resolve
from genolang.compiler.lower.resolve import UseRefused, project_root, resolve_use


@pytest.fixture
def tree(tmp_path, monkeypatch):
    monkeypatch.setattr(resolve, "_allowed", [])
    monkeypatch.delenv(resolve.PATH_ENV, raising=False)
    (tmp_path / "proj" / "a" / "b").mkdir(parents=True)
    (tmp_path / "proj" / "pyproject.toml").write_text("")
    (tmp_path / "proj" / "a" / "lib.geno").write_text("op x = relu\n")
    (tmp_path / "outside.geno").write_text("op y = relu\n")
    return tmp_path


def test_the_project_root_is_the_nearest_marked_folder(tree):
    assert project_root(str(tree / "proj" / "a" / "b" / "main.geno")) == (tree / "proj").resolve()
    (tree / "plain").mkdir()
    assert project_root(str(tree / "plain" / "main.geno")) == (tree / "plain").resolve()
    run = tree / "runs" / "digits"
    (run / "genotypes").mkdir(parents=True)
    (run / "spec.geno").write_text("")
    (run / "config.json").write_text("{}")
    assert project_root(str(run / "genotypes" / "epoch_3.geno")) == run.resolve()
    assert resolve_use("../spec.geno", str(run / "genotypes" / "epoch_3.geno")) == (run / "spec.geno").resolve()


def test_dotdot_inside_the_project_resolves_and_outside_is_refused(tree):
    main = str(tree / "proj" / "a" / "b" / "main.geno")
    assert resolve_use("../lib.geno", main) == (tree / "proj" / "a" / "lib.geno").resolve()
    with pytest.raises(UseRefused, match="outside the project"):
        resolve_use("../../../outside.geno", main)
    with pytest.raises(FileNotFoundError):
        resolve_use("../missing.geno", main)


def test_absolute_paths_and_non_specs_are_refused_unless_allowed(tree, monkeypatch):
    main = str(tree / "proj" / "main.geno")
    with pytest.raises(UseRefused, match="absolute"):
        resolve_use(str(tree / "outside.geno"), main)
    with pytest.raises(UseRefused, match=".geno"):
        resolve_use("a/lib.txt", main)
    monkeypatch.setenv(resolve.PATH_ENV, str(tree))
    assert resolve_use(str(tree / "outside.geno"), main) == (tree / "outside.geno").resolve()
    assert resolve_use("outside.geno", main) == (tree / "outside.geno").resolve()


def test_the_standard_library_is_a_library_root(tree):
    found = resolve_use("spaces.geno", str(tree / "proj" / "main.geno"))
    assert found == (resolve.STDLIB / "spaces.geno").resolve()
    assert resolve.STDLIB in resolve.LIBRARY_ROOTS


def test_an_added_library_root_is_searched(tree, monkeypatch):
    library = tree / "zoo_pkg"
    (library / "zoo").mkdir(parents=True)
    (library / "zoo" / "darts_v2.geno").write_text("op z = relu\n")
    monkeypatch.setattr(resolve, "LIBRARY_ROOTS", [resolve.STDLIB, library])
    assert resolve_use("zoo/darts_v2.geno", str(tree / "proj" / "main.geno")) == \
        (library / "zoo" / "darts_v2.geno").resolve()


def test_check_imports_no_torch(tmp_path):
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    code = ("import sys\nfrom genolang.cli import main\nsys.argv = ['geno', 'check', '-q', %r]\n"
            "try:\n    main()\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
            "assert 'torch' not in sys.modules, 'geno check imported torch'\n") % str(root / "specs" / "icdarts")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
