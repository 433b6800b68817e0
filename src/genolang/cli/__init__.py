"""The `geno` command line: a thin shell. Each command module registers itself on `app`.

Commands parse options, call one library function and print. Every :class:`UserError`
becomes a rendered message and exit code 2; a run that diverged (non-finite loss or weights)
exits 3; other genolang errors exit 1; a traceback is shown only with ``--debug`` (or
``GENO_DEBUG=1``).
"""

from __future__ import annotations

import importlib
import os
import sys

import typer

from genolang.base.errors import GenolangError, UserError

class _LazyTyper(typer.Typer):
    """A Typer app whose command modules are imported when its commands are first listed.

    Importing every command module costs more than a whole `geno check` (the run commands
    pull in their engines), so :func:`main` imports only the module of the command it is
    asked for (:data:`COMMANDS`); anything else that lists the commands -- ``--help``, an
    unknown command, ``CliRunner().invoke(app, ...)`` -- gets all of them.
    """

    def __init__(self, *args, **kwargs):
        self._commands: list = []
        self._lazy = True               # False while main() runs one command, or once all are loaded
        super().__init__(*args, **kwargs)

    @property
    def registered_commands(self) -> list:
        if self._lazy:
            self._lazy = False          # before the imports: each registers through this property
            _load_commands(COMMAND_MODULES)
        return self._commands

    @registered_commands.setter
    def registered_commands(self, value: list) -> None:
        self._commands = value


app = _LazyTyper(
    name="geno",
    help="genolang: write NAS search spaces and architectures as text; search, compile and train them.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # click's plain help: rich markup would eat `[report]` in `pip install 'genolang[report]'`
    # and label every on/off flag `<bool>` as if it took a value
    rich_markup_mode=None,
)

# Command modules, each registering its commands on `app` when imported. Every one must exist:
# a listed command that is missing is a bug (tests/cli/test_docs_commands.py keeps the README,
# docs/ and this list in step).
COMMAND_MODULES = ("check", "fmt", "show", "interop", "compile", "search", "train", "sample", "diff", "macro",
                   "repeat", "report_cmd", "draw", "score", "lsp")

# command name -> the module that registers it (tests/cli/test_lazy_commands.py checks the map)
COMMANDS = {"check": "check", "fmt": "fmt", "show": "show", "import": "interop", "export": "interop",
            "compile": "compile", "search": "search", "train": "train", "eval": "train", "sample": "sample",
            "diff": "diff", "macro-search": "macro", "repeat": "repeat", "run-item": "repeat",
            "report": "report_cmd", "draw": "draw", "score": "score", "lsp": "lsp"}

_state = {"debug": False}


@app.callback()
def _root(debug: bool = typer.Option(False, "--debug", help="Show Python tracebacks for errors.")) -> None:
    _state["debug"] = debug or os.environ.get("GENO_DEBUG") == "1"


def _load_commands(modules) -> None:
    for name in modules:
        importlib.import_module(f"genolang.cli.{name}")


def _command_module(argv: list[str]) -> str | None:
    """The module of the command ``argv`` names (its first word that is not an option), if known."""
    for word in argv:
        if not word.startswith("-"):
            return COMMANDS.get(word)
    return None


def debug_enabled() -> bool:
    return _state["debug"] or os.environ.get("GENO_DEBUG") == "1"


def main_rank() -> bool:
    """False on the ranks > 0 of a ``torchrun`` launch: only rank 0 prints results (every rank
    runs the same command; a plain run is rank 0)."""
    return int(os.environ.get("RANK", "0") or 0) == 0


def report(exc: GenolangError) -> int:
    """Print a genolang error for a person and return the exit code it maps to."""
    if debug_enabled():
        import traceback

        traceback.print_exception(exc, file=sys.stderr)
    print(exc.render(), file=sys.stderr)
    code = getattr(exc, "exit_code", None)     # a diverged run: runtime.finite.EXIT_NONFINITE (3)
    return code if isinstance(code, int) else 2 if isinstance(exc, UserError) else 1


def main() -> None:
    module = _command_module(sys.argv[1:])
    selective = module is not None and app._lazy
    if selective:
        app._lazy = False
        _load_commands([module])
    try:
        _run()
    finally:
        if selective:
            app._lazy = True            # whoever lists the commands later (a test) still gets all


def _run() -> None:
    try:
        # In non-standalone mode click returns the code of `typer.Exit` instead of exiting.
        code = app(standalone_mode=False)
        if isinstance(code, int) and code:
            sys.exit(code)
    except GenolangError as exc:
        sys.exit(report(exc))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    except SystemExit:
        raise
    except Exception as exc:  # click usage errors and the like (typer may vendor click)
        if type(exc).__name__ == "Abort":
            cause = exc.__cause__
            if isinstance(cause, EOFError):    # click turns any EOFError into an Abort (exit 130)
                if debug_enabled():
                    import traceback

                    traceback.print_exception(cause, file=sys.stderr)
                print(f"internal error: unexpected end of data (EOFError{': ' + str(cause) if str(cause) else ''})"
                      "; rerun with --debug for the traceback", file=sys.stderr)
                sys.exit(1)
            sys.exit(130)
        if hasattr(exc, "show") and hasattr(exc, "exit_code"):
            exc.show()
            sys.exit(exc.exit_code or 2)
        raise
