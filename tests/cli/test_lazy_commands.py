"""`geno CMD` imports only CMD's module; anything that lists the commands still sees them all."""

import subprocess
import sys

import typer

from genolang import cli


def test_the_command_map_names_each_command_s_module():
    commands = typer.main.get_command(cli.app).commands          # lists them: every module loads
    assert set(commands) == set(cli.COMMANDS)
    for name, command in commands.items():
        assert command.callback.__module__ == f"genolang.cli.{cli.COMMANDS[name]}", name
    assert set(cli.COMMANDS.values()) == set(cli.COMMAND_MODULES)


def test_a_command_imports_only_its_module():
    code = ("import sys\nfrom genolang.cli import main\nsys.argv = ['geno', '--debug', 'fmt', '--check', '-']\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.startswith('genolang.cli.')))\n")
    result = subprocess.run([sys.executable, "-c", code], input="op a = relu\n", capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "['genolang.cli.fmt']"
