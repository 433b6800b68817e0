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

from genolang.errors import GenolangError, UserError

app = typer.Typer(
    name="geno",
    help="genolang: write NAS search spaces and architectures as text; search, compile and train them.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Command modules, each registering its commands on `app` when imported. Every one must exist:
# a listed command that is missing is a bug (tests/cli/test_docs_commands.py keeps the README,
# docs/ and this list in step).
COMMAND_MODULES = ("check", "fmt", "show", "interop", "compile", "search", "train", "sample", "diff", "macro",
                   "repeat", "report_cmd", "draw")

_state = {"debug": False}


@app.callback()
def _root(debug: bool = typer.Option(False, "--debug", help="Show Python tracebacks for errors.")) -> None:
    _state["debug"] = debug or os.environ.get("GENO_DEBUG") == "1"


def _load_commands() -> None:
    for name in COMMAND_MODULES:
        importlib.import_module(f"genolang.cli.{name}")


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
    _load_commands()
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


_load_commands()
