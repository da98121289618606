"""Start-up: `tracker --help` and `--version` load no database layer, templates or calendars."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest

from tracker.cli.base import COMMAND_MODULES, COMMAND_SUMMARIES, MainGroup, main

ROOT = Path(__file__).resolve().parent.parent
# What a command that only prints its help or version has no use for: each takes a tenth of a
# second or more to import.
HEAVY = ("sqlalchemy", "sqlmodel", "alembic", "jinja2", "holidays", "psycopg", "pydantic")

# Runs the command line in a fresh interpreter, then lists the heavy modules it loaded.
LOADED = f"""
import json, sys
from tracker.cli import main
try:
    main(sys.argv[1:], prog_name="tracker")
except SystemExit:
    pass
heavy = {HEAVY!r}
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in heavy)), file=sys.stderr)
"""


def loaded_by(*args: str) -> tuple[str, list[str]]:
    """What `tracker ARGS` printed in a fresh interpreter, and the heavy modules it loaded."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    done = subprocess.run([sys.executable, "-c", LOADED, *args], capture_output=True,
                          text=True, env=env, cwd=ROOT, timeout=60, check=True)
    *errors, heavy = done.stderr.strip().splitlines()
    return done.stdout + "\n".join(errors), json.loads(heavy)


@pytest.mark.parametrize("args", [("--help",), ("--version",), ("-h",), ()])
def test_help_and_version_load_no_database_layer(args: tuple[str, ...]) -> None:
    output, heavy = loaded_by(*args)
    assert "tracker" in output
    assert heavy == []


def test_the_summaries_are_the_commands_own() -> None:
    """`tracker --help` lists the commands from COMMAND_SUMMARIES: it must say what they do."""
    for module in set(COMMAND_MODULES.values()):
        importlib.import_module(f"tracker.cli.{module}")
    own = {name: " ".join((command.help or "").partition("\n\n")[0].split())
           for name, command in main.commands.items()}
    assert own == COMMAND_SUMMARIES


@pytest.mark.parametrize("width", [60, 80, 140])
def test_the_list_of_commands_is_the_one_click_makes(width: int) -> None:
    """Stand-ins for the commands not loaded yet are laid out as the commands themselves."""
    for module in set(COMMAND_MODULES.values()):
        importlib.import_module(f"tracker.cli.{module}")

    def listing(group: click.Group, lay_out: click.Group) -> str:
        formatter = click.HelpFormatter(width=width)
        lay_out.format_commands(click.Context(group), formatter)
        return formatter.getvalue()

    unloaded = MainGroup(name="tracker")  # no command imported: stand-ins only
    assert listing(unloaded, unloaded) == listing(main, click.Group(commands=main.commands))
