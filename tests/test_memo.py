"""A kept result is the one a fresh computation would give: it is recomputed whenever the
record changes (an event or a message is added) or its key (the day) does."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from click.testing import CliRunner

from tracker.cli import main
from tracker.config.loading import load_settings
from tracker.report.live import live_weekly_report
from tracker.services.demo import build_demo
from tracker.services.workspace import Workspace

DAY = date(2020, 7, 20)


def test_the_live_report_follows_every_change_and_only_then_is_rebuilt(tmp_path: Path) -> None:
    path = tmp_path / "demo"
    build_demo(path).close()
    ws = Workspace(load_settings(path, {}), env={})
    first = live_weekly_report(ws, DAY)
    assert live_weekly_report(ws, DAY) is first  # nothing changed: kept
    later = live_weekly_report(ws, date(2020, 7, 27))
    assert later is not first and later.as_of == date(2020, 7, 27)
    before = live_weekly_report(ws, DAY)
    open_before = before.summary.open
    result = CliRunner().invoke(main, ["-w", str(path), "close", "HC-2020-0001",
                                       "--resolution", "withdrawn"],
                                env={"TRACKER_TODAY": DAY.isoformat()}, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    after = live_weekly_report(ws, DAY)  # another process changed the record
    assert after is not before
    assert after.summary.open == open_before - 1
    ws.close()
