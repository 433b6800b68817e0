"""Shared fixture: run the `geno` CLI in-process, with its error rendering and exit codes."""

import sys

import pytest

from genolang.cli import main


class Ran:
    def __init__(self, returncode: int, stdout: str, stderr: str):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


@pytest.fixture
def geno(monkeypatch, capsys):
    """Run `geno ARGS...` through `genolang.cli.main` (error rendering and exit codes included)."""
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
