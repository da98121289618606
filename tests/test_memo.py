"""A kept result is the one a fresh computation would give: it is recomputed whenever the
record changes (an event or a message is added) or its key (the day) does."""

from __future__ import annotations

import threading
import time
from datetime import date
from pathlib import Path

from click.testing import CliRunner

from tracker.cli import main
from tracker.config.loading import load_settings
from tracker.report.live import live_weekly_report
from tracker.services.demo import build_demo
from tracker.services.listing import Filters, list_requests
from tracker.services.memo import remembered
from tracker.services.overview import live_request
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


def test_a_few_keys_are_kept_the_least_recently_used_goes_first(tmp_path: Path) -> None:
    path = tmp_path / "demo"
    build_demo(path).close()
    ws = Workspace(load_settings(path, {}), env={})
    made: list[str] = []

    def value(key: str) -> list[str]:
        return remembered(ws, "test", key, lambda: made.append(key) or [key], slots=2)

    a, b = value("a"), value("b")
    assert value("a") is a and value("b") is b and made == ["a", "b"]
    value("c")  # a was used least recently
    assert value("b") is b and made == ["a", "b", "c"]
    assert value("a") is not a and made == ["a", "b", "c", "a"]
    ws.close()


def test_many_asking_at_once_wait_for_one_computation(tmp_path: Path) -> None:
    path = tmp_path / "demo"
    build_demo(path).close()
    ws = Workspace(load_settings(path, {}), env={})
    computed: list[int] = []
    start = threading.Barrier(8)
    got: list[object] = []

    def compute() -> object:
        computed.append(1)
        time.sleep(0.3)  # long enough for the others to arrive meanwhile
        return object()

    def ask() -> None:
        start.wait()
        got.append(remembered(ws, "slow", None, compute))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(computed) == 1
    assert len(got) == 8 and all(value is got[0] for value in got)
    ws.close()


def test_the_request_page_and_the_list_follow_changes_and_template_edits(
        tmp_path: Path) -> None:
    path = tmp_path / "demo"
    build_demo(path).close()
    ws = Workspace(load_settings(path, {}), env={})
    shown = live_request(ws, "HC-2020-0001", DAY, letter=True)
    assert live_request(ws, "HC-2020-0001", DAY, letter=True) is shown
    listed = list_requests(ws, Filters(), DAY)
    assert list_requests(ws, Filters(), DAY) is listed
    result = CliRunner().invoke(main, ["-w", str(path), "close", "HC-2020-0001",
                                       "--resolution", "withdrawn"],
                                env={"TRACKER_TODAY": DAY.isoformat()}, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert live_request(ws, "HC-2020-0001", DAY, letter=True).request.state == "closed"
    closed = [r for r in list_requests(ws, Filters(state="closed"), DAY).rows]
    assert "HC-2020-0001" in {r.row.ref for r in closed}
    # Staff edit a template of the workspace while the server runs: the page shows it.
    before = live_request(ws, "HC-2020-0002", DAY, letter=True)
    assert ("follow-up", "Follow-up on an unanswered letter") in before.follow_up_templates
    shipped = ws.templates[("follow-up", "en")].path
    (ws.settings.templates_dir / shipped.name).write_text(shipped.read_text(
        encoding="utf-8").replace('title = "Follow-up on an unanswered letter"',
                                  'title = "Our second letter"', 1), encoding="utf-8")
    after = live_request(ws, "HC-2020-0002", DAY, letter=True)
    assert ("follow-up", "Our second letter") in after.follow_up_templates
    ws.close()
