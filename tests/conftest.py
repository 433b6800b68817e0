"""Shared pytest options and fixtures (``golden``; ``geno``, the CLI run in-process).

``pytest --update-golden`` rewrites the golden files that tests compare against (error
messages under tests/golden/errors, IR dumps under tests/golden/ir) instead of failing; the
``golden`` fixture is the one place that reads or writes them.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest


def pytest_addoption(parser):
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="rewrite golden files (tests/golden/**) with the current output instead of comparing")


@pytest.fixture
def golden(request):
    """``golden(path, actual)``: assert ``actual`` equals the text of ``path``, or write it
    there when pytest runs with ``--update-golden``."""
    update = request.config.getoption("--update-golden")

    def check(path: str | Path, actual: str) -> None:
        path = Path(path)
        if update:
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.exists() or path.read_text(encoding="utf-8") != actual:
                path.write_text(actual, encoding="utf-8")
            return
        if not path.exists():
            pytest.fail(f"golden file {path} is missing; create it with `pytest --update-golden`")
        expected = path.read_text(encoding="utf-8")
        assert actual == expected, f"output differs from {path} (regenerate with `pytest --update-golden`)"

    return check


@pytest.fixture(scope="session")
def ray_module():
    """The `ray` module. Skips where Ray is not installed, except in CI (``GENO_CI=1``), which
    installs the `ray` extra: there a missing Ray fails."""
    try:
        import ray
    except ImportError:
        if os.environ.get("GENO_CI") == "1":
            pytest.fail("GENO_CI=1 but Ray is not installed (pip install -e '.[ray]')")
        pytest.skip("Ray is not installed (pip install 'genolang[ray]')")
    return ray


@pytest.fixture(scope="session")
def ray_address(ray_module):
    """This process connected to Ray; the cluster's address: the one `.ci/run` starts
    (``GENO_RAY_ADDRESS``), else a local Ray of 2 CPUs started here."""
    ray = ray_module
    address = os.environ.get("GENO_RAY_ADDRESS")
    if address:
        ray.init(address=address, log_to_driver=False, include_dashboard=False)
    else:
        ray.init(num_cpus=2, log_to_driver=False, include_dashboard=False)
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


@pytest.fixture(scope="session")
def anb_table():
    """The `analognas` benchmark table. Skips where the `bench` extra (analog-nasbench) is not
    installed, except in CI (``GENO_CI=1``), which installs it: there a missing table fails."""
    from genolang.runtime.benchmarks import load_table
    from genolang.runtime.benchmarks.analognas import locate_anb

    if locate_anb() is None:
        if os.environ.get("GENO_CI") == "1":
            pytest.fail("GENO_CI=1 but analog-nasbench is not installed (pip install -e '.[bench]')")
        pytest.skip("analog-nasbench is not installed (pip install 'genolang[bench]')")
    return load_table("analognas")


class Ran:
    def __init__(self, returncode: int, stdout: str, stderr: str):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


@pytest.fixture
def geno(monkeypatch, capsys):
    """Run `geno ARGS...` through `genolang.cli.main` (error rendering and exit codes included)."""
    from genolang.cli import main

    def run(*args: str) -> Ran:
        monkeypatch.setattr(sys, "argv", ["geno", *args])
        capsys.readouterr()
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        out, err = capsys.readouterr()
        return Ran(code, out, err)
    return run
