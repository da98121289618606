"""The command line: parse arguments, call the library, print the result. Nothing else.

Each module adds its commands to the one ``main`` group, which imports a module when one of its
commands is run (see ``COMMAND_MODULES`` in ``base``).
"""

from tracker.cli.base import main

__all__ = ["main"]
