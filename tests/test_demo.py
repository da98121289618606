"""`tracker demo`, the README's first command: the sample case and mailbox give these states."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from tracker.cli import main


def test_demo_builds_the_sample_case_and_imports_its_mailbox(tmp_path: Path) -> None:
    ws = tmp_path / "demo"
    env = {"TRACKER_TODAY": "2020-07-15", "TRACKER_DATABASE_URL": None,
           "TRACKER_WORKSPACE": None}
    result = CliRunner().invoke(main, ["demo", "--dir", str(ws)], env=env,
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "HC-2020-0001" in result.stdout
    rows = json.loads(CliRunner().invoke(main, ["-w", str(ws), "status", "--all", "--json"],
                                         env=env).stdout)
    by_ref = {r["ref"]: r for r in rows}
    assert by_ref["HC-2020-0001"]["state"] == "acknowledged"
    assert by_ref["HC-2020-0001"]["suspicious_replies"] == 1
    assert by_ref["HC-2020-0001"]["overdue"] is True  # 30 days from 11 June
    assert by_ref["HC-2020-0002"]["due_on"] == "2020-09-15"  # GDPR, extended by two months
    assert by_ref["HC-2020-0003"]["state"] == "answered"
    assert by_ref["HC-2020-0004"]["state"] == "draft"
    assert by_ref["HC-2020-0005"]["delivery_failed"] is True
    inbox = json.loads(CliRunner().invoke(main, ["-w", str(ws), "inbox", "--json"],
                                          env=env).stdout)
    assert [(i["ref"], i["authenticity"]) for i in inbox] == [("HC-2020-0001", "suspicious")]
