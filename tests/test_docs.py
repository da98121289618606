"""Every module imports, every command has help, and the README's commands are the real ones."""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import tracker
from tracker.cli import main

ROOT = Path(__file__).resolve().parent.parent


def all_commands(group: click.Group = main, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found: list[tuple[str, ...]] = [prefix]
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None, name
        if isinstance(command, click.Group):
            found.extend(all_commands(command, (*prefix, name)))
        else:
            found.append((*prefix, name))
    return found


@pytest.mark.parametrize("module", sorted(
    m.name for m in pkgutil.walk_packages(tracker.__path__, "tracker.")
    if ".migrations" not in m.name and not m.name.endswith("__main__")
))
def test_every_module_imports(module: str) -> None:
    assert importlib.import_module(module).__name__ == module


def test_each_command_is_where_the_lazy_table_says() -> None:
    from tracker.cli.base import COMMAND_MODULES

    for module in set(COMMAND_MODULES.values()):
        importlib.import_module(f"tracker.cli.{module}")
    assert {name: command.callback.__module__.rpartition(".")[2]  # type: ignore[union-attr]
            for name, command in main.commands.items()} == COMMAND_MODULES


@pytest.mark.parametrize("command", all_commands(), ids=lambda c: " ".join(c) or "tracker")
def test_every_command_has_help(command: tuple[str, ...]) -> None:
    result = CliRunner().invoke(main, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage: " in result.output
    summary = result.output.split("\n\n")[1].strip()
    assert len(summary) > 10, f"`tracker {' '.join(command)}` has no help text"


def test_readme_names_every_command() -> None:
    readme = (ROOT / "README.md").read_text()
    for command in all_commands():
        if len(command) == 1 and command[0] not in ("db", "case"):
            assert f"tracker {command[0]}" in readme, f"README does not mention {command}"


def test_readme_test_command_is_what_ci_runs() -> None:
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```sh\n(.*?)```", readme, re.S)
    assert blocks[0].strip() == "pip install -e . && tracker demo"
    test_command = blocks[1].strip().split("&&")[-1].strip()
    assert test_command == "python -m pytest -q"
    assert test_command in (ROOT / ".ci" / "run").read_text()


def test_changelog_and_docs_exist() -> None:
    for name in ("CHANGELOG.md", "docs/configuration.md", "docs/deadlines.md"):
        assert (ROOT / name).stat().st_size > 500, name
