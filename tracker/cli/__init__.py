"""The command line: parse arguments, call the library, print the result. Nothing else.

Each module adds its commands to the one ``main`` group; importing them here registers them.
"""

from tracker.cli import directory, evidence, mail, report, requests, schedule, setup, status
from tracker.cli.base import main

__all__ = ["directory", "evidence", "mail", "main", "report", "requests", "schedule", "setup",
           "status"]
