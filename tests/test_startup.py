"""Start-up: `tracker --help` and `--version` load no database layer, templates or calendars;
`tracker status` loads one holiday calendar, no templates, and no address check for the shipped
directory."""

from __future__ import annotations

import importlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest

from tracker.cli.base import COMMAND_MODULES, COMMAND_SUMMARIES, MainGroup, main
from tracker.directory.loading import builtin_platforms_dir

ROOT = Path(__file__).resolve().parent.parent
# What a command that only prints its help or version has no use for: each takes a tenth of a
# second or more to import.
HEAVY = ("sqlalchemy", "sqlmodel", "alembic", "jinja2", "holidays", "psycopg", "pydantic")

# Runs the command line in a fresh interpreter, then lists the modules it loaded and the state
# of the garbage collector.
LOADED = """
import gc, json, sys
from tracker.cli import main
try:
    main(sys.argv[1:], prog_name="tracker")
except SystemExit:
    pass
print(json.dumps({"modules": sorted(sys.modules), "gc_enabled": gc.isenabled(),
                  "frozen": gc.get_freeze_count()}), file=sys.stderr)
"""


def run_fresh(*args: str) -> tuple[str, dict[str, object]]:
    """What `tracker ARGS` printed in a fresh interpreter, and what it loaded (see LOADED)."""
    env = {**os.environ, "TRACKER_TODAY": "2026-12-02", "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    done = subprocess.run([sys.executable, "-c", LOADED, *args], capture_output=True,
                          text=True, env=env, cwd=ROOT, timeout=60, check=True)
    *errors, state = done.stderr.strip().splitlines()
    return done.stdout + "\n".join(errors), json.loads(state)


def modules_of(state: dict[str, object], *packages: str) -> list[str]:
    """The modules loaded of *packages* (top-level names)."""
    modules = state["modules"]
    assert isinstance(modules, list)
    return [m for m in modules if m.split(".")[0] in packages]


def loaded_by(*args: str) -> tuple[str, list[str]]:
    """What `tracker ARGS` printed in a fresh interpreter, and the heavy modules it loaded."""
    output, state = run_fresh(*args)
    return output, modules_of(state, *HEAVY)


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


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo workspace, as `benchmarks/startup_bench.py` times it."""
    workspace = tmp_path_factory.mktemp("startup") / "demo"
    output, _ = run_fresh("demo", "--dir", str(workspace))
    assert "HC-2020-0001" in output
    return workspace


def test_status_loads_one_holiday_calendar_and_no_templates(demo: Path) -> None:
    # The holidays package's `countries` imports all ~250 country modules; the demo's
    # organisation counts with Germany's calendar only (its platforms set no country).
    output, state = run_fresh("-w", str(demo), "status")
    assert "HC-2020-0001" in output
    assert [m for m in modules_of(state, "holidays") if m.startswith("holidays.countries.")] \
        == ["holidays.countries.germany"]
    assert modules_of(state, "jinja2") == []


def test_status_checks_no_address_of_the_shipped_directory(demo: Path, tmp_path: Path) -> None:
    # The organisation's own addresses are checked at every command (with email-validator);
    # without them, only the shipped directory's would need it: they are checked by
    # tests/test_platforms.py, not at every command.
    workspace = tmp_path / "no-addresses"
    shutil.copytree(demo, workspace)
    config = workspace / "tracker.toml"
    text = config.read_text(encoding="utf-8")
    config.write_text(re.sub(r"(?m)^(email|reply_to) = .*$", r'\1 = ""', text),
                      encoding="utf-8")
    output, state = run_fresh("-w", str(workspace), "status")
    assert output == run_fresh("-w", str(demo), "status")[0]
    assert modules_of(state, "email_validator") == []
    # A workspace's own platform file is checked, addresses included.
    shutil.copy(builtin_platforms_dir() / "zoom.toml", workspace / "platforms" / "zoom.toml")
    _, state = run_fresh("-w", str(workspace), "status")
    assert "email_validator" in modules_of(state, "email_validator")


def test_a_command_is_loaded_with_the_collector_held_and_frozen_then_collects(demo: Path) -> None:
    # What a command's import made is frozen (skipped by collections, the one at exit too);
    # the collector runs again for what the command itself makes (`tracker watch` runs for days).
    _, state = run_fresh("-w", str(demo), "status")
    assert state["gc_enabled"] is True
    frozen = state["frozen"]
    assert isinstance(frozen, int) and frozen > 10_000
